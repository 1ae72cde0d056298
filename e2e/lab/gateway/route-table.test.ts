import { buildRouteTable, resolveServices } from './route-table.ts';
import { gw, route, service, slice } from './test-fixtures.ts';

describe('resolveServices', () => {
  const cases: Array<{
    name: string;
    svc: ReturnType<typeof service>;
    slices: ReturnType<typeof slice>[];
    allow?: (ip: string) => boolean;
    want: Record<number, string[]>;
  }> = [
    {
      name: 'ready endpoints only; nil ready counts as ready',
      svc: service('m', [{ name: 'http', port: 80, targetPort: 'http' }]),
      slices: [
        slice(
          'm',
          [{ name: 'http', port: 8080 }],
          [
            { ip: '10.244.1.5', ready: true },
            { ip: '10.244.1.6', ready: false },
            { ip: '10.244.1.7', ready: null },
          ],
        ),
      ],
      want: { 80: ['10.244.1.5:8080', '10.244.1.7:8080'] },
    },
    {
      name: 'named target port resolves to the slice port of the same name',
      svc: service('m', [
        { name: 'http', port: 80 },
        { name: 'metrics', port: 9090 },
      ]),
      slices: [
        slice(
          'm',
          [
            { name: 'metrics', port: 9100 },
            { name: 'http', port: 8080 },
          ],
          [{ ip: '10.244.1.5' }],
        ),
      ],
      want: { 80: ['10.244.1.5:8080'], 9090: ['10.244.1.5:9100'] },
    },
    {
      name: 'unnamed single port matches the unnamed slice port',
      svc: service('m', [{ port: 80, targetPort: 8080 }]),
      slices: [slice('m', [{ port: 8080 }], [{ ip: '10.244.2.9' }])],
      want: { 80: ['10.244.2.9:8080'] },
    },
    {
      name: 'endpoints merge across slices, duplicates removed, sorted',
      svc: service('m', [{ name: 'http', port: 80 }]),
      slices: [
        slice('m', [{ name: 'http', port: 8080 }], [{ ip: '10.244.2.1' }, { ip: '10.244.1.1' }], {
          name: 'a',
        }),
        slice('m', [{ name: 'http', port: 8080 }], [{ ip: '10.244.1.1' }, { ip: '10.244.3.1' }], {
          name: 'b',
        }),
      ],
      want: { 80: ['10.244.1.1:8080', '10.244.2.1:8080', '10.244.3.1:8080'] },
    },
    {
      name: 'slices of another service or namespace are ignored',
      svc: service('m', [{ name: 'http', port: 80 }]),
      slices: [
        slice('other', [{ name: 'http', port: 8080 }], [{ ip: '10.244.1.1' }]),
        slice('m', [{ name: 'http', port: 8080 }], [{ ip: '10.244.1.2' }], { namespace: 'elsewhere' }),
      ],
      want: { 80: [] },
    },
    {
      name: 'addresses outside the allowed network are refused',
      svc: service('m', [{ name: 'http', port: 80 }]),
      slices: [slice('m', [{ name: 'http', port: 8080 }], [{ ip: '10.244.1.1' }, { ip: '192.168.0.1' }])],
      allow: (ip) => ip.startsWith('10.244.'),
      want: { 80: ['10.244.1.1:8080'] },
    },
  ];
  it.each(cases)('$name', ({ svc, slices, allow, want }) => {
    const got = resolveServices([svc], slices, allow).get(`models/${svc.metadata.name}`);
    expect(got).toBeDefined();
    const byPort = Object.fromEntries(
      (got?.ports ?? []).map((p) => [p.port, p.endpoints.map((e) => `${e.ip}:${e.port}`)]),
    );
    expect(byPort).toEqual(want);
  });

  it('keeps refused endpoints visible for debugging', () => {
    const got = resolveServices(
      [service('m', [{ name: 'http', port: 80 }])],
      [slice('m', [{ name: 'http', port: 8080 }], [{ ip: '192.168.0.1' }])],
      () => false,
    );
    expect(got.get('models/m')?.ports[0]?.refused).toEqual([{ ip: '192.168.0.1', port: 8080 }]);
  });
});

describe('buildRouteTable', () => {
  const svcs = [
    service('stable', [{ name: 'http', port: 80 }]),
    service('canary', [{ name: 'http', port: 80 }]),
  ];
  const slices = [
    slice('stable', [{ name: 'http', port: 8080 }], [{ ip: '10.244.1.2' }]),
    slice('canary', [{ name: 'http', port: 8080 }], [{ ip: '10.244.2.2' }]),
  ];
  const backends = [
    { name: 'stable', port: 80, weight: 90 },
    { name: 'canary', port: 80, weight: 10 },
  ];

  it('attaches routes whose parentRef names the lab Gateway and resolves backends', () => {
    const t = buildRouteTable({
      gateway: gw,
      routes: [route('r', [{ backendRefs: backends }])],
      services: svcs,
      slices,
    });
    expect(t.entries).toHaveLength(1);
    expect(t.entries[0]?.backends.map((b) => [b.service, b.weight, b.endpoints.length])).toEqual([
      ['stable', 90, 1],
      ['canary', 10, 1],
    ]);
    const conds = t.routeConditions.get('models/r')?.[0]?.conditions;
    expect(conds?.map((c) => [c.type, c.status, c.reason, c.observedGeneration])).toEqual([
      ['Accepted', 'True', 'Accepted', 1],
      ['ResolvedRefs', 'True', 'ResolvedRefs', 1],
    ]);
  });

  const rejectCases: Array<{
    name: string;
    r: ReturnType<typeof route>;
    accepted: string;
    resolved: string;
    entries: number;
  }> = [
    {
      name: 'unknown sectionName is NoMatchingParent',
      r: route('r', [{ backendRefs: backends }], {
        parentRefs: [{ namespace: 'lab-system', name: 'lab', sectionName: 'https' }],
      }),
      accepted: 'False/NoMatchingParent',
      resolved: 'True/ResolvedRefs',
      entries: 0,
    },
    {
      name: 'wrong port is NoMatchingParent',
      r: route('r', [{ backendRefs: backends }], {
        parentRefs: [{ namespace: 'lab-system', name: 'lab', port: 8443 }],
      }),
      accepted: 'False/NoMatchingParent',
      resolved: 'True/ResolvedRefs',
      entries: 0,
    },
    {
      name: 'missing Service is BackendNotFound but the route stays attached',
      r: route('r', [{ backendRefs: [{ name: 'nope', port: 80 }] }]),
      accepted: 'True/Accepted',
      resolved: 'False/BackendNotFound',
      entries: 1,
    },
    {
      name: 'missing Service port is BackendNotFound',
      r: route('r', [{ backendRefs: [{ name: 'stable', port: 81 }] }]),
      accepted: 'True/Accepted',
      resolved: 'False/BackendNotFound',
      entries: 1,
    },
    {
      name: 'cross-namespace backend is RefNotPermitted',
      r: route('r', [{ backendRefs: [{ name: 'stable', namespace: 'other', port: 80 }] }]),
      accepted: 'True/Accepted',
      resolved: 'False/RefNotPermitted',
      entries: 1,
    },
    {
      name: 'non-Service backend is InvalidKind',
      r: route('r', [{ backendRefs: [{ group: 'example.io', kind: 'Bucket', name: 'b', port: 80 }] }]),
      accepted: 'True/Accepted',
      resolved: 'False/InvalidKind',
      entries: 1,
    },
    {
      name: 'filters are UnsupportedValue and the route is not served',
      r: route('r', [{ filters: [{ type: 'RequestHeaderModifier' }], backendRefs: backends }]),
      accepted: 'False/UnsupportedValue',
      resolved: 'True/ResolvedRefs',
      entries: 0,
    },
    {
      name: 'an invalid regular expression is UnsupportedValue',
      r: route('r', [
        { matches: [{ path: { type: 'RegularExpression', value: '(' } }], backendRefs: backends },
      ]),
      accepted: 'False/UnsupportedValue',
      resolved: 'True/ResolvedRefs',
      entries: 0,
    },
  ];
  it.each(rejectCases)('$name', ({ r, accepted, resolved, entries }) => {
    const t = buildRouteTable({ gateway: gw, routes: [r], services: svcs, slices });
    const conds = t.routeConditions.get('models/r')?.[0]?.conditions ?? [];
    expect(conds.map((c) => `${c.status}/${c.reason}`)).toEqual([accepted, resolved]);
    expect(t.entries).toHaveLength(entries);
  });

  it('ignores routes attached to other Gateways and writes no conditions for them', () => {
    const r = route('r', [{ backendRefs: backends }], {
      parentRefs: [{ namespace: 'lab-system', name: 'other' }],
    });
    const r2 = route('r2', [{ backendRefs: backends }], { parentRefs: [{ name: 'lab' }] }); // namespace defaults to the route's: models
    const t = buildRouteTable({ gateway: gw, routes: [r, r2], services: svcs, slices });
    expect(t.entries).toHaveLength(0);
    expect(t.routeConditions.size).toBe(0);
  });

  it('orders entries by match precedence: Exact, longest prefix, method, headers, query, age, name', () => {
    const b = [{ name: 'stable', port: 80 }];
    const routes = [
      route('z-old', [{ matches: [{ path: { type: 'PathPrefix', value: '/v2' } }], backendRefs: b }], {
        created: '2024-01-01T00:00:00Z',
      }),
      route('a-new', [{ matches: [{ path: { type: 'PathPrefix', value: '/v2' } }], backendRefs: b }], {
        created: '2025-06-01T00:00:00Z',
      }),
      route('b-new', [{ matches: [{ path: { type: 'PathPrefix', value: '/v2' } }], backendRefs: b }], {
        created: '2025-06-01T00:00:00Z',
      }),
      route('prefix-long', [
        { matches: [{ path: { type: 'PathPrefix', value: '/v2/models' } }], backendRefs: b },
      ]),
      route('exact', [{ matches: [{ path: { type: 'Exact', value: '/v2' } }], backendRefs: b }]),
      route('method', [{ matches: [{ path: { value: '/v2' }, method: 'POST' }], backendRefs: b }]),
      route('headers', [
        { matches: [{ path: { value: '/v2' }, headers: [{ name: 'X-A', value: '1' }] }], backendRefs: b },
      ]),
      route('query', [
        { matches: [{ path: { value: '/v2' }, queryParams: [{ name: 'q', value: '1' }] }], backendRefs: b },
      ]),
    ];
    const t = buildRouteTable({ gateway: gw, routes, services: svcs, slices });
    expect(t.entries.map((e) => e.route.split('/')[1])).toEqual([
      'exact',
      'prefix-long',
      'method',
      'headers',
      'query',
      'z-old',
      'a-new',
      'b-new',
    ]);
  });

  it('a rule without matches gets the default PathPrefix "/" match, and one entry per match', () => {
    const t = buildRouteTable({
      gateway: gw,
      routes: [
        route('r', [
          { backendRefs: backends },
          { matches: [{ path: { value: '/a/' } }, { path: { value: '/b' } }], backendRefs: backends },
        ]),
      ],
      services: svcs,
      slices,
    });
    expect(t.entries.map((e) => [e.ruleIndex, e.matchIndex, e.match.path.type, e.match.path.value])).toEqual([
      [1, 0, 'PathPrefix', '/a'],
      [1, 1, 'PathPrefix', '/b'],
      [0, 0, 'PathPrefix', '/'],
    ]);
  });
});
