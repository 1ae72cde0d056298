// runLoad against real node:http servers on 127.0.0.1.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { runLoad } from './run-load.ts';

let server: http.Server;
let base = '';
let served = 0;
const hosts: string[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    served += 1;
    hosts.push(req.headers.host ?? '');
    const u = new URL(req.url ?? '/', 'http://x');
    if (u.pathname === '/slow') {
      setTimeout(() => res.end('late'), 500);
      return;
    }
    if (u.pathname === '/echo') {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () =>
        res.writeHead(200, { 'x-lab-backend': `len-${Buffer.concat(chunks).length}` }).end(),
      );
      return;
    }
    // Alternate backends, one in five fails, to check grouping and classification.
    const n = served;
    res.writeHead(n % 5 === 0 ? 503 : 200, { 'x-lab-backend': n % 2 ? 'ns/odd' : 'ns/even' });
    res.end('ok');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});
beforeEach(() => {
  served = 0;
  hosts.length = 0;
});

describe('runLoad', () => {
  it('closed loop stops at maxRequests and groups by x-lab-backend', async () => {
    const r = await runLoad({
      url: `${base}/`,
      headers: { host: 'm.ns.svc' },
      concurrency: 4,
      maxRequests: 100,
      durationMs: 10_000,
    });
    expect(r).toMatchObject({ mode: 'closed', sent: 100, stoppedBy: 'maxRequests' });
    expect(served).toBe(100);
    expect(new Set(hosts)).toEqual(new Set(['m.ns.svc']));
    expect(r.total).toMatchObject({ count: 100, ok: 80, serverError: 20 });
    expect((r.byGroup['ns/odd']?.count ?? 0) + (r.byGroup['ns/even']?.count ?? 0)).toBe(100);
    expect(r.total.latencyMs.p99).toBeGreaterThan(0);
  });

  it('open loop holds its rate and stops at the duration', async () => {
    const r = await runLoad({ url: `${base}/`, rate: 100, maxRequests: 10_000, durationMs: 500 });
    expect(r.stoppedBy).toBe('duration');
    // 100 req/s for 0.5 s: 50 on schedule (allow for timer granularity).
    expect(r.sent).toBeGreaterThanOrEqual(45);
    expect(r.sent).toBeLessThanOrEqual(51);
    expect(r.total.count).toBe(r.sent);
  });

  it('open loop stops at maxRequests before the duration', async () => {
    const started = Date.now();
    const r = await runLoad({ url: `${base}/`, rate: 1000, maxRequests: 20, durationMs: 10_000 });
    expect(r).toMatchObject({ sent: 20, stoppedBy: 'maxRequests' });
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('counts timeouts as network errors and never waits past durationMs + timeoutMs', async () => {
    const started = Date.now();
    const r = await runLoad({
      url: `${base}/slow`,
      concurrency: 2,
      maxRequests: 100,
      durationMs: 300,
      timeoutMs: 100,
    });
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(r.total.networkError).toBe(r.sent);
    expect(r.total.timeouts).toBe(r.sent);
    expect(Object.keys(r.byGroup)).toEqual(['(none)']);
  });

  it('counts refused connections as network errors', async () => {
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const r = await runLoad({
      url: `http://127.0.0.1:${port}/`,
      concurrency: 1,
      maxRequests: 3,
      durationMs: 2_000,
    });
    expect(r.total).toMatchObject({ count: 3, networkError: 3, timeouts: 0 });
  });

  it('sends the body with a POST by default', async () => {
    const r = await runLoad({
      url: `${base}/echo`,
      body: 'x'.repeat(1234),
      concurrency: 1,
      maxRequests: 2,
      durationMs: 2_000,
    });
    expect(Object.keys(r.byGroup)).toEqual(['len-1234']);
  });

  it('stops when aborted', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 200);
    const r = await runLoad({
      url: `${base}/`,
      rate: 50,
      maxRequests: 10_000,
      durationMs: 10_000,
      signal: ac.signal,
    });
    expect(r.stoppedBy).toBe('aborted');
    expect(r.sent).toBeLessThan(20);
  });

  it('refuses a target outside the lab before sending anything', async () => {
    await expect(
      runLoad({ url: 'http://192.0.2.1/', maxRequests: 1, durationMs: 100 }),
    ).rejects.toMatchObject({ code: 'UrlNotAllowed' });
  });
});
