// Manual actions ride on one annotation, serving.onnxop.io/action = <verb>[/<nonce>], so on-call can
// promote, abort, retry, pause or resume with kubectl annotate without touching spec (which Git/Argo CD owns).
// A value is acted on once: status.lastAction.value remembers it.
import { ACTIONS, ANNOTATION_ACTION, type ActionVerb } from '../api/constants.ts';
import type { OnnxModel } from '../api/types.ts';

export type PendingAction = { value: string; verb: ActionVerb; nonce?: string } | { value: string; invalid: string };

export function pendingAction(model: OnnxModel): PendingAction | undefined {
  const value = model.metadata.annotations?.[ANNOTATION_ACTION]?.trim();
  if (!value || value === model.status.lastAction?.value) return undefined;
  const slash = value.indexOf('/');
  const verb = slash === -1 ? value : value.slice(0, slash);
  const nonce = slash === -1 ? undefined : value.slice(slash + 1);
  if (!(ACTIONS as readonly string[]).includes(verb)) {
    return { value, invalid: `unknown action ${JSON.stringify(verb)} in annotation ${ANNOTATION_ACTION}: use ${ACTIONS.join(', ')}, optionally followed by /<nonce>` };
  }
  return nonce ? { value, verb: verb as ActionVerb, nonce } : { value, verb: verb as ActionVerb };
}
