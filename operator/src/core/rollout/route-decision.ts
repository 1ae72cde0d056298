// The decision a traffic write carries. A rollback or promotion changes the HTTPRoute first and
// status after it (children/plan.ts); an operator killed between the two writes would, on restart,
// read a status that still holds the canary at its step and put the traffic back. So the route
// write records its decision in an annotation, and the next reconcile finishes what the route
// already says instead of deciding again.
import { GROUP } from '../../api/constants.ts';
import type { KubeObject } from '../types.ts';

export const ANNOTATION_ROUTE_DECISION = `${GROUP}/decision`;

export type RouteDecision = { outcome: 'rolled-back'; revision: string; reason: string; atSeconds: number } | { outcome: 'promoted'; revision: string; atSeconds: number };

/** `rolled-back/<revision>/<reason>/<unix seconds>` or `promoted/<revision>/<unix seconds>`. */
export function formatRouteDecision(d: RouteDecision): string {
  return d.outcome === 'rolled-back' ? `rolled-back/${d.revision}/${d.reason}/${d.atSeconds}` : `promoted/${d.revision}/${d.atSeconds}`;
}

export function parseRouteDecision(value: string | undefined): RouteDecision | undefined {
  const parts = value?.split('/') ?? [];
  const seconds = (s: string | undefined) => (s !== undefined && /^[0-9]{1,12}$/.test(s) ? Number(s) : undefined);
  if (parts[0] === 'rolled-back' && parts.length === 4 && parts[1] && parts[2]) {
    const atSeconds = seconds(parts[3]);
    return atSeconds === undefined ? undefined : { outcome: 'rolled-back', revision: parts[1], reason: parts[2], atSeconds };
  }
  if (parts[0] === 'promoted' && parts.length === 3 && parts[1]) {
    const atSeconds = seconds(parts[2]);
    return atSeconds === undefined ? undefined : { outcome: 'promoted', revision: parts[1], atSeconds };
  }
  return undefined;
}

/**
 * The decision the observed route holds for this canary, if it was taken while this canary was the
 * canary (a revision retried after a rollback is a new canary: the old decision is not its own).
 */
export function pendingRouteDecision(route: KubeObject | undefined, canary: { revision: string; since: string }): RouteDecision | undefined {
  const d = parseRouteDecision(route?.metadata.annotations?.[ANNOTATION_ROUTE_DECISION]);
  if (!d || d.revision !== canary.revision) return undefined;
  return d.atSeconds >= Math.floor(Date.parse(canary.since) / 1000) ? d : undefined;
}
