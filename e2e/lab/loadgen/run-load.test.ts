// runLoad against real node:http servers on 127.0.0.1. Nothing here depends on how fast the machine
// is: durations that must not be reached are far longer than the work, the one schedule check allows
// for the event-loop delay measured during it, and an abort comes from the server's own count.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { jest } from '@jest/globals';
import { runLoad, type RunLoadOptions } from './run-load.ts';

// Every test runs a server and the load generator: an explicit timeout, above LONG_MS.
jest.setTimeout(120_000);
/** A duration or delay no test here is meant to reach. */
const LONG_MS = 60_000;

let server: http.Server;
let base = '';
let served = 0;
let onRequest: (() => void) | undefined;
const hosts: string[] = [];
/** Feature 0 of every request /faulty received, in arrival order. */
const featureZero: number[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    served += 1;
    onRequest?.();
    hosts.push(req.headers.host ?? '');
    const u = new URL(req.url ?? '/', 'http://x');
    if (u.pathname === '/slow') {
      // Answers long after any client timeout here (unref'd: it does not hold the test process).
      setTimeout(() => res.end('late'), LONG_MS).unref();
      return;
    }
    if (u.pathname === '/faulty') {
      // Like the lab's logreg_faulty: 500 for a row whose feature 0 is ≥ 1000; two backends.
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const f0 = (JSON.parse(Buffer.concat(chunks).toString()) as { inputs: { data: number[] }[] })
          .inputs[0]!.data[0]!;
        featureZero.push(f0);
        res.writeHead(f0 >= 1000 ? 500 : 200, { 'x-lab-backend': served % 2 ? 'ns/odd' : 'ns/even' }).end();
      });
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
  featureZero.length = 0;
});

describe('runLoad', () => {
  it('closed loop stops at maxRequests and groups by x-lab-backend', async () => {
    const r = await runLoad({
      url: `${base}/`,
      headers: { host: 'm.ns.svc' },
      concurrency: 4,
      maxRequests: 100,
      durationMs: LONG_MS,
    });
    expect(r).toMatchObject({ mode: 'closed', sent: 100, stoppedBy: 'maxRequests' });
    expect(served).toBe(100);
    expect(new Set(hosts)).toEqual(new Set(['m.ns.svc']));
    expect(r.total).toMatchObject({ count: 100, ok: 80, serverError: 20 });
    expect((r.byGroup['ns/odd']?.count ?? 0) + (r.byGroup['ns/even']?.count ?? 0)).toBe(100);
    expect(r.total.latencyMs.p99).toBeGreaterThan(0);
  });

  it('open loop holds its rate and stops at the duration', async () => {
    const delay = monitorEventLoopDelay({ resolution: 1 });
    delay.enable();
    const r = await runLoad({ url: `${base}/`, rate: 100, maxRequests: 10_000, durationMs: 500 });
    delay.disable();
    expect(r.stoppedBy).toBe('duration');
    // 100 req/s for 0.5 s: 50 slots, never more. A late event loop catches up on missed slots, so
    // only the slots still due when the deadline passed can be missing: one per 10 ms of the worst
    // event-loop delay measured during the run, plus one.
    const slots = r.sent + r.dropped;
    const lateSlots = Math.ceil(delay.max / 1e6 / 10) + 1;
    expect(slots).toBeLessThanOrEqual(50);
    expect(slots).toBeGreaterThanOrEqual(50 - lateSlots);
    expect(lateSlots).toBeLessThan(25); // else this run measured too little to say anything
    expect(r.total.count).toBe(r.sent);
  });

  it('open loop stops at maxRequests before the duration', async () => {
    const started = performance.now();
    const r = await runLoad({ url: `${base}/`, rate: 1000, maxRequests: 20, durationMs: LONG_MS });
    expect(r).toMatchObject({ sent: 20, stoppedBy: 'maxRequests' });
    expect(performance.now() - started).toBeLessThan(LONG_MS);
  });

  it('counts timeouts as network errors and never waits for answers past durationMs + timeoutMs', async () => {
    const started = performance.now();
    const r = await runLoad({
      url: `${base}/slow`,
      concurrency: 2,
      maxRequests: 100,
      durationMs: 300,
      timeoutMs: 100,
    });
    // The answers would come after LONG_MS; the run ends about 400 ms in (generous bound).
    expect(performance.now() - started).toBeLessThan(LONG_MS / 4);
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
      durationMs: LONG_MS,
    });
    expect(r.total).toMatchObject({ count: 3, networkError: 3, timeouts: 0 });
  });

  it('sends the body with a POST by default', async () => {
    const r = await runLoad({
      url: `${base}/echo`,
      body: 'x'.repeat(1234),
      concurrency: 1,
      maxRequests: 2,
      durationMs: LONG_MS,
    });
    expect(Object.keys(r.byGroup)).toEqual(['len-1234']);
  });

  const inferBody = JSON.stringify({
    inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }],
  });
  /** Load on the logreg_faulty stand-in: up to 100 requests of inferBody unless overridden. */
  const faultyLoad = (over: Partial<RunLoadOptions>) =>
    runLoad({ url: `${base}/faulty`, body: inferBody, maxRequests: 100, durationMs: 10_000, ...over });

  it('poisons the exact share of requests, evenly spread, and counts them per group', async () => {
    const r = await faultyLoad({ poisonRatio: 0.1, concurrency: 1 });
    expect(r).toMatchObject({ sent: 100, poisonRatio: 0.1 });
    expect(featureZero.flatMap((f, i) => (f === 1000 ? [i] : []))).toEqual([
      9, 19, 29, 39, 49, 59, 69, 79, 89, 99,
    ]);
    expect(featureZero.filter((f) => f !== 1000).every((f) => f === 1)).toBe(true);
    expect(r.total).toMatchObject({
      count: 100,
      poisoned: 10,
      ok: 90,
      serverError: 10,
      statusCodes: { 200: 90, 500: 10 },
    });
    const groups = Object.values(r.byGroup);
    expect(groups.reduce((n, g) => n + g.poisoned, 0)).toBe(10);
    for (const g of groups) expect(g.serverError).toBe(g.poisoned); // the faulty backend fails exactly the poison
  });

  it('poisons the share in an open loop and under concurrency too, with an explicit poison body', async () => {
    const poisonBody = JSON.stringify({
      inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 4], data: [5000, 0, 0, 0] }],
    });
    const open = await faultyLoad({ poisonBody, poisonRatio: 0.02, rate: 1000, maxRequests: 200 });
    expect(open.total).toMatchObject({
      count: 200,
      poisoned: 4,
      serverError: 4,
      statusCodes: { 200: 196, 500: 4 },
    });
    expect(featureZero.filter((f) => f === 5000)).toHaveLength(4);
    const closed = await faultyLoad({ poisonRatio: 0.25, concurrency: 8 });
    expect(closed.total).toMatchObject({ count: 100, poisoned: 25, serverError: 25 });
  });

  it('without a poison ratio sends the body unchanged and reports ratio 0', async () => {
    const r = await faultyLoad({ concurrency: 2, maxRequests: 20 });
    expect(r.poisonRatio).toBe(0);
    expect(r.total).toMatchObject({ count: 20, poisoned: 0, ok: 20 });
  });

  it('hands each completed request to onSample with its completion time, open and closed loop', async () => {
    for (const mode of [{ rate: 200 }, { concurrency: 3 }]) {
      const seen: { group: string; status?: number; at: number }[] = [];
      const before = Date.now();
      const r = await runLoad({
        url: `${base}/`,
        ...mode,
        maxRequests: 30,
        durationMs: LONG_MS,
        onSample: (s, at) => seen.push({ group: s.group, ...(s.status ? { status: s.status } : {}), at }),
      });
      expect(seen).toHaveLength(30);
      expect(seen.filter((s) => s.status === 503)).toHaveLength(r.total.serverError);
      expect(seen.filter((s) => s.group === 'ns/odd')).toHaveLength(r.byGroup['ns/odd']?.count ?? 0);
      for (const s of seen) expect(s.at).toBeGreaterThanOrEqual(before);
      expect(seen.map((s) => s.at)).toEqual([...seen.map((s) => s.at)].sort((a, b) => a - b));
    }
  });

  it('stops when aborted', async () => {
    const ac = new AbortController();
    // Aborted when the server has seen five requests, whatever time that takes here.
    onRequest = () => {
      if (served >= 5) ac.abort();
    };
    const r = await runLoad({
      url: `${base}/`,
      rate: 50,
      maxRequests: 10_000,
      durationMs: LONG_MS,
      signal: ac.signal,
    }).finally(() => (onRequest = undefined));
    expect(r.stoppedBy).toBe('aborted');
    expect(r.sent).toBeGreaterThanOrEqual(5);
    expect(r.sent).toBeLessThan(20);
  });

  it('refuses a target outside the lab before sending anything', async () => {
    await expect(
      runLoad({ url: 'http://192.0.2.1/', maxRequests: 1, durationMs: 100 }),
    ).rejects.toMatchObject({ code: 'UrlNotAllowed' });
  });
});
