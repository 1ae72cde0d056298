// The operator's error catalogue: every error has a stable code, says whether retrying can help, and
// carries the object it concerns and its cause.

export type ErrorCode =
  | 'CONFIG_INVALID'
  | 'KUBE_API_ERROR'
  | 'KUBE_NETWORK_ERROR'
  | 'KUBE_RESPONSE_INVALID'
  | 'WATCH_EXPIRED'
  | 'RECONCILE_FAILED';

export interface ObjectRef {
  kind?: string;
  namespace?: string;
  name?: string;
}

export class OperatorError extends Error {
  readonly code: ErrorCode;
  readonly transient: boolean;
  readonly object: ObjectRef | undefined;
  constructor(code: ErrorCode, message: string, opts: { transient: boolean; object?: ObjectRef; cause?: unknown }) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'OperatorError';
    this.code = code;
    this.transient = opts.transient;
    this.object = opts.object;
  }
}

/** A failed API request; `status` is the HTTP status (0 when the request never got an answer). */
export class KubeApiError extends OperatorError {
  readonly status: number;
  readonly reason: string;
  constructor(message: string, status: number, reason: string, opts: { object?: ObjectRef; cause?: unknown } = {}) {
    const transient = status === 0 || status === 429 || status >= 500 || reason === 'Conflict';
    super(status === 0 ? 'KUBE_NETWORK_ERROR' : 'KUBE_API_ERROR', message, { ...opts, transient });
    this.status = status;
    this.reason = reason;
  }
}

export function isNotFound(err: unknown): boolean {
  return err instanceof KubeApiError && err.status === 404;
}

export function isTransient(err: unknown): boolean {
  return err instanceof OperatorError ? err.transient : true;
}
