import { attachedRoutes, gatewayClassStatus, gatewayStatus } from './gateway-status.ts';
import { buildRouteTable } from './route-table.ts';
import { gw, route } from './test-fixtures.ts';

const T0 = '2025-01-01T00:00:00Z';
const T1 = '2025-01-01T01:00:00Z';

describe('attachedRoutes', () => {
  it('counts routes with an accepted parentRef to the lab Gateway', () => {
    const t = buildRouteTable({
      gateway: gw,
      routes: [
        route('a', []),
        route('b', [], { parentRefs: [{ namespace: 'lab-system', name: 'lab', sectionName: 'nope' }] }),
        route('c', [], { parentRefs: [{ namespace: 'lab-system', name: 'other' }] }),
        route('d', [{ backendRefs: [{ name: 'missing', port: 80 }] }]),
      ],
      services: [],
      slices: [],
    });
    expect(attachedRoutes(t)).toBe(2);
  });
});

describe('gatewayStatus', () => {
  it('reports Accepted/Programmed, the address and the listener, then stays quiet', () => {
    const first = gatewayStatus({ metadata: { generation: 1 } }, gw, 2, '127.0.0.1', T0);
    expect(first.changed).toBe(true);
    expect(first.status.conditions.map((c) => `${c.type}=${c.status}`)).toEqual([
      'Accepted=True',
      'Programmed=True',
    ]);
    expect(first.status.listeners).toEqual([
      expect.objectContaining({
        name: 'http',
        attachedRoutes: 2,
        supportedKinds: [{ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute' }],
      }),
    ]);
    expect(first.status.addresses).toEqual([{ type: 'IPAddress', value: '127.0.0.1' }]);
    const again = gatewayStatus(
      { metadata: { generation: 1 }, status: first.status },
      gw,
      2,
      '127.0.0.1',
      T1,
    );
    expect(again.changed).toBe(false);
    const more = gatewayStatus({ metadata: { generation: 1 }, status: first.status }, gw, 3, '127.0.0.1', T1);
    expect(more.changed).toBe(true);
    expect(more.status.conditions[0]?.lastTransitionTime).toBe(T0);
  });

  it('rewrites conditions when the generation moved', () => {
    const first = gatewayStatus({ metadata: { generation: 1 } }, gw, 0, '127.0.0.1', T0);
    expect(
      gatewayStatus({ metadata: { generation: 2 }, status: first.status }, gw, 0, '127.0.0.1', T1).changed,
    ).toBe(true);
  });
});

describe('gatewayClassStatus', () => {
  it('accepts the class once', () => {
    const first = gatewayClassStatus({ metadata: { generation: 1 } }, T0);
    expect(first).toMatchObject({
      changed: true,
      status: {
        conditions: [{ type: 'Accepted', status: 'True', observedGeneration: 1, lastTransitionTime: T0 }],
      },
    });
    expect(gatewayClassStatus({ metadata: { generation: 1 }, status: first.status }, T1).changed).toBe(false);
  });
});
