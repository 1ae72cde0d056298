// Behaviour under load and the metrics contract, asserted after real requests on real models.
import { describe, expect, test } from '@jest/globals';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { metricValue, post, request, start, waitFor } from '../../test-support/harness.ts';
import { RUNTIME_TEST_TIMEOUT_MS, slowModelTimeoutMs, slowModelTiming } from '../../test-support/timing.ts';

const iris = (rows: number[][], id?: string) => ({ ...(id ? { id } : {}), inputs: [{ name: 'features', shape: [rows.length, 4], datatype: 'FP32', data: rows }] });

describe('metrics, model health, prediction log and ground truth', () => {
  test('classifier: request counters, histograms, feature stats, drift, confidence, log and feedback', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'onnxop-'));
    const logPath = join(dir, 'predictions.jsonl');
    const baselinePath = join(dir, 'baseline.json');
    // Baseline: feature 0 uniform on [0, 1); feature 1 the same. Live traffic: feature 0 from the
    // same range (no drift), feature 1 shifted by +5 (total drift).
    const sample = Array.from({ length: 200 }, (_, i) => i / 200);
    writeFileSync(baselinePath, JSON.stringify({ version: 1, features: [{ input: 'features', feature: 0, sample }, { input: 'features', feature: 1, sample }] }));
    const rt = await start('classifier', { predictionLog: `file:${logPath}`, predictionLogInputs: 'full', baselineProfile: baselinePath, pendingPredictionsMax: 3 });
    try {
      await rt.loaded;
      const initial = (await request(`${rt.url}/metrics`)).text;
      for (const outcome of ['success', 'client_error', 'server_error', 'timeout', 'rejected']) {
        expect([outcome, metricValue(initial, 'onnxop_requests_total', { outcome, model: 'classifier', revision: 'r1' })]).toEqual([outcome, 0]);
      }
      expect(metricValue(initial, 'onnxop_model_ready')).toBe(1);
      expect(metricValue(initial, 'onnxop_model_load_duration_seconds')).toBeGreaterThan(0);
      expect(initial).toMatch(/onnxop_model_info\{digest="sha256:[0-9a-f]{64}",ort_version="1\.30\.0",execution_provider="cpu",requested_execution_provider="cpu",opset="ai\.onnx=17",model="classifier",revision="r1"\} 1/);

      const ids: string[] = [];
      const labels: number[] = [];
      for (let i = 0; i < 20; i++) {
        const rows = [[i / 20, 5 + i / 20, 1, i % 4 === 0 ? NaN : 0.5]]; // every 4th value missing
        const res = await post(`${rt.url}/v2/models/classifier/infer`, JSON.stringify(iris(rows, `p${i}`)).replace('NaN', 'null'));
        expect(res.status).toBe(200);
        ids.push(res.json.id);
        labels.push(res.json.outputs.find((o: { name: string }) => o.name === 'label').data[0]);
      }
      expect(ids[19]).toBe('p19');
      await post(`${rt.url}/v2/models/classifier/infer`, { inputs: [] });

      // Rows with a missing value give NaN probabilities: no prediction is counted or kept for them.
      // Pending is capped at 3, so 15 − 3 = 12 were evicted. p19 right, p18 wrong.
      const right = await post(`${rt.url}/v2/models/classifier/feedback`, { id: 'p19', label: labels[19] });
      expect(right.json).toEqual({ id: 'p19', rows: 1, correct: 1 });
      const wrong = await post(`${rt.url}/v2/models/classifier/feedback`, { id: 'p18', label: (labels[18] as number) + 1 });
      expect(wrong.json.correct).toBe(0);
      const evicted = await post(`${rt.url}/v2/models/classifier/feedback`, { id: 'p0', label: 0 });
      expect(evicted.status).toBe(404);
      expect(evicted.json.error).toMatch(/evicted \(--pending-predictions-max=3\)/);
      const again = await post(`${rt.url}/v2/models/classifier/feedback`, { id: 'p19', label: 0 });
      expect(again.status).toBe(404);
      const invalid = await post(`${rt.url}/v2/models/classifier/feedback`, { id: 'p17' });
      expect(invalid.json.error).toMatch(/needs "label"/);

      const m = (await request(`${rt.url}/metrics`)).text;
      const f = (n: string, labels: Record<string, string> = {}) => metricValue(m, n, labels);
      expect(f('onnxop_requests_total', { outcome: 'success' })).toBe(20);
      expect(f('onnxop_requests_total', { outcome: 'client_error' })).toBe(1);
      expect(f('onnxop_request_duration_seconds_count', { outcome: 'success' })).toBe(20);
      expect(f('onnxop_queue_duration_seconds_count')).toBe(20 + 0);
      expect(f('onnxop_compute_duration_seconds_count')).toBe(20);
      expect(f('onnxop_batch_size_count')).toBe(20);
      expect(f('onnxop_batch_size_sum')).toBe(20);
      expect(f('onnxop_requests_in_flight')).toBe(0);
      expect(f('onnxop_queue_depth')).toBe(0);
      // Feature statistics over the window.
      expect(f('onnxop_feature_mean', { input: 'features', feature: '0' })).toBeCloseTo(0.475, 5);
      expect(f('onnxop_feature_min', { input: 'features', feature: '1' })).toBeCloseTo(5, 5);
      expect(f('onnxop_feature_max', { input: 'features', feature: '0' })).toBeCloseTo(0.95, 5);
      expect(f('onnxop_feature_std', { input: 'features', feature: '2' })).toBe(0);
      expect(f('onnxop_feature_missing_ratio', { input: 'features', feature: '3' })).toBe(0.25);
      expect(f('onnxop_feature_missing_total', { input: 'features', feature: '3' })).toBe(5);
      expect(f('onnxop_feature_values_total', { input: 'features', feature: '0' })).toBe(20);
      // Drift: feature 1 is entirely outside the baseline; feature 0 is not.
      expect(f('onnxop_feature_drift_ks', { input: 'features', feature: '1' })).toBe(1);
      expect(f('onnxop_feature_drift_ks', { input: 'features', feature: '0' })).toBeLessThan(0.2);
      expect(f('onnxop_feature_drift_psi', { input: 'features', feature: '1' })).toBeGreaterThan(1);
      expect(f('onnxop_feature_drift_psi', { input: 'features', feature: '0' })).toBeLessThan(0.25);
      expect(f('onnxop_feature_drift_ks_p_value', { input: 'features', feature: '1' })).toBeLessThan(0.001);
      // Predictions and confidence.
      const classTotal = [0, 1, 2].map((c) => f('onnxop_predicted_class_total', { class: String(c) }) ?? 0).reduce((a, b) => a + b, 0);
      expect(classTotal).toBe(15);
      expect(f('onnxop_prediction_confidence_count')).toBe(15);
      expect(f('onnxop_prediction_confidence_bucket', { le: '0.3' })).toBe(0); // 3 classes: max prob ≥ 1/3
      // Ground truth.
      expect(f('onnxop_ground_truth_total', { result: 'correct' })).toBe(1);
      expect(f('onnxop_ground_truth_total', { result: 'incorrect' })).toBe(1);
      expect(f('onnxop_feedback_total', { outcome: 'accepted' })).toBe(2);
      expect(f('onnxop_feedback_total', { outcome: 'unknown_id' })).toBe(2);
      expect(f('onnxop_feedback_total', { outcome: 'invalid' })).toBe(1);
      expect(f('onnxop_pending_predictions_evicted_total')).toBe(12);
      expect(f('onnxop_pending_predictions')).toBe(1);
      // Every onnxop_ series carries model and revision.
      for (const line of m.split('\n').filter((l) => l.startsWith('onnxop_'))) {
        expect(line).toMatch(/model="classifier".*revision="r1"|revision="r1".*model="classifier"/);
      }
    } finally {
      await rt.shutdown('test');
    }
    const records = readFileSync(logPath, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(records).toHaveLength(20);
    expect(records[19]).toMatchObject({ id: 'p19', model: 'classifier', revision: 'r1', inputs: { features: { shape: [1, 4], data: [0.949999988079071, 5.949999809265137, 1, 0.5] } } });
    expect(records[16].inputs.features.data[3]).toBeNull();
    expect(records[19].outputs.label.data).toHaveLength(1);
  }, RUNTIME_TEST_TIMEOUT_MS);

  test('regressor feedback records absolute error', async () => {
    const rt = await start('mlp', { task: 'regression' });
    try {
      await rt.loaded;
      const res = await post(`${rt.url}/v2/models/mlp/infer`, { id: 'r', inputs: [{ name: 'x', shape: [2, 64], datatype: 'FP32', data: new Array(128).fill(0.5) }] });
      const y = res.json.outputs[0].data as number[];
      const fb = await post(`${rt.url}/v2/models/mlp/feedback`, { id: 'r', value: [(y[0] as number) + 1, y[8]] });
      expect(fb.json.rows).toBe(2);
      expect(fb.json.mean_absolute_error).toBeCloseTo(0.5, 4);
      const m = (await request(`${rt.url}/metrics`)).text;
      expect(metricValue(m, 'onnxop_ground_truth_absolute_error_count')).toBe(2);
      expect(metricValue(m, 'onnxop_ground_truth_absolute_error_sum')).toBeCloseTo(1, 4);
      expect(metricValue(m, 'onnxop_prediction_value_count', { output: 'y' })).toBe(2);
    } finally {
      await rt.shutdown('test');
    }
  }, RUNTIME_TEST_TIMEOUT_MS);
});

// The slow model's run time here, measured before the tests are defined: their deadlines, the
// request timeout that must expire mid-run, and their Jest timeouts all derive from it.
const slow = await slowModelTiming();

describe(`under load (the slow model: ${slow.runsMs.map((ms) => Math.round(ms)).join(' and ')} ms per run here)`, () => {
  const body = { inputs: [{ name: 'x', shape: [1, 1024], datatype: 'FP32', data: new Array(1024).fill(0.01) }] };
  // Warm-up (one cold run, two screening runs) plus the test's own runs.
  const timeout = slowModelTimeoutMs(slow, 3 + 2);

  test('/v2/health/live answers while the slow model runs, in a fraction of a run', async () => {
    const rt = await start('slow', { requestTimeoutMs: timeout });
    try {
      await rt.loaded;
      const runs = [post(`${rt.url}/v2/models/slow/infer`, body), post(`${rt.url}/v2/models/slow/infer`, body)];
      // One run inside onnxruntime, one queued behind it (the test runtime runs one at a time).
      const gauges = async () => {
        const text = (await request(`${rt.url}/metrics`)).text;
        return { inFlight: metricValue(text, 'onnxop_requests_in_flight'), queued: metricValue(text, 'onnxop_queue_depth'), inline: metricValue(text, 'onnxop_inline_execution') };
      };
      await waitFor('the first run to start with the second queued', async () => {
        const g = await gauges();
        return g.inFlight === 2 && g.queued === 1 ? g : undefined;
      }, { everyMs: Math.max(1, slow.minRunMs / 50), timeoutMs: timeout });
      const timings: number[] = [];
      for (let i = 0; i < 5; i++) {
        const t = performance.now();
        const res = await request(`${rt.url}/v2/health/live`);
        timings.push(performance.now() - t);
        expect(res.status).toBe(200);
        await new Promise((r) => setTimeout(r, slow.minRunMs / 50));
      }
      // Still the first run: every health answer above came while the model was running.
      const after = await gauges();
      expect([after.inFlight, after.queued]).toEqual([2, 1]);
      // Adaptive execution measured the slow runs during warm-up: the model stays on the workers.
      expect(after.inline).toBe(0);
      const results = await Promise.all(runs);
      expect(results.map((r) => r.status)).toEqual([200, 200]);
      // A health check that waited for the event loop would wait for (the rest of) a run. Bounded
      // relative to the runs it overlapped (their mean, from the runtime's own histogram), not in
      // absolute milliseconds: whatever slows the machine slows both alike.
      const done = (await request(`${rt.url}/metrics`)).text;
      const runMs = (1000 * (metricValue(done, 'onnxop_compute_duration_seconds_sum') ?? 0)) / (metricValue(done, 'onnxop_compute_duration_seconds_count') ?? 1);
      expect(metricValue(done, 'onnxop_compute_duration_seconds_count')).toBe(2);
      expect(Math.max(...timings)).toBeLessThan(runMs / 5);
    } finally {
      await rt.shutdown('test');
    }
  }, timeout);

  test('a full queue answers 429 at once and a request past its timeout 504; both counted', async () => {
    // A request timeout a tenth of a run here: it expires while the first request runs, even if the
    // machine is a few times less busy now than when the run was measured.
    const requestTimeoutMs = Math.max(1, Math.floor(slow.minRunMs / 10));
    const rt = await start('slow', { queueLimit: 1, requestTimeoutMs });
    try {
      await rt.loaded;
      const results = await Promise.all([0, 1, 2].map(() => post(`${rt.url}/v2/models/slow/infer`, body)));
      const statuses = results.map((r) => r.status).sort();
      // One runs (and times out while running), one waits (times out in the queue), one is rejected.
      expect(statuses).toEqual([429, 504, 504]);
      expect(results.find((r) => r.status === 429)?.json.error).toMatch(/queue is full/);
      expect(results.find((r) => r.status === 504)?.json.error).toMatch(/request timeout of \d+ ms/);
      const m = (await request(`${rt.url}/metrics`)).text;
      expect(metricValue(m, 'onnxop_requests_total', { outcome: 'rejected' })).toBe(1);
      expect(metricValue(m, 'onnxop_requests_total', { outcome: 'timeout' })).toBe(2);
    } finally {
      await rt.shutdown('test');
    }
  }, timeout);

  test('dynamic batching merges concurrent MLP requests into batched runs with correct per-request outputs', async () => {
    // A queue delay long enough that batching does not hang on how quickly the 32 requests arrive here.
    const rt = await start('mlp', { maxBatchSize: 16, maxQueueDelayMs: 250 });
    const solo = await start('mlp');
    try {
      await Promise.all([rt.loaded, solo.loaded]);
      const body = (i: number) => ({ inputs: [{ name: 'x', shape: [1, 64], datatype: 'FP32', data: Array.from({ length: 64 }, (_, j) => Math.sin(i * 64 + j)) }] });
      const batched = await Promise.all(Array.from({ length: 32 }, (_, i) => post(`${rt.url}/v2/models/mlp/infer`, body(i))));
      const single = await Promise.all(Array.from({ length: 32 }, (_, i) => post(`${solo.url}/v2/models/mlp/infer`, body(i))));
      batched.forEach((b, i) => {
        expect(b.status).toBe(200);
        expect(b.json.outputs[0].shape).toEqual([1, 8]);
        const want = single[i]?.json.outputs[0].data as number[];
        (b.json.outputs[0].data as number[]).forEach((v, j) => expect(v).toBeCloseTo(want[j] as number, 4));
      });
      const m = (await request(`${rt.url}/metrics`)).text;
      const runs = metricValue(m, 'onnxop_batch_size_count') as number;
      expect(metricValue(m, 'onnxop_batch_size_sum')).toBe(32);
      expect(runs).toBeLessThan(32);
      expect(metricValue(m, 'onnxop_batch_size_bucket', { le: '1' })).toBeLessThan(runs);
    } finally {
      await Promise.all([rt.shutdown('test'), solo.shutdown('test')]);
    }
  }, RUNTIME_TEST_TIMEOUT_MS);
});
