// What a buggy or hostile client can do to a runtime, each case real (raw sockets, real zlib,
// real onnxruntime): every failure it causes is a 4xx counted as client_error (or a 503 counted as
// rejected when it fills the shared budget), never a server_error; slow clients get their 408s;
// an oversized header block gets its 431 instead of a reset; compressed bodies are decoded with a
// bound; large bodies are decoded in the codec process while health checks answer.
import { afterAll, beforeAll, describe, expect, jest, test } from '@jest/globals';
import { gzipSync, deflateSync, deflateRawSync } from 'node:zlib';
import { metricValue, post, request, start, waitFor } from '../../test-support/harness.ts';
import { rawExchange } from '../../test-support/raw-http.ts';
import { RUNTIME_TEST_TIMEOUT_MS } from '../../test-support/timing.ts';
import type { RunningRuntime } from '../serve.ts';

jest.setTimeout(RUNTIME_TEST_TIMEOUT_MS);

type Rt = RunningRuntime & { url: string };
const logreg = (rows: number[][]) => ({ inputs: [{ name: 'features', shape: [rows.length, 4], datatype: 'FP32', data: rows }] });
const rowsOf = (n: number) => Array.from({ length: n }, (_, i) => [i % 7, (i * 3) % 5, -(i % 11) / 4, 0.5]);
const outcomes = async (rt: Rt) => {
  const text = (await request(`${rt.url}/metrics`)).text;
  return Object.fromEntries(['success', 'client_error', 'server_error', 'timeout', 'rejected'].map((o) => [o, metricValue(text, 'onnxop_requests_total', { outcome: o })]));
};

describe('errors a request causes are 4xx client errors', () => {
  let rt: Rt;
  beforeAll(async () => {
    rt = await start('logreg');
    await rt.loaded;
  });
  afterAll(() => rt.shutdown('test'));

  const nested = (levels: number) => '{"inputs":[{"name":"features","shape":[1,4],"datatype":"FP32","data":' + '['.repeat(levels) + '1,2,3,4' + ']'.repeat(levels) + '}]}';

  test.each([
    ['GET /v2/models/%ff/ready', 400, 'GET', '/v2/models/%ff/ready', undefined, {}, /model name in the path, "%ff", is not valid percent-encoded UTF-8/],
    ['POST /v2/models/%ZZ/infer', 400, 'POST', '/v2/models/%ZZ/infer', '{}', {}, /"%ZZ", is not valid percent-encoded/],
    ['GET /v2/models/logreg/versions/%E0%A4%A/ready', 400, 'GET', '/v2/models/logreg/versions/%E0%A4%A/ready', undefined, {}, /version in the path/],
    ['data nested 9000 levels deep', 400, 'POST', '/v2/models/logreg/infer', nested(9000), {}, /request body nests arrays or objects more than 64 levels deep/],
    ['data nested deeper than the rank', 400, 'POST', '/v2/models/logreg/infer', nested(3), {}, /nested more than 2 level\(s\) deep/],
    ['Inference-Header-Content-Length 1e1', 400, 'POST', '/v2/models/logreg/infer', '{"inputs":[]}', { 'inference-header-content-length': '1e1' }, /Inference-Header-Content-Length is "1e1"; it must be the byte length of the JSON part, in decimal digits/],
    ['Inference-Header-Content-Length -1', 400, 'POST', '/v2/models/logreg/infer', '{"inputs":[]}', { 'inference-header-content-length': '-1' }, /in decimal digits/],
    ['Inference-Header-Content-Length 0x10', 400, 'POST', '/v2/models/logreg/infer', '{"inputs":[]}', { 'inference-header-content-length': '0x10' }, /in decimal digits/],
    ['Inference-Header-Content-Length 13.0', 400, 'POST', '/v2/models/logreg/infer', '{"inputs":[]}', { 'inference-header-content-length': '13.0' }, /in decimal digits/],
    ['Inference-Header-Content-Length past the body', 400, 'POST', '/v2/models/logreg/infer', '{"inputs":[]}', { 'inference-header-content-length': '99' }, /is 99 but the body has 13 bytes/],
    ['Content-Encoding br', 415, 'POST', '/v2/models/logreg/infer', '{"inputs":[]}', { 'content-encoding': 'br' }, /Content-Encoding "br" is not supported/],
    ['two content codings', 415, 'POST', '/v2/models/logreg/infer', '{"inputs":[]}', { 'content-encoding': 'gzip, gzip' }, /one coding/],
    ['gzip that is not gzip', 400, 'POST', '/v2/models/logreg/infer', 'not gzip at all', { 'content-encoding': 'gzip' }, /not valid gzip data/],
  ])('%s → %i', async (_name, status, method, path, body, headers, message) => {
    const res = await request(`${rt.url}${path}`, { method, body, headers: { 'content-type': 'application/json', ...headers } });
    expect([res.status, res.json]).toEqual([status, { error: expect.stringMatching(message) }]);
  });

  test('nesting as deep as the rank is fine, and nothing above was a server error', async () => {
    expect((await post(`${rt.url}/v2/models/logreg/infer`, nested(2))).status).toBe(200);
    const o = await outcomes(rt);
    expect(o.server_error).toBe(0);
    expect(o.client_error).toBeGreaterThanOrEqual(11);
  });
});

describe('compressed request bodies', () => {
  let rt: Rt;
  beforeAll(async () => {
    rt = await start('logreg', { maxBodyBytes: 1024 * 1024, maxBufferedBytes: 4 * 1024 * 1024 });
    await rt.loaded;
  });
  afterAll(() => rt.shutdown('test'));

  test('gzip, deflate (zlib) and raw deflate decode to the same answer as the plain body', async () => {
    const body = JSON.stringify(logreg(rowsOf(50)));
    const plain = await post(`${rt.url}/v2/models/logreg/infer`, body);
    expect(plain.status).toBe(200);
    for (const [coding, bytes] of [
      ['gzip', gzipSync(body)],
      ['deflate', deflateSync(body)],
      ['deflate', deflateRawSync(body)],
      ['x-gzip', gzipSync(body)],
    ] as const) {
      const res = await request(`${rt.url}/v2/models/logreg/infer`, { method: 'POST', body: bytes, headers: { 'content-encoding': coding } });
      expect([coding, res.status]).toEqual([coding, 200]);
      expect(res.json.outputs).toEqual(plain.json.outputs);
    }
  });

  test('a compressed binary-data request: Inference-Header-Content-Length counts the decompressed JSON', async () => {
    const values = new Float32Array([1, 2, 3, 4, -1, -2, -3, -4]);
    const head = Buffer.from(JSON.stringify({ inputs: [{ name: 'features', shape: [2, 4], datatype: 'FP32', parameters: { binary_data_size: values.byteLength } }] }));
    const res = await request(`${rt.url}/v2/models/logreg/infer`, {
      method: 'POST',
      body: gzipSync(Buffer.concat([head, Buffer.from(values.buffer)])),
      headers: { 'content-encoding': 'gzip', 'inference-header-content-length': String(head.length) },
    });
    expect(res.status).toBe(200);
    expect(res.json.outputs[0].shape).toEqual([2, 1]);
  });

  test('a zip bomb is a 413 after --max-body-bytes of output, not an out-of-memory', async () => {
    const bomb = gzipSync(Buffer.alloc(256 * 1024 * 1024)); // 256 MiB of zeros in ~250 KB
    const res = await request(`${rt.url}/v2/models/logreg/infer`, { method: 'POST', body: bomb, headers: { 'content-encoding': 'gzip' } });
    expect([res.status, res.json]).toEqual([413, { error: expect.stringMatching(/request body \(decompressed\) is larger than --max-body-bytes=1048576/) }]);
    const text = (await request(`${rt.url}/metrics`)).text;
    expect(metricValue(text, 'onnxop_requests_total', { outcome: 'client_error' })).toBe(1);
    expect(metricValue(text, 'onnxop_request_body_bytes_buffered')).toBe(0);
  });
});

describe('slow clients and oversized headers', () => {
  let rt: Rt;
  const timeoutMs = 300;
  beforeAll(async () => {
    rt = await start('logreg', { headersTimeoutMs: timeoutMs, bodyTimeoutMs: timeoutMs });
    await rt.loaded;
  });
  afterAll(() => rt.shutdown('test'));

  test('headers trickled past --headers-timeout-ms: 408, and the connection is closed', async () => {
    const t0 = performance.now();
    // One header line every 50 ms, for far longer than the timeout (the client stops when answered).
    const lines = ['GET /v2/health/live HTTP/1.1\r\n', ...Array.from({ length: 10_000 }, (_, i) => `x-slow-${i}: a\r\n`)];
    const res = await rawExchange(rt.port, lines, { gapMs: 50 });
    expect(performance.now() - t0).toBeGreaterThanOrEqual(timeoutMs); // timers never fire early
    expect([res.status, res.json, res.error]).toEqual([408, { error: `the request headers did not arrive within --headers-timeout-ms=${timeoutMs}` }, undefined]);
  });

  test('a body trickled past --body-timeout-ms: 408 counted as client_error, connection closed', async () => {
    const before = (await outcomes(rt)).client_error ?? 0;
    const head = 'POST /v2/models/logreg/infer HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100000\r\n\r\n';
    const t0 = performance.now();
    const res = await rawExchange(rt.port, [head, ...Array.from({ length: 100_000 }, () => ' ')], { gapMs: 50 });
    expect(performance.now() - t0).toBeGreaterThanOrEqual(timeoutMs);
    expect([res.status, res.json?.error, res.error]).toEqual([408, expect.stringMatching(`the request body did not arrive within --body-timeout-ms=${timeoutMs}`), undefined]);
    expect((await outcomes(rt)).client_error).toBe(before + 1);
  });

  test('a body that never comes (headers only): 408', async () => {
    const res = await rawExchange(rt.port, ['POST /v2/models/logreg/infer HTTP/1.1\r\nhost: x\r\ncontent-length: 10\r\n\r\n']);
    expect(res.status).toBe(408);
  });

  test('a connection that sends nothing is closed after the headers timeout', async () => {
    const res = await rawExchange(rt.port, []);
    expect(res.error).toBeUndefined();
    expect([undefined, 408]).toContain(res.status);
  });

  test('a header block over --max-header-bytes is a 431 every time, never a connection reset', async () => {
    for (let i = 0; i < 20; i++) {
      const res = await rawExchange(rt.port, [`GET /v2/health/live HTTP/1.1\r\nhost: x\r\nx-big: ${'a'.repeat(200_000)}\r\n\r\n`]);
      expect([i, res.status, res.error, res.json]).toEqual([i, 431, undefined, { error: "the request's header block is larger than --max-header-bytes=16384" }]);
    }
    const text = (await request(`${rt.url}/metrics`)).text;
    expect(metricValue(text, 'onnxop_http_protocol_errors_total', { reason: 'headers_too_large' })).toBe(20);
  });

  test('garbage instead of HTTP: a JSON 400; a broken chunked body: a 400 for that request', async () => {
    const junk = await rawExchange(rt.port, ['\x16\x03\x01 definitely not http\r\n\r\n']);
    expect([junk.status, junk.json]).toEqual([400, { error: expect.stringMatching(/^malformed HTTP request/) }]);
    const chunked = await rawExchange(rt.port, ['POST /v2/models/logreg/infer HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n{}\r\n']);
    expect([chunked.status, chunked.json]).toEqual([400, { error: expect.stringMatching(/reading the request body failed/) }]);
    expect((await outcomes(rt)).server_error).toBe(0);
  });
});

describe('large JSON bodies go to the codec process', () => {
  test('decoded and encoded there, the same answer as inline, and the process exits when idle', async () => {
    const rt = await start('logreg');
    try {
      await rt.loaded;
      const rows = rowsOf(20_000); // ~0.9 MB of JSON, 20 000 output values: both over the inline limits
      const big = await post(`${rt.url}/v2/models/logreg/infer`, logreg(rows));
      expect(big.status).toBe(200);
      expect(rt.codec.offloaded).toBe(2);
      expect(rt.codec.started).toBe(1);
      const small = await post(`${rt.url}/v2/models/logreg/infer`, logreg(rows.slice(0, 100)));
      expect(big.json.outputs[0].data.slice(0, 100)).toEqual(small.json.outputs[0].data);
      expect(big.json.outputs[0].shape).toEqual([20_000, 1]);
      await waitFor('the codec process to exit once idle', async () => (rt.codec.pid === undefined ? true : undefined), { everyMs: 50, timeoutMs: 30_000 });
      expect((await outcomes(rt)).success).toBe(2);
    } finally {
      await rt.shutdown('test');
    }
  });
});
