// Shadow steps in the lab (issue 15): the operator, the real API server, runtime pods from the
// images built from this tree, a real Prometheus, and a lab gateway process of this suite's own
// (its own Gateway, so the shared one is untouched) honouring RequestMirror. During the shadow step
// every answer comes from stable; the gateway mirrors half of the requests to the canary's shadow
// port, the canary asks stable's shadow port for the same input (through the gateway, the lab's
// stand-in for cluster DNS: HTTP_PROXY) and compares. Silent regressions — 200s with wrong answers —
// are rolled back before any client request reaches the canary; a re-export is promoted.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { stringify } from 'yaml';
import { startLoad, type LoadResult } from '../e2e/lab/loadgen/run-load.ts';
import { prometheusUrl } from '../e2e/lab/prometheus.ts';
import { ensureTestModels, shadowRows, type TestModel } from '../runtime/test-models/build.ts';
import { applyCrd, applyModel, createTestNamespace, deleteNamespace, kubectl, waitForModel } from './lab-helpers.ts';
import { OperatorProcess } from './operator-process.ts';
import { SuiteGateway } from './suite-gateway.ts';
import { dashboards } from '../deploy/monitoring/dashboards/index.ts';
import { leftoverVariables, panelQueries, substitute } from '../deploy/monitoring/dashboards/queries.ts';

interface Gate {
  name: string;
  verdict: string;
  samples: number;
  value: number;
  message: string;
}
interface ModelStatus {
  observedGeneration?: number;
  phase?: string;
  stable?: { revision: string; digest: string };
  canary?: { revision: string; digest: string };
  rollout?: { state: string; step: number; weight: number };
  lastAnalysis?: { verdict: string; gates?: Gate[] };
  lastRollback?: { revision: string; reason: string; slo?: string; judgement?: string; requests?: number; badEvents?: number; message?: string };
}

const instance = 'shadow-test';
const operator = new OperatorProcess('onnx-operator-shadow-test', () => ['--instance-id', instance, '--prometheus-url', prometheusUrl, '--prometheus-scrape-interval', '2s', '--prometheus-timeout', '2s']);
const gateway = new SuiteGateway('shadow-it');
let ns = '';
let models: ReturnType<typeof ensureTestModels>;
/** Twenty rows per request, feature 0 spread over [-4, 4]: classifier_flip_20 (a fifth of [-4, 4]) changes 6 of these 20. */
const ROWS = shadowRows(20, 15);

beforeAll(async () => {
  await applyCrd();
  models = ensureTestModels();
  await gateway.start();
  ns = await createTestNamespace('shadow-it');
  await operator.start();
});

afterAll(async () => {
  await operator.stop();
  await gateway.stop();
  if (ns) await deleteNamespace(ns);
});

/** A shadow step mirroring half the requests, then half the traffic: seconds, so a scenario takes about a minute. */
const SPEC = {
  rollout: {
    steps: [
      { shadow: 50, pause: '16s' },
      { weight: 50, pause: '8s' },
    ],
    analysis: {
      interval: '4s',
      slos: [{ name: 'availability', builtin: 'availability', objective: 90 }],
      burnRateWindows: [{ short: '10s', long: '1m', threshold: 2 }],
      minRequests: 20,
      maxInconclusive: 0,
      quality: { agreement: { minAgreement: 95, minSamples: 100 } },
    },
    progressDeadline: '2m',
    scaleDownDelay: '5s',
  },
};

const apply = (name: string, file: TestModel): Promise<number> =>
  applyModel(ns, {
    apiVersion: 'serving.onnxop.io/v1alpha1',
    kind: 'OnnxModel',
    metadata: { name, labels: { 'serving.onnxop.io/controller-instance': instance } },
    spec: { model: { uri: `file://${file.path}`, digest: file.digest, name: 'm' }, ...gateway.modelSpec(name, ns), ...SPEC },
  });

const waitFor = (name: string, what: string, ok: (s: ModelStatus) => boolean, timeoutMs = 150_000) => waitForModel<ModelStatus>(ns, name, what, ok, timeoutMs);
const ended = (s: ModelStatus) => s.phase === 'RolledBack' || (s.phase === 'Stable' && !s.canary);

/** `stable` serving under steady load, then `canary` rolled out; the status at the end and the load's answers. */
async function scenario(name: string, stable: TestModel, canary: TestModel, during?: (name: string) => Promise<void>): Promise<{ status: ModelStatus; load: LoadResult }> {
  await apply(name, stable);
  await waitFor(name, 'stable', (s) => s.phase === 'Stable');
  const load = startLoad({
    url: `http://127.0.0.1:${gateway.port}/v2/models/m/infer`,
    method: 'POST',
    headers: { 'content-type': 'application/json', host: `${name}.${ns}.lab` },
    body: JSON.stringify({ inputs: [{ name: 'features', datatype: 'FP32', shape: [ROWS.length, 4], data: ROWS.flat() }] }),
    rate: 10,
    maxRequests: 5000,
    durationMs: 300_000,
    timeoutMs: 5000,
    groupByHeader: 'x-onnxop-revision',
  });
  let result: LoadResult | undefined;
  try {
    const generation = await apply(name, canary);
    await waitFor(name, 'the new spec observed', (s) => (s.observedGeneration ?? 0) >= generation);
    await during?.(name);
    const status = await waitFor(name, 'the rollout to end', ended);
    return { status, load: (result = await load.stop()) };
  } finally {
    if (!result) await load.stop();
  }
}

/**
 * A shadow panel of the Model comparison dashboard, run against the lab's Prometheus as Grafana
 * would run it for one canary revision: the dashboard's `model` is the served model name (`m` for
 * every model here, hence the revision), and a 5-minute rate window, so a canary removed after its
 * rollback (or promoted a while after its shadow step, on a slow machine) still has its samples in it. The values of its series.
 */
async function shadowPanel(title: string, revision: string | undefined): Promise<number[]> {
  if (!revision) throw new Error(`no canary revision in status for the panel "${title}"`);
  const model = 'm';
  const board = dashboards().find((d) => d.file === 'model-comparison.json')?.json;
  const q = panelQueries(board as never).find((x) => x.panel === title);
  if (!q) throw new Error(`no panel "${title}" in the Model comparison dashboard`);
  const expr = substitute(q.expr, { namespace: ns, model, revision, __rate_interval: '5m' });
  expect(leftoverVariables(expr)).toEqual([]);
  const res = await fetch(`${prometheusUrl}/api/v1/query`, { method: 'POST', body: new URLSearchParams({ query: expr }) });
  const body = (await res.json()) as { status: string; error?: string; data?: { result: { value: [number, string] }[] } };
  if (body.status !== 'success') throw new Error(`${expr}: ${body.error ?? res.status}`);
  return (body.data?.result ?? []).map((s) => Number(s.value[1]));
}

describe('shadow steps in the CRD', () => {
  test.each([
    ['a step with both weight and shadow', [{ weight: 10, shadow: 10 }], 'needs exactly one of weight'],
    ['a step with neither', [{ pause: '1m' }], 'needs exactly one of weight'],
    ['a shadow step after a weight step', [{ weight: 10 }, { shadow: 10 }], 'shadow steps come before the first weight step'],
    ['weights falling around a shadow step', [{ shadow: 5 }, { weight: 50 }, { weight: 10 }], 'must rise strictly'],
  ])('the API server refuses %s with the rule\'s message', async (_name, steps, message) => {
    const obj = { apiVersion: 'serving.onnxop.io/v1alpha1', kind: 'OnnxModel', metadata: { name: 'cel', namespace: ns }, spec: { model: { uri: 'https://m.example.com/m.onnx', digest: models.classifier.digest }, rollout: { steps } } };
    await expect(kubectl(['apply', '--dry-run=server', '-f', '-'], stringify(obj))).rejects.toThrow(message);
  });

  test('and accepts shadow steps first, then rising weights', async () => {
    const obj = { apiVersion: 'serving.onnxop.io/v1alpha1', kind: 'OnnxModel', metadata: { name: 'cel', namespace: ns }, spec: { model: { uri: 'https://m.example.com/m.onnx', digest: models.classifier.digest }, rollout: { steps: [{ shadow: 20, pause: '1m' }, { weight: 10 }, { weight: 50 }], analysis: { slos: [{ name: 'a', builtin: 'availability', objective: 99 }], quality: { agreement: {} } } } } };
    expect(await kubectl(['apply', '--dry-run=server', '-f', '-'], stringify(obj))).toMatch(/created \(server dry run\)/);
  });
});

describe('shadow steps: same-input comparison with stable', () => {
  test('(a) the classifier re-exported agrees on every mirrored row and is promoted', async () => {
    let shadowGate: Gate | undefined;
    const { status, load } = await scenario('reexport', models.classifier, models.classifier_reexport, async (name) => {
      const held = await waitFor(name, 'a passing agreement measurement in the shadow step', (s) => s.rollout?.step === 0 && s.lastAnalysis?.gates?.[0]?.verdict === 'pass');
      shadowGate = held.lastAnalysis?.gates?.[0];
      expect(held.rollout?.weight).toBe(0);
    });
    expect(status.phase).toBe('Stable');
    expect(status.stable?.digest).toBe(models.classifier_reexport.digest);
    expect(shadowGate).toMatchObject({ name: 'agreement', verdict: 'pass', value: 100 });
    expect(shadowGate?.samples).toBeGreaterThanOrEqual(100);
    expect(load.total.statusCodes).toEqual({ '200': load.total.count });
    // The dashboard's agreement panel shows what the gate saw: every mirrored row agreed.
    expect(await shadowPanel('Shadow agreement with stable (same inputs)', status.stable?.revision)).toEqual([1]);
  });

  test.each([
    ['swapped', 'classifier', 'classifier_swapped', '(b) features swapped in export'],
    ['flipped', 'classifier', 'classifier_flip_20', '(c) the predictions on a fifth of the input space changed (6 of the 20 rows sent)'],
    ['biased', 'regressor', 'regressor_biased', '(d) a regressor shifted by 0.05'],
    ['constant', 'classifier', 'classifier_constant', '(e) a constant answer'],
  ] as [string, 'classifier' | 'regressor', 'classifier_swapped' | 'classifier_flip_20' | 'regressor_biased' | 'classifier_constant', string][])('%s: %s → %s, %s: rolled back in the shadow step, before any client request reached it, with no HTTP error', async (name, stable, canary) => {
    const { status, load } = await scenario(name, models[stable], models[canary]);
    expect(status.phase).toBe('RolledBack');
    expect(status.stable?.digest).toBe(models[stable].digest);
    expect(status.lastRollback).toMatchObject({ reason: 'AnalysisFailed', slo: 'agreement', judgement: 'Disagrees' });
    expect(status.lastRollback?.badEvents).toBeGreaterThan(0);
    expect(status.lastRollback?.message).toMatch(/mirrored rows agree with stable/);
    // Every client answer was a 200, and all of them came from stable: the canary only ever saw copies.
    expect(load.total.statusCodes).toEqual({ '200': load.total.count });
    expect(Object.keys(load.byGroup)).toEqual([status.stable?.revision]);
    // The dashboard's shadow panels show it too: agreement under 1; for the regressor, a p99
    // difference around the bias (0.05: float rounding may put it just either side of the 0.05
    // bucket bound, so within (0.01, 0.1]), far above float noise.
    const agreement = await shadowPanel('Shadow agreement with stable (same inputs)', status.lastRollback?.revision);
    expect(agreement).toHaveLength(1);
    expect(agreement[0]).toBeLessThan(1);
    if (stable === 'regressor') {
      const p99 = await shadowPanel('Shadow difference p99 (regressors)', status.lastRollback?.revision);
      expect(p99).toHaveLength(1);
      expect(p99[0]).toBeGreaterThan(0.01);
      expect(p99[0]).toBeLessThanOrEqual(0.1);
    }
  });
});
