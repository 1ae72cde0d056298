// Condition bookkeeping with the Kubernetes semantics: lastTransitionTime moves only when status
// flips, and an unchanged condition is returned as the very same value, so a converged reconcile
// produces a status deep-equal to its input.
import type { Condition, ConditionStatus, ConditionType } from '../api/types.ts';
import { CONDITION_TYPES } from '../api/types.ts';

export interface ConditionUpdate {
  status: ConditionStatus;
  reason: string;
  message: string;
}

export function findCondition(conditions: readonly Condition[] | undefined, type: ConditionType): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

export function nextCondition(prev: Condition | undefined, type: ConditionType, u: ConditionUpdate, generation: number, now: string): Condition {
  if (prev && prev.status === u.status && prev.reason === u.reason && prev.message === u.message && prev.observedGeneration === generation) return prev;
  return {
    type,
    status: u.status,
    reason: u.reason,
    message: u.message,
    observedGeneration: generation,
    lastTransitionTime: prev && prev.status === u.status ? prev.lastTransitionTime : now,
  };
}

/** All five conditions in a fixed order (conditions of unknown types written by others are kept after them). */
export function nextConditions(
  prev: readonly Condition[] | undefined,
  updates: Record<ConditionType, ConditionUpdate>,
  generation: number,
  now: string,
): Condition[] {
  const out = CONDITION_TYPES.map((t) => nextCondition(findCondition(prev, t), t, updates[t], generation, now));
  for (const c of prev ?? []) if (!(CONDITION_TYPES as readonly string[]).includes(c.type)) out.push(c);
  return out;
}
