import { describe, expect, it } from '@jest/globals';
import type { QualityGates } from '../api/types.ts';
import { judge, levels } from './judge.ts';
import { judgeQuality, planQuality } from './quality.ts';
import { analysisSpec } from './test-fixtures.ts';
import type { DistributionAnswer, DistributionRequest } from './types.ts';

const QUALITY: QualityGates = { predictions: { maxPSI: 0.2, minSamples: 200 }, groundTruth: { maxAccuracyDrop: 2, maxErrorIncrease: 10, minLabels: 200 } };
const requests = planQuality({ quality: QUALITY, namespace: 'ml', servedModelName: 'iris', canary: 'c1', stable: 's1', window: '10m', windowSeconds: 600 });

type Counts = Record<string, number>;
interface Side {
  classes?: Counts;
  values?: Counts;
  labels?: Counts;
  errors?: Counts;
  comparisons?: Counts;
  differences?: Counts;
}
/** Answers for every request: each revision's counts by series (empty vector when not given). */
function answers(canary: Side, stable: Side): DistributionAnswer[] {
  return requests.map((r) => ({ id: r.id, ok: true, counts: (r.role === 'canary' ? canary : stable)[r.series] ?? {} }));
}
const FAIL_LEVEL = levels(analysisSpec({ quality: QUALITY }), 3).fail;
const gatesOf = (canary: Side, stable: Side, quality: QualityGates = QUALITY, countedForMs = 600_000) =>
  judgeQuality({ quality, requests, answers: answers(canary, stable), failLevel: FAIL_LEVEL, countedForMs });
const verdicts = (canary: Side, stable: Side, quality?: QualityGates, countedForMs?: number) =>
  Object.fromEntries(gatesOf(canary, stable, quality, countedForMs).map((g) => [g.measurement.name, `${g.measurement.verdict}/${g.reason}`]));

describe('quality gates: the queries', () => {
  it('asks each revision for classes, value buckets, ground-truth results and error buckets over one window', () => {
    expect(requests.map((r) => r.id)).toEqual([
      'canary/predictions/classes',
      'canary/predictions/values',
      'stable/predictions/classes',
      'stable/predictions/values',
      'canary/groundTruth/labels',
      'canary/groundTruth/errors',
      'stable/groundTruth/labels',
      'stable/groundTruth/errors',
    ]);
    expect(requests.find((r) => r.id === 'canary/predictions/classes')?.query).toBe('sum by (class) (increase(onnxop_predicted_class_total{namespace="ml",model="iris",revision="c1"}[10m]))');
    expect(requests.find((r) => r.id === 'stable/groundTruth/errors')?.query).toBe('sum by (le) (increase(onnxop_ground_truth_absolute_error_bucket{namespace="ml",model="iris",revision="s1"}[10m]))');
  });

  it('asks nothing without gates, or without a stable revision to compare with', () => {
    expect(planQuality({ quality: undefined, namespace: 'ml', servedModelName: 'iris', canary: 'c1', stable: 's1', window: '1m', windowSeconds: 60 })).toEqual([]);
    expect(planQuality({ quality: QUALITY, namespace: 'ml', servedModelName: 'iris', canary: 'c1', stable: undefined, window: '1m', windowSeconds: 60 })).toEqual([]);
  });
});

describe('quality gates: predictions', () => {
  const stable = { classes: { '0': 500, '1': 300, '2': 200 } };
  it.each([
    ['the same model re-exported: the same shares', 'pass/WithinBudget', { classes: { '0': 250, '1': 150, '2': 100 } }],
    ['a constant answer: everything class 0', 'fail/PredictionsShifted', { classes: { '0': 500 } }],
    ['two classes swapped (a label map off by one)', 'fail/PredictionsShifted', { classes: { '0': 150, '1': 250, '2': 100 } }],
    ['a small shift, under the PSI limit', 'pass/WithinBudget', { classes: { '0': 270, '1': 140, '2': 90 } }],
    ['a big shift on too few predictions to be significant', 'inconclusive/NotEnoughData', { classes: { '0': 6, '2': 1 } }],
    ['the same shares, fewer than minSamples', 'inconclusive/NotEnoughData', { classes: { '0': 50, '1': 30, '2': 20 } }],
    ['no canary predictions', 'inconclusive/NoData', {}],
  ])('%s → %s', (_name, expected, canary) => {
    expect(verdicts(canary, stable, { predictions: QUALITY.predictions })).toEqual({ predictions: expected });
  });

  it('compares the value histogram for regressors (cumulative buckets, "1" and "1.0" the same bound)', () => {
    const stableValues = { '0.1': 100, '0.5': 600, '1': 900, '+Inf': 1000 };
    const same = { '0.1': 50, '0.5': 300, '1.0': 450, '+Inf': 500 };
    const biased = { '0.1': 0, '0.5': 20, '1': 100, '+Inf': 500 };
    expect(verdicts({ values: same }, { values: stableValues }, { predictions: QUALITY.predictions })).toEqual({ predictions: 'pass/WithinBudget' });
    expect(verdicts({ values: biased }, { values: stableValues }, { predictions: QUALITY.predictions })).toEqual({ predictions: 'fail/PredictionsShifted' });
  });

  it('carries the numbers: samples, PSI against its bound, and a failure for lastRollback', () => {
    const [g] = gatesOf({ classes: { '0': 500 } }, stable, { predictions: QUALITY.predictions });
    expect(g?.measurement).toMatchObject({ name: 'predictions', samples: 500, stableSamples: 1000, bound: 0.2, verdict: 'fail' });
    expect(g?.measurement.value).toBeGreaterThan(0.2);
    expect(g?.measurement.message).toMatch(/PSI .* chi-square p = /);
    expect(g?.failure).toMatchObject({ slo: 'predictions', reason: 'PredictionsShifted', requests: 500, threshold: 0.2 });
  });
});

describe('quality gates: ground truth', () => {
  const gt = { groundTruth: QUALITY.groundTruth } as QualityGates;
  const labels = (correct: number, incorrect: number) => ({ labels: { correct, incorrect } });
  it.each([
    ['as accurate as stable', 'pass/WithinBudget', labels(285, 15), labels(950, 50)],
    ['10 points less accurate, 300 labels each', 'fail/AccuracyDropped', labels(255, 45), labels(285, 15)],
    ['10 points less accurate on 20 labels: waiting', 'inconclusive/WaitingForLabels', labels(17, 3), labels(950, 50)],
    ['no labels yet', 'inconclusive/WaitingForLabels', {}, {}],
  ])('%s → %s', (_name, expected, canary, stable) => {
    expect(verdicts(canary, stable, gt)).toEqual({ groundTruth: expected });
  });

  it('compares the mean absolute error for regressors', () => {
    const good = { '0.1': 150, '0.5': 280, '1': 300, '+Inf': 300 };
    const worse = { '0.1': 20, '0.5': 100, '1': 250, '+Inf': 300 };
    expect(verdicts({ errors: good }, { errors: good }, gt)).toEqual({ groundTruth: 'pass/WithinBudget' });
    expect(verdicts({ errors: worse }, { errors: good }, gt)).toEqual({ groundTruth: 'fail/ErrorIncreased' });
  });

  it('stops holding the rollout after maxWait without enough labels, and says so', () => {
    const q: QualityGates = { groundTruth: { ...QUALITY.groundTruth!, maxWait: '30m' } };
    const before = gatesOf(labels(5, 0), labels(50, 1), q, 20 * 60_000)[0];
    const after = gatesOf(labels(5, 0), labels(50, 1), q, 31 * 60_000)[0];
    expect(before?.blocking).toBe(true);
    expect(after?.blocking).toBe(false);
    expect(after?.measurement.message).toMatch(/maxWait 30m is over/);
  });
});

describe('judge() with quality gates', () => {
  const analysis = analysisSpec({ quality: { predictions: QUALITY.predictions }, compareWithStable: false, minRequests: 10 });
  const slo: DistributionRequest[] = [];
  const sloRequest = { id: 'canary/availability/10m', role: 'canary' as const, revision: 'c1', slo: 'availability', window: '10m', windowSeconds: 600, specWindows: ['5m', '1h', '30m', '6h'], goodQuery: '', totalQuery: '' };
  const run = (canary: Side, stable: Side) =>
    judge({ analysis, requests: [sloRequest], answers: [{ id: sloRequest.id, ok: true, good: 5000, total: 5000 }], look: 3, gates: { requests: [...slo, ...requests.filter((r) => r.gate === 'predictions')], answers: answers(canary, stable), countedForMs: 600_000 } });

  it('a canary within its SLOs that predicts something else entirely fails on the gate, with the numbers', () => {
    const j = run({ classes: { '1': 500 } }, { classes: { '0': 800, '1': 200 } });
    expect(j.verdict).toBe('fail');
    expect(j.reason).toBe('PredictionsShifted');
    expect(j.failure?.slo).toBe('predictions');
    expect(j.gates[0]).toMatchObject({ name: 'predictions', verdict: 'fail' });
    expect(j.message).toMatch(/others: availability: pass/);
  });

  it('passes only when the SLOs and the gate pass; a gate without enough samples keeps it inconclusive', () => {
    expect(run({ classes: { '0': 400, '1': 100 } }, { classes: { '0': 800, '1': 200 } }).verdict).toBe('pass');
    expect(run({ classes: { '0': 40, '1': 10 } }, { classes: { '0': 800, '1': 200 } })).toMatchObject({ verdict: 'inconclusive', reason: 'NotEnoughData' });
  });

  it('counts each gate as one more test in the look\'s fail level', () => {
    const without = levels(analysisSpec({}), 1).fail;
    const withTwo = levels(analysisSpec({ quality: QUALITY }), 1).fail;
    const tests = (l: number) => levels(analysisSpec({}), 1).perLook / l;
    expect(tests(withTwo) - tests(without)).toBeCloseTo(2, 9);
  });
});
