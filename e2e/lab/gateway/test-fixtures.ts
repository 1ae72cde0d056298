// Builders for the Kubernetes objects the gateway's pure tests feed in (plain data, no server).
import type { EndpointSlice, HTTPRoute, HTTPRouteRule, ParentReference, Service } from './kube-types.ts';
import type { GatewayIdentity } from './route-table.ts';

export const gw: GatewayIdentity = {
  namespace: 'lab-system',
  name: 'lab',
  listenerName: 'http',
  listenerPort: 80,
  controllerName: 'onnxop.io/lab-gateway',
};

export const labParent: ParentReference = {
  group: 'gateway.networking.k8s.io',
  kind: 'Gateway',
  namespace: 'lab-system',
  name: 'lab',
};

export function route(
  name: string,
  rules: HTTPRouteRule[],
  opts: {
    namespace?: string;
    hostnames?: string[];
    parentRefs?: ParentReference[];
    created?: string;
    generation?: number;
  } = {},
): HTTPRoute {
  const spec: NonNullable<HTTPRoute['spec']> = { parentRefs: opts.parentRefs ?? [labParent], rules };
  if (opts.hostnames) spec.hostnames = opts.hostnames;
  return {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: {
      name,
      namespace: opts.namespace ?? 'models',
      generation: opts.generation ?? 1,
      creationTimestamp: opts.created ?? '2025-01-01T00:00:00Z',
    },
    spec,
  };
}

export function service(
  name: string,
  ports: Array<{ name?: string; port: number; targetPort?: number | string }>,
  namespace = 'models',
): Service {
  return { metadata: { name, namespace }, spec: { ports: ports.map((p) => ({ protocol: 'TCP', ...p })) } };
}

export function slice(
  svc: string,
  ports: Array<{ name?: string; port: number }>,
  endpoints: Array<{ ip: string; ready?: boolean | null }>,
  opts: { namespace?: string; name?: string } = {},
): EndpointSlice {
  return {
    metadata: {
      name: opts.name ?? `${svc}-abcde`,
      namespace: opts.namespace ?? 'models',
      labels: { 'kubernetes.io/service-name': svc },
    },
    addressType: 'IPv4',
    ports: ports.map((p) => ({ name: p.name ?? '', port: p.port, protocol: 'TCP' })),
    endpoints: endpoints.map((e) => ({
      addresses: [e.ip],
      conditions: e.ready === undefined ? {} : { ready: e.ready },
    })),
  };
}

/** A deterministic random source: returns the given values in turn. */
export function sequence(...values: number[]): () => number {
  let i = 0;
  return () => {
    const v = values[i % values.length];
    i += 1;
    return v ?? 0;
  };
}

/** Round-robin counters as the proxy keeps them. */
export function counters(): (key: string) => number {
  const m = new Map<string, number>();
  return (key) => {
    const n = m.get(key) ?? 0;
    m.set(key, n + 1);
    return n;
  };
}
