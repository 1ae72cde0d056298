// The runtime's spans, as the OpenTelemetry SDK records them: a real runtime on a real model with
// tracing on, its spans collected by the SDK's in-memory exporter behind the same batch span
// processor production uses. REST and gRPC, a caller's traceparent continued, a batched run linked
// to every request it served, errors, sampling, and a collector that never answers.
import { afterEach, describe, expect, jest, test } from '@jest/globals';
import { createServer, type Server, type Socket } from 'node:net';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace';
import { post, silentLog, testConfig } from '../../test-support/harness.ts';
import { inferenceClient } from '../../test-support/grpc-client.ts';
import { RUNTIME_TEST_TIMEOUT_MS } from '../../test-support/timing.ts';
import { encodeInferRequest } from '../grpc/messages.ts';
import { startRuntime, type RunningRuntime } from '../serve.ts';
import type { RuntimeConfig } from '../config/config.ts';
import { SPAN_ATTRIBUTES as A, SPAN_NAMES } from './request-trace.ts';
import { parseTracingEnv } from './tracing-config.ts';

jest.setTimeout(RUNTIME_TEST_TIMEOUT_MS);

const running: RunningRuntime[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((rt) => rt.shutdown('test')));
});

async function traced(env: Record<string, string>, overrides: Partial<RuntimeConfig> = {}, exporter = new InMemorySpanExporter()) {
  const base = testConfig('logreg', overrides);
  const tracing = parseTracingEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9', ...env }, { serviceName: base.modelName, serviceVersion: base.revision });
  const rt = await startRuntime({ ...base, tracing }, silentLog, { spanExporter: exporter });
  running.push(rt);
  await rt.loaded;
  const spans = async (): Promise<ReadableSpan[]> => {
    await rt.tracing?.flush();
    return exporter.getFinishedSpans();
  };
  return { rt, url: `http://127.0.0.1:${rt.port}`, spans };
}

const hex = (n: number, seed: number) => Array.from({ length: n }, (_, i) => ((seed * 7 + i * 13) % 16).toString(16)).join('');
const caller = (seed: number) => ({ traceId: hex(32, seed), spanId: hex(16, seed + 1) });
const traceparent = (c: { traceId: string; spanId: string }, flags = '01') => `00-${c.traceId}-${c.spanId}-${flags}`;
const infer = (rows: number[][]) => ({ inputs: [{ name: 'features', shape: [rows.length, 4], datatype: 'FP32', data: rows.flat() }] });

const named = (spans: ReadableSpan[], name: string) => spans.filter((s) => s.name === name);
const childrenOf = (spans: ReadableSpan[], parent: ReadableSpan) => spans.filter((s) => s.parentSpanContext?.spanId === parent.spanContext().spanId);

describe('runtime spans (OpenTelemetry SDK, in-memory exporter)', () => {
  test('REST: the caller’s trace continues in one server span with decode, queue, run and encode children', async () => {
    const { url, spans } = await traced({});
    const c = caller(1);
    const res = await post(`${url}/v2/models/logreg/infer`, infer([[1, 2, 3, 4]]), { traceparent: traceparent(c), tracestate: 'vendor=x' });
    expect(res.status).toBe(200);
    const all = await spans();
    const [server, ...others] = named(all, SPAN_NAMES.http);
    expect(others).toEqual([]);
    expect(server?.kind).toBe(SpanKind.SERVER);
    expect(server?.spanContext().traceId).toBe(c.traceId);
    expect(server?.parentSpanContext?.spanId).toBe(c.spanId);
    expect(server?.spanContext().traceState?.get('vendor')).toBe('x');
    expect(server?.attributes).toMatchObject({
      [A.model]: 'logreg',
      [A.revision]: 'r1',
      [A.outcome]: 'success',
      [A.predictionId]: res.headers.get('x-onnxop-prediction-id'),
      'http.request.method': 'POST',
      'http.route': '/v2/models/{name}/infer',
      'http.response.status_code': 200,
    });
    expect(server?.status.code).toBe(SpanStatusCode.UNSET);
    const children = childrenOf(all, server as ReadableSpan);
    expect(children.map((s) => s.name).sort()).toEqual([SPAN_NAMES.decode, SPAN_NAMES.encode, SPAN_NAMES.queue, SPAN_NAMES.run].sort());
    for (const s of children) expect(s.spanContext().traceId).toBe(c.traceId);
    const run = named(all, SPAN_NAMES.run)[0] as ReadableSpan;
    expect(run.links.map((l) => l.context.spanId)).toEqual([server?.spanContext().spanId]);
    expect(run.attributes).toMatchObject({ [A.batchRows]: 1, [A.batchRequests]: 1, [A.model]: 'logreg' });
    expect(named(all, SPAN_NAMES.queue)[0]?.attributes[A.queueResult]).toBe('run');
    // The resource names the service (the model by default) and its version (the revision).
    expect(server?.resource.attributes).toMatchObject({ 'service.name': 'logreg', 'service.version': 'r1' });
  });

  test('a batched run is one span, a child of one request, linked to every request it served', async () => {
    // One run slot and a long queue delay: four single-row requests wait until the batch of four is full.
    const { url, spans } = await traced({}, { maxBatchSize: 4, maxQueueDelayMs: 10_000, maxConcurrentRuns: 1 });
    const callers = [10, 20, 30, 40].map(caller);
    const replies = await Promise.all(callers.map((c, i) => post(`${url}/v2/models/logreg/infer`, infer([[i, 1, 2, 3]]), { traceparent: traceparent(c) })));
    expect(replies.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    const all = await spans();
    const servers = named(all, SPAN_NAMES.http);
    expect(servers.map((s) => s.spanContext().traceId).sort()).toEqual(callers.map((c) => c.traceId).sort());
    const runs = named(all, SPAN_NAMES.run);
    expect(runs).toHaveLength(1);
    const run = runs[0] as ReadableSpan;
    expect(run.attributes).toMatchObject({ [A.batchRows]: 4, [A.batchRequests]: 4 });
    expect(run.links.map((l) => `${l.context.traceId}/${l.context.spanId}`).sort()).toEqual(servers.map((s) => `${s.spanContext().traceId}/${s.spanContext().spanId}`).sort());
    expect(servers.map((s) => s.spanContext().spanId)).toContain(run.parentSpanContext?.spanId);
    // Every request still has its own queue span in its own trace.
    for (const s of servers) expect(childrenOf(all, s).map((x) => x.name)).toContain(SPAN_NAMES.queue);
  });

  test('gRPC: traceparent from the call metadata, rpc attributes, the same children', async () => {
    const { rt, spans } = await traced({});
    const client = inferenceClient(`127.0.0.1:${rt.grpcPort}`);
    try {
      const c = caller(5);
      const raw = Buffer.alloc(16);
      [1, 2, 3, 4].forEach((v, i) => raw.writeFloatLE(v, 4 * i));
      await client.call('ModelInfer', encodeInferRequest({ modelName: 'logreg', id: 'g1', inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 4] }], raw: [raw] }), { traceparent: traceparent(c) });
      const bad = await client.error('ModelInfer', encodeInferRequest({ modelName: 'logreg', inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 3] }], raw: [raw.subarray(0, 12)] }));
      expect(bad?.code).toBe(3);
    } finally {
      client.close();
    }
    const all = await spans();
    const servers = named(all, SPAN_NAMES.grpc);
    expect(servers).toHaveLength(2);
    const ok = servers.find((s) => s.attributes[A.outcome] === 'success') as ReadableSpan;
    expect(ok.spanContext().traceId).toBe(caller(5).traceId);
    expect(ok.attributes).toMatchObject({ 'rpc.system': 'grpc', 'rpc.service': 'inference.GRPCInferenceService', 'rpc.method': 'ModelInfer', 'rpc.grpc.status_code': 0, [A.predictionId]: 'g1', [A.model]: 'logreg' });
    expect(childrenOf(all, ok).map((s) => s.name).sort()).toEqual([SPAN_NAMES.decode, SPAN_NAMES.encode, SPAN_NAMES.queue, SPAN_NAMES.run].sort());
    // The bad call (no traceparent): a new trace, outcome client_error, INVALID_ARGUMENT, not a server error.
    const failed = servers.find((s) => s !== ok) as ReadableSpan;
    expect(failed.parentSpanContext).toBeUndefined();
    expect(failed.attributes).toMatchObject({ [A.outcome]: 'client_error', 'rpc.grpc.status_code': 3 });
    expect(failed.status.code).toBe(SpanStatusCode.UNSET);
    const decode = childrenOf(all, failed).find((s) => s.name === SPAN_NAMES.decode);
    expect(decode?.status.code).toBe(SpanStatusCode.ERROR);
    expect(decode?.events.map((e) => e.name)).toContain('exception');
  });

  test('a malformed traceparent starts a new trace; a request the decoder refuses is a client error, its decode span an error', async () => {
    const { url, spans } = await traced({});
    const ok = await post(`${url}/v2/models/logreg/infer`, infer([[1, 2, 3, 4]]), { traceparent: '00-not-a-trace-01' });
    const bad = await post(`${url}/v2/models/logreg/infer`, infer([[1, 2, 3]]), { traceparent: traceparent(caller(3)) });
    expect([ok.status, bad.status]).toEqual([200, 400]);
    const all = await spans();
    const [first, second] = named(all, SPAN_NAMES.http).sort((x, y) => (x.attributes['http.response.status_code'] as number) - (y.attributes['http.response.status_code'] as number));
    expect(first?.parentSpanContext).toBeUndefined();
    expect(first?.spanContext().traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(first?.spanContext().traceId).not.toBe('0'.repeat(32));
    expect(second?.spanContext().traceId).toBe(caller(3).traceId);
    expect(second?.attributes).toMatchObject({ [A.outcome]: 'client_error', 'http.response.status_code': 400 });
    expect(second?.attributes[A.predictionId]).toBeUndefined();
    expect(second?.status.code).toBe(SpanStatusCode.UNSET);
    const children = childrenOf(all, second as ReadableSpan);
    expect(children.map((s) => s.name)).toEqual([SPAN_NAMES.decode]);
    expect(children[0]?.status.code).toBe(SpanStatusCode.ERROR);
  });

  test('sampling: parentbased_traceidratio at 0 records nothing of its own, but follows a sampled caller', async () => {
    const { url, spans } = await traced({ OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0' });
    const c = caller(7);
    expect((await post(`${url}/v2/models/logreg/infer`, infer([[1, 2, 3, 4]]))).status).toBe(200);
    expect((await post(`${url}/v2/models/logreg/infer`, infer([[1, 2, 3, 4]]), { traceparent: traceparent(c, '00') })).status).toBe(200);
    expect((await post(`${url}/v2/models/logreg/infer`, infer([[1, 2, 3, 4]]), { traceparent: traceparent(c, '01') })).status).toBe(200);
    const all = await spans();
    expect(new Set(all.map((s) => s.spanContext().traceId))).toEqual(new Set([c.traceId]));
    expect(named(all, SPAN_NAMES.http)).toHaveLength(1);
    expect(named(all, SPAN_NAMES.run)).toHaveLength(1);
  });

  test('a collector that accepts connections and never answers: every request is answered, the span queue stays bounded', async () => {
    // A real OTLP exporter pointed at a TCP server that reads and never replies.
    const sockets: Socket[] = [];
    const stalled: Server = createServer((s) => {
      sockets.push(s);
      s.resume();
    });
    await new Promise<void>((r) => stalled.listen(0, '127.0.0.1', r));
    try {
      const port = (stalled.address() as { port: number }).port;
      const base = testConfig('logreg');
      const tracing = parseTracingEnv(
        { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`, OTEL_BSP_MAX_QUEUE_SIZE: '16', OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '8', OTEL_BSP_SCHEDULE_DELAY: '10', OTEL_EXPORTER_OTLP_TIMEOUT: '3000' },
        { serviceName: 'logreg', serviceVersion: 'r1' },
      );
      const rt = await startRuntime({ ...base, tracing }, silentLog);
      running.push(rt);
      await rt.loaded;
      const url = `http://127.0.0.1:${rt.port}`;
      for (let i = 0; i < 40; i++) {
        const res = await post(`${url}/v2/models/logreg/infer`, infer([[i, 1, 2, 3]]), { traceparent: traceparent(caller(i)) });
        expect(res.status).toBe(200);
      }
      expect(sockets.length).toBeGreaterThan(0); // the exporter did try to send
      // Shutdown waits for the exporter a bounded time (2 s), not its export timeout.
      await rt.shutdown('test');
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((r) => stalled.close(r));
    }
  });
});
