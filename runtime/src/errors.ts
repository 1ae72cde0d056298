// Every failure the runtime reports carries a stable `code` (for logs, metrics and tests), an HTTP
// status when it reaches a client, a message naming the field and the fix, and the original `cause`.

export type ErrorCode =
  // start-up
  | 'CONFIG_INVALID'
  | 'ARTIFACT_FETCH_FAILED'
  | 'ARTIFACT_TOO_LARGE'
  | 'DIGEST_MISMATCH'
  | 'MANIFEST_INVALID'
  | 'MANIFEST_MISMATCH'
  | 'MODEL_CORRUPT'
  | 'MODEL_OPSET_UNSUPPORTED'
  | 'MODEL_OPERATOR_UNSUPPORTED'
  | 'MODEL_LOAD_FAILED'
  | 'EXECUTION_PROVIDER_UNAVAILABLE'
  | 'WARMUP_FAILED'
  | 'BASELINE_INVALID'
  // requests
  | 'BAD_REQUEST'
  | 'BODY_TOO_LARGE'
  | 'HEADERS_TOO_LARGE'
  | 'UNSUPPORTED_ENCODING'
  | 'REQUEST_TIMEOUT'
  | 'OVERLOADED'
  | 'NOT_FOUND'
  | 'METHOD_NOT_ALLOWED'
  | 'MODEL_NOT_READY'
  | 'QUEUE_FULL'
  | 'TIMEOUT'
  | 'INFERENCE_FAILED'
  | 'INTERNAL';

export class RuntimeError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  /** Seconds a client should wait before retrying (sent as Retry-After), for 503s that will pass. */
  readonly retryAfterSeconds: number | undefined;

  constructor(code: ErrorCode, message: string, options: { status?: number; cause?: unknown; retryAfterSeconds?: number } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'RuntimeError';
    this.code = code;
    this.status = options.status ?? 500;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}

export const badRequest = (message: string, cause?: unknown): RuntimeError =>
  new RuntimeError('BAD_REQUEST', message, { status: 400, cause });

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export function isRuntimeError(err: unknown): err is RuntimeError {
  return err instanceof RuntimeError;
}
