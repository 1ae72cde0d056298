// Signature policy, pure: what the platform requires of a model (a signature, Enforce), the verdict
// the reconcile core gets from the verifier's answer, and when to ask again. The verification
// adapter (operator/src/verification) only gathers inputs and runs lib/verify around these; the
// clock is always an input.
import { LABEL_REQUIRE_SIGNATURE } from '../api/constants.ts';
import type { OnnxModel, SignatureMode, SignatureSpec } from '../api/types.ts';
import type { VerificationFailureReason, VerificationResult } from './types.ts';

/** What to do about a model's signature. `model` is the model as the core must see it. */
export type SignaturePlan =
  /** No spec.signature and none required: nothing to verify. */
  | { kind: 'none'; model: OnnxModel }
  /** The namespace requires a signature the model does not declare. */
  | { kind: 'refuse'; model: OnnxModel; verification: VerificationResult }
  /** Verify `signature`; where signatures are required, mode Audit is enforced. */
  | { kind: 'verify'; model: OnnxModel; signature: SignatureSpec };

export function signaturePlan(model: OnnxModel, required: boolean, now: Date): SignaturePlan {
  const sig = model.spec.signature;
  if (!sig) {
    if (!required) return { kind: 'none', model };
    const message = `namespace ${model.metadata.namespace} requires signed models (operator flag --require-signature-namespaces or namespace label ${LABEL_REQUIRE_SIGNATURE}=true); add spec.signature`;
    return { kind: 'refuse', model, verification: failedVerdict(model.spec.model.digest, 'SignatureRequired', message, 'Enforce', now) };
  }
  if (!required || sig.mode !== 'Audit') return { kind: 'verify', model, signature: sig };
  const signature: SignatureSpec = { ...sig, mode: 'Enforce' };
  return { kind: 'verify', model: { ...model, spec: { ...model.spec, signature } }, signature };
}

export function failedVerdict(digest: string, reason: VerificationFailureReason, message: string, mode: SignatureMode, now: Date): VerificationResult {
  return { state: 'failed', digest, reason, message, mode, time: now.toISOString() };
}

/** The verifier's answer for `digest` (lib/verify's result, less what the core does not use). */
export type VerifierAnswer = { ok: true; signer: string } | { ok: false; reason: VerificationFailureReason; message: string };

/**
 * A permanent verdict. `missing`: authorities skipped for want of trust material, named in a
 * refusal (they may be why it was refused).
 */
export function verdictOf(digest: string, mode: SignatureMode, answer: VerifierAnswer, missing: readonly string[], now: Date): VerificationResult {
  if (answer.ok) return { state: 'verified', digest, signer: answer.signer, mode, time: now.toISOString() };
  const message = missing.length > 0 ? `${answer.message} (trust material missing for ${missing.join(', ')})` : answer.message;
  return failedVerdict(digest, answer.reason, message, mode, now);
}

export interface RetryPolicy {
  initialMs: number;
  maxMs: number;
}

/** A verification that could not run (fetch or API error): pending, asked again after a doubling delay. */
export function retryVerdict(digest: string, attempt: number, message: string, retry: RetryPolicy): { verification: VerificationResult; requeueAfterMs: number } {
  const requeueAfterMs = Math.min(retry.maxMs, retry.initialMs * 2 ** (attempt - 1));
  return { verification: { state: 'pending', digest, message: `retrying (attempt ${attempt}): ${message}` }, requeueAfterMs };
}
