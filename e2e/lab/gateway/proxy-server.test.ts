// The data plane against real node:http upstreams on 127.0.0.1 (Kubernetes would refuse loopback
// EndpointSlice addresses, but the table builder takes plain objects, so the proxy path is real).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { jest } from '@jest/globals';
import { pino } from 'pino';
import { runLoad } from '../loadgen/run-load.ts';
import { createProxyServer } from './proxy-server.ts';
import { buildRouteTable, describeTable, type RouteTable } from './route-table.ts';
import { gw, route, service, slice } from './test-fixtures.ts';
import { seededRandom } from '../../../lib/test-support/seeded-random.ts';

// Every test sends requests through a real proxy to real upstreams: an explicit timeout, above the
// load generator's duration bound below.
jest.setTimeout(120_000);
/** The proxy's upstream inactivity timeout: long enough that a slowed machine never trips it by accident. */
const UPSTREAM_TIMEOUT_MS = 1_000;
/** When /slow answers: far past the upstream timeout (unref'd, so it does not hold the test process). */
const SLOW_ANSWER_MS = 30_000;

interface Upstream {
  server: http.Server;
  port: number;
  seen: Array<{ url: string; headers: http.IncomingHttpHeaders; bodyLength: number }>;
}

async function upstream(name: string): Promise<Upstream> {
  const seen: Upstream['seen'] = [];
  const server = http.createServer((req, res) => {
    let bodyLength = 0;
    req.on('data', (c: Buffer) => (bodyLength += c.length));
    req.on('end', () => {
      seen.push({ url: req.url ?? '', headers: req.headers, bodyLength });
      if (req.url === '/stream') {
        // First chunk now, the rest only after the client confirmed it saw the first one.
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('first;');
        streamGate = () => res.end('last');
        return;
      }
      if (req.url === '/slow') {
        setTimeout(() => res.end('late'), SLOW_ANSWER_MS).unref();
        return;
      }
      res.writeHead(200, { 'x-upstream': name, connection: 'keep-alive, x-hop', 'x-hop': 'secret' });
      res.end(JSON.stringify({ name, bodyLength }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as AddressInfo).port, seen };
}

let streamGate: (() => void) | undefined;
let a: Upstream;
let b: Upstream;
let c: Upstream;
let deadPort = 0;
let gateway: ReturnType<typeof createProxyServer>;
let url = '';
let table: RouteTable;
let ready = true;

beforeAll(async () => {
  [a, b, c] = await Promise.all([upstream('a'), upstream('b'), upstream('c')]);
  const dead = http.createServer();
  await new Promise<void>((r) => dead.listen(0, '127.0.0.1', r));
  deadPort = (dead.address() as AddressInfo).port;
  await new Promise((r) => dead.close(r));

  const services = ['stable', 'canary', 'dead', 'dark', 'slow', 'flaky'].map((n) =>
    service(n, [{ name: 'http', port: 80 }]),
  );
  const slices = [
    // Two endpoints of one Service: same IP, different ports, via two slices.
    slice('stable', [{ name: 'http', port: a.port }], [{ ip: '127.0.0.1' }], { name: 'stable-1' }),
    slice('stable', [{ name: 'http', port: b.port }], [{ ip: '127.0.0.1' }], { name: 'stable-2' }),
    slice('canary', [{ name: 'http', port: c.port }], [{ ip: '127.0.0.1' }]),
    slice('dead', [{ name: 'http', port: deadPort }], [{ ip: '127.0.0.1' }]),
    slice('dark', [{ name: 'http', port: a.port }], [{ ip: '127.0.0.1', ready: false }]),
    slice('slow', [{ name: 'http', port: a.port }], [{ ip: '127.0.0.2' }]),
    // A pod that is gone but still listed, next to a live one.
    slice('flaky', [{ name: 'http', port: deadPort }], [{ ip: '127.0.0.1' }], { name: 'flaky-1' }),
    slice('flaky', [{ name: 'http', port: c.port }], [{ ip: '127.0.0.1' }], { name: 'flaky-2' }),
  ];
  const routes = [
    route(
      'split',
      [
        {
          backendRefs: [
            { name: 'stable', port: 80, weight: 70 },
            { name: 'canary', port: 80, weight: 30 },
          ],
        },
      ],
      { hostnames: ['split.test'] },
    ),
    route('dead', [{ backendRefs: [{ name: 'dead', port: 80 }] }], { hostnames: ['dead.test'] }),
    route('dark', [{ backendRefs: [{ name: 'dark', port: 80 }] }], { hostnames: ['dark.test'] }),
    route('missing', [{ backendRefs: [{ name: 'missing', port: 80 }] }], { hostnames: ['missing.test'] }),
  ];
  table = buildRouteTable({ gateway: gw, routes, services, slices });
  gateway = createProxyServer({
    getTable: () => table,
    log: pino({ level: 'silent' }),
    isReady: () => ready,
    describe: () => describeTable(table),
    // 127.0.0.2 stands for an address the lab did not create.
    mayContact: (ip) => (ip === '127.0.0.1' ? { ok: true } : { ok: false, reason: `${ip} is not a lab pod` }),
    random: seededRandom(42),
    upstreamTimeoutMs: UPSTREAM_TIMEOUT_MS,
  });
  await new Promise<void>((r) => gateway.server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(gateway.server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  gateway.agent.destroy();
  for (const s of [gateway.server, a.server, b.server, c.server]) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

function get(
  path: string,
  host: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${url}${path}`,
      { method: init.method ?? 'GET', headers: { host, ...init.headers } },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end(init.body);
  });
}

describe('lab paths', () => {
  it('answers /_lab/healthz, /_lab/readyz and /_lab/routes on any host', async () => {
    expect((await get('/_lab/healthz', 'anything')).status).toBe(200);
    ready = false;
    expect((await get('/_lab/readyz', 'anything')).status).toBe(503);
    ready = true;
    expect((await get('/_lab/readyz', 'anything')).status).toBe(200);
    const routes = JSON.parse((await get('/_lab/routes', 'x')).body) as {
      routes: Array<{ route: string }>;
      stats: unknown;
    };
    expect(routes.routes.map((r) => r.route).sort()).toEqual([
      'models/dark',
      'models/dead',
      'models/missing',
      'models/split',
    ]);
    expect(routes.stats).toBeDefined();
    expect((await get('/_lab/nope', 'x')).status).toBe(404);
  });
});

describe('proxying', () => {
  it('forwards path, query and Host, says where it went, strips hop-by-hop headers', async () => {
    const before = a.seen.length + b.seen.length + c.seen.length;
    const res = await get('/v2/models/m/infer?x=1', 'stable.models.svc', {
      headers: { connection: 'keep-alive, x-private', 'x-private': 'no', 'x-keep': 'yes' },
    });
    expect(res.status).toBe(200);
    expect(res.headers['x-lab-backend']).toBe('models/stable');
    expect(res.headers['x-lab-endpoint']).toMatch(new RegExp(`^127\\.0\\.0\\.1:(${a.port}|${b.port})$`));
    expect(res.headers['x-hop']).toBeUndefined();
    expect(res.headers['x-upstream']).toMatch(/^[ab]$/);
    const seen = [...a.seen, ...b.seen].at(-1);
    expect(a.seen.length + b.seen.length + c.seen.length).toBe(before + 1);
    expect(seen?.url).toBe('/v2/models/m/infer?x=1');
    expect(seen?.headers.host).toBe('stable.models.svc');
    expect(seen?.headers['x-keep']).toBe('yes');
    expect(seen?.headers['x-private']).toBeUndefined();
    expect(seen?.headers['x-forwarded-for']).toBe('127.0.0.1');
  });

  it('passes the W3C trace context (traceparent, tracestate) through unchanged', async () => {
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const res = await get('/v2/models/m/infer?traced', 'stable.models.svc', { headers: { traceparent, tracestate: 'lab=1,other=x' } });
    expect(res.status).toBe(200);
    const seen = [...a.seen, ...b.seen].find((r) => r.url === '/v2/models/m/infer?traced');
    expect(seen?.headers.traceparent).toBe(traceparent);
    expect(seen?.headers.tracestate).toBe('lab=1,other=x');
  });

  it('round-robins across the ready endpoints of a Service', async () => {
    const endpoints = [];
    for (let i = 0; i < 6; i += 1)
      endpoints.push((await get('/', 'stable.models.svc')).headers['x-lab-endpoint']);
    expect(new Set(endpoints).size).toBe(2);
    expect(endpoints[0]).not.toBe(endpoints[1]);
    expect(endpoints[0]).toBe(endpoints[2]);
  });

  it('streams the request body through', async () => {
    const res = await get('/upload', 'canary.models.svc', {
      method: 'POST',
      body: 'x'.repeat(3 * 1024 * 1024),
    });
    expect(JSON.parse(res.body)).toEqual({ name: 'c', bodyLength: 3 * 1024 * 1024 });
  });

  it('streams the response: the first chunk arrives before the upstream has finished', async () => {
    const text = await new Promise<string>((resolve, reject) => {
      const req = http.request(`${url}/stream`, { headers: { host: 'canary.models.svc' } }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          body += d;
          if (body === 'first;') streamGate?.(); // only now may the upstream finish
        });
        res.on('end', () => resolve(body));
      });
      req.on('error', reject);
      req.end();
    });
    expect(text).toBe('first;last');
  });

  it('splits by HTTPRoute weights (70/30 over 1,000 requests, via the load generator)', async () => {
    const r = await runLoad({
      url: `${url}/`,
      headers: { host: 'split.test' },
      concurrency: 8,
      maxRequests: 1000,
      durationMs: 60_000, // a bound not meant to be reached: the 1,000 requests take ~1 s
    });
    expect(r.total.ok).toBe(1000);
    const stable = r.byGroup['models/stable']?.ok ?? 0;
    const canary = r.byGroup['models/canary']?.ok ?? 0;
    expect(stable + canary).toBe(1000);
    expect(Math.abs(stable / 10 - 70)).toBeLessThanOrEqual(4);
  });
});

describe('retries', () => {
  it('a refused connection is retried once on the next endpoint, with or without a body', async () => {
    const results = [];
    for (let i = 0; i < 4; i += 1) {
      const res = await get('/up', 'flaky.models.svc', i % 2 ? { method: 'POST', body: 'payload' } : {});
      results.push([res.status, res.headers['x-lab-endpoint'], i % 2 ? JSON.parse(res.body).bodyLength : 0]);
    }
    expect(results).toEqual(Array.from({ length: 4 }, (_, i) => [200, `127.0.0.1:${c.port}`, i % 2 ? 7 : 0]));
    const stats = JSON.parse((await get('/_lab/routes', 'x')).body) as {
      stats: { byOutcome: Record<string, number> };
    };
    expect(stats.stats.byOutcome.Retried).toBeGreaterThanOrEqual(2);
  });
});

describe('failures', () => {
  it.each([
    { name: 'no route', host: 'nothing.test', status: 404, code: 'NoRoute', backend: undefined },
    { name: 'unknown Service', host: 'nope.models.svc', status: 404, code: 'NoRoute', backend: undefined },
    {
      name: 'no ready endpoint',
      host: 'dark.test',
      status: 503,
      code: 'NoReadyEndpoints',
      backend: 'models/dark',
    },
    {
      name: 'unresolved backendRef',
      host: 'missing.test',
      status: 500,
      code: 'InvalidBackend',
      backend: 'models/missing',
    },
    {
      name: 'connection refused',
      host: 'dead.test',
      status: 502,
      code: 'UpstreamUnavailable',
      backend: 'models/dead',
    },
    {
      name: 'address the lab did not create',
      host: 'slow.models.svc',
      status: 502,
      code: 'AddressRefused',
      backend: 'models/slow',
    },
  ])('$name → $status $code', async ({ host, status, code, backend }) => {
    const res = await get('/x', host);
    expect(res.status).toBe(status);
    expect(res.headers['content-type']).toBe('application/json');
    expect(JSON.parse(res.body)).toMatchObject({ code, error: expect.any(String) });
    expect(res.headers['x-lab-backend']).toBe(backend);
  });

  it('an upstream that stays silent past the timeout is a 504', async () => {
    const started = performance.now();
    const res = await get('/slow', 'canary.models.svc');
    const elapsed = performance.now() - started;
    expect(res.status).toBe(504);
    expect(JSON.parse(res.body)).toMatchObject({ code: 'UpstreamTimeout' });
    // Not before the timeout (timers never fire early), and without waiting for the upstream's answer.
    expect(elapsed).toBeGreaterThanOrEqual(UPSTREAM_TIMEOUT_MS - 1);
    expect(elapsed).toBeLessThan(SLOW_ANSWER_MS / 2);
  });
});
