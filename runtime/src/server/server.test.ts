// End-to-end tests of the v2 API on real onnxruntime sessions of the models built by
// runtime/test-models/build.ts.
import { afterAll, beforeAll, describe, expect, jest, test } from '@jest/globals';
import { metricValue, post, request, start } from '../../test-support/harness.ts';
import { RUNTIME_TEST_TIMEOUT_MS } from '../../test-support/timing.ts';
import type { RunningRuntime } from '../serve.ts';

// Every test here starts a runtime or runs onnxruntime: an explicit timeout (test-support/timing.ts), never Jest's 5 s.
jest.setTimeout(RUNTIME_TEST_TIMEOUT_MS);

type Rt = RunningRuntime & { url: string };
const logreg = (rows: number[][]) => ({ inputs: [{ name: 'features', shape: [rows.length, 4], datatype: 'FP32', data: rows }] });

describe('v2 API on the logistic regression', () => {
  let rt: Rt;
  beforeAll(async () => {
    rt = await start('logreg');
    await rt.loaded;
  });
  afterAll(() => rt.shutdown('test'));

  test('health, server and model metadata, model ready', async () => {
    expect((await request(`${rt.url}/v2/health/live`)).json).toEqual({ live: true });
    expect((await request(`${rt.url}/v2/health/ready`)).json).toEqual({ ready: true });
    const server = await request(`${rt.url}/v2`);
    expect(server.json.extensions).toContain('binary_tensor_data');
    const meta = await request(`${rt.url}/v2/models/logreg`);
    expect(meta.json).toEqual({
      name: 'logreg',
      versions: ['r1'],
      platform: 'onnxruntime_onnx',
      inputs: [{ name: 'features', datatype: 'FP32', shape: [-1, 4] }],
      outputs: [{ name: 'probability', datatype: 'FP32', shape: [-1, 1] }],
    });
    expect((await request(`${rt.url}/v2/models/logreg/versions/r1`)).json.name).toBe('logreg');
    expect((await request(`${rt.url}/v2/models/logreg/ready`)).json).toEqual({ name: 'logreg', ready: true });
    expect((await request(`${rt.url}/v2/models/logreg/versions/r1/ready`)).status).toBe(200);
    expect(meta.headers.get('x-onnxop-revision')).toBe('r1');
  });

  test('infer with flat and nested data gives the same sigmoid outputs, with id, header and revision', async () => {
    const nested = await post(`${rt.url}/v2/models/logreg/infer`, logreg([[1, 2, 3, 4], [0, 0, 0, 0]]));
    const flat = await post(`${rt.url}/v2/models/logreg/versions/r1/infer`, {
      id: 'req-42',
      inputs: [{ name: 'features', shape: [2, 4], datatype: 'FP32', data: [1, 2, 3, 4, 0, 0, 0, 0] }],
    });
    expect(nested.status).toBe(200);
    expect(flat.status).toBe(200);
    const out = nested.json.outputs[0];
    expect(out).toMatchObject({ name: 'probability', datatype: 'FP32', shape: [2, 1] });
    expect(out.data).toEqual(flat.json.outputs[0].data);
    for (const p of out.data) {
      expect(p).toBeGreaterThan(0);
      expect(p).toBeLessThan(1);
    }
    expect(flat.json.id).toBe('req-42');
    expect(flat.json.parameters.prediction_id).toBe('req-42');
    expect(flat.headers.get('x-onnxop-prediction-id')).toBe('req-42');
    expect(nested.json.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(nested.headers.get('x-onnxop-prediction-id')).toBe(nested.json.id);
    expect(nested.headers.get('x-onnxop-revision')).toBe('r1');
    expect(nested.json.model_version).toBe('r1');
  });

  test.each([
    ['malformed JSON', '{"inputs": [', 400, /not valid JSON/],
    ['not an object', '[1,2]', 400, /must be a JSON object/],
    ['no inputs', {}, 400, /inputs is undefined/],
    ['wrong input name', { inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }] }, 400, /"x" is not an input of this model; its inputs are: features/],
    ['wrong datatype', { inputs: [{ name: 'features', shape: [1, 4], datatype: 'FP64', data: [1, 2, 3, 4] }] }, 400, /datatype is FP64 but the model expects FP32/],
    ['unknown datatype', { inputs: [{ name: 'features', shape: [1, 4], datatype: 'FLOAT', data: [1, 2, 3, 4] }] }, 400, /use one of BOOL/],
    ['wrong fixed dimension', { inputs: [{ name: 'features', shape: [1, 5], datatype: 'FP32', data: [1, 2, 3, 4, 5] }] }, 400, /shape\[1\] is 5; the model expects 4/],
    ['wrong rank', { inputs: [{ name: 'features', shape: [4], datatype: 'FP32', data: [1, 2, 3, 4] }] }, 400, /rank 1; the model expects rank 2/],
    ['negative dimension', { inputs: [{ name: 'features', shape: [-1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }] }, 400, /dimensions are non-negative integers/],
    ['element count', { inputs: [{ name: 'features', shape: [2, 4], datatype: 'FP32', data: [1, 2, 3, 4] }] }, 400, /has 4 elements but shape \[2, 4\] needs 8/],
    ['non-number value', { inputs: [{ name: 'features', shape: [1, 4], datatype: 'FP32', data: [1, 'a', 3, 4] }] }, 400, /data\[1\] is "a", but FP32 needs a number/],
    ['unknown output', { ...logreg([[1, 2, 3, 4]]), outputs: [{ name: 'nope' }] }, 400, /"nope" is not an output of this model/],
    ['duplicate input', { inputs: [logreg([[1, 2, 3, 4]]).inputs[0], logreg([[1, 2, 3, 4]]).inputs[0]] }, 400, /given twice/],
  ])('rejects %s with %i and a message naming the problem', async (_name, body, status, message) => {
    const res = await post(`${rt.url}/v2/models/logreg/infer`, body);
    expect(res.status).toBe(status);
    expect(Object.keys(res.json)).toEqual(['error']);
    expect(res.json.error).toMatch(message);
  });

  test('unknown model, version and route are 404; wrong method is 405', async () => {
    const cases: [string, string, number, RegExp][] = [
      ['POST', '/v2/models/other/infer', 404, /model "other" is not served here; this server serves "logreg"/],
      ['GET', '/v2/models/other', 404, /not served here/],
      ['POST', '/v2/models/logreg/versions/r0/infer', 404, /version "r0" of model "logreg" is not served here/],
      ['GET', '/v1/models', 404, /under \/v2/],
      ['GET', '/v2/models/logreg/infer', 405, /use POST/],
      ['DELETE', '/v2/health/live', 405, /use GET/],
    ];
    for (const [method, path, status, message] of cases) {
      const res = await request(`${rt.url}${path}`, { method, ...(method === 'POST' ? { body: JSON.stringify(logreg([[1, 2, 3, 4]])) } : {}) });
      expect([path, res.status]).toEqual([path, status]);
      expect(res.json.error).toMatch(message);
    }
  });

  test('binary-data extension: binary input and binary output', async () => {
    const values = new Float32Array([1, 2, 3, 4, -1, -2, -3, -4]);
    const head = Buffer.from(
      JSON.stringify({ inputs: [{ name: 'features', shape: [2, 4], datatype: 'FP32', parameters: { binary_data_size: values.byteLength } }], outputs: [{ name: 'probability', parameters: { binary_data: true } }] }),
    );
    const res = await request(`${rt.url}/v2/models/logreg/infer`, {
      method: 'POST',
      body: Buffer.concat([head, Buffer.from(values.buffer)]),
      headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(head.length) },
    });
    expect(res.status).toBe(200);
    const jsonLength = Number(res.headers.get('inference-header-content-length'));
    const meta = JSON.parse(res.bytes.subarray(0, jsonLength).toString());
    expect(meta.outputs[0]).toMatchObject({ name: 'probability', shape: [2, 1], parameters: { binary_data_size: 8 } });
    const bin = res.bytes.subarray(jsonLength);
    const probs = new Float32Array(bin.buffer.slice(bin.byteOffset, bin.byteOffset + 8));
    const viaJson = await post(`${rt.url}/v2/models/logreg/infer`, logreg([[1, 2, 3, 4], [-1, -2, -3, -4]]));
    expect(Array.from(probs)).toEqual(viaJson.json.outputs[0].data);
  });

  test('binary-data errors: size mismatch, missing header, unclaimed bytes', async () => {
    const mk = (size: number, extra: number, withHeader = true) => {
      const head = Buffer.from(JSON.stringify({ inputs: [{ name: 'features', shape: [1, 4], datatype: 'FP32', parameters: { binary_data_size: size } }] }));
      return request(`${rt.url}/v2/models/logreg/infer`, {
        method: 'POST',
        body: Buffer.concat([head, Buffer.alloc(size + extra)]),
        headers: withHeader ? { 'inference-header-content-length': String(head.length) } : {},
      });
    };
    expect((await mk(12, 0)).json.error).toMatch(/binary_data_size is 12 bytes but shape × FP32 needs 16 bytes/);
    expect((await mk(16, 4)).json.error).toMatch(/4 binary bytes not claimed/);
    expect((await mk(16, 0, false)).status).toBe(400);
  });

  test('oversize body is 413 and counted as a client error', async () => {
    const small = await start('logreg', { maxBodyBytes: 1024 });
    await small.loaded;
    try {
      const rows = Array.from({ length: 100 }, () => [1, 2, 3, 4]);
      const res = await post(`${small.url}/v2/models/logreg/infer`, logreg(rows));
      expect(res.status).toBe(413);
      expect(res.json.error).toMatch(/larger than --max-body-bytes=1024/);
      const metrics = (await request(`${small.url}/metrics`)).text;
      expect(metricValue(metrics, 'onnxop_requests_total', { outcome: 'client_error' })).toBe(1);
    } finally {
      await small.shutdown('test');
    }
  });
});

describe('tensor types', () => {
  let rt: Rt;
  beforeAll(async () => {
    rt = await start('all_types');
    await rt.loaded;
  });
  afterAll(() => rt.shutdown('test'));

  const values: Record<string, unknown[]> = {
    FP32: [1.5, -2.25, 0, 3],
    FP64: [1e-300, -2.5, 3.141592653589793, 1e300],
    FP16: [1.5, -2, 0.5, 65504],
    INT8: [-128, 127, 0, 5],
    INT16: [-32768, 32767, 1, -1],
    INT32: [-2147483648, 2147483647, 7, 0],
    INT64: [-5, 9007199254740991, '9223372036854775807', 0],
    UINT8: [0, 255, 1, 2],
    UINT16: [0, 65535, 3, 4],
    UINT32: [0, 4294967295, 5, 6],
    UINT64: [0, '18446744073709551615', 7, 8],
    BOOL: [true, false, false, true],
    BYTES: ['hello', '', 'ünïcödé', 'x'],
  };

  test('every datatype round-trips through onnxruntime as JSON', async () => {
    const body = { inputs: Object.entries(values).map(([dt, data]) => ({ name: `in_${dt.toLowerCase()}`, shape: [2, 2], datatype: dt, data })) };
    const res = await post(`${rt.url}/v2/models/all_types/infer`, body);
    expect(res.status).toBe(200);
    for (const [dt, data] of Object.entries(values)) {
      const out = res.json.outputs.find((o: { name: string }) => o.name === `out_${dt.toLowerCase()}`);
      expect(out).toMatchObject({ datatype: dt, shape: [2, 2] });
      const want = dt === 'INT64' || dt === 'UINT64' ? data.map((v) => (typeof v === 'string' ? v : v)) : data;
      expect([dt, out.data]).toEqual([dt, want]);
    }
  });

  test('BYTES and INT64 as binary data', async () => {
    const strs = ['a', 'bcd', '', 'éé'];
    const parts = strs.map((s) => {
      const b = Buffer.from(s);
      const len = Buffer.alloc(4);
      len.writeUInt32LE(b.length);
      return Buffer.concat([len, b]);
    });
    const bytes = Buffer.concat(parts);
    const ints = Buffer.from(new BigInt64Array([1n, -2n, 3n, 2n ** 62n]).buffer);
    const inputs = Object.entries(values).map(([dt, data]) => {
      const name = `in_${dt.toLowerCase()}`;
      if (dt === 'BYTES') return { name, shape: [2, 2], datatype: dt, parameters: { binary_data_size: bytes.length } };
      if (dt === 'INT64') return { name, shape: [2, 2], datatype: dt, parameters: { binary_data_size: ints.length } };
      return { name, shape: [2, 2], datatype: dt, data };
    });
    const ordered: Buffer[] = [];
    for (const i of inputs) if (i.name === 'in_bytes') ordered.push(bytes);
    else if (i.name === 'in_int64') ordered.push(ints);
    const head = Buffer.from(JSON.stringify({ inputs, outputs: [{ name: 'out_bytes' }, { name: 'out_int64' }] }));
    const res = await request(`${rt.url}/v2/models/all_types/infer`, {
      method: 'POST',
      body: Buffer.concat([head, ...ordered]),
      headers: { 'inference-header-content-length': String(head.length) },
    });
    expect(res.status).toBe(200);
    expect(res.json.outputs.map((o: { name: string }) => o.name)).toEqual(['out_bytes', 'out_int64']);
    expect(res.json.outputs[0].data).toEqual(strs);
    expect(res.json.outputs[1].data).toEqual([1, -2, 3, String(2n ** 62n)]);
  });

  test('out-of-range integers and wrong element types are 400', async () => {
    const bad = async (dt: string, data: unknown[]) => {
      const body = { inputs: Object.entries(values).map(([t, d]) => ({ name: `in_${t.toLowerCase()}`, shape: [2, 2], datatype: t, data: t === dt ? data : d })) };
      return post(`${rt.url}/v2/models/all_types/infer`, body);
    };
    expect((await bad('UINT8', [0, 256, 1, 2])).json.error).toMatch(/in_uint8.*data\[1\] is 256, but UINT8 needs an integer between 0 and 255/);
    expect((await bad('INT32', [0, 1.5, 1, 2])).json.error).toMatch(/INT32 needs an integer/);
    expect((await bad('BOOL', [true, 'yes', true, true])).json.error).toMatch(/BOOL needs true or false/);
    expect((await bad('BYTES', ['a', 1, 'b', 'c'])).json.error).toMatch(/BYTES needs a string/);
    expect((await bad('INT64', [1, '99999999999999999999', 1, 1])).json.error).toMatch(/INT64 needs an integer in range/);
  });
});

describe('multi-input, multi-output, typed operators and run-time failures', () => {
  test('multi_io: output selection and symbolic dimensions must agree', async () => {
    const rt = await start('multi_io');
    try {
      await rt.loaded;
      const a = [[1, 2, 3], [4, 5, 6]];
      const b = [[1, 1, 1], [2, 2, 2]];
      const body = (bShape: number[], bData: number[][]) => ({
        inputs: [
          { name: 'a', shape: [2, 3], datatype: 'FP32', data: a },
          { name: 'b', shape: bShape, datatype: 'FP32', data: bData },
        ],
        outputs: [{ name: 'product' }],
      });
      const res = await post(`${rt.url}/v2/models/multi_io/infer`, body([2, 3], b));
      expect(res.json.outputs).toEqual([{ name: 'product', datatype: 'FP32', shape: [2, 3], data: [1, 2, 3, 8, 10, 12] }]);
      const all = await post(`${rt.url}/v2/models/multi_io/infer`, { inputs: body([2, 3], b).inputs });
      expect(all.json.outputs.map((o: { name: string }) => o.name)).toEqual(['sum', 'product']);
      const mismatch = await post(`${rt.url}/v2/models/multi_io/infer`, body([1, 3], [[1, 1, 1]]));
      expect(mismatch.status).toBe(400);
      expect(mismatch.json.error).toMatch(/inputs\[a\] gave 2 for the same dimension "batch"/);
      const missing = await post(`${rt.url}/v2/models/multi_io/infer`, { inputs: [body([2, 3], b).inputs[0]] });
      expect(missing.json.error).toMatch(/missing input\(s\): b/);
    } finally {
      await rt.shutdown('test');
    }
  });

  test('typed_ops: int64, bool and string inputs through real operators', async () => {
    const rt = await start('typed_ops');
    try {
      await rt.loaded;
      const res = await post(`${rt.url}/v2/models/typed_ops/infer`, {
        inputs: [
          { name: 'ids', shape: [3], datatype: 'INT64', data: [1, 41, -1] },
          { name: 'mask', shape: [3], datatype: 'BOOL', data: [true, false, true] },
          { name: 'names', shape: [3], datatype: 'BYTES', data: ['a', 'b', 'c'] },
        ],
      });
      expect(res.status).toBe(200);
      const byName = Object.fromEntries(res.json.outputs.map((o: { name: string; data: unknown }) => [o.name, o.data]));
      expect(byName).toEqual({ next_ids: [2, 42, 0], inverted: [false, true, false], names_out: ['a', 'b', 'c'] });
    } finally {
      await rt.shutdown('test');
    }
  });

  test('a model failing inside onnxruntime answers 500 and counts a server error; good inputs still work', async () => {
    const rt = await start('reshape_fail');
    try {
      await rt.loaded;
      const call = (shape: number[]) =>
        post(`${rt.url}/v2/models/reshape_fail/infer`, {
          inputs: [
            { name: 'x', shape: [6], datatype: 'FP32', data: [1, 2, 3, 4, 5, 6] },
            { name: 'shape', shape: [2], datatype: 'INT64', data: shape },
          ],
        });
      const bad = await call([4, 4]);
      expect(bad.status).toBe(500);
      expect(bad.json.error).toMatch(/onnxruntime failed to run the model: .*Reshape/);
      const good = await call([2, 3]);
      expect(good.status).toBe(200);
      expect(good.json.outputs[0].shape).toEqual([2, 3]);
      const metrics = (await request(`${rt.url}/metrics`)).text;
      expect(metricValue(metrics, 'onnxop_requests_total', { outcome: 'server_error' })).toBe(1);
      expect(metricValue(metrics, 'onnxop_requests_total', { outcome: 'success' })).toBe(1);
      expect(metricValue(metrics, 'onnxop_runs_total', { result: 'error' })).toBe(1);
    } finally {
      await rt.shutdown('test');
    }
  });
});
