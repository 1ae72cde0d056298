// Errors from validating an OnnxModel that came from the API server. Each issue has a stable code,
// the JSON path of the field, and a message that says how to fix it.

export type SpecErrorCode =
  | 'SPEC_NOT_OBJECT'
  | 'FIELD_REQUIRED'
  | 'FIELD_TYPE'
  | 'FIELD_ENUM'
  | 'FIELD_PATTERN'
  | 'FIELD_RANGE'
  | 'FIELD_UNKNOWN'
  | 'FIELD_CONFLICT';

export interface SpecIssue {
  code: SpecErrorCode;
  /** JSON path, e.g. `spec.rollout.steps[1].weight`. */
  field: string;
  message: string;
}

export class OnnxModelSpecError extends Error {
  readonly code: SpecErrorCode;
  readonly field: string;
  readonly issues: readonly SpecIssue[];

  constructor(issues: readonly SpecIssue[]) {
    const first = issues[0] ?? { code: 'SPEC_NOT_OBJECT' as const, field: '', message: 'invalid OnnxModel' };
    const more = issues.length > 1 ? ` (and ${issues.length - 1} more: ${issues.slice(1).map((i) => i.field).join(', ')})` : '';
    super(`${first.field}: ${first.message}${more}`);
    this.name = 'OnnxModelSpecError';
    this.code = first.code;
    this.field = first.field;
    this.issues = issues;
  }
}
