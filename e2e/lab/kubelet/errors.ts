// Errors of the lab kubelet: a stable `code` a caller can branch on, a message that names the
// field or object and the fix, and the underlying `cause`.
export type KubeletErrorCode =
  | 'FLAG_INVALID'
  | 'IMAGE_REF_INVALID'
  | 'IMAGE_PULL_FAILED'
  | 'IMAGE_UNPACK_FAILED'
  | 'SECURITY_CONTEXT_INVALID'
  | 'VOLUME_INVALID'
  | 'RUNC_FAILED'
  | 'CONFIG_REF_NOT_FOUND'
  | 'ENV_INVALID'
  | 'QUANTITY_INVALID'
  | 'IP_EXHAUSTED'
  | 'CIDR_INVALID'
  | 'NETNS_FAILED'
  | 'SPAWN_FAILED'
  | 'API_FAILED';

export class KubeletError extends Error {
  readonly code: KubeletErrorCode;
  constructor(code: KubeletErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'KubeletError';
    this.code = code;
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
