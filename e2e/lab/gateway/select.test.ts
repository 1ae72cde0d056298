import { buildRouteTable } from './route-table.ts';
import {
  hostnameScore,
  parseHost,
  parseServiceHost,
  pathMatches,
  pickEndpoint,
  pickWeighted,
  select,
  type RequestInfo,
} from './select.ts';
import { counters, gw, route, sequence, service, slice } from './test-fixtures.ts';

function req(over: Partial<RequestInfo> & { url?: string } = {}): RequestInfo {
  const u = new URL(over.url ?? '/', 'http://x');
  return {
    host: 'model.example.com',
    path: u.pathname,
    query: u.searchParams,
    method: 'GET',
    headers: {},
    ...over,
  };
}

describe('pickWeighted', () => {
  const items = [
    { id: 'a', weight: 90 },
    { id: 'zero', weight: 0 },
    { id: 'b', weight: 10 },
  ];
  it.each([
    { r: 0, want: 'a' },
    { r: 0.8999, want: 'a' },
    { r: 0.9, want: 'b' },
    { r: 0.99999, want: 'b' },
  ])('random $r picks $want', ({ r, want }) => {
    expect(pickWeighted(items, () => r)?.id).toBe(want);
  });

  it('never picks a zero weight', () => {
    const rnd = sequence(...Array.from({ length: 1000 }, (_, i) => i / 1000));
    for (let i = 0; i < 1000; i += 1) expect(pickWeighted(items, rnd)?.id).not.toBe('zero');
  });

  it('is undefined when no weight is positive', () => {
    expect(pickWeighted([{ weight: 0 }, { weight: 0 }], () => 0.5)).toBeUndefined();
    expect(pickWeighted([], () => 0.5)).toBeUndefined();
  });

  it('splits a uniform sequence in proportion to the weights', () => {
    const rnd = sequence(...Array.from({ length: 1000 }, (_, i) => (i + 0.5) / 1000));
    const got: Record<string, number> = {};
    for (let i = 0; i < 1000; i += 1) {
      const id = pickWeighted(items, rnd)?.id ?? '';
      got[id] = (got[id] ?? 0) + 1;
    }
    expect(got).toEqual({ a: 900, b: 100 });
  });
});

describe('pickEndpoint', () => {
  const eps = [
    { ip: '10.244.1.1', port: 8080 },
    { ip: '10.244.1.2', port: 8080 },
    { ip: '10.244.1.3', port: 8080 },
  ];
  it('round-robins by counter', () => {
    expect([0, 1, 2, 3, 4].map((c) => pickEndpoint(eps, c)?.ip)).toEqual([
      '10.244.1.1',
      '10.244.1.2',
      '10.244.1.3',
      '10.244.1.1',
      '10.244.1.2',
    ]);
  });
  it('is undefined with no endpoints', () => expect(pickEndpoint([], 3)).toBeUndefined());
});

describe('host parsing', () => {
  it.each([
    { host: 'Model.Example.com:8080', want: { hostname: 'model.example.com', port: 8080 } },
    { host: 'model.example.com', want: { hostname: 'model.example.com' } },
    { host: 'model.example.com.', want: { hostname: 'model.example.com' } },
    { host: '[::1]:80', want: { hostname: '[::1]', port: 80 } },
  ])('parseHost($host)', ({ host, want }) => expect(parseHost(host)).toEqual(want));

  it.each([
    { h: 'iris.models.svc', want: { name: 'iris', namespace: 'models' } },
    { h: 'iris.models.svc.cluster.local', want: { name: 'iris', namespace: 'models' } },
    { h: 'iris.models.svc.example.com', want: undefined },
    { h: 'iris.svc', want: undefined },
    { h: '-bad.models.svc', want: undefined },
  ])('parseServiceHost($h)', ({ h, want }) => expect(parseServiceHost(h)).toEqual(want));

  it.each([
    { names: [], host: 'a.example.com', want: 0 },
    { names: ['a.example.com'], host: 'a.example.com', want: 20_013 },
    { names: ['*.example.com'], host: 'a.example.com', want: 10_013 },
    { names: ['*.example.com'], host: 'a.b.example.com', want: 10_013 },
    { names: ['*.example.com'], host: 'example.com', want: -1 },
    { names: ['b.example.com'], host: 'a.example.com', want: -1 },
  ])('hostnameScore($names, $host) = $want', ({ names, host, want }) =>
    expect(hostnameScore(names, host)).toBe(want),
  );
});

describe('pathMatches', () => {
  it.each([
    { type: 'PathPrefix' as const, value: '/v2', path: '/v2', want: true },
    { type: 'PathPrefix' as const, value: '/v2', path: '/v2/', want: true },
    { type: 'PathPrefix' as const, value: '/v2', path: '/v2/models/x', want: true },
    { type: 'PathPrefix' as const, value: '/v2', path: '/v2x', want: false },
    { type: 'PathPrefix' as const, value: '/', path: '/anything', want: true },
    { type: 'Exact' as const, value: '/v2', path: '/v2', want: true },
    { type: 'Exact' as const, value: '/v2', path: '/v2/', want: false },
    {
      type: 'RegularExpression' as const,
      value: '/v[0-9]+/.*',
      path: '/v2/infer',
      want: true,
      regex: /^(?:\/v[0-9]+\/.*)$/,
    },
    {
      type: 'RegularExpression' as const,
      value: '/v[0-9]+',
      path: '/v2/infer',
      want: false,
      regex: /^(?:\/v[0-9]+)$/,
    },
  ])('$type $value vs $path → $want', ({ type, value, path, want, regex }) => {
    expect(pathMatches(regex ? { type, value, regex } : { type, value }, path)).toBe(want);
  });
});

describe('select', () => {
  const services = [
    service('stable', [{ name: 'http', port: 80 }]),
    service('canary', [{ name: 'http', port: 80 }]),
    service('empty', [{ name: 'http', port: 80 }]),
    service('multi', [
      { name: 'grpc', port: 9000 },
      { name: 'http', port: 80 },
    ]),
  ];
  const slices = [
    slice('stable', [{ name: 'http', port: 8080 }], [{ ip: '10.244.1.1' }, { ip: '10.244.1.2' }]),
    slice(
      'canary',
      [{ name: 'http', port: 8080 }],
      [{ ip: '10.244.2.1' }, { ip: '10.244.2.9', ready: false }],
    ),
    slice('empty', [{ name: 'http', port: 8080 }], [{ ip: '10.244.3.1', ready: false }]),
    slice(
      'multi',
      [
        { name: 'grpc', port: 9001 },
        { name: 'http', port: 8081 },
      ],
      [{ ip: '10.244.3.3' }],
    ),
  ];
  const split = (stable: number, canary: number) => [
    { name: 'stable', port: 80, weight: stable },
    { name: 'canary', port: 80, weight: canary },
  ];

  const routes = [
    route('split', [{ matches: [{ path: { value: '/v2' } }], backendRefs: split(80, 20) }], {
      hostnames: ['model.example.com'],
    }),
    route(
      'header',
      [
        {
          matches: [{ path: { value: '/v2' }, headers: [{ name: 'X-Canary', value: 'always' }] }],
          backendRefs: split(0, 1),
        },
      ],
      {
        hostnames: ['model.example.com'],
      },
    ),
    route(
      'exact',
      [{ matches: [{ path: { type: 'Exact', value: '/v2/health/ready' } }], backendRefs: split(1, 0) }],
      { hostnames: ['model.example.com'] },
    ),
    route('post', [{ matches: [{ path: { value: '/v2' }, method: 'POST' }], backendRefs: split(0, 1) }], {
      hostnames: ['post.example.com'],
    }),
    route('wild', [{ backendRefs: [{ name: 'canary', port: 80 }] }], { hostnames: ['*.example.com'] }),
    route('zero', [{ backendRefs: split(0, 0) }], { hostnames: ['zero.example.com'] }),
    route('broken', [{ backendRefs: [{ name: 'missing', port: 80 }] }], {
      hostnames: ['broken.example.com'],
    }),
    route('dark', [{ backendRefs: [{ name: 'empty', port: 80 }] }], { hostnames: ['dark.example.com'] }),
    route('catchall', [
      { matches: [{ path: { value: '/fallback' } }], backendRefs: [{ name: 'stable', port: 80 }] },
    ]),
  ];
  const table = buildRouteTable({ gateway: gw, routes, services, slices });

  const cases: Array<{ name: string; r: RequestInfo; rand?: number; want: string }> = [
    {
      name: 'weighted split: low draw goes to stable',
      r: req({ url: '/v2/models/m/infer' }),
      rand: 0.5,
      want: 'forward models/stable 10.244.1.1:8080',
    },
    {
      name: 'weighted split: high draw goes to canary',
      r: req({ url: '/v2/models/m/infer' }),
      rand: 0.85,
      want: 'forward models/canary 10.244.2.1:8080',
    },
    {
      name: 'header match beats the plain prefix',
      r: req({ url: '/v2/x', headers: { 'x-canary': 'always' } }),
      want: 'forward models/canary 10.244.2.1:8080',
    },
    {
      name: 'header value must match exactly',
      r: req({ url: '/v2/x', headers: { 'x-canary': 'Always' } }),
      rand: 0.1,
      want: 'forward models/stable 10.244.1.1:8080',
    },
    {
      name: 'Exact path beats every prefix',
      r: req({ url: '/v2/health/ready', headers: { 'x-canary': 'always' } }),
      want: 'forward models/stable 10.244.1.1:8080',
    },
    {
      name: 'method must match',
      r: req({ host: 'post.example.com', url: '/v2/infer', method: 'GET' }),
      want: 'notFound',
    },
    {
      name: 'method match routes',
      r: req({ host: 'post.example.com', url: '/v2/infer', method: 'POST' }),
      want: 'forward models/canary 10.244.2.1:8080',
    },
    {
      name: 'exact hostname does not fall back to a wildcard route',
      r: req({ url: '/other' }),
      want: 'notFound',
    },
    {
      name: 'wildcard hostname serves other subdomains',
      r: req({ host: 'x.example.com:17081', url: '/other' }),
      want: 'forward models/canary 10.244.2.1:8080',
    },
    { name: 'all weights zero is a 500', r: req({ host: 'zero.example.com' }), want: 'invalidBackend' },
    { name: 'unresolved backend is a 500', r: req({ host: 'broken.example.com' }), want: 'invalidBackend' },
    {
      name: 'no ready endpoint is a 503',
      r: req({ host: 'dark.example.com' }),
      want: 'noEndpoints models/empty',
    },
    {
      name: 'unknown host falls to routes without hostnames',
      r: req({ host: 'unknown.test', url: '/fallback/x' }),
      want: 'forward models/stable 10.244.1.1:8080',
    },
    {
      name: 'unknown host and path is a 404',
      r: req({ host: 'unknown.test', url: '/nope' }),
      want: 'notFound',
    },
    {
      name: 'service host routes to the Service',
      r: req({ host: 'canary.models.svc', url: '/anything' }),
      want: 'forward models/canary 10.244.2.1:8080',
    },
    {
      name: 'service host with cluster.local and port picks that port',
      r: req({ host: 'multi.models.svc.cluster.local:9000' }),
      want: 'forward models/multi 10.244.3.3:9001',
    },
    {
      name: 'service host without port prefers port 80',
      r: req({ host: 'multi.models.svc' }),
      want: 'forward models/multi 10.244.3.3:8081',
    },
    {
      name: 'service host with an unknown port is a 404',
      r: req({ host: 'multi.models.svc:1234' }),
      want: 'notFound',
    },
    { name: 'unknown service is a 404', r: req({ host: 'nope.models.svc' }), want: 'notFound' },
    {
      name: 'service without ready endpoints is a 503',
      r: req({ host: 'empty.models.svc' }),
      want: 'noEndpoints models/empty',
    },
  ];
  it.each(cases)('$name', ({ r, rand, want }) => {
    const s = select(table, r, { random: () => rand ?? 0, nextIndex: () => 0 });
    const got =
      s.kind === 'forward'
        ? `forward ${s.destination.namespace}/${s.destination.service} ${s.endpoint.ip}:${s.endpoint.port}`
        : s.kind === 'noEndpoints'
          ? `noEndpoints ${s.destination.namespace}/${s.destination.service}`
          : s.kind;
    expect(got).toBe(want);
  });

  it('round-robins across the ready endpoints of the picked backend', () => {
    const next = counters();
    const ips = Array.from({ length: 4 }, () => {
      const s = select(table, req({ url: '/v2/x' }), { random: () => 0, nextIndex: next });
      return s.kind === 'forward' ? s.endpoint.ip : s.kind;
    });
    expect(ips).toEqual(['10.244.1.1', '10.244.1.2', '10.244.1.1', '10.244.1.2']);
  });

  it('a not-ready endpoint is never chosen', () => {
    const next = counters();
    for (let i = 0; i < 10; i += 1) {
      const s = select(table, req({ url: '/v2/x' }), { random: () => 0.99, nextIndex: next });
      expect(s.kind === 'forward' && s.endpoint.ip).toBe('10.244.2.1');
    }
  });
});
