// parseOnnxModel: the one gate between the API server and the core. Validates shape (the CRD
// already did, but an old CRD or a hand-made object must not crash the core) and applies defaults.
import type { OnnxModel } from './types.ts';
import { OnnxModelSpecError, type SpecIssue } from './errors.ts';

export type ParseResult = { ok: true; model: OnnxModel } | { ok: false; error: OnnxModelSpecError };

/** Validates an OnnxModel as read from the API server and applies defaults; throws OnnxModelSpecError. */
export function parseOnnxModel(u: unknown): OnnxModel {
  const r = safeParseOnnxModel(u);
  if (!r.ok) throw r.error;
  return r.model;
}

export function safeParseOnnxModel(u: unknown): ParseResult {
  const issues: SpecIssue[] = [{ code: 'SPEC_NOT_OBJECT', field: '', message: `not implemented yet (${typeof u})` }];
  return { ok: false, error: new OnnxModelSpecError(issues) };
}
