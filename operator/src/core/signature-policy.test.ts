import { describe, expect, test } from '@jest/globals';
import { parseOnnxModel } from '../api/parse.ts';
import type { OnnxModel } from '../api/types.ts';
import { retryVerdict, signaturePlan, verdictOf } from './signature-policy.ts';

const NOW = new Date('2030-01-02T03:04:05Z');
const DIGEST = `sha256:${'a'.repeat(64)}`;

function model(mode?: 'Enforce' | 'Audit'): OnnxModel {
  return parseOnnxModel({
    apiVersion: 'serving.onnxop.io/v1alpha1',
    kind: 'OnnxModel',
    metadata: { name: 'm', namespace: 'ml', uid: 'u', generation: 1 },
    spec: {
      model: { uri: 'https://models.example.com/m.onnx', digest: DIGEST },
      ...(mode ? { signature: { mode, authorities: [{ key: { secretRef: { name: 'k' } } }] } } : {}),
    },
  });
}

describe('signaturePlan', () => {
  test.each([
    ['no signature, not required', undefined, false, { kind: 'none' }],
    ['no signature, required', undefined, true, { kind: 'refuse' }],
    ['Enforce, not required', 'Enforce', false, { kind: 'verify', mode: 'Enforce' }],
    ['Audit, not required', 'Audit', false, { kind: 'verify', mode: 'Audit' }],
    ['Enforce, required', 'Enforce', true, { kind: 'verify', mode: 'Enforce' }],
    ['Audit, required: enforced', 'Audit', true, { kind: 'verify', mode: 'Enforce' }],
  ] as const)('%s', (_name, mode, required, want) => {
    const m = model(mode);
    const plan = signaturePlan(m, required, NOW);
    expect(plan.kind).toBe(want.kind);
    if (plan.kind === 'verify') {
      expect(plan.signature.mode).toBe('mode' in want ? want.mode : undefined);
      expect(plan.model.spec.signature?.mode).toBe(plan.signature.mode); // the core sees the mode that applies
      if (plan.signature.mode === mode) expect(plan.model).toBe(m);
    }
    if (plan.kind === 'refuse') {
      expect(plan.verification).toEqual({
        state: 'failed',
        digest: DIGEST,
        reason: 'SignatureRequired',
        mode: 'Enforce',
        time: NOW.toISOString(),
        message: 'namespace ml requires signed models (operator flag --require-signature-namespaces or namespace label serving.onnxop.io/require-signature=true); add spec.signature',
      });
    }
  });
});

describe('verdictOf and retryVerdict', () => {
  test('verified and refused verdicts at the injected time; skipped authorities named in a refusal', () => {
    expect(verdictOf(DIGEST, 'Audit', { ok: true, signer: 'release (key:sha256:ab)' }, ['old'], NOW)).toEqual({ state: 'verified', digest: DIGEST, signer: 'release (key:sha256:ab)', mode: 'Audit', time: NOW.toISOString() });
    expect(verdictOf(DIGEST, 'Enforce', { ok: false, reason: 'SignatureInvalid', message: 'altered' }, ['old', 'authorities[2]'], NOW)).toEqual({
      state: 'failed',
      digest: DIGEST,
      reason: 'SignatureInvalid',
      message: 'altered (trust material missing for old, authorities[2])',
      mode: 'Enforce',
      time: NOW.toISOString(),
    });
  });

  test('retries double from the initial delay up to the maximum', () => {
    const delays = [1, 2, 3, 4, 5, 6].map((n) => retryVerdict(DIGEST, n, 'HTTP 503', { initialMs: 2000, maxMs: 20_000 }).requeueAfterMs);
    expect(delays).toEqual([2000, 4000, 8000, 16_000, 20_000, 20_000]);
    expect(retryVerdict(DIGEST, 3, 'HTTP 503', { initialMs: 2000, maxMs: 20_000 }).verification).toEqual({ state: 'pending', digest: DIGEST, message: 'retrying (attempt 3): HTTP 503' });
  });
});
