// A seeded fuzz campaign (fast-check) against a runtime in a child process: 10,000 requests,
// malformed in every way issue 12 lists (paths, nesting, shapes, datatypes, values, binary sizes,
// Inference-Header-Content-Length, encodings, sizes, raw HTTP) and random mutations of valid ones,
// 4 at a time. Every answer must be a 2xx, or a 4xx with exactly {"error": "…"}; the runtime must
// count no server_error, never crash, answer /v2/health/live throughout, and end with its RSS
// within a bound of where it began. A failure prints the seed and the request's index.
import { afterAll, beforeAll, describe, expect, jest, test } from '@jest/globals';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { deflateSync, gzipSync } from 'node:zlib';
import { serveChild, type ServedChild } from '../../test-support/child-runtime.ts';
import { metricValue } from '../../test-support/harness.ts';
import { rawExchange, startProber } from '../../test-support/raw-http.ts';

const SEED = 20261201;
const REQUESTS = 10_000;
const CONCURRENCY = 4;
const MAX_BODY = 1024 * 1024;
/** The operator's liveness probe timeout (operator/src/core/children/deployment.ts). */
const PROBE_TIMEOUT_MS = 2000;
/**
 * RSS after the campaign may exceed RSS before by at most this (docs/runtime.md, "Under load").
 * Measured: 32–64 MiB, nearly all of it the V8 heap growing from ~26 to ~50 MiB and glibc keeping
 * what it freed; it does not grow with more requests.
 */
const RSS_GROWTH_BOUND = 128 * 1024 * 1024;
// Measured on the shared 2-core machine: ~40–70 s for the campaign. The timeout only turns a
// hang into a failure.
jest.setTimeout(10 * 60_000);

const TYPES = ['FP32', 'FP64', 'FP16', 'INT8', 'INT16', 'INT32', 'INT64', 'UINT8', 'UINT16', 'UINT32', 'UINT64', 'BOOL', 'BYTES'] as const;
type Dt = (typeof TYPES)[number];
const INFER = '/v2/models/all_types/infer';

interface Case {
  kind: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  body: Buffer | undefined;
  /** Raw bytes on a socket instead of an HTTP client's request. */
  raw?: Buffer[];
}

const value = (dt: Dt): fc.Arbitrary<unknown> => {
  switch (dt) {
    case 'FP32':
    case 'FP64':
    case 'FP16':
      return fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 }), fc.integer({ min: -100, max: 100 }), fc.constant(null));
    case 'INT8':
      return fc.integer({ min: -128, max: 127 });
    case 'INT16':
      return fc.integer({ min: -32768, max: 32767 });
    case 'INT32':
      return fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });
    case 'INT64':
      return fc.oneof(fc.integer(), fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map(String));
    case 'UINT8':
      return fc.integer({ min: 0, max: 255 });
    case 'UINT16':
      return fc.integer({ min: 0, max: 65535 });
    case 'UINT32':
      return fc.integer({ min: 0, max: 2 ** 32 - 1 });
    case 'UINT64':
      return fc.oneof(fc.nat(), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map(String));
    case 'BOOL':
      return fc.boolean();
    case 'BYTES':
      return fc.string({ maxLength: 12, unit: 'grapheme' });
  }
};

type Input = { name: string; shape: unknown; datatype: unknown; data?: unknown; parameters?: unknown };
type Request = { id?: unknown; inputs: Input[] | unknown; outputs?: unknown; parameters?: unknown };

/** A valid request for all_types: every input, `rows` rows, flat or nested data. */
const validRequest: fc.Arbitrary<Request> = fc.integer({ min: 0, max: 6 }).chain((rows) =>
  fc
    .record({
      datas: fc.tuple(...TYPES.map((dt) => fc.array(value(dt), { minLength: rows * 2, maxLength: rows * 2 }))),
      nested: fc.boolean(),
      id: fc.option(fc.string({ minLength: 1, maxLength: 20 }), { nil: undefined }),
      outputs: fc.option(fc.subarray(TYPES.map((t) => `out_${t.toLowerCase()}`)), { nil: undefined }),
      binaryOut: fc.boolean(),
    })
    .map(({ datas, nested, id, outputs, binaryOut }) => ({
      ...(id === undefined ? {} : { id }),
      inputs: TYPES.map((dt, i) => {
        const flat = datas[i] as unknown[];
        const data = nested ? Array.from({ length: rows }, (_, r) => flat.slice(2 * r, 2 * r + 2)) : flat;
        return { name: `in_${dt.toLowerCase()}`, shape: [rows, 2], datatype: dt, data };
      }),
      ...(outputs === undefined ? {} : { outputs: outputs.map((name) => ({ name })) }),
      ...(binaryOut ? { parameters: { binary_data_output: true } } : {}),
    })),
);

/** `r` with its i-th input replaced by f(input); `r` itself when an earlier mutation left no input object there. */
function withInput(r: Request, i: number, f: (input: Input) => Input): Request {
  if (!Array.isArray(r.inputs) || r.inputs.length === 0) return r;
  const inputs = [...(r.inputs as Input[])];
  const target = inputs[i % inputs.length];
  if (typeof target !== 'object' || target === null || Array.isArray(target)) return r;
  inputs[i % inputs.length] = f(target);
  return { ...r, inputs };
}
const withInputs = (r: Request, f: (inputs: Input[]) => Input[]): Request => (Array.isArray(r.inputs) && r.inputs.length > 0 ? { ...r, inputs: f(r.inputs as Input[]) } : r);

/** One structural mutation of a request's JSON value. */
const mutation: fc.Arbitrary<(r: Request) => Request> = fc.oneof(
  fc.record({ i: fc.nat(12), key: fc.constantFrom('name', 'shape', 'datatype', 'data', 'parameters'), v: fc.jsonValue({ maxDepth: 3 }) }).map(({ i, key, v }) => (r: Request) => withInput(r, i, (inp) => ({ ...inp, [key]: v }))),
  fc.record({ i: fc.nat(12), key: fc.constantFrom('name', 'shape', 'datatype', 'data') }).map(({ i, key }) => (r: Request) =>
    withInput(r, i, (inp) => {
      const copy = { ...inp } as Record<string, unknown>;
      delete copy[key];
      return copy as Input;
    }),
  ),
  fc.record({ i: fc.nat(12), shape: fc.array(fc.oneof(fc.integer({ min: -2, max: 8 }), fc.constant(2 ** 40), fc.double()), { maxLength: 6 }) }).map(({ i, shape }) => (r: Request) => withInput(r, i, (inp) => ({ ...inp, shape }))),
  fc.record({ i: fc.nat(12), depth: fc.oneof(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 100, max: 20_000 })) }).map(({ i, depth }) => (r: Request) =>
    withInput(r, i, (inp) => {
      let data: unknown = inp.data;
      // Deep ones as a marker that json() expands (JSON.stringify itself recurses).
      if (depth > 100) data = `${DEEP}${depth}`;
      else for (let d = 0; d < depth; d++) data = [data];
      return { ...inp, data };
    }),
  ),
  fc.record({ i: fc.nat(12), size: fc.oneof(fc.integer({ min: -1, max: 64 }), fc.double(), fc.string()) }).map(({ i, size }) => (r: Request) =>
    withInput(r, i, (inp) => {
      const { data: _data, ...rest } = inp;
      return { ...rest, parameters: { binary_data_size: size } };
    }),
  ),
  fc.constantFrom<(r: Request) => Request>(
    (r) => withInputs(r, (inputs) => [...inputs, inputs[0] as Input]),
    (r) => withInputs(r, (inputs) => inputs.slice(1)),
    (r) => withInputs(r, (inputs) => [...inputs, { name: 'nope', shape: [1], datatype: 'FP32', data: [1] }]),
  ),
  fc.record({ key: fc.constantFrom('inputs', 'outputs', 'parameters', 'id'), v: fc.jsonValue({ maxDepth: 4 }) }).map(({ key, v }) => (r: Request) => ({ ...r, [key]: v })),
);

/** One byte-level mutation of a body. */
const byteMutation: fc.Arbitrary<(b: Buffer) => Buffer> = fc.oneof(
  fc.record({ at: fc.nat(), bit: fc.nat(7) }).map(({ at, bit }) => (b: Buffer) => {
    if (b.length === 0) return b;
    const c = Buffer.from(b);
    c[at % c.length]! ^= 1 << bit;
    return c;
  }),
  fc.nat().map((at) => (b: Buffer) => b.subarray(0, b.length === 0 ? 0 : at % b.length)),
  fc.record({ at: fc.nat(), junk: fc.uint8Array({ maxLength: 16 }) }).map(({ at, junk }) => (b: Buffer) => {
    const i = b.length === 0 ? 0 : at % b.length;
    return Buffer.concat([b.subarray(0, i), Buffer.from(junk), b.subarray(i)]);
  }),
);

const printable = fc.string({ maxLength: 24 }).map((s) => s.replace(/[^\x20-\x7e]/g, 'x'));

/** Headers that make a client's bytes mean something else (or nothing). */
const headerNoise: fc.Arbitrary<Record<string, string>> = fc.record(
  {
    'content-type': fc.constantFrom('application/json', 'application/octet-stream', 'text/plain'),
    'inference-header-content-length': fc.oneof(printable, fc.nat(10_000).map(String), fc.constantFrom('1e3', '-0', '0x10', ' 12', '')),
    'content-encoding': fc.constantFrom('identity', 'br', 'gzip, deflate', 'compress'),
  },
  { requiredKeys: [] },
);

const DEEP = '\u0001deep:';
const json = (r: Request): Buffer =>
  Buffer.from(JSON.stringify(r).replace(/"\\u0001deep:(\d+)"/g, (_, d: string) => '['.repeat(Number(d)) + ']'.repeat(Number(d))));

/** A valid request with some inputs in the binary data extension, sizes right or off. */
const binaryCase: fc.Arbitrary<Case> = fc.record({ r: validRequest, pick: fc.subarray([...TYPES.keys()], { minLength: 1 }), off: fc.integer({ min: -3, max: 3 }), claim: fc.integer({ min: -5, max: 5 }) }).map(({ r, pick, off, claim }) => {
  const parts: Buffer[] = [];
  const inputs = (r.inputs as Input[]).map((inp, i) => {
    if (!pick.includes(i)) return inp;
    const text = Buffer.from(JSON.stringify(inp.data)); // not the binary layout: sizes are what is fuzzed here
    const bytes = text.subarray(0, Math.max(0, text.length + off));
    parts.push(bytes);
    const { data: _data, ...rest } = inp;
    return { ...rest, parameters: { binary_data_size: bytes.length + (claim === 0 ? 0 : claim) } };
  });
  const head = json({ ...r, inputs });
  return { kind: 'binary', method: 'POST', path: INFER, headers: { 'inference-header-content-length': String(head.length + (claim > 3 ? 1 : 0)) }, body: Buffer.concat([head, ...parts]) };
});

const segment = fc.oneof(
  fc.constantFrom('v2', 'models', 'all_types', 'versions', 'r1', 'r0', 'infer', 'ready', 'health', 'live', 'feedback', '%ff', '%ZZ', '%', '%e0%a4%a', '..', 'metrics', ''),
  fc.string({ maxLength: 8 }).map(encodeURIComponent),
);

const cases: fc.Arbitrary<Case> = fc.oneof(
  // Mutations of valid requests, structural then maybe byte-level, with noisy headers.
  {
    weight: 10,
    arbitrary: fc.record({ r: validRequest, ms: fc.array(mutation, { maxLength: 3 }), bytes: fc.option(byteMutation, { nil: undefined }), headers: fc.option(headerNoise, { nil: undefined }) }).map(
      ({ r, ms, bytes, headers }): Case => {
        const body = json(ms.reduce((acc, m) => m(acc), r));
        return { kind: 'mutated', method: 'POST', path: INFER, headers: headers ?? {}, body: bytes ? bytes(body) : body };
      },
    ),
  },
  // Valid requests (the answer must be a 200).
  { weight: 3, arbitrary: validRequest.map((r): Case => ({ kind: 'valid', method: 'POST', path: INFER, headers: {}, body: json(r) })) },
  { weight: 3, arbitrary: binaryCase },
  // Compressed: valid, corrupt, or a bomb past --max-body-bytes.
  {
    weight: 2,
    arbitrary: fc.record({ r: validRequest, how: fc.constantFrom('gzip', 'deflate', 'corrupt', 'bomb') }).map(({ r, how }): Case => {
      const body = json(r);
      if (how === 'bomb') return { kind: 'bomb', method: 'POST', path: INFER, headers: { 'content-encoding': 'gzip' }, body: gzipSync(Buffer.alloc(4 * MAX_BODY)) };
      if (how === 'corrupt') return { kind: 'corrupt-gzip', method: 'POST', path: INFER, headers: { 'content-encoding': 'gzip' }, body: gzipSync(body).subarray(0, 20) };
      return { kind: how, method: 'POST', path: INFER, headers: { 'content-encoding': how }, body: how === 'gzip' ? gzipSync(body) : deflateSync(body) };
    }),
  },
  // Paths and methods.
  {
    weight: 2,
    arbitrary: fc.record({ segs: fc.array(segment, { maxLength: 6 }), method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'HEAD', 'PATCH', 'OPTIONS'), body: fc.option(fc.jsonValue({ maxDepth: 2 }), { nil: undefined }) }).map(
      ({ segs, method, body }): Case => ({ kind: 'path', method, path: '/' + segs.join('/'), headers: {}, body: method === 'GET' || method === 'HEAD' || body === undefined ? undefined : Buffer.from(JSON.stringify(body)) }),
    ),
  },
  // Over --max-body-bytes, and deep nesting anywhere in the JSON.
  { weight: 1, arbitrary: fc.constant<Case>({ kind: 'oversize', method: 'POST', path: INFER, headers: {}, body: Buffer.alloc(MAX_BODY + 1, 32) }) },
  { weight: 1, arbitrary: fc.integer({ min: 1000, max: 100_000 }).map((d): Case => ({ kind: 'deep', method: 'POST', path: INFER, headers: {}, body: Buffer.from('{"inputs":' + '['.repeat(d) + ']'.repeat(d) + '}') })) },
  // Raw HTTP: junk, a header block over the limit, broken chunked framing, junk after a request.
  {
    weight: 2,
    arbitrary: fc.oneof(
      fc.uint8Array({ minLength: 1, maxLength: 64 }).map((b): Case => ({ kind: 'raw-junk', method: '', path: '', headers: {}, body: undefined, raw: [Buffer.from(b), Buffer.from('\r\n\r\n')] })),
      fc.integer({ min: 17_000, max: 100_000 }).map((n): Case => ({ kind: 'raw-431', method: '', path: '', headers: {}, body: undefined, raw: [Buffer.from(`GET /v2/health/live HTTP/1.1\r\nhost: x\r\nx-big: ${'a'.repeat(n)}\r\n\r\n`)] })),
      printable.map((junk): Case => ({ kind: 'raw-chunked', method: '', path: '', headers: {}, body: undefined, raw: [Buffer.from(`POST ${INFER} HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n${junk}\r\n`)] })),
      printable.map((junk): Case => ({ kind: 'raw-pipelined', method: '', path: '', headers: {}, body: undefined, raw: [Buffer.from(`GET /v2/health/live HTTP/1.1\r\nhost: x\r\n\r\n${junk}\r\n\r\n`)] })),
    ),
  },
);

interface Outcome {
  status: number | undefined;
  body: string;
  /** A transport failure the client saw (reset, refused). */
  error: string | undefined;
}

async function send(url: string, port: number, c: Case): Promise<Outcome> {
  if (c.raw) {
    const r = await rawExchange(port, c.raw, { closeAfterMs: 200 });
    const at = r.text.indexOf('\r\n\r\n');
    return { status: r.status, body: at === -1 ? '' : r.text.slice(at + 4), error: r.error };
  }
  try {
    const res = await fetch(url + c.path, { method: c.method, headers: c.headers, body: c.body });
    return { status: res.status, body: Buffer.from(await res.arrayBuffer()).toString('latin1'), error: undefined };
  } catch (err) {
    return { status: undefined, body: '', error: String((err as Error & { cause?: Error }).cause?.message ?? err) };
  }
}

/** What is wrong with an answer, or undefined. */
function problem(c: Case, o: Outcome): string | undefined {
  if (o.error !== undefined) return `transport error ${o.error}`;
  if (c.raw && o.status === undefined) return c.kind === 'raw-junk' ? undefined : 'no answer'; // junk may be nothing at all to node (e.g. blank lines)
  if (o.status === undefined) return 'no status';
  if (o.status >= 500) return `status ${o.status}`;
  if (c.kind === 'valid' && o.status !== 200) return `a valid request answered ${o.status}: ${o.body.slice(0, 200)}`;
  if (o.status >= 400) {
    if (c.method === 'HEAD') return undefined; // no body
    let j: unknown;
    try {
      j = JSON.parse(o.body);
    } catch {
      return `error body is not JSON: ${o.body.slice(0, 200)}`;
    }
    if (typeof j !== 'object' || j === null || Object.keys(j).join() !== 'error' || typeof (j as { error: unknown }).error !== 'string') return `error body is not {"error": "…"}: ${o.body.slice(0, 200)}`;
  }
  return undefined;
}

describe(`fuzz: ${REQUESTS} malformed and mutated requests (seed ${SEED})`, () => {
  let rt: ServedChild;
  beforeAll(async () => {
    rt = await serveChild('all_types', [`--max-body-bytes=${MAX_BODY}`, `--max-buffered-bytes=${8 * MAX_BODY}`, '--headers-timeout-ms=2000', '--body-timeout-ms=2000']);
  }, 120_000);
  afterAll(async () => {
    await rt?.stop();
  });

  test('no crash, no server error, every error a JSON {"error"} with a 4xx, liveness answering, RSS back within a bound', async () => {
    const all = fc.sample(cases, { seed: SEED, numRuns: REQUESTS });
    const rssBefore = memoryOf(rt.pid);
    const heapBefore = await heapOf(rt);
    const prober = startProber(rt.url, 20);
    const failures: string[] = [];
    const kinds = new Map<string, number>();
    const statuses = new Map<number | string, number>();
    let next = 0;
    const t0 = performance.now();
    try {
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (next < all.length) {
            const i = next++;
            const c = all[i] as Case;
            const o = await send(rt.url, rt.port, c);
            kinds.set(c.kind, (kinds.get(c.kind) ?? 0) + 1);
            statuses.set(o.status ?? 'none', (statuses.get(o.status ?? 'none') ?? 0) + 1);
            const p = problem(c, o);
            if (p && failures.length < 20) failures.push(`#${i} (seed ${SEED}) ${c.kind} ${c.method} ${c.path.slice(0, 80)} ${JSON.stringify(c.headers)}: ${p}`);
          }
        }),
      );
    } finally {
      const report = await prober.stop();
      const seconds = (performance.now() - t0) / 1000;
      const rssAfter = memoryOf(rt.pid);
      const heapAfter = await heapOf(rt);
      console.log(
        `fuzz: ${all.length} requests in ${seconds.toFixed(1)} s; kinds ${JSON.stringify(Object.fromEntries(kinds))}; statuses ${JSON.stringify(Object.fromEntries(statuses))}; ` +
          `live: ${report.probes} probes, worst ${report.worstMs.toFixed(1)} ms (an idle process's worst ${report.controlWorstMs.toFixed(1)} ms), ${report.failures} failed; RSS ${(rssBefore / 2 ** 20).toFixed(0)} → ${(rssAfter / 2 ** 20).toFixed(0)} MiB (V8 heap used/total, external: ${heapBefore} → ${heapAfter})`,
      );
      expect(failures).toEqual([]);
      expect(rt.alive()).toBe(true);
      expect(report.failures).toBe(0);
      // Far under the kubelet's 2 s probe timeout: at most half of it more than an idle process
      // probed at the same moments (the control) took — what other work on the same cores adds is
      // not the runtime's doing. Measured here (the log line): worst 56–600 ms, the control's a few
      // ms quiet and hundreds when the test files run in parallel; doubled for a machine half as
      // fast, still under this.
      expect(report.worstMs).toBeLessThan(PROBE_TIMEOUT_MS / 2 + report.controlWorstMs);
      expect(rssAfter - rssBefore).toBeLessThan(RSS_GROWTH_BOUND);
    }
    const metrics = await rt.metrics();
    expect(metricValue(metrics, 'onnxop_requests_total', { outcome: 'server_error' })).toBe(0);
    expect(metricValue(metrics, 'onnxop_requests_total', { outcome: 'timeout' })).toBe(0);
    expect(metricValue(metrics, 'onnxop_requests_total', { outcome: 'success' })).toBeGreaterThan(1000);
    expect(metricValue(metrics, 'onnxop_request_body_bytes_buffered')).toBe(0);
  });
});

async function heapOf(rt: ServedChild): Promise<string> {
  const text = await rt.metrics();
  const mib = (name: string) => ((metricValue(text, `onnxop_process_nodejs_${name}`) ?? NaN) / 2 ** 20).toFixed(0);
  return `${mib('heap_size_used_bytes')}/${mib('heap_size_total_bytes')}, ${mib('external_memory_bytes')} MiB`;
}

function memoryOf(pid: number): number {
  return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) * 1024;
}
