// Crash-loop back-off. The real kubelet starts at 10 s and doubles up to 5 min; the lab uses a
// 1 s base doubling up to 30 s (flags --backoff-base-ms / --backoff-max-ms) so restart tests take
// seconds, not minutes. Like the real kubelet, the first restart is immediate, later ones wait, and
// the back-off is forgotten once a container has run for twice the maximum without crashing.
export interface BackoffPolicy {
  baseMs: number;
  maxMs: number;
}

export interface BackoffState {
  /** Restarts since the back-off was last reset. */
  crashes: number;
}

export const initialBackoff: BackoffState = { crashes: 0 };

/** Delay before the next start after a container exited having run `ranForMs`. */
export function nextRestart(
  state: BackoffState,
  policy: BackoffPolicy,
  ranForMs: number,
): { delayMs: number; state: BackoffState } {
  const crashes = ranForMs >= 2 * policy.maxMs ? 1 : state.crashes + 1;
  const delayMs = crashes <= 1 ? 0 : Math.min(policy.baseMs * 2 ** (crashes - 2), policy.maxMs);
  return { delayMs, state: { crashes } };
}
