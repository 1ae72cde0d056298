// The Kafka sink against a real Apache Kafka broker (KRaft, jars from Maven Central, started here on
// loopback by e2e/lab/kafka.ts): predictions and ground truth are read back from both topics and
// joined by id; then the broker is really stopped (SIGSTOP by pid) while inference goes on, and
// continued.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Admin } from '@platformatic/kafka';
import { readTopic as readKafkaTopic, startOwnKafka, type OwnKafka, type TopicMessage } from '../../../e2e/lab/kafka.ts';
import { serveChild, type ServedChild } from '../../test-support/child-runtime.ts';
import { metricValue, post, waitFor } from '../../test-support/harness.ts';

const PREDICTIONS = 'test.predictions';
const FEEDBACK = 'test.feedback';
const BUFFER_BYTES = 65536; // the smallest bound: a few dozen records, so an outage fills it
const TEST_TIMEOUT_MS = 300_000;

let dir: string;
let kafka: OwnKafka;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'onnxop-kafka-'));
  kafka = await startOwnKafka(dir);
  // Topics made up front: the first send then finds a leader instead of retrying until one is elected.
  const admin = new Admin({ clientId: 'test-admin', bootstrapBrokers: [kafka.bootstrap] });
  try {
    await admin.createTopics({ topics: [PREDICTIONS, FEEDBACK], partitions: 2, replicas: 1 });
  } finally {
    await admin.close();
  }
}, TEST_TIMEOUT_MS);

afterAll(async () => {
  await kafka?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const readTopic = (topic: string, enough: (msgs: TopicMessage[]) => boolean) => readKafkaTopic(kafka.bootstrap, topic, enough);

const iris = (i: number) => ({ inputs: [{ name: 'features', shape: [1, 4], datatype: 'FP32', data: [[(i % 10) / 10, 0.5, 1 + (i % 3), 0.2]] }] });

/** N predictions, each answered 200, with their ids and predicted labels. */
async function predict(rt: ServedChild, n: number, from: number): Promise<{ id: string; label: number }[]> {
  const out: { id: string; label: number }[] = [];
  // Four at a time: enough to overlap with the sink's sends.
  for (let i = 0; i < n; i += 4) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(4, n - i) }, async (_, k) => {
        const res = await post(`${rt.url}/v2/models/classifier/infer`, iris(from + i + k));
        expect(res.status).toBe(200);
        return { id: res.json.id as string, label: res.json.outputs.find((o: { name: string }) => o.name === 'label').data[0] as number };
      }),
    );
    out.push(...batch);
  }
  return out;
}

describe('Kafka prediction sink, real broker', () => {
  test(
    'every prediction once and its ground truth joinable by id; a stopped broker neither stalls inference nor grows memory; records flow again after',
    async () => {
      const rt = await serveChild('classifier', [
        '--prediction-log=kafka',
        `--prediction-log-kafka-brokers=${kafka.bootstrap}`,
        `--prediction-log-kafka-topic=${PREDICTIONS}`,
        `--prediction-log-kafka-feedback-topic=${FEEDBACK}`,
        `--prediction-log-kafka-buffer-bytes=${BUFFER_BYTES}`,
        '--prediction-log-kafka-timeout-ms=3000',
        '--request-timeout-ms=30000',
      ]);
      try {
        // 1. N predictions and N feedback posts, read back from both topics.
        const N = 200;
        const made = await predict(rt, N, 0);
        for (const [i, p] of made.entries()) {
          const fb = await post(`${rt.url}/v2/models/classifier/feedback`, { id: p.id, label: i % 2 === 0 ? p.label : p.label + 1 });
          expect(fb.status).toBe(200);
        }
        const ids = new Set(made.map((p) => p.id));
        expect(ids.size).toBe(N);
        // Acknowledged by the broker first (a send that timed out under load is retried), then read.
        await waitFor(
          'the broker to acknowledge every record',
          async () => {
            const t = await rt.metrics();
            const done = ['predictions', 'feedback'].every((stream) => (metricValue(t, 'onnxop_kafka_records_delivered_total', { stream }) ?? 0) >= N);
            return done ? true : undefined;
          },
          { everyMs: 250, timeoutMs: 60_000 },
        ).catch(async (err: Error) => {
          throw new Error(`${err.message}; metrics: ${(await rt.metrics()).split('\n').filter((l) => l.startsWith('onnxop_kafka')).join('; ')}`, { cause: err });
        });
        const predictions = await readTopic(PREDICTIONS, (m) => m.length >= N);
        const feedback = await readTopic(FEEDBACK, (m) => m.length >= N);
        // Every prediction exactly once, keyed by its id, the value the log line's JSON.
        expect(predictions.map((m) => m.key).sort()).toEqual([...ids].sort());
        for (const m of predictions) {
          const v = JSON.parse(m.value);
          expect(v).toMatchObject({ id: m.key, model: 'classifier', revision: 'r1' });
          expect(v.outputs.label.data).toHaveLength(1);
          expect(typeof v.inputs.features.head[0]).toBe('number');
        }
        // Ground truth: one per prediction, joinable by key; the label is what was posted.
        expect(feedback.map((m) => m.key).sort()).toEqual([...ids].sort());
        const byId = new Map(predictions.map((m) => [m.key, JSON.parse(m.value)]));
        made.forEach((p, i) => {
          const f = JSON.parse(feedback.find((m) => m.key === p.id)?.value ?? 'null');
          expect(f).toEqual({ id: p.id, time: expect.any(String), model: 'classifier', revision: 'r1', label: i % 2 === 0 ? p.label : p.label + 1, matched: true });
          expect(byId.get(p.id).outputs.label.data[0]).toBe(p.label);
        });
        // A record over the broker's message size (50 000 rows: megabytes of outputs) is dropped at
        // once and counted; it must not hold back the records behind it.
        const big = await post(`${rt.url}/v2/models/classifier/infer`, { inputs: [{ name: 'features', shape: [50_000, 4], datatype: 'FP32', data: new Array(200_000).fill(0.5) }] });
        expect(big.status).toBe(200);
        const next = await predict(rt, 4, N);
        await readTopic(PREDICTIONS, (m) => next.every((p) => m.some((x) => x.key === p.id)));
        const before = await rt.metrics();
        expect(metricValue(before, 'onnxop_kafka_records_dropped_total', { stream: 'predictions', reason: 'too_large' })).toBe(1);
        expect(metricValue(before, 'onnxop_kafka_records_delivered_total', { stream: 'predictions' })).toBe(N + 4);
        expect(metricValue(before, 'onnxop_kafka_records_delivered_total', { stream: 'feedback' })).toBe(N);
        expect(metricValue(before, 'onnxop_kafka_records_dropped_total', { stream: 'predictions', reason: 'buffer_full' })).toBe(0);

        // 2. The broker stopped (SIGSTOP: connections stay open, nothing answers — sends time out).
        process.kill(kafka.pid, 'SIGSTOP');
        let resumed = false;
        try {
          const rss0 = await rt.rssBytes();
          const during = await predict(rt, 600, N);
          expect(during).toHaveLength(600);
          // The gauges are set at scrape time: they show the buffer as it is (full), whenever the
          // last send attempt to the stopped broker ended.
          const now = await rt.metrics();
          expect(metricValue(now, 'onnxop_kafka_buffered_bytes', { stream: 'predictions' })).toBeGreaterThan(BUFFER_BYTES / 2);
          // The sink keeps failing (and counting) while the broker is away; the buffer fills and drops.
          const m = await waitFor(
            'a failed send counted',
            async () => {
              const t = await rt.metrics();
              return (metricValue(t, 'onnxop_kafka_delivery_failures_total', { stream: 'predictions' }) ?? 0) > 0 ? t : undefined;
            },
            { everyMs: 250, timeoutMs: 30_000 },
          );
          expect(metricValue(m, 'onnxop_kafka_records_dropped_total', { stream: 'predictions', reason: 'buffer_full' })).toBeGreaterThan(0);
          expect(metricValue(m, 'onnxop_prediction_log_dropped_total')).toBeGreaterThan(0);
          expect(metricValue(m, 'onnxop_kafka_buffered_bytes', { stream: 'predictions' })).toBeLessThanOrEqual(BUFFER_BYTES);
          expect(metricValue(m, 'onnxop_kafka_buffered_records', { stream: 'predictions' })).toBeGreaterThan(0);
          // Memory: the buffer is bounded, so 600 more requests leave the process about where it was
          // (a generous 64 MiB for GC timing; an unbounded buffer of this model's records would not
          // show here, which is why the gauge above is the bound that is asserted exactly).
          expect((await rt.rssBytes()) - rss0).toBeLessThan(64 * 2 ** 20);
          expect(rt.alive()).toBe(true);

          // 3. The broker back: records written from now on reach the topic.
          process.kill(kafka.pid, 'SIGCONT');
          resumed = true;
          // What was buffered during the outage goes first (while the buffer is full, new records
          // are dropped, as they should be); once it is delivered, new records go through.
          await waitFor(
            'the buffer to drain after the broker returned',
            async () => (metricValue(await rt.metrics(), 'onnxop_kafka_buffered_records', { stream: 'predictions' }) === 0 ? true : undefined),
            { everyMs: 250, timeoutMs: 60_000 },
          ).catch(async (err: Error) => {
            throw new Error(`${err.message}; metrics: ${(await rt.metrics()).split('\n').filter((l) => l.startsWith('onnxop_kafka')).join('; ')}`, { cause: err });
          });
          const after = await predict(rt, 20, 10_000);
          const afterIds = new Set(after.map((p) => p.id));
          const flowing = await readTopic(PREDICTIONS, (msgs) => [...afterIds].every((id) => msgs.some((m) => m.key === id)));
          expect([...afterIds].filter((id) => !flowing.some((m) => m.key === id))).toEqual([]);
          const end = await rt.metrics();
          expect(metricValue(end, 'onnxop_kafka_records_delivered_total', { stream: 'predictions' })).toBeGreaterThanOrEqual(N + 4 + 20);
        } finally {
          if (!resumed) process.kill(kafka.pid, 'SIGCONT');
        }
      } finally {
        await rt.stop();
      }
    },
    TEST_TIMEOUT_MS,
  );
});
