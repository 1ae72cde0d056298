// status.rollout as read back from the API server: validated field by field before the state machine
// trusts it. A malformed value (an older operator, a hand edit) is reported, never cast.
import { PAUSE_REASONS, ROLLOUT_STATES, type PauseReason, type RolloutProgress, type RolloutState } from '../../api/types.ts';
import { isRecord } from '../observe.ts';

export type ProgressRead = { ok: true; progress: RolloutProgress | undefined } | { ok: false; problem: string };

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;
const isTime = (v: unknown): v is string => typeof v === 'string' && !Number.isNaN(Date.parse(v));

/** Reads status.rollout; `undefined` is fine (no canary yet or an older status without it). */
export function readProgress(v: unknown): ProgressRead {
  if (v === undefined) return { ok: true, progress: undefined };
  if (!isRecord(v)) return { ok: false, problem: 'status.rollout is not an object' };
  const bad = (field: string) => ({ ok: false as const, problem: `status.rollout.${field} is missing or invalid (${JSON.stringify(v[field])})` });
  if (typeof v['revision'] !== 'string' || v['revision'] === '') return bad('revision');
  if (!(ROLLOUT_STATES as readonly unknown[]).includes(v['state'])) return bad('state');
  if (!isCount(v['step'])) return bad('step');
  if (!isCount(v['weight']) || v['weight'] > 100) return bad('weight');
  if (!isTime(v['stateSince'])) return bad('stateSince');
  if (v['pauseReason'] !== undefined && !(PAUSE_REASONS as readonly unknown[]).includes(v['pauseReason'])) return bad('pauseReason');
  for (const k of ['looks', 'consecutiveInconclusive', 'consecutiveErrors'] as const) if (!isCount(v[k])) return bad(k);
  const progress: RolloutProgress = {
    revision: v['revision'],
    state: v['state'] as RolloutState,
    step: v['step'],
    weight: v['weight'],
    stateSince: v['stateSince'],
    looks: v['looks'] as number,
    consecutiveInconclusive: v['consecutiveInconclusive'] as number,
    consecutiveErrors: v['consecutiveErrors'] as number,
  };
  if (v['pauseReason'] !== undefined) progress.pauseReason = v['pauseReason'] as PauseReason;
  return { ok: true, progress };
}

/** The state a new canary starts in: its pods for step 0 are starting, no traffic yet. */
export function initialProgress(revision: string, now: string): RolloutProgress {
  return { revision, state: 'Scaling', step: 0, weight: 0, stateSince: now, looks: 0, consecutiveInconclusive: 0, consecutiveErrors: 0 };
}
