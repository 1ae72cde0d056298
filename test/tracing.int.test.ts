// Traces end to end in the lab: a model with spec.runtime.tracing (and batching) deployed by the
// operator, requests with a caller's traceparent sent through the lab gateway, and what the runtime
// pods exported read back from the lab's Jaeger (OTLP in, /api/traces out).
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { labPorts } from '../e2e/lab/lab-config.ts';
import { jaegerOtlpEndpoint, jaegerQueryUrl, jaegerTrace, tag, type JaegerSpan, type JaegerTrace } from '../e2e/lab/jaeger.ts';
import { labRequest } from '../e2e/lab/loadgen/lab-request.ts';
import { ensureTestModels } from '../runtime/test-models/build.ts';
import { SPAN_ATTRIBUTES as A, SPAN_NAMES } from '../runtime/src/tracing/request-trace.ts';
import { OperatorProcess } from './operator-process.ts';
import { createTestNamespace, deleteNamespace, kubectl, kubectlJson, repoRoot, waitUntil } from './lab-helpers.ts';

const gatewayUrl = `http://127.0.0.1:${labPorts.gateway}`;
// Its own controller instance: an operator another suite runs at the same time never touches this model.
const instance = 'tracing-test';
const operator = new OperatorProcess('onnx-operator-tracing-test', () => ['--instance-id', instance]);
let ns = '';

beforeAll(async () => {
  await kubectl(['apply', '--server-side', '--force-conflicts', '-f', path.join(repoRoot, 'crds/onnxmodel.yaml')]);
  await kubectl(['wait', '--for=condition=Established', 'crd/onnxmodels.serving.onnxop.io', '--timeout=30s']);
  ns = await createTestNamespace('trace-it');
  await operator.start();
});

afterAll(async () => {
  await operator.stop();
  if (ns) await deleteNamespace(ns);
});

const newCaller = () => ({ traceId: randomBytes(16).toString('hex'), spanId: randomBytes(8).toString('hex') });
type Caller = ReturnType<typeof newCaller>;

function infer(host: string, rows: number[][], caller?: Caller) {
  const headers: Record<string, string> = { 'content-type': 'application/json', host };
  if (caller) headers['traceparent'] = `00-${caller.traceId}-${caller.spanId}-01`;
  const body = JSON.stringify({ inputs: [{ name: 'features', datatype: 'FP32', shape: [rows.length, 4], data: rows.flat() }] });
  return labRequest(`${gatewayUrl}/v2/models/traced/infer`, { method: 'POST', headers, body, timeoutMs: 30_000 });
}

/** The trace once Jaeger has it with at least `spans` spans (the runtime exports in batches). */
const traceWith = (traceId: string, spans: number) =>
  waitUntil(`trace ${traceId} in Jaeger with ${spans} spans`, async () => {
    const t = await jaegerTrace(traceId);
    return t && t.spans.length >= spans ? t : undefined;
  }, 60_000, 1000);

const server = (t: JaegerTrace): JaegerSpan => {
  const s = t.spans.filter((x) => x.operationName === SPAN_NAMES.http);
  expect(s).toHaveLength(1);
  return s[0] as JaegerSpan;
};

describe('tracing in the lab (operator, gateway, runtime pods, Jaeger)', () => {
  test('a caller’s trace continues through the gateway into the runtime’s spans; a batched run links every request it served', async () => {
    const models = ensureTestModels();
    const host = `traced.${ns}.lab`;
    // Batches of 4 rows, waiting up to 10 s for company: four concurrent one-row requests make one run.
    // sampleRatio 0: only callers' sampled traces are recorded, so the field visibly does something.
    const spec = {
      model: { uri: `file://${models.logreg.path}`, digest: models.logreg.digest },
      runtime: { replicas: 1, batching: { maxBatchSize: 4, maxQueueDelayMs: 10_000 }, tracing: { endpoint: jaegerOtlpEndpoint, sampleRatio: 0 } },
      traffic: { gatewayAPI: { hostnames: [host] } },
    };
    await kubectl(['-n', ns, 'apply', '--server-side', '-f', '-'], JSON.stringify({ apiVersion: 'serving.onnxop.io/v1alpha1', kind: 'OnnxModel', metadata: { name: 'traced', labels: { 'serving.onnxop.io/controller-instance': instance } }, spec }));
    await kubectl(['-n', ns, 'wait', '--for=condition=Ready', 'onnxmodel/traced', '--timeout=180s']);
    const revision = (await kubectlJson<{ status: { stable: { revision: string } } }>(['-n', ns, 'get', 'onnxmodel', 'traced'])).status.stable.revision;

    // One request of 4 rows (a full batch: it runs at once), with the caller's traceparent. A retry
    // while the route settles gets a fresh caller, so the trace checked is the answered one's.
    const { caller: first, res } = await waitUntil('an answer through the gateway', async () => {
      const caller = newCaller();
      const r = await infer(host, [[5.1, 3.5, 1.4, 0.2], [6, 3, 4, 1], [7, 3, 6, 2], [5, 3, 1, 0]], caller);
      return r.status === 200 ? { caller, res: r } : undefined;
    }, 90_000, 1000);
    // Requests without a traceparent: with sampleRatio 0 none of them is traced.
    for (let i = 0; i < 3; i++) expect((await infer(host, [[1, 2, 3, 4], [1, 2, 3, 4], [1, 2, 3, 4], [1, 2, 3, 4]])).status).toBe(200);
    // Four concurrent one-row requests, each its caller's trace.
    const callers = [newCaller(), newCaller(), newCaller(), newCaller()];
    const replies = await Promise.all(callers.map((c, i) => infer(host, [[i, 1, 2, 3]], c)));
    expect(replies.map((r) => r.status)).toEqual([200, 200, 200, 200]);

    // The first trace: the server span, child of the caller's span, with its attributes, and the
    // runtime's stages under it.
    const t = await traceWith(first.traceId, 5);
    const s = server(t);
    expect(s.references).toContainEqual({ refType: 'CHILD_OF', traceID: first.traceId, spanID: first.spanId });
    expect(tag(s, A.model)).toBe('traced');
    expect(tag(s, A.revision)).toBe(revision);
    expect(tag(s, A.outcome)).toBe('success');
    expect(tag(s, A.predictionId)).toBe(res.headers['x-onnxop-prediction-id']);
    expect(tag(s, 'http.response.status_code')).toBe(200);
    const children = t.spans.filter((x) => x.references.some((r) => r.spanID === s.spanID));
    expect(children.map((x) => x.operationName).sort()).toEqual([SPAN_NAMES.decode, SPAN_NAMES.encode, SPAN_NAMES.queue, SPAN_NAMES.run].sort());
    const run = t.spans.find((x) => x.operationName === SPAN_NAMES.run) as JaegerSpan;
    expect(tag(run, A.batchRows)).toBe(4);
    expect(tag(run, A.batchRequests)).toBe(1);
    expect(tag(t.spans.find((x) => x.operationName === SPAN_NAMES.queue) as JaegerSpan, A.queueResult)).toBe('run');
    // The resource the operator set: the served model as the service, the namespace, the revision.
    const processTags = Object.fromEntries((t.processes[s.processID]?.tags ?? []).map((x) => [x.key, x.value]));
    expect(t.processes[s.processID]?.serviceName).toBe('traced');
    expect(processTags).toMatchObject({ 'k8s.namespace.name': ns, 'service.version': revision });

    // The batch: each request its own trace (server, decode, queue, encode), and one run span, in
    // one of those traces, referencing every request's server span.
    const traces = await Promise.all(callers.map((c) => traceWith(c.traceId, 4)));
    const servers = traces.map(server);
    servers.forEach((x, i) => expect(x.references).toContainEqual({ refType: 'CHILD_OF', traceID: callers[i]?.traceId, spanID: callers[i]?.spanId }));
    const batchRun = await waitUntil('the batched run span', async () => {
      const all = (await Promise.all(callers.map((c) => jaegerTrace(c.traceId)))).flatMap((x) => x?.spans ?? []);
      return all.find((x) => x.operationName === SPAN_NAMES.run);
    }, 60_000, 1000);
    expect(tag(batchRun, A.batchRows)).toBe(4);
    expect(tag(batchRun, A.batchRequests)).toBe(4);
    const referenced = new Set(batchRun.references.map((r) => `${r.traceID}/${r.spanID}`));
    for (const x of servers) expect(referenced).toContain(`${x.traceID}/${x.spanID}`);

    // Nothing else was traced: this namespace's traces of the service are exactly the five callers'.
    const listed = (await (await fetch(`${jaegerQueryUrl}/api/traces?service=traced&limit=1000&lookback=1h`)).json()) as { data: JaegerTrace[] };
    const inNamespace = listed.data.filter((x) => Object.values(x.processes).some((p) => p.tags.some((g) => g.key === 'k8s.namespace.name' && g.value === ns)));
    expect(inNamespace.map((x) => x.traceID).sort()).toEqual([first, ...callers].map((c) => c.traceId).sort());
    await kubectl(['-n', ns, 'delete', 'onnxmodel', 'traced', '--wait=true', '--timeout=60s']);
  });
});
