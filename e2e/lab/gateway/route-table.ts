// The gateway's pure core, part 1: (HTTPRoutes, Services, EndpointSlices) → a route table. No I/O,
// no clock, no randomness; the proxy rebuilds the table on every watch event and swaps it in.
import {
  serviceNameLabel,
  type Condition,
  type EndpointSlice,
  type HTTPBackendRef,
  type HTTPHeaderMatch,
  type HTTPRoute,
  type HTTPRouteMatch,
  type ParentReference,
  type Service,
} from './kube-types.ts';

export const gatewayGroup = 'gateway.networking.k8s.io';

/** Which Gateway (and listener) this process implements. */
export interface GatewayIdentity {
  namespace: string;
  name: string;
  listenerName: string;
  listenerPort: number;
  controllerName: string;
}

export interface Endpoint {
  ip: string;
  port: number;
}

export interface ServicePortTarget {
  /** Service port name ('' when unnamed). */
  name: string;
  port: number;
  /** Ready endpoints, de-duplicated across slices, sorted so round-robin order is stable. */
  endpoints: Endpoint[];
  /** Ready endpoints dropped because their address is outside what the gateway may contact. */
  refused: Endpoint[];
}

export interface ServiceTarget {
  namespace: string;
  name: string;
  ports: ServicePortTarget[];
}

export interface BackendTarget {
  /** `namespace/service:port`, the round-robin key. */
  key: string;
  namespace: string;
  service: string;
  port: number;
  weight: number;
  endpoints: Endpoint[];
  /** Set when the backendRef cannot be resolved; traffic to it gets 500, as the spec requires. */
  invalid?: { reason: string; message: string };
}

export interface CompiledHeaderMatch {
  name: string;
  type: 'Exact' | 'RegularExpression';
  value: string;
  regex?: RegExp;
}

export interface CompiledMatch {
  path: { type: 'Exact' | 'PathPrefix' | 'RegularExpression'; value: string; regex?: RegExp };
  headers: CompiledHeaderMatch[];
  queryParams: CompiledHeaderMatch[];
  method?: string;
}

/** A RequestMirror filter: a copy of `numerator/denominator` of the rule's requests goes to `backend`. */
export interface MirrorTarget {
  backend: BackendTarget;
  numerator: number;
  denominator: number;
}

export interface RouteEntry {
  /** `namespace/name` of the HTTPRoute. */
  route: string;
  ruleIndex: number;
  matchIndex: number;
  /** Lower-cased; empty means the route matches any host. */
  hostnames: string[];
  match: CompiledMatch;
  backends: BackendTarget[];
  /** The rule's RequestMirror filters (fire-and-forget copies; answers discarded). */
  mirrors: MirrorTarget[];
  createdAt: number;
}

export interface RouteTable {
  /** Sorted by Gateway API match precedence (hostname precedence is applied per request). */
  entries: RouteEntry[];
  /** `namespace/name` → Service with its ports' ready endpoints. */
  services: Map<string, ServiceTarget>;
  /** Desired conditions per HTTPRoute (`namespace/name`) and per parentRef that targets us. */
  routeConditions: Map<string, Array<{ parentRef: ParentReference; conditions: Condition[] }>>;
}

export interface BuildInput {
  gateway: GatewayIdentity;
  routes: readonly HTTPRoute[];
  services: readonly Service[];
  slices: readonly EndpointSlice[];
  /** Addresses the gateway may send traffic to (the lab's pod network); others are refused. */
  allowAddress?: (ip: string) => boolean;
}

const keyOf = (namespace: string | undefined, name: string | undefined): string =>
  `${namespace ?? ''}/${name ?? ''}`;

function epKey(e: Endpoint): string {
  return `${e.ip}:${e.port}`;
}

function compareEndpoints(a: Endpoint, b: Endpoint): number {
  return a.ip === b.ip ? a.port - b.port : a.ip < b.ip ? -1 : 1;
}

/** Ready endpoints of every Service port, from the EndpointSlices labelled with the Service's name. */
export function resolveServices(
  services: readonly Service[],
  slices: readonly EndpointSlice[],
  allowAddress: (ip: string) => boolean = () => true,
): Map<string, ServiceTarget> {
  const slicesBySvc = new Map<string, EndpointSlice[]>();
  for (const s of slices) {
    const svc = s.metadata.labels?.[serviceNameLabel];
    if (!svc) continue;
    const k = keyOf(s.metadata.namespace, svc);
    const list = slicesBySvc.get(k) ?? [];
    list.push(s);
    slicesBySvc.set(k, list);
  }
  const out = new Map<string, ServiceTarget>();
  for (const svc of services) {
    const k = keyOf(svc.metadata.namespace, svc.metadata.name);
    const ports: ServicePortTarget[] = [];
    for (const sp of svc.spec?.ports ?? []) {
      if (sp.protocol && sp.protocol !== 'TCP') continue;
      const portName = sp.name ?? '';
      const seen = new Map<string, Endpoint>();
      const refused = new Map<string, Endpoint>();
      for (const slice of slicesBySvc.get(k) ?? []) {
        if (slice.addressType && slice.addressType !== 'IPv4' && slice.addressType !== 'IPv6') continue;
        // The EndpointSlice controller names slice ports after the Service port and has already
        // resolved a named targetPort to each pod's number; match by name, not by number.
        const slicePort = (slice.ports ?? []).find((p) => (p.name ?? '') === portName);
        if (!slicePort || typeof slicePort.port !== 'number') continue;
        for (const ep of slice.endpoints ?? []) {
          // Per the EndpointSlice API a nil `ready` means ready.
          if (ep.conditions?.ready === false) continue;
          for (const ip of ep.addresses ?? []) {
            const e = { ip, port: slicePort.port };
            (allowAddress(ip) ? seen : refused).set(epKey(e), e);
          }
        }
      }
      ports.push({
        name: portName,
        port: sp.port,
        endpoints: [...seen.values()].sort(compareEndpoints),
        refused: [...refused.values()].sort(compareEndpoints),
      });
    }
    out.set(k, { namespace: svc.metadata.namespace ?? '', name: svc.metadata.name ?? '', ports });
  }
  return out;
}

function compileHeaders(list: HTTPHeaderMatch[] | undefined, lowerNames: boolean): CompiledHeaderMatch[] {
  return (list ?? []).map((h) => {
    const type = h.type ?? 'Exact';
    const name = lowerNames ? h.name.toLowerCase() : h.name;
    return type === 'RegularExpression'
      ? { name, type, value: h.value, regex: new RegExp(h.value) }
      : { name, type, value: h.value };
  });
}

/** Applies the spec's defaults: no match at all means PathPrefix "/". */
export function compileMatch(m: HTTPRouteMatch | undefined): CompiledMatch {
  const type = m?.path?.type ?? 'PathPrefix';
  let value = m?.path?.value ?? '/';
  // "When specified, a trailing / is ignored" for PathPrefix.
  if (type === 'PathPrefix' && value.length > 1 && value.endsWith('/'))
    value = value.replace(/\/+$/, '') || '/';
  const path: CompiledMatch['path'] =
    type === 'RegularExpression' ? { type, value, regex: new RegExp(`^(?:${value})$`) } : { type, value };
  const out: CompiledMatch = {
    path,
    headers: compileHeaders(m?.headers, true),
    queryParams: compileHeaders(m?.queryParams, false),
  };
  if (m?.method) out.method = m.method.toUpperCase();
  return out;
}

const pathTypeRank = { Exact: 0, PathPrefix: 1, RegularExpression: 2 } as const;

/**
 * Gateway API match precedence: Exact path, then longest PathPrefix, then a method match, then the
 * most header matches, then the most query param matches; ties go to the oldest route, then to
 * `namespace/name` order, then to rule and match order within the route.
 */
export function comparePrecedence(a: RouteEntry, b: RouteEntry): number {
  const pa = pathTypeRank[a.match.path.type];
  const pb = pathTypeRank[b.match.path.type];
  if (pa !== pb) return pa - pb;
  if (a.match.path.type === 'PathPrefix' && a.match.path.value.length !== b.match.path.value.length) {
    return b.match.path.value.length - a.match.path.value.length;
  }
  const ma = a.match.method ? 1 : 0;
  const mb = b.match.method ? 1 : 0;
  if (ma !== mb) return mb - ma;
  if (a.match.headers.length !== b.match.headers.length)
    return b.match.headers.length - a.match.headers.length;
  if (a.match.queryParams.length !== b.match.queryParams.length)
    return b.match.queryParams.length - a.match.queryParams.length;
  if (a.createdAt !== b.createdAt) return a.createdAt - b.createdAt;
  if (a.route !== b.route) return a.route < b.route ? -1 : 1;
  if (a.ruleIndex !== b.ruleIndex) return a.ruleIndex - b.ruleIndex;
  return a.matchIndex - b.matchIndex;
}

function targetsUs(ref: ParentReference, routeNamespace: string, gw: GatewayIdentity): boolean {
  return (
    (ref.group ?? gatewayGroup) === gatewayGroup &&
    (ref.kind ?? 'Gateway') === 'Gateway' &&
    (ref.namespace ?? routeNamespace) === gw.namespace &&
    ref.name === gw.name
  );
}

function resolveBackend(
  ref: HTTPBackendRef,
  routeNamespace: string,
  services: Map<string, ServiceTarget>,
): BackendTarget {
  const namespace = ref.namespace ?? routeNamespace;
  const port = ref.port ?? 0;
  const base = {
    key: `${namespace}/${ref.name}:${port}`,
    namespace,
    service: ref.name,
    port,
    weight: ref.weight ?? 1,
    endpoints: [],
  };
  if ((ref.group ?? '') !== '' || (ref.kind ?? 'Service') !== 'Service') {
    return {
      ...base,
      invalid: {
        reason: 'InvalidKind',
        message: `backendRef ${ref.name}: only core Services are supported (got ${ref.group ?? ''}/${ref.kind})`,
      },
    };
  }
  if (namespace !== routeNamespace) {
    // The lab does not watch ReferenceGrants, so it permits no cross-namespace reference at all.
    return {
      ...base,
      invalid: {
        reason: 'RefNotPermitted',
        message: `backendRef ${namespace}/${ref.name}: cross-namespace references are not permitted by the lab gateway`,
      },
    };
  }
  if (!ref.port) {
    return {
      ...base,
      invalid: {
        reason: 'UnsupportedValue',
        message: `backendRef ${ref.name}: port is required for a Service`,
      },
    };
  }
  const svc = services.get(`${namespace}/${ref.name}`);
  if (!svc) {
    return {
      ...base,
      invalid: {
        reason: 'BackendNotFound',
        message: `backendRef ${namespace}/${ref.name}: Service not found`,
      },
    };
  }
  const sp = svc.ports.find((p) => p.port === ref.port);
  if (!sp) {
    return {
      ...base,
      invalid: {
        reason: 'BackendNotFound',
        message: `backendRef ${namespace}/${ref.name}: Service has no port ${ref.port}`,
      },
    };
  }
  return { ...base, endpoints: sp.endpoints };
}

function timeOf(t: string | Date | undefined): number {
  if (!t) return 0;
  const n = new Date(t).getTime();
  return Number.isNaN(n) ? 0 : n;
}

function cond(
  type: string,
  ok: boolean,
  reason: string,
  message: string,
  generation: number | undefined,
): Condition {
  const c: Condition = { type, status: ok ? 'True' : 'False', reason, message };
  if (generation !== undefined) c.observedGeneration = generation;
  return c;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);

/**
 * A rule's filters: RequestMirror (Gateway API v1.2+, with `percent` or `fraction`; neither = every
 * request) is honoured; any other filter makes the route unsupported. Pure; never throws on junk.
 */
export function compileFilters(
  filters: unknown[] | undefined,
  routeNamespace: string,
  services: Map<string, ServiceTarget>,
): { mirrors: MirrorTarget[]; problem?: string } {
  const mirrors: MirrorTarget[] = [];
  for (const [i, f] of (filters ?? []).entries()) {
    if (!isObject(f) || f['type'] !== 'RequestMirror')
      return { mirrors, problem: `filter ${i}: only RequestMirror filters are supported by the lab gateway (got ${isObject(f) ? String(f['type']) : typeof f})` };
    const m = f['requestMirror'];
    if (!isObject(m) || !isObject(m['backendRef']) || typeof m['backendRef']['name'] !== 'string')
      return { mirrors, problem: `filter ${i}: requestMirror.backendRef with a name is required` };
    const percent = m['percent'];
    const fraction = m['fraction'];
    if (percent !== undefined && fraction !== undefined)
      return { mirrors, problem: `filter ${i}: requestMirror takes percent or fraction, not both` };
    let numerator = 100;
    let denominator = 100;
    if (percent !== undefined) {
      if (!isInt(percent) || percent < 0 || percent > 100)
        return { mirrors, problem: `filter ${i}: requestMirror.percent must be an integer from 0 to 100` };
      numerator = percent;
    } else if (fraction !== undefined) {
      const n = isObject(fraction) ? fraction['numerator'] : undefined;
      const d = isObject(fraction) ? (fraction['denominator'] ?? 100) : undefined;
      if (!isInt(n) || !isInt(d) || n < 0 || d < 1 || n > d)
        return { mirrors, problem: `filter ${i}: requestMirror.fraction needs integers 0 ≤ numerator ≤ denominator, denominator ≥ 1` };
      [numerator, denominator] = [n, d];
    }
    const ref = m['backendRef'] as unknown as HTTPBackendRef;
    mirrors.push({ backend: resolveBackend({ ...ref, weight: 1 }, routeNamespace, services), numerator, denominator });
  }
  return { mirrors };
}

/** Builds the whole table and the conditions each attached HTTPRoute should carry. */
export function buildRouteTable(input: BuildInput): RouteTable {
  const { gateway: gw } = input;
  const services = resolveServices(input.services, input.slices, input.allowAddress);
  const entries: RouteEntry[] = [];
  const routeConditions: RouteTable['routeConditions'] = new Map();

  for (const route of input.routes) {
    const ns = route.metadata.namespace ?? '';
    const routeKey = keyOf(ns, route.metadata.name);
    const ours = (route.spec?.parentRefs ?? []).filter((r) => targetsUs(r, ns, gw));
    if (ours.length === 0) continue;
    const generation = route.metadata.generation;

    let compileError: string | undefined;
    let unsupported: string | undefined;
    const routeEntries: RouteEntry[] = [];
    const invalid: Array<{ reason: string; message: string }> = [];
    const hostnames = (route.spec?.hostnames ?? []).map((h) => h.toLowerCase());
    (route.spec?.rules ?? []).forEach((rule, ruleIndex) => {
      const filters = compileFilters(rule.filters, ns, services);
      if (filters.problem) unsupported = `rule ${ruleIndex}: ${filters.problem}`;
      const mirrors = filters.mirrors;
      const backends = (rule.backendRefs ?? []).map((b) => resolveBackend(b, ns, services));
      for (const b of [...backends, ...mirrors.map((m) => m.backend)]) if (b.invalid) invalid.push(b.invalid);
      const matches = rule.matches && rule.matches.length > 0 ? rule.matches : [undefined];
      matches.forEach((m, matchIndex) => {
        try {
          routeEntries.push({
            route: routeKey,
            ruleIndex,
            matchIndex,
            hostnames,
            match: compileMatch(m),
            backends,
            mirrors,
            createdAt: timeOf(route.metadata.creationTimestamp),
          });
        } catch (err) {
          compileError = `rule ${ruleIndex} match ${matchIndex}: invalid regular expression: ${(err as Error).message}`;
        }
      });
    });

    const problem = compileError ?? unsupported;
    const perParent = ours.map((parentRef) => {
      let accepted = cond('Accepted', true, 'Accepted', 'Route is attached to the lab gateway', generation);
      if (parentRef.sectionName !== undefined && parentRef.sectionName !== gw.listenerName) {
        accepted = cond(
          'Accepted',
          false,
          'NoMatchingParent',
          `Gateway ${gw.namespace}/${gw.name} has no listener named "${parentRef.sectionName}"`,
          generation,
        );
      } else if (parentRef.port !== undefined && parentRef.port !== gw.listenerPort) {
        accepted = cond(
          'Accepted',
          false,
          'NoMatchingParent',
          `Gateway ${gw.namespace}/${gw.name} has no listener on port ${parentRef.port}`,
          generation,
        );
      } else if (problem) {
        accepted = cond('Accepted', false, 'UnsupportedValue', problem, generation);
      }
      const resolved =
        invalid.length === 0
          ? cond('ResolvedRefs', true, 'ResolvedRefs', 'All backend references are resolved', generation)
          : cond(
              'ResolvedRefs',
              false,
              invalid[0]?.reason ?? 'BackendNotFound',
              invalid.map((i) => i.message).join('; '),
              generation,
            );
      return { parentRef, conditions: [accepted, resolved] };
    });
    routeConditions.set(routeKey, perParent);
    if (perParent.some((p) => p.conditions[0]?.status === 'True')) entries.push(...routeEntries);
  }
  entries.sort(comparePrecedence);
  return { entries, services, routeConditions };
}

/** A JSON view of the table for `/_lab/routes`. */
export function describeTable(table: RouteTable): unknown {
  return {
    routes: table.entries.map((e) => ({
      route: e.route,
      rule: e.ruleIndex,
      match: e.matchIndex,
      hostnames: e.hostnames,
      path: { type: e.match.path.type, value: e.match.path.value },
      headers: e.match.headers.map((h) => ({ name: h.name, type: h.type, value: h.value })),
      queryParams: e.match.queryParams.map((h) => ({ name: h.name, type: h.type, value: h.value })),
      method: e.match.method,
      backends: e.backends.map((b) => ({
        service: `${b.namespace}/${b.service}`,
        port: b.port,
        weight: b.weight,
        endpoints: b.endpoints.map(epKey),
        invalid: b.invalid,
      })),
      mirrors: e.mirrors.map((m) => ({
        service: `${m.backend.namespace}/${m.backend.service}`,
        port: m.backend.port,
        fraction: `${m.numerator}/${m.denominator}`,
        endpoints: m.backend.endpoints.map(epKey),
        invalid: m.backend.invalid,
      })),
    })),
    services: [...table.services.values()].map((s) => ({
      service: `${s.namespace}/${s.name}`,
      ports: s.ports.map((p) => ({
        name: p.name,
        port: p.port,
        endpoints: p.endpoints.map(epKey),
        refused: p.refused.map(epKey),
      })),
    })),
    routeConditions: Object.fromEntries(table.routeConditions),
  };
}
