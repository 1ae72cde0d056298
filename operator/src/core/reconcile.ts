// reconcile: (model, observed children, verification, analysis, clock) → (children to apply and
// delete, new status, events, requeue). Pure: no I/O, no clock, no client-node.
import type { ReconcileInput, ReconcileOutput } from './types.ts';

export function reconcile(input: ReconcileInput): ReconcileOutput {
  return { apply: [], delete: [], status: input.model.status, events: [] };
}
