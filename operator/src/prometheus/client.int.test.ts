// The Prometheus adapter against the lab's real Prometheus: what Prometheus itself answers (one
// sample, no sample, several series, NaN, a matrix, a syntax error) is asked of it, not imitated.
// Only what a working Prometheus cannot show (a port nobody listens on, a server that never answers,
// an auth or TLS front) uses loopback listeners started here, which forward to the real Prometheus.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { labPaths, labPorts } from '../../../e2e/lab/lab-config.ts';
import type { MeasurementAnswer, MeasurementRequest } from '../analysis/types.ts';
import { createPrometheusClient, type PrometheusClientOptions, type QueryEvent } from './client.ts';

const prometheusUrl = process.env.PROMETHEUS_URL ?? `http://127.0.0.1:${labPorts.prometheus}`;
const dir = mkdtempSync(path.join(tmpdir(), 'onnxop-prom-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
const req = (goodQuery: string, totalQuery = 'vector(100)'): MeasurementRequest => ({
  id: `m${++n}`,
  role: 'canary',
  revision: 'abc123',
  slo: 'availability',
  window: '5m',
  windowSeconds: 300,
  specWindows: ['5m'],
  goodQuery,
  totalQuery,
});

async function measureOne(goodQuery: string, options: Partial<PrometheusClientOptions> = {}, totalQuery?: string): Promise<MeasurementAnswer> {
  const client = createPrometheusClient({ url: prometheusUrl, timeoutMs: 10_000, ...options });
  try {
    const answers = await client.measure([req(goodQuery, totalQuery)], new Date());
    expect(answers).toHaveLength(1);
    return answers[0] as MeasurementAnswer;
  } finally {
    await client.close();
  }
}

const errorOf = (a: MeasurementAnswer): string => {
  if (a.ok) throw new Error(`expected an error answer, got ${JSON.stringify(a)}`);
  return a.error;
};

/** A loopback HTTP(S) front that records each request's headers and forwards it to the real Prometheus. */
async function front(opts: { tls?: { cert: string; key: string }; check?: (headers: http.IncomingHttpHeaders) => boolean } = {}) {
  const seen: http.IncomingHttpHeaders[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const handler = (inReq: http.IncomingMessage, res: http.ServerResponse): void => {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    const chunks: Buffer[] = [];
    inReq.on('data', (c: Buffer) => chunks.push(c));
    inReq.on('end', () => {
      seen.push(inReq.headers);
      const done = (status: number, body: string): void => {
        inFlight--;
        res.writeHead(status, { 'content-type': 'application/json' }).end(body);
      };
      if (opts.check && !opts.check(inReq.headers)) return done(401, '{"status":"error","errorType":"unauthorized","error":"bad bearer token"}');
      void fetch(`${prometheusUrl}${inReq.url ?? ''}`, { method: inReq.method ?? 'GET', headers: { 'content-type': String(inReq.headers['content-type'] ?? '') }, body: Buffer.concat(chunks) })
        .then(async (r) => {
          // Hold the answer a little so concurrent queries overlap at the front.
          await new Promise((resolve) => setTimeout(resolve, 50));
          done(r.status, await r.text());
        })
        .catch((err: unknown) => done(502, String(err)));
    });
  };
  const server = opts.tls ? https.createServer({ cert: opts.tls.cert, key: opts.tls.key }, handler) : http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    seen,
    maxInFlight: () => maxInFlight,
    close: () => new Promise<void>((resolve) => server.close(() => resolve()).closeAllConnections()),
  };
}

describe('Prometheus client against the lab Prometheus', () => {
  beforeAll(async () => {
    const res = await fetch(`${prometheusUrl}/-/ready`);
    expect(res.status).toBe(200);
  });

  test('one sample per query: good and total as raw counts', async () => {
    expect(await measureOne('sum(vector(42))', {}, 'vector(50)')).toEqual({ id: expect.any(String), ok: true, good: 42, total: 50 });
  });

  test('the queries are evaluated at the given time (time=at)', async () => {
    const at = new Date(Date.now() - 3_600_000 + 123);
    const client = createPrometheusClient({ url: prometheusUrl, timeoutMs: 10_000 });
    try {
      const [a] = await client.measure([req('time()', 'time() + 1')], at);
      expect(a).toEqual({ id: expect.any(String), ok: true, good: at.getTime() / 1000, total: at.getTime() / 1000 + 1 });
    } finally {
      await client.close();
    }
  });

  test('a scalar is a count', async () => {
    expect(await measureOne('scalar(vector(7))')).toMatchObject({ ok: true, good: 7, total: 100 });
  });

  test('an empty vector is no data (null), not zero', async () => {
    expect(await measureOne('vector(1) > 2', {}, 'onnxop_requests_total{revision="no-such-revision"}')).toMatchObject({ ok: true, good: null, total: null });
  });

  test('several series: an error naming the query and the series', async () => {
    const q = 'label_replace(vector(1), "pod", "a", "", "") or label_replace(vector(2), "pod", "b", "", "")';
    expect(errorOf(await measureOne(q))).toBe(`query \`${q}\`: returned 2 series ({pod="a"}, {pod="b"}); it must return one, e.g. aggregate it with sum(...)`);
  });

  test('quality-gate vectors: counts by the label from the real Prometheus; an empty vector is no counts; a bad query an error', async () => {
    const client = createPrometheusClient({ url: prometheusUrl, timeoutMs: 10_000 });
    try {
      const dist = (id: string, query: string, by = 'class') => ({ id, role: 'canary' as const, revision: 'abc123', gate: 'predictions' as const, series: 'classes' as const, window: '5m', windowSeconds: 300, query, by });
      const two = 'label_replace(vector(3), "class", "0", "", "") or label_replace(vector(5), "class", "1", "", "")';
      const answers = await client.distributions([dist('a', two), dist('b', 'sum by (class) (onnxop_predicted_class_total{revision="no-such-revision"})'), dist('c', 'sum by (class) (vector(1))', 'le'), dist('d', 'sum by (')], new Date());
      expect(answers[0]).toEqual({ id: 'a', ok: true, counts: { '0': 3, '1': 5 } });
      expect(answers[1]).toEqual({ id: 'b', ok: true, counts: {} });
      expect(answers[2]).toMatchObject({ id: 'c', ok: false, error: expect.stringMatching(/without the label le/) });
      expect(answers[3]).toMatchObject({ id: 'd', ok: false, error: expect.stringMatching(/bad_data/) });
    } finally {
      await client.close();
    }
  });

  test('a syntax error: Prometheus\' own message, with the query', async () => {
    const q = 'sum(rate(onnxop_requests_total[5m]';
    const e = errorOf(await measureOne(q));
    expect(e).toMatch(/^query `sum\(rate\(onnxop_requests_total\[5m\]` failed: Prometheus answered HTTP 400 bad_data: .*parse error/);
  });

  test.each([
    ['a range vector (matrix)', 'vector(1)[5m:1m]', /returned a matrix; an instant vector of one sample or a scalar was expected/],
    ['a string', '"five"', /returned a string;/],
    ['NaN', 'vector(0) / 0', /returned NaN/],
    ['+Inf', 'vector(1) / 0', /returned \+Inf/],
    ['a negative value', 'vector(-3)', /returned -3, a negative count/],
  ])('%s is refused, naming the query', async (_name, q, message) => {
    const e = errorOf(await measureOne(q));
    expect(e).toMatch(message);
    expect(e).toContain(`\`${q}\``);
  });

  test('a good query above its total is refused', async () => {
    expect(errorOf(await measureOne('vector(101)'))).toMatch(/good query `vector\(101\)` returned 101, more than total query `vector\(100\)` \(100\)/);
  });

  test('one answer per request, in order; shared queries are sent once; the hook sees each query', async () => {
    const events: QueryEvent[] = [];
    const client = createPrometheusClient({ url: prometheusUrl, timeoutMs: 10_000 }, { onQuery: (e) => events.push(e) });
    try {
      const requests = [req('vector(1)', 'vector(10)'), req('bad(', 'vector(10)'), req('vector(3)', 'vector(10)')];
      const answers = await client.measure(requests, new Date());
      expect(answers.map((a) => [a.id, a.ok])).toEqual(requests.map((r, i) => [r.id, i !== 1]));
      expect(answers[2]).toMatchObject({ good: 3, total: 10 });
      expect(events.map((e) => e.query).sort()).toEqual(['bad(', 'vector(1)', 'vector(10)', 'vector(3)']);
      expect(events.find((e) => e.query === 'bad(')).toMatchObject({ result: 'http_error', error: expect.stringMatching(/parse error/) });
      for (const e of events) expect(e.durationSeconds).toBeGreaterThan(0);
      expect(await client.measure([], new Date())).toEqual([]);
    } finally {
      await client.close();
    }
  });

  test('an unreachable Prometheus: an error answer per request, with the query', async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const events: QueryEvent[] = [];
    const client = createPrometheusClient({ url: `http://127.0.0.1:${port}`, timeoutMs: 5_000 }, { onQuery: (e) => events.push(e) });
    try {
      const [a] = await client.measure([req('vector(1)')], new Date());
      expect(errorOf(a as MeasurementAnswer)).toMatch(new RegExp(`^queries \`vector\\(1\\)\` and \`vector\\(100\\)\`: cannot reach Prometheus at http://127.0.0.1:${port}: .*ECONNREFUSED[^;]*$`));
      expect(events.map((e) => e.result)).toEqual(['connection_error', 'connection_error']);
    } finally {
      await client.close();
    }
  });

  test('a Prometheus that never answers: a timeout error after timeoutMs', async () => {
    const sockets = new Set<net.Socket>();
    const server = net.createServer((s) => sockets.add(s)); // accepts, reads nothing, answers nothing
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const events: QueryEvent[] = [];
    const client = createPrometheusClient({ url: `http://127.0.0.1:${port}`, timeoutMs: 300 }, { onQuery: (e) => events.push(e) });
    try {
      const started = Date.now();
      const [a] = await client.measure([req('vector(1)', 'vector(1)')], new Date());
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(errorOf(a as MeasurementAnswer)).toBe(`query \`vector(1)\` timed out after 300 ms (Prometheus at http://127.0.0.1:${port})`);
      expect(events).toEqual([expect.objectContaining({ result: 'timeout' })]);
      expect(events[0]?.durationSeconds).toBeGreaterThanOrEqual(0.29);
    } finally {
      await client.close();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  test('bearer token: sent on every query, re-read when the file changes, never in a message', async () => {
    let expected = 'token-one';
    const f = await front({ check: (h) => h.authorization === `Bearer ${expected}` });
    const tokenFile = path.join(dir, 'token');
    writeFileSync(tokenFile, 'token-one\n');
    const client = createPrometheusClient({ url: f.url, timeoutMs: 10_000, bearerTokenFile: tokenFile });
    try {
      expect((await client.measure([req('vector(5)')], new Date()))[0]).toMatchObject({ ok: true, good: 5, total: 100 });
      expect(f.seen.map((h) => h.authorization)).toEqual(['Bearer token-one', 'Bearer token-one']);

      // Rotation: the file is replaced (as a Secret volume update does), the next batch uses the new token.
      expected = 'token-two';
      writeFileSync(`${tokenFile}.new`, 'token-two');
      rmSync(tokenFile);
      writeFileSync(tokenFile, readFileSync(`${tokenFile}.new`));
      expect((await client.measure([req('vector(6)')], new Date()))[0]).toMatchObject({ ok: true, good: 6 });
      expect(f.seen.slice(2).map((h) => h.authorization)).toEqual(['Bearer token-two', 'Bearer token-two']);

      // A token the front refuses: Prometheus-style 401 text in the error, the token nowhere.
      writeFileSync(tokenFile, 'token-three');
      const refused = errorOf((await client.measure([req('vector(7)')], new Date()))[0] as MeasurementAnswer);
      expect(refused).toMatch(/HTTP 401 unauthorized: bad bearer token/);
      expect(refused).not.toContain('token-three');

      // The file gone: no query is sent, the error names the file, not its content.
      rmSync(tokenFile);
      const before = f.seen.length;
      const gone = errorOf((await client.measure([req('vector(8)')], new Date()))[0] as MeasurementAnswer);
      expect(gone).toMatch(/^queries `vector\(8\)` and `vector\(100\)` not sent: cannot read the Prometheus bearer token file .*token: ENOENT[^;]*$/);
      expect(f.seen.length).toBe(before);
    } finally {
      await client.close();
      await f.close();
    }
  });

  test('TLS: the CA file verifies the server; without it the certificate is refused', async () => {
    const tls = { cert: readFileSync(path.join(labPaths.pki, 'apiserver.crt'), 'utf8'), key: readFileSync(path.join(labPaths.pki, 'apiserver.key'), 'utf8') };
    const f = await front({ tls });
    try {
      expect(await measureOne('vector(9)', { url: f.url, caFile: path.join(labPaths.pki, 'ca.crt') })).toMatchObject({ ok: true, good: 9, total: 100 });
      expect(errorOf(await measureOne('vector(9)', { url: f.url }))).toMatch(/cannot reach Prometheus at https:\/\/127\.0\.0\.1:\d+: .*(certificate|CERT)/i);
      expect(errorOf(await measureOne('vector(9)', { url: f.url, caFile: path.join(dir, 'missing-ca.crt') }))).toMatch(/cannot read the Prometheus CA file .*missing-ca\.crt: ENOENT/);
    } finally {
      await f.close();
    }
  });

  test('maxConcurrency bounds the queries in flight', async () => {
    const f = await front();
    const client = createPrometheusClient({ url: f.url, timeoutMs: 10_000, maxConcurrency: 2 });
    try {
      const requests = Array.from({ length: 6 }, (_, i) => req(`vector(${i})`, 'vector(10)'));
      const answers = await client.measure(requests, new Date());
      expect(answers.map((a) => (a.ok ? a.good : a.error))).toEqual([0, 1, 2, 3, 4, 5]);
      expect(f.seen).toHaveLength(7);
      expect(f.maxInFlight()).toBe(2);
    } finally {
      await client.close();
      await f.close();
    }
  });
});
