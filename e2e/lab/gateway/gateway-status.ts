// Pure: the status the lab gateway reports on its GatewayClass and Gateway, as a real controller
// does (Accepted/Programmed, listener attachedRoutes), and whether a write is needed.
import type { Condition } from './kube-types.ts';
import type { GatewayIdentity, RouteTable } from './route-table.ts';
import { conditionsEqual, mergeConditions } from './route-status.ts';
import { gatewayGroup } from './route-table.ts';

export interface StatusObject {
  metadata?: { generation?: number };
  status?: {
    conditions?: Condition[];
    addresses?: Array<{ type?: string; value: string }>;
    listeners?: ListenerStatus[];
  };
}

export interface ListenerStatus {
  name: string;
  supportedKinds: Array<{ group?: string; kind: string }>;
  attachedRoutes: number;
  conditions: Condition[];
}

const ok = (type: string, message: string, generation: number | undefined): Condition => {
  const c: Condition = { type, status: 'True', reason: type, message };
  if (generation !== undefined) c.observedGeneration = generation;
  return c;
};

/** Routes with at least one accepted parentRef to our Gateway. */
export function attachedRoutes(table: RouteTable): number {
  let n = 0;
  for (const parents of table.routeConditions.values()) {
    if (parents.some((p) => p.conditions.some((c) => c.type === 'Accepted' && c.status === 'True'))) n += 1;
  }
  return n;
}

export function gatewayClassStatus(
  current: StatusObject,
  now: string,
): { changed: boolean; status: { conditions: Condition[] } } {
  const desired = [ok('Accepted', 'Handled by the onnx-operator lab gateway', current.metadata?.generation)];
  const conditions = mergeConditions(current.status?.conditions, desired, now);
  return { changed: !conditionsEqual(current.status?.conditions, conditions), status: { conditions } };
}

export function gatewayStatus(
  current: StatusObject,
  gw: GatewayIdentity,
  attached: number,
  address: string,
  now: string,
): { changed: boolean; status: Required<NonNullable<StatusObject['status']>> } {
  const gen = current.metadata?.generation;
  const conditions = mergeConditions(
    current.status?.conditions,
    [ok('Accepted', 'Gateway is accepted', gen), ok('Programmed', `Serving on ${address}`, gen)],
    now,
  );
  const prevListener = current.status?.listeners?.find((l) => l.name === gw.listenerName);
  const listener: ListenerStatus = {
    name: gw.listenerName,
    supportedKinds: [{ group: gatewayGroup, kind: 'HTTPRoute' }],
    attachedRoutes: attached,
    conditions: mergeConditions(
      prevListener?.conditions,
      [
        ok('Accepted', 'Listener is accepted', gen),
        ok('Programmed', 'Listener is programmed', gen),
        ok('ResolvedRefs', 'No references to resolve', gen),
      ],
      now,
    ),
  };
  const addresses = [{ type: 'IPAddress', value: address }];
  const changed =
    !conditionsEqual(current.status?.conditions, conditions) ||
    !prevListener ||
    prevListener.attachedRoutes !== attached ||
    !conditionsEqual(prevListener.conditions, listener.conditions) ||
    (current.status?.listeners?.length ?? 0) !== 1 ||
    JSON.stringify(current.status?.addresses ?? []) !== JSON.stringify(addresses);
  return { changed, status: { conditions, addresses, listeners: [listener] } };
}
