// The gateway's pure core, part 2: given a route table and a request, decide where it goes. The
// random source and the round-robin counters are passed in, so tests drive them exactly.
import type {
  BackendTarget,
  CompiledHeaderMatch,
  CompiledMatch,
  Endpoint,
  RouteEntry,
  RouteTable,
} from './route-table.ts';

export interface RequestInfo {
  /** Host header as sent (may carry a port). */
  host: string;
  /** Path without the query string. */
  path: string;
  query: URLSearchParams;
  method: string;
  /** Lower-case names, as node:http gives them. */
  headers: Record<string, string | string[] | undefined>;
}

export interface SelectDeps {
  /** Uniform in [0, 1). */
  random: () => number;
  /** Returns the next round-robin counter for a backend key (0, 1, 2, ...). */
  nextIndex: (key: string) => number;
}

export interface Destination {
  namespace: string;
  service: string;
  port: number;
}

/** A copy to send: fire-and-forget, its answer discarded. */
export interface MirrorPick {
  destination: Destination;
  endpoint: Endpoint;
}

export type Selection =
  | { kind: 'forward'; destination: Destination; endpoint: Endpoint; route?: string; mirrors?: MirrorPick[] }
  | { kind: 'notFound'; message: string }
  /** The matched rule has no backend with a positive weight, or the picked one is invalid: 500. */
  | { kind: 'invalidBackend'; message: string; route?: string; destination?: Destination }
  /** The picked backend has no ready endpoint: 503. */
  | { kind: 'noEndpoints'; message: string; destination: Destination; route?: string };

export interface ParsedHost {
  hostname: string;
  port?: number;
}

export function parseHost(host: string): ParsedHost {
  const h = host.trim().toLowerCase();
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    const port = Number(h.slice(end + 2));
    return end > 0 && h[end + 1] === ':' && Number.isInteger(port)
      ? { hostname: h.slice(0, end + 1), port }
      : { hostname: h };
  }
  const i = h.lastIndexOf(':');
  if (i < 0) return { hostname: h.replace(/\.$/, '') };
  const port = Number(h.slice(i + 1));
  return Number.isInteger(port) && port > 0
    ? { hostname: h.slice(0, i).replace(/\.$/, ''), port }
    : { hostname: h };
}

/**
 * How well a route's hostnames match a request host: -1 no match, 0 the route has no hostnames
 * (matches all), otherwise higher is more specific. Per the spec, an exact hostname beats any
 * wildcard, and among matches more characters win. `*.example.com` matches `a.example.com` and
 * `a.b.example.com`, never `example.com`.
 */
export function hostnameScore(routeHostnames: readonly string[], hostname: string): number {
  if (routeHostnames.length === 0) return 0;
  let best = -1;
  for (const h of routeHostnames) {
    if (h === hostname) best = Math.max(best, 20_000 + h.length);
    else if (h.startsWith('*.') && hostname.endsWith(h.slice(1)) && hostname.length > h.length - 1)
      best = Math.max(best, 10_000 + h.length);
  }
  return best;
}

function headerValue(headers: RequestInfo['headers'], name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

function valueMatches(m: CompiledHeaderMatch, actual: string | undefined): boolean {
  if (actual === undefined) return false;
  return m.regex ? m.regex.test(actual) : actual === m.value;
}

export function pathMatches(m: CompiledMatch['path'], path: string): boolean {
  switch (m.type) {
    case 'Exact':
      return path === m.value;
    case 'PathPrefix':
      // Element-wise: "/foo" matches "/foo" and "/foo/bar", never "/foobar".
      return m.value === '/' || path === m.value || path.startsWith(`${m.value}/`);
    case 'RegularExpression':
      return m.regex?.test(path) ?? false;
  }
}

export function matches(m: CompiledMatch, req: RequestInfo): boolean {
  if (!pathMatches(m.path, req.path)) return false;
  if (m.method && m.method !== req.method.toUpperCase()) return false;
  for (const h of m.headers) if (!valueMatches(h, headerValue(req.headers, h.name))) return false;
  for (const q of m.queryParams) if (!valueMatches(q, req.query.get(q.name) ?? undefined)) return false;
  return true;
}

/** Weighted random choice; weight 0 (or less) is never chosen. Undefined when no weight is positive. */
export function pickWeighted<T extends { weight: number }>(
  items: readonly T[],
  random: () => number,
): T | undefined {
  let total = 0;
  for (const it of items) if (it.weight > 0) total += it.weight;
  if (total <= 0) return undefined;
  let r = random() * total;
  let last: T | undefined;
  for (const it of items) {
    if (it.weight <= 0) continue;
    last = it;
    if (r < it.weight) return it;
    r -= it.weight;
  }
  return last; // floating-point leftovers land on the last positive item
}

export function pickEndpoint(endpoints: readonly Endpoint[], counter: number): Endpoint | undefined {
  if (endpoints.length === 0) return undefined;
  return endpoints[((counter % endpoints.length) + endpoints.length) % endpoints.length];
}

/** `NAME.NAMESPACE.svc` or `NAME.NAMESPACE.svc.cluster.local`. */
export function parseServiceHost(hostname: string): { name: string; namespace: string } | undefined {
  const m = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)\.([a-z0-9]([-a-z0-9]*[a-z0-9])?)\.svc(\.cluster\.local)?$/.exec(
    hostname,
  );
  return m ? { name: m[1] ?? '', namespace: m[3] ?? '' } : undefined;
}

function fromBackend(b: BackendTarget, route: string, deps: SelectDeps): Selection {
  const destination = { namespace: b.namespace, service: b.service, port: b.port };
  if (b.invalid) return { kind: 'invalidBackend', message: b.invalid.message, route, destination };
  const endpoint = pickEndpoint(b.endpoints, b.endpoints.length > 1 ? deps.nextIndex(b.key) : 0);
  if (!endpoint)
    return {
      kind: 'noEndpoints',
      message: `no ready endpoint for ${b.namespace}/${b.service}:${b.port}`,
      destination,
      route,
    };
  return { kind: 'forward', destination, endpoint, route };
}

function selectService(
  table: RouteTable,
  svcHost: { name: string; namespace: string },
  port: number | undefined,
  deps: SelectDeps,
): Selection {
  const svc = table.services.get(`${svcHost.namespace}/${svcHost.name}`);
  if (!svc) return { kind: 'notFound', message: `Service ${svcHost.namespace}/${svcHost.name} not found` };
  // An explicit port picks that Service port; otherwise port 80, else the first one.
  const sp =
    port !== undefined
      ? svc.ports.find((p) => p.port === port)
      : (svc.ports.find((p) => p.port === 80) ?? svc.ports[0]);
  if (!sp)
    return {
      kind: 'notFound',
      message: `Service ${svc.namespace}/${svc.name} has no port ${port ?? '(none)'}`,
    };
  return fromBackend(
    {
      key: `${svc.namespace}/${svc.name}:${sp.port}`,
      namespace: svc.namespace,
      service: svc.name,
      port: sp.port,
      weight: 1,
      endpoints: sp.endpoints,
    },
    '',
    deps,
  );
}

function firstMatch(entries: readonly RouteEntry[], req: RequestInfo): RouteEntry | undefined {
  return entries.find((e) => matches(e.match, req));
}

/**
 * Routing order: HTTPRoutes that name the request's host (most specific hostname wins, and no
 * fallback to a less specific one, like Envoy's virtual hosts); then `name.namespace.svc` hosts
 * straight to the Service; then HTTPRoutes without hostnames.
 */
export function select(table: RouteTable, req: RequestInfo, deps: SelectDeps): Selection {
  const { hostname, port } = parseHost(req.host);
  let bestScore = -1;
  for (const e of table.entries) bestScore = Math.max(bestScore, hostnameScore(e.hostnames, hostname));

  let candidates: RouteEntry[] | undefined;
  if (bestScore > 0) {
    candidates = table.entries.filter((e) => hostnameScore(e.hostnames, hostname) === bestScore);
  } else {
    const svcHost = parseServiceHost(hostname);
    if (svcHost) return selectService(table, svcHost, port, deps);
    if (bestScore === 0) candidates = table.entries.filter((e) => e.hostnames.length === 0);
  }
  const entry = candidates ? firstMatch(candidates, req) : undefined;
  if (!entry) return { kind: 'notFound', message: `no route for host "${hostname}" path "${req.path}"` };
  const backend = pickWeighted(entry.backends, deps.random);
  if (!backend)
    return {
      kind: 'invalidBackend',
      message: `route ${entry.route} rule ${entry.ruleIndex} has no backend with a positive weight`,
      route: entry.route,
    };
  const s = fromBackend(backend, entry.route, deps);
  if (s.kind !== 'forward' || entry.mirrors.length === 0) return s;
  const mirrors = pickMirrors(entry, deps);
  return mirrors.length > 0 ? { ...s, mirrors } : s;
}

/**
 * Which of the rule's RequestMirror filters copy this request: each draws once, a copy with
 * probability numerator/denominator; a mirror backend without a ready endpoint (or invalid) is
 * skipped, never an error for the client.
 */
export function pickMirrors(entry: RouteEntry, deps: SelectDeps): MirrorPick[] {
  const out: MirrorPick[] = [];
  for (const m of entry.mirrors) {
    if (m.numerator <= 0 || !(deps.random() * m.denominator < m.numerator)) continue;
    const b = m.backend;
    if (b.invalid) continue;
    const endpoint = pickEndpoint(b.endpoints, b.endpoints.length > 1 ? deps.nextIndex(`mirror:${b.key}`) : 0);
    if (endpoint) out.push({ destination: { namespace: b.namespace, service: b.service, port: b.port }, endpoint });
  }
  return out;
}
