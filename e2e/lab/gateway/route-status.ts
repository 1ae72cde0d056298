// The gateway's pure core, part 3: the HTTPRoute `status.parents` a real gateway controller writes.
// Only our controller's entries are touched; lastTransitionTime moves only when a status flips; the
// result says whether anything changed, so a steady state makes no writes.
import type { Condition, HTTPRoute, ParentReference, RouteParentStatus } from './kube-types.ts';
import { gatewayGroup } from './route-table.ts';

export function sameParentRef(a: ParentReference, b: ParentReference, routeNamespace: string): boolean {
  return (
    (a.group ?? gatewayGroup) === (b.group ?? gatewayGroup) &&
    (a.kind ?? 'Gateway') === (b.kind ?? 'Gateway') &&
    (a.namespace ?? routeNamespace) === (b.namespace ?? routeNamespace) &&
    a.name === b.name &&
    (a.sectionName ?? '') === (b.sectionName ?? '') &&
    (a.port ?? 0) === (b.port ?? 0)
  );
}

function timeString(t: string | Date | undefined): string | undefined {
  if (t === undefined) return undefined;
  return t instanceof Date ? t.toISOString().replace(/\.\d{3}Z$/, 'Z') : t;
}

/** Desired conditions with lastTransitionTime kept from `current` unless the status flipped. */
export function mergeConditions(
  current: Condition[] | undefined,
  desired: Condition[],
  now: string,
): Condition[] {
  return desired.map((d) => {
    const prev = current?.find((c) => c.type === d.type);
    const lastTransitionTime =
      prev && prev.status === d.status ? (timeString(prev.lastTransitionTime) ?? now) : now;
    return { ...d, lastTransitionTime };
  });
}

export function conditionsEqual(a: Condition[] | undefined, b: Condition[]): boolean {
  if (!a || a.length !== b.length) return false;
  return b.every((d) => {
    const c = a.find((x) => x.type === d.type);
    return (
      !!c &&
      c.status === d.status &&
      c.reason === d.reason &&
      c.message === d.message &&
      (c.observedGeneration ?? undefined) === (d.observedGeneration ?? undefined) &&
      timeString(c.lastTransitionTime) === timeString(d.lastTransitionTime)
    );
  });
}

/**
 * New `status.parents` for a route: entries of other controllers kept as they are, ours replaced by
 * `desired` (one per parentRef that targets our Gateway). `changed` is false when a write would be
 * a no-op.
 */
export function mergeRouteParents(
  route: HTTPRoute,
  controllerName: string,
  desired: ReadonlyArray<{ parentRef: ParentReference; conditions: Condition[] }>,
  now: string,
): { changed: boolean; parents: RouteParentStatus[] } {
  const ns = route.metadata.namespace ?? '';
  const current = route.status?.parents ?? [];
  const others = current.filter((p) => p.controllerName !== controllerName);
  const oursBefore = current.filter((p) => p.controllerName === controllerName);
  const oursAfter: RouteParentStatus[] = desired.map((d) => {
    const prev = oursBefore.find((p) => sameParentRef(p.parentRef, d.parentRef, ns));
    return {
      parentRef: d.parentRef,
      controllerName,
      conditions: mergeConditions(prev?.conditions, d.conditions, now),
    };
  });
  const changed =
    oursBefore.length !== oursAfter.length ||
    oursAfter.some((a) => {
      const prev = oursBefore.find((p) => sameParentRef(p.parentRef, a.parentRef, ns));
      return !prev || !conditionsEqual(prev.conditions, a.conditions ?? []);
    });
  return { changed, parents: [...others, ...oursAfter] };
}
