// The prediction store end to end in the lab: an operator with --prediction-kafka-brokers (the lab's
// Kafka, on the bridge address pods reach), a model it deploys, predictions and ground truth sent
// through the lab gateway, and both topics read back from the real broker. Then the broker is
// really stopped (SIGSTOP by its pid) under traffic that overfills the sink's buffer, and continued.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import path from 'node:path';
import { labPorts } from '../e2e/lab/lab-config.ts';
import { labKafkaBootstrap, readTopic } from '../e2e/lab/kafka.ts';
import { runningPid } from '../e2e/lab/processes.ts';
import { prometheusUrl } from '../e2e/lab/prometheus.ts';
import { labRequest } from '../e2e/lab/loadgen/lab-request.ts';
import { ensureTestModels } from '../runtime/test-models/build.ts';
import { OperatorProcess } from './operator-process.ts';
import { createTestNamespace, deleteNamespace, kubectl, repoRoot, waitUntil } from './lab-helpers.ts';

const gatewayUrl = `http://127.0.0.1:${labPorts.gateway}`;
const instance = 'prediction-store-test';
// Topics of this run only: a broker that outlived an earlier run keeps that run's records.
const run = Date.now().toString(36);
const topics = { predictions: `it-${run}.predictions`, feedback: `it-${run}.feedback` };
const operator = new OperatorProcess('onnx-operator-prediction-store-test', () => [
  '--instance-id', instance,
  '--prediction-kafka-brokers', labKafkaBootstrap.pods,
  '--prediction-kafka-topic', topics.predictions,
  '--prediction-kafka-feedback-topic', topics.feedback,
]);
let ns = '';
// The runtime's default bound (--prediction-log-kafka-buffer-bytes, 32 MiB): the operator sets no
// other, and spec.runtime.env may not set ONNXOP_ variables.
const BUFFER_BYTES = 32 * 1024 * 1024;

beforeAll(async () => {
  await kubectl(['apply', '--server-side', '--force-conflicts', '-f', path.join(repoRoot, 'crds/onnxmodel.yaml')]);
  await kubectl(['wait', '--for=condition=Established', 'crd/onnxmodels.serving.onnxop.io', '--timeout=30s']);
  ns = await createTestNamespace('store-it');
  await operator.start();
});

afterAll(async () => {
  await operator.stop();
  if (ns) await deleteNamespace(ns);
});

/** One series' value from the lab's Prometheus (this namespace's pods), or undefined. */
async function promValue(expr: string): Promise<number | undefined> {
  const body = (await (await fetch(`${prometheusUrl}/api/v1/query?query=${encodeURIComponent(expr)}`)).json()) as { data?: { result?: { value: [number, string] }[] } };
  const v = body.data?.result?.[0]?.value[1];
  return v === undefined ? undefined : Number(v);
}

describe('prediction store in the lab (operator, gateway, runtime pods, Kafka)', () => {
  test('predictions and ground truth reach both topics joinable by id; a stopped broker neither stalls inference nor grows the buffer; records flow again after', async () => {
    const models = ensureTestModels();
    const host = `store.${ns}.lab`;
    const spec = {
      model: { uri: `file://${models.classifier.path}`, digest: models.classifier.digest },
      runtime: { replicas: 1 },
      traffic: { gatewayAPI: { hostnames: [host] } },
    };
    await kubectl(['-n', ns, 'apply', '--server-side', '-f', '-'], JSON.stringify({ apiVersion: 'serving.onnxop.io/v1alpha1', kind: 'OnnxModel', metadata: { name: 'store', labels: { 'serving.onnxop.io/controller-instance': instance } }, spec }));
    await kubectl(['-n', ns, 'wait', '--for=condition=Ready', 'onnxmodel/store', '--timeout=180s']);
    const headers = { 'content-type': 'application/json', host };
    const infer = async (i: number, rows = 1) => {
      const data = Array.from({ length: rows }, (_, r) => [((i + r) % 10) / 10, 0.5, 1 + ((i + r) % 3), 0.2]).flat();
      const body = JSON.stringify({ inputs: [{ name: 'features', datatype: 'FP32', shape: [rows, 4], data }] });
      const res = await labRequest(`${gatewayUrl}/v2/models/store/infer`, { method: 'POST', headers, body, timeoutMs: 30_000 });
      expect(res.status).toBe(200);
      const json = JSON.parse(res.body.toString()) as { id: string; outputs: { name: string; data: number[] }[] };
      return { id: json.id, label: json.outputs.find((o) => o.name === 'label')?.data[0] as number };
    };
    await waitUntil('an answer through the gateway', async () => {
      const body = JSON.stringify({ inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 4], data: [1, 1, 1, 1] }] });
      return (await labRequest(`${gatewayUrl}/v2/models/store/infer`, { method: 'POST', headers, body, timeoutMs: 10_000 })).status === 200 ? true : undefined;
    }, 90_000, 1000);

    // N predictions and their ground truth, through the gateway.
    const N = 100;
    const made: { id: string; label: number }[] = [];
    for (let i = 0; i < N; i++) made.push(await infer(i));
    for (const p of made) {
      const fb = await labRequest(`${gatewayUrl}/v2/models/store/feedback`, { method: 'POST', headers, body: JSON.stringify({ id: p.id, label: p.label }), timeoutMs: 30_000 });
      expect(fb.status).toBe(200);
    }
    const ids = made.map((p) => p.id).sort();
    const ours = (m: { key: string }) => ids.includes(m.key);
    const predictions = (await readTopic(labKafkaBootstrap.host, topics.predictions, (msgs) => msgs.filter(ours).length >= N)).filter(ours);
    const feedback = (await readTopic(labKafkaBootstrap.host, topics.feedback, (msgs) => msgs.filter(ours).length >= N)).filter(ours);
    expect(predictions.map((m) => m.key).sort()).toEqual(ids); // every prediction exactly once
    expect(feedback.map((m) => m.key).sort()).toEqual(ids);
    const truth = new Map(feedback.map((m) => [m.key, JSON.parse(m.value) as { label: number; matched: boolean; model: string }]));
    for (const m of predictions) {
      const v = JSON.parse(m.value) as { id: string; model: string; outputs: { label: { data: number[] } } };
      expect(v.id).toBe(m.key);
      expect(v.model).toBe('store');
      // Joined by id: the ground truth posted is the label predicted (as sent above).
      expect(truth.get(m.key)).toMatchObject({ label: v.outputs.label.data[0], matched: true, model: 'store' });
    }

    // The broker stopped under traffic: every request is still answered.
    const pid = runningPid('kafka');
    if (pid === undefined) throw new Error('the lab Kafka is not running: run `npm run lab -- up`');
    const selector = (name: string, extra = '') => `${name}{namespace="${ns}",onnx_model="store",stream="predictions"${extra}}`;
    const series = (name: string, extra = '') => `max(${selector(name, extra)})`;
    process.kill(pid, 'SIGSTOP');
    let continued = false;
    try {
      // 10 000-row predictions: records of ~0.6 MB (under the 1 MB record limit), charged ~1.2 MB
      // each, so 40 of them are more than the 32 MiB buffer holds.
      for (let i = 0; i < 40; i++) await infer(N + i, 10_000);
      for (let i = 0; i < 100; i++) await infer(N + 100 + i);
      const failures = await waitUntil('failed sends counted in Prometheus', async () => {
        const v = await promValue(series('onnxop_kafka_delivery_failures_total'));
        return v !== undefined && v > 0 ? v : undefined;
      }, 60_000, 1000);
      expect(failures).toBeGreaterThan(0);
      const dropped = await waitUntil('records dropped (buffer full) in Prometheus', async () => {
        const v = await promValue(series('onnxop_kafka_records_dropped_total', ',reason="buffer_full"'));
        return v !== undefined && v > 0 ? v : undefined;
      }, 60_000, 1000);
      expect(dropped).toBeGreaterThan(0);
      // The buffer filled up to its bound and not past it (the largest value any scrape saw).
      const peak = await promValue(`max(max_over_time(${selector('onnxop_kafka_buffered_bytes')}[5m]))`);
      expect(peak).toBeGreaterThan(BUFFER_BYTES / 2);
      expect(peak).toBeLessThanOrEqual(BUFFER_BYTES);
    } finally {
      process.kill(pid, 'SIGCONT');
      continued = true;
    }
    expect(continued).toBe(true);

    // The broker back: what was buffered drains, then new records reach the topic.
    await waitUntil('the buffer to drain', async () => ((await promValue(series('onnxop_kafka_buffered_records'))) === 0 ? true : undefined), 90_000, 1000);
    const after: string[] = [];
    for (let i = 0; i < 20; i++) after.push((await infer(10_000 + i)).id);
    const flowing = await readTopic(labKafkaBootstrap.host, topics.predictions, (msgs) => after.every((id) => msgs.some((m) => m.key === id)), 90_000);
    expect(after.filter((id) => !flowing.some((m) => m.key === id))).toEqual([]);
    await kubectl(['-n', ns, 'delete', 'onnxmodel', 'store', '--wait=true', '--timeout=60s']);
  });
});
