// The gRPC service with a gRPC client of our own (grpc-js): typed contents as well as raw, what a
// client gets wrong answered INVALID_ARGUMENT and counted client_error (malformed protobuf, counts,
// ranges, fuzzed bytes), the shared body budget, and the same answers as REST.
import { afterAll, beforeAll, describe, expect, jest, test } from '@jest/globals';
import { status } from '@grpc/grpc-js';
import fc from 'fast-check';
import { inferenceClient, type InferenceClient } from '../../test-support/grpc-client.ts';
import { connect } from 'node:net';
import { metricValue, post, request, start, waitFor } from '../../test-support/harness.ts';
import { RUNTIME_TEST_TIMEOUT_MS } from '../../test-support/timing.ts';
import type { RunningRuntime } from '../serve.ts';
import { CONTENT_FIELD, decodeInferResponse, encodeInferRequest } from './messages.ts';
import { Writer } from './wire.ts';

jest.setTimeout(RUNTIME_TEST_TIMEOUT_MS);

type Rt = RunningRuntime & { url: string };

/** A ModelInferRequest whose input values are in a typed contents field (`values`: its packed payload). */
function withContents(model: string, inputs: { name: string; datatype: string; shape: number[]; field: number; values: Buffer }[]): Buffer {
  const w = new Writer().string(1, model);
  for (const i of inputs) w.message(5, new Writer().string(1, i.name).string(2, i.datatype).packed(3, i.shape).message(5, new Writer().bytes(i.field, i.values)));
  return w.finish();
}

const floats = (values: number[]) => {
  const b = Buffer.alloc(4 * values.length);
  values.forEach((v, i) => b.writeFloatLE(v, i * 4));
  return b;
};

describe('gRPC ModelInfer on the logistic regression', () => {
  let rt: Rt;
  let client: InferenceClient;
  beforeAll(async () => {
    rt = await start('logreg', { maxBodyBytes: 64 * 1024, maxBufferedBytes: 64 * 1024 });
    await rt.loaded;
    client = inferenceClient(`127.0.0.1:${rt.grpcPort}`);
  });
  afterAll(async () => {
    client.close();
    await rt.shutdown('test');
  });

  const rows = [1, 2, 3, 4, -1, -2, -3, -4];

  test('raw and fp32_contents give REST’s answer, in raw_output_contents', async () => {
    const rest = await post(`${rt.url}/v2/models/logreg/infer`, { inputs: [{ name: 'features', shape: [2, 4], datatype: 'FP32', data: rows }] });
    const raw = decodeInferResponse(await client.call('ModelInfer', encodeInferRequest({ modelName: 'logreg', id: 'g1', inputs: [{ name: 'features', datatype: 'FP32', shape: [2, 4] }], raw: [floats(rows)] })));
    const contents = decodeInferResponse(await client.call('ModelInfer', withContents('logreg', [{ name: 'features', datatype: 'FP32', shape: [2, 4], field: CONTENT_FIELD.fp32, values: floats(rows) }])));
    const values = (b: Buffer) => Array.from(new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length)));
    expect(raw.id).toBe('g1');
    expect(raw.outputs).toEqual([{ name: 'probability', datatype: 'FP32', shape: [2, 1] }]);
    expect(values(raw.raw[0]!)).toEqual(rest.json.outputs[0].data);
    expect(values(contents.raw[0]!)).toEqual(rest.json.outputs[0].data);
  });

  test('what the client gets wrong is INVALID_ARGUMENT or NOT_FOUND, counted as client errors', async () => {
    const infer = (msg: Buffer) => client.error('ModelInfer', msg);
    const input = { name: 'features', datatype: 'FP32', shape: [2, 4] };
    expect(await infer(Buffer.from([0x0a, 0xff, 0xff]))).toEqual({ code: status.INVALID_ARGUMENT, details: expect.stringMatching(/^the request is not a valid protobuf message \(truncated varint at byte 3\)/) });
    expect(await infer(encodeInferRequest({ modelName: 'logreg', inputs: [input], raw: [floats(rows), floats(rows)] }))).toEqual({ code: status.INVALID_ARGUMENT, details: expect.stringMatching(/raw_input_contents has 2 entries for 1 inputs/) });
    expect(await infer(encodeInferRequest({ modelName: 'logreg', inputs: [input], raw: [floats([1, 2])] }))).toEqual({ code: status.INVALID_ARGUMENT, details: expect.stringMatching(/binary_data_size is 8 bytes but shape × FP32 needs 32 bytes/) });
    expect(await infer(encodeInferRequest({ modelName: 'other', inputs: [input], raw: [floats(rows)] }))).toEqual({ code: status.NOT_FOUND, details: expect.stringMatching(/model "other" is not served here/) });
    expect(await infer(encodeInferRequest({ modelName: 'logreg', modelVersion: 'r0', inputs: [input], raw: [floats(rows)] }))).toEqual({ code: status.NOT_FOUND, details: expect.stringMatching(/version "r0"/) });
    expect(await infer(withContents('logreg', [{ ...input, field: CONTENT_FIELD.int, values: new Writer().varint(1).finish() }]))).toEqual({
      code: status.INVALID_ARGUMENT,
      details: 'inputs[features].contents has int_contents, but a FP32 input\'s values go in fp32_contents',
    });
    expect(await infer(withContents('logreg', [{ ...input, shape: [1, 4], field: CONTENT_FIELD.fp32, values: floats([1, 2, 3]) }]))).toEqual({ code: status.INVALID_ARGUMENT, details: 'inputs[features].contents has 3 values but shape needs 4' });
    const metrics = (await request(`${rt.url}/metrics`)).text;
    expect(metricValue(metrics, 'onnxop_requests_total', { outcome: 'client_error' })).toBe(7);
    expect(metricValue(metrics, 'onnxop_requests_total', { outcome: 'server_error' })).toBe(0);
  });

  test('the body budget is shared with REST: over it, UNAVAILABLE (rejected); over the message limit, RESOURCE_EXHAUSTED', async () => {
    const before = metricValue((await request(`${rt.url}/metrics`)).text, 'onnxop_requests_total', { outcome: 'rejected' }) ?? 0;
    // 40 KiB: under the 64 KiB message limit, but with a 40 KiB REST body held it passes the 64 KiB budget.
    const big = encodeInferRequest({ modelName: 'logreg', inputs: [{ name: 'features', datatype: 'FP32', shape: [2560, 4] }], raw: [Buffer.alloc(2560 * 16)] });
    // A REST request that declared 40 KiB and sends nothing yet: its reservation is held.
    const held = connect(rt.port, '127.0.0.1');
    held.on('error', () => {});
    held.write(`POST /v2/models/logreg/infer HTTP/1.1\r\nhost: x\r\ncontent-length: ${40 * 1024}\r\n\r\n`);
    await waitFor('the held body to be reserved', async () => (metricValue((await request(`${rt.url}/metrics`)).text, 'onnxop_request_body_bytes_buffered') === 40 * 1024 ? true : undefined), { everyMs: 20, timeoutMs: 10_000 });
    expect(await client.error('ModelInfer', big)).toEqual({ code: status.UNAVAILABLE, details: expect.stringMatching(/--max-buffered-bytes=65536/) });
    expect(metricValue((await request(`${rt.url}/metrics`)).text, 'onnxop_requests_total', { outcome: 'rejected' })).toBe(before + 1);
    const huge = encodeInferRequest({ modelName: 'logreg', inputs: [{ name: 'features', datatype: 'FP32', shape: [8192, 4] }], raw: [Buffer.alloc(8192 * 16)] });
    expect((await client.error('ModelInfer', huge))?.code).toBe(status.RESOURCE_EXHAUSTED);
    held.destroy();
  });

  test('fuzz: 2,000 mutated and random messages; never INTERNAL or UNKNOWN, never a server error', async () => {
    const valid = encodeInferRequest({ modelName: 'logreg', inputs: [{ name: 'features', datatype: 'FP32', shape: [2, 4] }], raw: [floats(rows)] });
    const messages = fc.sample(
      fc.oneof(
        fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
        fc.record({ at: fc.nat(), bit: fc.nat(7) }).map(({ at, bit }) => {
          const c = Buffer.from(valid);
          c[at % c.length]! ^= 1 << bit;
          return c;
        }),
        fc.nat().map((at) => valid.subarray(0, at % valid.length)),
        fc.record({ field: fc.integer({ min: 1, max: 8 }), junk: fc.uint8Array({ maxLength: 40 }) }).map(({ field, junk }) =>
          withContents('logreg', [{ name: 'features', datatype: 'FP32', shape: [2, 4], field, values: Buffer.from(junk) }]),
        ),
      ),
      { seed: 12, numRuns: 2000 },
    );
    const serverSide: string[] = [];
    for (const [i, msg] of messages.entries()) {
      const err = await client.error('ModelInfer', msg);
      if (err && (err.code === status.INTERNAL || err.code === status.UNKNOWN)) serverSide.push(`#${i} ${msg.toString('hex')}: ${err.details}`);
    }
    expect(serverSide).toEqual([]);
    const metrics = (await request(`${rt.url}/metrics`)).text;
    expect(metricValue(metrics, 'onnxop_requests_total', { outcome: 'server_error' })).toBe(0);
  });

  test('ServerLive, ServerReady, ModelReady; an unknown method is UNIMPLEMENTED', async () => {
    const flag = (b: Buffer) => b.length === 2 && b[0] === 0x08 && b[1] === 1;
    expect(flag(await client.call('ServerLive', Buffer.alloc(0)))).toBe(true);
    expect(flag(await client.call('ServerReady', Buffer.alloc(0)))).toBe(true);
    expect(flag(await client.call('ModelReady', new Writer().string(1, 'logreg').finish()))).toBe(true);
    expect((await client.error('ModelReady', new Writer().string(1, 'other').finish()))?.code).toBe(status.NOT_FOUND);
    expect((await client.error('ModelStreamInfer', Buffer.alloc(0)))?.code).toBe(status.UNIMPLEMENTED);
  });
});
