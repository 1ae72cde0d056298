// The signature gate: can pods of spec.model.digest be created? Reuses a verdict recorded in status
// for the same digest, so a converged model needs no new verification and writes nothing.
import type { VerificationStatus } from '../api/types.ts';
import type { ReconcileInput } from './types.ts';

export type Gate = { state: 'ok'; status?: VerificationStatus; pending?: boolean } | { state: 'pending' } | { state: 'failed'; status: VerificationStatus; reason: string; message: string };

/** Can pods of spec.model.digest be created? Reuses a verdict recorded in status for the same digest. */
export function verificationGate(input: ReconcileInput): Gate {
  const { spec, status } = input.model;
  if (!spec.signature) {
    const v = input.verification;
    if (v?.state !== 'failed' || v.reason !== 'SignatureRequired' || v.digest !== spec.model.digest) return { state: 'ok' };
    const prev = status.verification;
    const rec: VerificationStatus =
      prev && prev.digest === v.digest && !prev.verified && prev.reason === v.reason && prev.mode === 'Enforce' ? prev : { digest: v.digest, verified: false, mode: 'Enforce', reason: v.reason, time: v.time };
    return { state: 'failed', status: rec, reason: v.reason, message: v.message };
  }
  const digest = spec.model.digest;
  const mode = spec.signature.mode;
  const v = input.verification;
  let rec: VerificationStatus | undefined;
  if (v && v.state === 'verified' && v.digest === digest) rec = { digest, verified: true, mode, signer: v.signer, time: v.time };
  else if (v && v.state === 'failed' && v.digest === digest) rec = { digest, verified: false, mode, reason: v.reason, time: v.time };
  else if (status.verification?.digest === digest && status.verification.mode === mode) rec = status.verification;
  // Audit never holds a rollout back, not even while the verifier has not answered yet.
  if (!rec) return mode === 'Audit' ? { state: 'ok', pending: true } : { state: 'pending' };
  // Keep the recorded value itself when the verdict did not change, so the status stays deep-equal.
  const prev = status.verification;
  if (prev && prev.digest === rec.digest && prev.verified === rec.verified && prev.mode === rec.mode && prev.signer === rec.signer && prev.reason === rec.reason) rec = prev;
  if (rec.verified || mode === 'Audit') return { state: 'ok', status: rec };
  const message = input.verification?.state === 'failed' ? input.verification.message : `signature of ${digest} did not verify (${rec.reason ?? 'unknown reason'})`;
  return { state: 'failed', status: rec, reason: rec.reason ?? 'SignatureInvalid', message };
}
