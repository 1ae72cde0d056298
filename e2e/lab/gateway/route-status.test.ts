import type { Condition, HTTPRoute } from './kube-types.ts';
import { mergeRouteParents } from './route-status.ts';
import { gw, labParent, route } from './test-fixtures.ts';

const ok = (gen = 1): Condition[] => [
  { type: 'Accepted', status: 'True', reason: 'Accepted', message: 'attached', observedGeneration: gen },
  {
    type: 'ResolvedRefs',
    status: 'True',
    reason: 'ResolvedRefs',
    message: 'resolved',
    observedGeneration: gen,
  },
];
const T0 = '2025-01-01T00:00:00Z';
const T1 = '2025-01-01T00:05:00Z';

function withStatus(r: HTTPRoute, parents: NonNullable<HTTPRoute['status']>['parents']): HTTPRoute {
  return { ...r, status: { parents } };
}

describe('mergeRouteParents', () => {
  it('adds our entry with lastTransitionTime = now on first write', () => {
    const got = mergeRouteParents(
      route('r', []),
      gw.controllerName,
      [{ parentRef: labParent, conditions: ok() }],
      T0,
    );
    expect(got.changed).toBe(true);
    expect(got.parents).toEqual([
      {
        parentRef: labParent,
        controllerName: gw.controllerName,
        conditions: ok().map((c) => ({ ...c, lastTransitionTime: T0 })),
      },
    ]);
  });

  it('reports no change when the conditions are already there (steady state makes no writes)', () => {
    const first = mergeRouteParents(
      route('r', []),
      gw.controllerName,
      [{ parentRef: labParent, conditions: ok() }],
      T0,
    );
    const again = mergeRouteParents(
      withStatus(route('r', []), first.parents),
      gw.controllerName,
      [{ parentRef: labParent, conditions: ok() }],
      T1,
    );
    expect(again.changed).toBe(false);
    expect(again.parents).toEqual(first.parents);
  });

  it('treats a server-returned Date like its RFC 3339 string', () => {
    const r = withStatus(route('r', []), [
      {
        parentRef: labParent,
        controllerName: gw.controllerName,
        conditions: ok().map((c) => ({ ...c, lastTransitionTime: new Date(T0) })),
      },
    ]);
    expect(
      mergeRouteParents(r, gw.controllerName, [{ parentRef: labParent, conditions: ok() }], T1).changed,
    ).toBe(false);
  });

  it('keeps lastTransitionTime when only the generation or message changes, moves it when status flips', () => {
    const first = mergeRouteParents(
      route('r', []),
      gw.controllerName,
      [{ parentRef: labParent, conditions: ok() }],
      T0,
    );
    const flipped: Condition[] = [
      ok(2)[0] as Condition,
      {
        type: 'ResolvedRefs',
        status: 'False',
        reason: 'BackendNotFound',
        message: 'gone',
        observedGeneration: 2,
      },
    ];
    const got = mergeRouteParents(
      withStatus(route('r', []), first.parents),
      gw.controllerName,
      [{ parentRef: labParent, conditions: flipped }],
      T1,
    );
    expect(got.changed).toBe(true);
    expect(
      got.parents[0]?.conditions?.map((c) => [c.type, c.observedGeneration, c.lastTransitionTime]),
    ).toEqual([
      ['Accepted', 2, T0],
      ['ResolvedRefs', 2, T1],
    ]);
  });

  it("leaves other controllers' entries alone and removes ours when the route detaches", () => {
    const other = {
      parentRef: { name: 'istio', namespace: 'istio-system' },
      controllerName: 'istio.io/gateway-controller',
      conditions: ok(),
    };
    const r = withStatus(route('r', []), [
      other,
      { parentRef: labParent, controllerName: gw.controllerName, conditions: ok() },
    ]);
    const got = mergeRouteParents(r, gw.controllerName, [], T1);
    expect(got.changed).toBe(true);
    expect(got.parents).toEqual([other]);
  });
});
