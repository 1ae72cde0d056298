// RequestMirror in the lab gateway: the filter compiled from an HTTPRoute (percent, fraction, junk),
// the pure pick with the randomness passed in, and the data plane against real node:http upstreams:
// the client's answer always comes from the primary backend, never waits for the copy and never
// fails because of it; the copy carries the whole body and its answer is discarded.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { jest } from '@jest/globals';
import { pino } from 'pino';
import { seededRandom } from '../../../lib/test-support/seeded-random.ts';
import { createProxyServer, originForm } from './proxy-server.ts';
import { buildRouteTable, compileFilters, resolveServices, type RouteTable } from './route-table.ts';
import { pickMirrors } from './select.ts';
import { gw, route, service, slice } from './test-fixtures.ts';

jest.setTimeout(60_000);

const mirrorTo = (requestMirror: Record<string, unknown>) => [{ type: 'RequestMirror', requestMirror: { backendRef: { name: 'canary', port: 8082 }, ...requestMirror } }];

describe('compileFilters', () => {
  const services = resolveServices([service('canary', [{ name: 'shadow', port: 8082 }])], [slice('canary', [{ name: 'shadow', port: 9000 }], [{ ip: '10.244.1.5' }])]);
  it('takes percent, fraction (denominator 100 by default) or neither (every request)', () => {
    expect(compileFilters(mirrorTo({ percent: 20 }), 'models', services).mirrors.map((m) => [m.numerator, m.denominator, m.backend.endpoints])).toEqual([[20, 100, [{ ip: '10.244.1.5', port: 9000 }]]]);
    expect(compileFilters(mirrorTo({ fraction: { numerator: 1, denominator: 3 } }), 'models', services).mirrors.map((m) => [m.numerator, m.denominator])).toEqual([[1, 3]]);
    expect(compileFilters(mirrorTo({ fraction: { numerator: 5 } }), 'models', services).mirrors.map((m) => [m.numerator, m.denominator])).toEqual([[5, 100]]);
    expect(compileFilters(mirrorTo({}), 'models', services).mirrors.map((m) => [m.numerator, m.denominator])).toEqual([[100, 100]]);
  });
  it.each([
    ['another filter type', [{ type: 'RequestHeaderModifier' }], 'only RequestMirror filters'],
    ['junk', ['x'], 'only RequestMirror filters'],
    ['no backendRef', [{ type: 'RequestMirror', requestMirror: {} }], 'backendRef with a name'],
    ['both percent and fraction', mirrorTo({ percent: 5, fraction: { numerator: 1 } }), 'not both'],
    ['percent over 100', mirrorTo({ percent: 101 }), 'integer from 0 to 100'],
    ['a fraction above one', mirrorTo({ fraction: { numerator: 3, denominator: 2 } }), 'numerator ≤ denominator'],
  ])('refuses %s with a problem the route status shows', (_n, filters, text) => {
    expect(compileFilters(filters as unknown[], 'models', services).problem).toContain(text);
  });
  it('a mirror to a missing Service leaves the route unresolved (ResolvedRefs False), still served', () => {
    const t = buildRouteTable({ gateway: gw, routes: [route('r', [{ filters: mirrorTo({ percent: 10 }), backendRefs: [{ name: 'stable', port: 80 }] }])], services: [service('stable', [{ port: 80 }])], slices: [] });
    const conds = t.routeConditions.get('models/r')?.[0]?.conditions;
    expect(conds?.map((c) => `${c.type}=${c.status}`)).toEqual(['Accepted=True', 'ResolvedRefs=False']);
    expect(t.entries).toHaveLength(1);
  });
});

describe('pickMirrors', () => {
  const table = buildRouteTable({
    gateway: gw,
    routes: [route('r', [{ filters: mirrorTo({ percent: 20 }), backendRefs: [{ name: 'stable', port: 80 }] }])],
    services: [service('stable', [{ port: 80 }]), service('canary', [{ name: 'shadow', port: 8082 }])],
    slices: [slice('canary', [{ name: 'shadow', port: 9000 }], [{ ip: '10.244.1.5' }, { ip: '10.244.1.6' }])],
  });
  const entry = table.entries[0]!;
  it('copies a request when the draw is under the fraction, round-robin over the mirror\'s endpoints', () => {
    let n = 0;
    const deps = (r: number) => ({ random: () => r, nextIndex: () => n++ });
    expect(pickMirrors(entry, deps(0.19)).map((p) => p.endpoint.ip)).toEqual(['10.244.1.5']);
    expect(pickMirrors(entry, deps(0.2))).toEqual([]);
    expect(pickMirrors(entry, deps(0))).toEqual([{ destination: { namespace: 'models', service: 'canary', port: 8082 }, endpoint: { ip: '10.244.1.6', port: 9000 } }]);
  });
  it('copies about the fraction of requests', () => {
    const random = seededRandom(7);
    const copies = Array.from({ length: 10_000 }, () => pickMirrors(entry, { random, nextIndex: () => 0 }).length).reduce((a, b) => a + b, 0);
    expect(copies).toBeGreaterThan(1800);
    expect(copies).toBeLessThan(2200);
  });
});

describe('originForm', () => {
  it('turns a proxy request\'s absolute target into a path', () => {
    expect(originForm('http://iris.ml.svc:8082/v2/models/iris/infer?x=1')).toBe('/v2/models/iris/infer?x=1');
    expect(originForm('/v2/health/ready')).toBe('/v2/health/ready');
    expect(originForm(undefined)).toBe('/');
  });
});

describe('mirroring through the proxy', () => {
  interface Upstream {
    server: http.Server;
    port: number;
    bodies: number[];
  }
  /** `hang`: never answers (the copy must not hold anything up). */
  async function upstream(name: string, hang = false): Promise<Upstream> {
    const bodies: number[] = [];
    const server = http.createServer((req, res) => {
      let n = 0;
      req.on('data', (c: Buffer) => (n += c.length));
      req.on('end', () => {
        bodies.push(n);
        if (hang) return;
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ name, n }));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return { server, port: (server.address() as AddressInfo).port, bodies };
  }
  let stable: Upstream;
  let shadow: Upstream;
  let gateway: ReturnType<typeof createProxyServer>;
  let url = '';
  let table: RouteTable;
  beforeAll(async () => {
    [stable, shadow] = await Promise.all([upstream('stable'), upstream('shadow', true)]);
    table = buildRouteTable({
      gateway: gw,
      routes: [
        route('half', [{ filters: mirrorTo({ percent: 50 }), backendRefs: [{ name: 'stable', port: 80 }] }], { hostnames: ['half.test'] }),
        route('dead', [{ filters: [{ type: 'RequestMirror', requestMirror: { backendRef: { name: 'gone', port: 8082 } } }], backendRefs: [{ name: 'stable', port: 80 }] }], { hostnames: ['dead.test'] }),
      ],
      services: [service('stable', [{ name: 'http', port: 80 }]), service('canary', [{ name: 'shadow', port: 8082 }]), service('gone', [{ name: 'shadow', port: 8082 }])],
      slices: [
        slice('stable', [{ name: 'http', port: stable.port }], [{ ip: '127.0.0.1' }]),
        slice('canary', [{ name: 'shadow', port: shadow.port }], [{ ip: '127.0.0.1' }]),
        slice('gone', [{ name: 'shadow', port: 1 }], [{ ip: '127.0.0.1' }]),
      ],
    });
    gateway = createProxyServer({ getTable: () => table, log: pino({ level: 'silent' }), isReady: () => true, describe: () => ({}), mayContact: () => ({ ok: true }), random: seededRandom(3), upstreamTimeoutMs: 2_000 });
    await new Promise<void>((r) => gateway.server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(gateway.server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    gateway.agent.destroy();
    for (const s of [gateway.server, stable.server, shadow.server]) {
      s.closeAllConnections();
      await new Promise((r) => s.close(r));
    }
  });
  const post = (host: string, body: string) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request(`${url}/v2/models/m/infer`, { method: 'POST', headers: { host, 'content-type': 'application/json' } }, (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      });
      req.on('error', reject);
      req.end(body);
    });

  it('answers every client from stable while a copy of about half goes to a canary that never answers', async () => {
    const body = JSON.stringify({ inputs: [{ name: 'x', data: 'y'.repeat(50_000) }] });
    const answers = await Promise.all(Array.from({ length: 40 }, () => post('half.test', body)));
    expect(answers.map((a) => a.status)).toEqual(Array(40).fill(200));
    expect(answers.every((a) => JSON.parse(a.body).name === 'stable')).toBe(true);
    await new Promise((r) => setTimeout(r, 200));
    // The copies carried the whole body; the seeded draws mirror 10–30 of 40.
    expect(shadow.bodies.length).toBeGreaterThanOrEqual(10);
    expect(shadow.bodies.length).toBeLessThanOrEqual(30);
    expect(new Set(shadow.bodies)).toEqual(new Set([Buffer.byteLength(body)]));
    expect(stable.bodies.filter((n) => n === Buffer.byteLength(body))).toHaveLength(40);
  });

  it('a mirror whose backend refuses connections never fails the client', async () => {
    const answers = await Promise.all(Array.from({ length: 10 }, () => post('dead.test', '{}')));
    expect(answers.map((a) => a.status)).toEqual(Array(10).fill(200));
    await new Promise((r) => setTimeout(r, 100));
    expect(gateway.stats.byOutcome['MirrorFailed']).toBe(10);
  });
});
