// Progressive delivery in the lab: the operator, the real API server, the process kubelet running the
// real runtime on models the project built, the lab gateway splitting traffic by the HTTPRoute's
// weights, and a real Prometheus scraping the pods every 2 s. Faults are real: a canary model that
// fails at run time on poisoned inputs, one that is ten times slower, no traffic at all, Prometheus
// stopped, the operator SIGKILLed. Windows and intervals are seconds so a scenario takes about a
// minute; the larger corpus is `npm run bench:rollout`.
//
// The suite runs its own Prometheus (the lab's binary and scrape configuration, its own port and
// data) so that stopping it cannot disturb other suites.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { rolloutSpec } from '../bench/rollout-report.ts';
import { labPorts } from '../e2e/lab/lab-config.ts';
import { startLoad, type LoadResult } from '../e2e/lab/loadgen/run-load.ts';
import { prometheusConfigFile } from '../e2e/lab/prometheus.ts';
import { seededRandom } from '../lib/test-support/seeded-random.ts';
import { CLASSIFIER_MIXED_CLASSES, CLASSIFIER_MIXED_ROWS, ensureTestModels } from '../runtime/test-models/build.ts';
import { labRequest } from '../e2e/lab/loadgen/lab-request.ts';
import { applyCrd, applyModel, createTestNamespace, deleteNamespace, kubectl, kubectlJson, modelStatus, repoRoot, waitForModel, waitUntil } from './lab-helpers.ts';
import { freePort, OperatorProcess } from './operator-process.ts';

const gatewayUrl = `http://127.0.0.1:${labPorts.gateway}`;

interface ModelStatus {
  observedGeneration?: number;
  phase?: string;
  stable?: { revision: string; digest: string };
  canary?: { revision: string; digest: string };
  currentWeight?: number;
  currentStep?: number;
  rollout?: { state: string; step: number; weight: number; pauseReason?: string };
  lastAnalysis?: { verdict: string; reason?: string; message?: string; gates?: { name: string; verdict: string; samples: number; message: string }[] };
  lastRollback?: { reason: string; slo?: string; requests?: number; badEvents?: number; lowerBound?: number; message?: string };
  lastAction?: { value: string; outcome: string; message: string };
  conditions?: { type: string; status: string; reason: string }[];
}

let prometheus: ChildProcess | undefined;
let prometheusPort = 0;
let prometheusData = '';
// Its own controller instance: an operator another suite runs at the same time never touches these models.
const instance = 'rollout-test';
const operator = new OperatorProcess('onnx-operator-rollout-test', () => [
  '--instance-id', instance,
  '--prometheus-url', `http://127.0.0.1:${prometheusPort}`,
  '--prometheus-scrape-interval', '2s',
  '--prometheus-timeout', '2s',
]);
let ns = '';
let models: ReturnType<typeof ensureTestModels>;

async function startPrometheus(): Promise<void> {
  const binary = execFileSync('bash', [path.join(repoRoot, 'e2e/lab/prometheus-build/build.sh')], { encoding: 'utf8' }).trim();
  prometheusPort = await freePort();
  prometheusData = fs.mkdtempSync(path.join(os.tmpdir(), 'onnxop-rollout-prom-'));
  const log = fs.openSync(path.join(repoRoot, '.lab/logs/rollout-test-prometheus.log'), 'a');
  prometheus = spawn(binary, [`--config.file=${prometheusConfigFile}`, `--storage.tsdb.path=${prometheusData}`, `--web.listen-address=127.0.0.1:${prometheusPort}`, '--log.level=warn'], { stdio: ['ignore', log, log] });
  fs.closeSync(log);
  await waitUntil('the suite Prometheus to be ready', async () => ((await fetch(`http://127.0.0.1:${prometheusPort}/-/ready`).catch(() => undefined))?.ok ? true : undefined), 60_000);
}

async function stopPrometheus(): Promise<void> {
  const p = prometheus;
  prometheus = undefined;
  if (!p || p.exitCode !== null || p.signalCode !== null) return;
  const exited = new Promise((resolve) => p.once('exit', resolve));
  p.kill('SIGKILL');
  await exited;
}

beforeAll(async () => {
  await applyCrd();
  models = ensureTestModels();
  await startPrometheus();
  ns = await createTestNamespace('rollout-it');
  await operator.start();
});

afterAll(async () => {
  await operator.stop();
  await stopPrometheus();
  if (prometheusData) fs.rmSync(prometheusData, { recursive: true, force: true });
  if (ns) await deleteNamespace(ns);
});

/**
 * Steps of seconds and SLOs loose enough to decide on the requests a canary gets at lab traffic in
 * that time: a 10% budget at 2× is a line at 20% bad events (docs/analysis.md has the numbers).
 */
const rollout = (steps: { weight: number; pause?: string }[], analysis: Record<string, unknown> = {}) => ({
  steps,
  analysis: {
    interval: '4s',
    slos: [{ name: 'availability', builtin: 'availability', objective: 90 }],
    burnRateWindows: [{ short: '10s', long: '1m', threshold: 2 }],
    minRequests: 20,
    ...analysis,
  },
  progressDeadline: '2m',
  scaleDownDelay: '5s',
});
const twoSteps = rollout([{ weight: 20, pause: '12s' }, { weight: 60, pause: '12s' }]);

/** Applies the model and returns the generation the API server gave it. */
function apply(name: string, file: { path: string; digest: string }, spec: Record<string, unknown>): Promise<number> {
  return applyModel(ns, {
    apiVersion: 'serving.onnxop.io/v1alpha1',
    kind: 'OnnxModel',
    metadata: { name, labels: { 'serving.onnxop.io/controller-instance': instance } },
    spec: { model: { uri: `file://${file.path}`, digest: file.digest, name: 'm' }, runtime: { replicas: 1 }, traffic: { gatewayAPI: { hostnames: [`${name}.${ns}.lab`] } }, ...spec },
  });
}

const statusOf = (name: string) => modelStatus<ModelStatus>(ns, name);
const waitFor = (name: string, what: string, ok: (s: ModelStatus) => boolean, timeoutMs = 150_000) => waitForModel<ModelStatus>(ns, name, what, ok, timeoutMs);

async function eventReasons(name: string): Promise<string[]> {
  const list = await kubectlJson<{ items: { reason: string; eventTime?: string }[] }>(['-n', ns, 'get', 'events.events.k8s.io', '--field-selector', `regarding.name=${name}`]);
  return list.items.sort((a, b) => String(a.eventTime).localeCompare(String(b.eventTime))).map((e) => e.reason);
}

/** Load through the gateway at `rate` req/s until stopped (bounded: 6 minutes, 10000 requests). */
const IRIS_ROW = [5.1, 3.5, 1.4, 0.2];
const MIXED_ROWS = CLASSIFIER_MIXED_ROWS.map((r) => [...r]);

function load(name: string, rate: number, poisonRatio = 0, rows: number[][] = [IRIS_ROW]): { stop: () => Promise<LoadResult> } {
  return startLoad({
    url: `${gatewayUrl}/v2/models/m/infer`,
    method: 'POST',
    headers: { 'content-type': 'application/json', host: `${name}.${ns}.lab` },
    body: JSON.stringify({ inputs: [{ name: 'features', datatype: 'FP32', shape: [rows.length, 4], data: rows.flat() }] }),
    rate,
    maxRequests: 10_000,
    durationMs: 360_000,
    timeoutMs: 5000,
    groupByHeader: 'x-onnxop-revision',
    ...(poisonRatio > 0 ? { poisonRatio } : {}),
  });
}

/** A model serving `stable`, then changed to `canary`, under load; returns when `done` holds. */
async function scenario(
  name: string,
  o: { stable: { path: string; digest: string }; canary: { path: string; digest: string }; spec: Record<string, unknown>; canarySpec?: Record<string, unknown>; rate: number; poison?: number; rows?: number[][]; onLoad?: (l: LoadResult) => void },
  done: (s: ModelStatus) => boolean,
  during?: () => Promise<void>,
  timeoutMs?: number,
) {
  await apply(name, o.stable, o.spec);
  await waitFor(name, 'stable', (s) => s.phase === 'Stable');
  const traffic = o.rate > 0 ? load(name, o.rate, o.poison, o.rows) : undefined;
  try {
    const generation = await apply(name, o.canary, o.canarySpec ?? o.spec);
    // Until the operator has seen the new spec, the old status says nothing about this rollout.
    await waitFor(name, 'the new spec observed', (s) => (s.observedGeneration ?? 0) >= generation);
    await during?.();
    return await waitFor(name, 'the rollout to end', done, timeoutMs);
  } finally {
    const result = await traffic?.stop();
    if (result) o.onLoad?.(result);
  }
}

const ended = (s: ModelStatus) => s.phase === 'RolledBack' || (s.phase === 'Stable' && !s.canary);

describe('progressive delivery in the lab', () => {
  test('a healthy canary goes through every step, judged by Prometheus, and is promoted', async () => {
    let sawStep = false;
    const s = await scenario('healthy', { stable: models.logreg, canary: models.classifier, spec: { rollout: twoSteps }, rate: 30 }, ended, async () => {
      const holding = await waitFor('healthy', 'holding step 1 at 20%', (x) => x.rollout?.state === 'Holding' && x.rollout.weight === 20);
      expect(holding.phase).toBe('Progressing');
      const table = await kubectl(['-n', ns, 'get', 'onnx', 'healthy']);
      expect(table).toMatch(/healthy\s+False\s+Progressing\s+\S+\s+\S+\s+20\s+0\s/);
      sawStep = true;
    });
    expect(sawStep).toBe(true);
    expect(s.phase).toBe('Stable');
    expect(s.stable?.digest).toBe(models.classifier.digest);
    expect(s.lastAnalysis?.verdict).toBe('pass');
    const reasons = await eventReasons('healthy');
    expect(reasons.filter((r) => r === 'StepStarted')).toHaveLength(2);
    expect(reasons).toContain('Promoted');
    expect(reasons).not.toContain('RolledBack');
    // The operator counts the rollout per model; the model's gauges go when it does.
    expect(await operator.metric(`onnxop_operator_rollouts_total{namespace="${ns}",name="healthy",outcome="promoted"}`)).toBe(1);
    expect(await operator.metric(`onnxop_operator_canary_weight{namespace="${ns}",name="healthy"}`)).toBe(0);
    await kubectl(['-n', ns, 'delete', 'onnxmodel', 'healthy', '--wait=false']);
    const gauge = new RegExp(`onnxop_operator_(canary_weight|rollout_step)\\{namespace="${ns}",name="healthy"\\}`);
    await waitUntil("the deleted model's gauges to go", async () => (gauge.test(await (await fetch(`http://127.0.0.1:${operator.port}/metrics`)).text()) ? undefined : true), 30_000);
  });

  test('a canary failing 30% of its requests is rolled back before promotion, with the numbers, the stable pods untouched', async () => {
    const spec = { rollout: rollout([{ weight: 30, pause: '30s' }, { weight: 60, pause: '30s' }]) };
    const s = await scenario('faulty', { stable: models.logreg, canary: models.logreg_faulty, spec, rate: 30, poison: 0.3 }, ended);
    expect(s.phase).toBe('RolledBack');
    expect(s.stable?.digest).toBe(models.logreg.digest);
    expect(s.lastRollback).toMatchObject({ reason: 'AnalysisFailed', slo: 'availability' });
    expect(s.lastRollback?.badEvents).toBeGreaterThan(0);
    expect(s.conditions?.find((c) => c.type === 'Degraded')).toMatchObject({ status: 'True', reason: 'RolledBack' });
    const route = await kubectlJson<{ spec: { rules: { backendRefs: { weight: number }[] }[] } }>(['-n', ns, 'get', 'httproute', 'faulty']);
    expect(route.spec.rules[0]?.backendRefs.map((b) => b.weight)).toEqual([100]);
    // The stable Deployment still runs the stable digest: the rejected one never reached it.
    const stableDep = await kubectlJson<{ spec: { template: { spec: { containers: { env: { name: string; value?: string }[] }[] } } } }>(['-n', ns, 'get', 'deployment', `faulty-${s.stable?.revision}`]);
    expect(stableDep.spec.template.spec.containers[0]?.env.find((e) => e.name === 'ONNXOP_MODEL_DIGEST')?.value).toBe(models.logreg.digest);
    expect(await eventReasons('faulty')).toContain('RolledBack');
  });

  test('a canary ten times slower is rolled back on the latency SLO', async () => {
    const spec = { rollout: rollout([{ weight: 30, pause: '30s' }, { weight: 60, pause: '30s' }], { slos: [{ name: 'latency', builtin: 'latency', objective: 90, latencyThresholdSeconds: 0.005 }] }) };
    const s = await scenario('slow', { stable: models.logreg, canary: models.logreg_slow, spec, rate: 30 }, ended);
    expect(s.phase).toBe('RolledBack');
    expect(s.lastRollback).toMatchObject({ reason: 'AnalysisFailed', slo: 'latency' });
  });

  test('a shared incident (stable failing as much as the canary) is not blamed on the canary', async () => {
    // The same faulty model on both sides (the canary is a new revision through an env var): poisoned
    // requests fail whichever revision answers, as when a dependency both use is down.
    const spec = { rollout: rollout([{ weight: 30, pause: '1m' }], { maxInconclusive: 4 }) };
    const canarySpec = { ...spec, runtime: { replicas: 1, env: [{ name: 'LAB_BUILD', value: '2' }] } };
    const s = await scenario('shared', { stable: models.logreg_faulty, canary: models.logreg_faulty, spec, canarySpec, rate: 30, poison: 0.3 }, (x) => x.lastAnalysis?.reason === 'SharedIncident' || ended(x));
    expect(s.phase).not.toBe('RolledBack');
    expect(s.lastAnalysis).toMatchObject({ verdict: 'inconclusive', reason: 'SharedIncident' });
    expect(s.currentWeight).toBe(30);
    expect(s.stable?.revision).toBeDefined();
  });

  test('without traffic the canary is never promoted: it pauses waiting for data, then promote and abort act', async () => {
    const spec = { rollout: rollout([{ weight: 20, pause: '5s' }, { weight: 50, pause: '5s' }], { maxInconclusive: 2 }) };
    const paused = await scenario('quiet', { stable: models.logreg, canary: models.classifier, spec, rate: 0 }, (x) => x.phase === 'Paused' || ended(x));
    expect(paused.rollout).toMatchObject({ state: 'Paused', pauseReason: 'WaitingForData', step: 0, weight: 20 });
    expect(paused.stable?.digest).toBe(models.logreg.digest);
    expect(paused.conditions?.find((c) => c.type === 'Progressing')).toMatchObject({ status: 'Unknown', reason: 'WaitingForData' });

    await kubectl(['-n', ns, 'annotate', 'onnx', 'quiet', 'serving.onnxop.io/action=promote/1', '--overwrite']);
    const next = await waitFor('quiet', 'step 2 after promote', (x) => x.lastAction?.value === 'promote/1' && x.rollout?.step === 1);
    expect(next.lastAction?.outcome).toBe('Applied');

    await kubectl(['-n', ns, 'annotate', 'onnx', 'quiet', 'serving.onnxop.io/action=abort/2', '--overwrite']);
    const aborted = await waitFor('quiet', 'aborted', (x) => x.phase === 'RolledBack');
    expect(aborted.lastRollback?.reason).toBe('ManualAbort');
    expect(aborted.stable?.digest).toBe(models.logreg.digest);
  });

  test('2% errors at a 99.9% SLO, at 20 req/s with the canary at 20%, is rolled back before promotion', async () => {
    // The benchmark's configuration (bench/rollout-report.ts): the SRE workbook's fast-burn pair,
    // compared with stable. 2% is just above the 1.44% line; the comparison with stable decides it.
    const spec = { rollout: rolloutSpec() };
    const s = await scenario('two-percent', { stable: models.logreg, canary: models.logreg_faulty, spec, rate: 20, poison: 0.02 }, ended, undefined, 300_000);
    expect(s.phase).toBe('RolledBack');
    expect(s.stable?.digest).toBe(models.logreg.digest);
    expect(s.lastRollback).toMatchObject({ reason: 'AnalysisFailed', slo: 'availability' });
    expect(await eventReasons('two-percent')).not.toContain('Promoted');
  }, 420_000);

  test('a step without pause waits for promote; promote moves on; abort mid-step rolls back at once', async () => {
    const spec = { rollout: rollout([{ weight: 20 }, { weight: 50, pause: '10m' }]) };
    let held: ModelStatus | undefined;
    const s = await scenario('manual', { stable: models.logreg, canary: models.classifier, spec, rate: 20 }, ended, async () => {
      const waiting = await waitFor('manual', 'paused for promote', (x) => x.phase === 'Paused' || ended(x));
      expect(waiting.rollout).toMatchObject({ state: 'Paused', pauseReason: 'WaitingForPromote', step: 0, weight: 20 });
      // An indefinite pause stays one: measurements go on, nothing advances on its own.
      await new Promise((r) => setTimeout(r, 10_000));
      expect((await statusOf('manual')).rollout).toMatchObject({ state: 'Paused', step: 0, weight: 20 });

      await kubectl(['-n', ns, 'annotate', 'onnx', 'manual', 'serving.onnxop.io/action=promote/1', '--overwrite']);
      held = await waitFor('manual', 'holding step 2', (x) => (x.rollout?.state === 'Holding' && x.rollout.step === 1) || ended(x));
      await kubectl(['-n', ns, 'annotate', 'onnx', 'manual', 'serving.onnxop.io/action=abort/2', '--overwrite']);
    });
    expect(held?.rollout).toMatchObject({ state: 'Holding', step: 1, weight: 50 });
    expect(held?.lastAction).toMatchObject({ value: 'promote/1', outcome: 'Applied' });
    expect(s.phase).toBe('RolledBack');
    expect(s.lastRollback?.reason).toBe('ManualAbort');
    expect(s.lastAction).toMatchObject({ value: 'abort/2', outcome: 'Applied' });
    const route = await kubectlJson<{ spec: { rules: { backendRefs: { weight: number }[] }[] } }>(['-n', ns, 'get', 'httproute', 'manual']);
    expect(route.spec.rules[0]?.backendRefs.map((b) => b.weight)).toEqual([100]);
    const reasons = await eventReasons('manual');
    expect(reasons.filter((r) => r === 'StepStarted')).toHaveLength(2);
    expect(reasons).not.toContain('Promoted');
  });

  test('a canary that answers 200 with other predictions (features swapped in export) is rolled back by the predictions gate, with no HTTP error anywhere', async () => {
    const quality = { predictions: { maxPSI: 0.2, minSamples: 100 } };
    const spec = { rollout: rollout([{ weight: 30, pause: '1m' }], { quality }) };
    let traffic: LoadResult | undefined;
    const s = await scenario('swapped', { stable: models.classifier, canary: models.classifier_swapped, spec, rate: 20, rows: MIXED_ROWS, onLoad: (l) => (traffic = l) }, ended);
    expect(s.phase).toBe('RolledBack');
    expect(s.stable?.digest).toBe(models.classifier.digest);
    expect(s.lastRollback).toMatchObject({ reason: 'AnalysisFailed', slo: 'predictions', judgement: 'PredictionsShifted' });
    expect(s.lastRollback?.lowerBound).toBeGreaterThan(0.2);
    // Every answer, canary's included, was a 200: only the predictions told them apart.
    expect(traffic?.total.statusCodes).toEqual({ '200': traffic?.total.count });
    expect(Object.keys(traffic?.byGroup ?? {}).length).toBe(2);
  });

  test('the same model re-exported (a new revision, the same predictions) passes the predictions gate and is promoted', async () => {
    const quality = { predictions: { maxPSI: 0.2, minSamples: 100 } };
    const spec = { rollout: rollout([{ weight: 30, pause: '20s' }], { quality }) };
    const canarySpec = { ...spec, runtime: { replicas: 1, env: [{ name: 'LAB_BUILD', value: '2' }] } };
    const s = await scenario('reexport', { stable: models.classifier, canary: models.classifier, spec, canarySpec, rate: 20, rows: MIXED_ROWS }, ended);
    expect(s.phase).toBe('Stable');
    expect(s.lastAnalysis?.verdict).toBe('pass');
    const gates = (await kubectlJson<{ status?: { lastAnalysis?: { gates?: { name: string; verdict: string; value: number }[] } } }>(['-n', ns, 'get', 'onnxmodel', 'reexport'])).status?.lastAnalysis?.gates;
    expect(gates?.[0]).toMatchObject({ name: 'predictions', verdict: 'pass' });
    expect(gates?.[0]?.value).toBeLessThan(0.05);
  });

  test('ground truth: a less accurate canary is held while labels are few, then rolled back once they are significant', async () => {
    // Only the ground-truth gate (the predictions gate would catch this canary on its own).
    const quality = { groundTruth: { maxAccuracyDrop: 5, minLabels: 40 } };
    const spec = { rollout: rollout([{ weight: 50, pause: '5m' }], { quality, maxInconclusive: 0 }) };
    await apply('labels', models.classifier, spec);
    await waitFor('labels', 'stable', (s) => s.phase === 'Stable');
    const generation = await apply('labels', models.classifier_swapped, spec);
    await waitFor('labels', 'the new spec observed', (s) => (s.observedGeneration ?? 0) >= generation);
    // No label posted yet: the gate holds the canary at its weight.
    const held = await waitFor('labels', 'a measurement waiting for labels', (s) => s.rollout?.state === 'Holding' && s.lastAnalysis?.gates?.[0]?.verdict === 'inconclusive');
    expect(held.currentWeight).toBe(50);
    expect(held.lastAnalysis?.gates?.[0]).toMatchObject({ name: 'groundTruth', samples: 0 });
    expect(held.lastAnalysis?.gates?.[0]?.message).toMatch(/no labelled predictions/);
    const headers = { 'content-type': 'application/json', host: `labels.${ns}.lab` };
    const body = JSON.stringify({ inputs: [{ name: 'features', datatype: 'FP32', shape: [MIXED_ROWS.length, 4], data: MIXED_ROWS.flat() }] });
    const feedback = JSON.stringify({ label: CLASSIFIER_MIXED_CLASSES });
    let posted = 0;
    // Predictions labelled with the stable model's classes: the canary is right on 11 rows of 16.
    for (let i = 0; i < 400 && !ended(await statusOf('labels')); i++) {
      const res = await labRequest(`${gatewayUrl}/v2/models/m/infer`, { method: 'POST', headers, body });
      expect(res.status).toBe(200);
      const id = String(res.headers['x-onnxop-prediction-id']);
      // The gateway sends feedback to either revision; the one that made the prediction accepts it.
      for (let t = 0; t < 30; t++) {
        const fb = await labRequest(`${gatewayUrl}/v2/models/m/feedback`, { method: 'POST', headers, body: JSON.stringify({ id, ...JSON.parse(feedback) as object }) });
        if (fb.status === 200) {
          posted++;
          break;
        }
        expect(fb.status).toBe(404);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    const s = await waitFor('labels', 'the rollback', ended);
    expect(posted).toBeGreaterThan(0);
    expect(s.phase).toBe('RolledBack');
    expect(s.lastRollback).toMatchObject({ reason: 'AnalysisFailed', slo: 'groundTruth', judgement: 'AccuracyDropped' });
    expect(s.lastRollback?.lowerBound).toBeGreaterThan(5);
  });

  test('the operator SIGKILLed at random moments resumes the rollout where it was: no step skipped or repeated', async () => {
    // Seeded, so a failure can be replayed: three kills 1–9 s apart from the first step on.
    const random = seededRandom(20261129);
    const seen: { step: number; weight: number }[] = [];
    const record = async () => {
      const x = await statusOf('crash');
      if (x.rollout) seen.push({ step: x.rollout.step, weight: x.rollout.weight });
      return x;
    };
    const s = await scenario('crash', { stable: models.logreg, canary: models.classifier, spec: { rollout: twoSteps }, rate: 30 }, ended, async () => {
      await waitFor('crash', 'holding step 1', (x) => x.rollout?.state === 'Holding' && x.rollout.step === 0);
      for (let kill = 0; kill < 3; kill++) {
        const until = Date.now() + 1000 + random() * 8000;
        while (Date.now() < until && !ended(await record())) await new Promise((r) => setTimeout(r, 300));
        await operator.kill();
        await record();
        await operator.start();
      }
      while (!ended(await record())) await new Promise((r) => setTimeout(r, 300));
    });
    expect(s.phase).toBe('Stable');
    expect(s.stable?.digest).toBe(models.classifier.digest);
    // Steps and weights only move forward, one step at a time.
    for (let i = 1; i < seen.length; i++) {
      const [a, b] = [seen[i - 1], seen[i]];
      expect([b?.step ?? 0, b?.weight ?? 0]).toEqual([Math.max(b?.step ?? 0, a?.step ?? 0), Math.max(b?.weight ?? 0, a?.weight ?? 0)]);
      expect((b?.step ?? 0) - (a?.step ?? 0)).toBeLessThanOrEqual(1);
    }
    const reasons = await eventReasons('crash');
    expect(reasons.filter((r) => r === 'StepStarted')).toHaveLength(2);
  });

  test('Prometheus stopped mid-rollout: the weight holds, nothing is promoted, then AnalysisError rolls back', async () => {
    const s = await scenario('outage', { stable: models.logreg, canary: models.classifier, spec: { rollout: rollout([{ weight: 20, pause: '1m' }]) }, rate: 30 }, ended, async () => {
      await waitFor('outage', 'holding step 1', (x) => x.rollout?.state === 'Holding');
      await stopPrometheus();
      const erroring = await waitFor('outage', 'an error measurement', (x) => x.lastAnalysis?.verdict === 'error' || ended(x));
      expect(erroring.currentWeight).toBe(20);
    });
    expect(s.phase).toBe('RolledBack');
    expect(s.lastRollback?.reason).toBe('AnalysisError');
    expect(s.stable?.digest).toBe(models.logreg.digest);
  });
});
