// status.rollout as read back from the API server: validated field by field before the state machine
// trusts it. A malformed value (an older operator, a hand edit) is reported, never cast. The one
// validator is the status parser's (api/parse-status.ts), which also ran when the model was parsed.
import { parseRolloutProgress } from '../../api/parse-status.ts';
import type { RolloutProgress } from '../../api/types.ts';

export type ProgressRead = { ok: true; progress: RolloutProgress | undefined } | { ok: false; problem: string };

/** Reads status.rollout; `undefined` is fine (no canary yet or an older status without it). */
export function readProgress(v: unknown): ProgressRead {
  if (v === undefined) return { ok: true, progress: undefined };
  const { progress, problems } = parseRolloutProgress(v);
  return progress ? { ok: true, progress } : { ok: false, problem: problems.join('; ') };
}

/** The state a new canary starts in: its pods for step 0 are starting, no traffic yet. */
export function initialProgress(revision: string, now: string): RolloutProgress {
  return { revision, state: 'Scaling', step: 0, weight: 0, stateSince: now, looks: 0, consecutiveInconclusive: 0, consecutiveErrors: 0 };
}
