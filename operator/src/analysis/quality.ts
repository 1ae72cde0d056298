// Model-quality gates, the two pure halves around the Prometheus call like the SLOs: the queries a
// look needs (counts by class, value bucket, ground-truth result or error bucket, per revision over
// the same window) and the verdict of each gate. They compare the canary with the stable revision
// on what it predicts, which no error-rate or latency SLO sees: a canary that answers 200 with
// wrong answers. docs/analysis.md ("Model-quality gates") has the statistics and why.
import {
  METRIC_LABEL_STABLE_REVISION,
  METRIC_SHADOW_COMPARISONS,
  METRIC_SHADOW_DIFFERENCE,
  SHADOW_BAD_OUTCOMES,
  METRIC_GROUND_TRUTH,
  METRIC_GROUND_TRUTH_ABSOLUTE_ERROR,
  METRIC_LABEL_MODEL,
  METRIC_LABEL_REVISION,
  METRIC_PREDICTED_CLASS,
  METRIC_PREDICTION_VALUE,
} from '../../../lib/contract/index.ts';
import { parseDuration } from '../api/parse.ts';
import type { AgreementGate, GateMeasurement, GateName, GroundTruthGate, PredictionsGate, QualityGates, Verdict } from '../api/types.ts';
import { METRIC_LABEL_NAMESPACE, promString } from './promql.ts';
import { accuracyWorsePValue, histogramMoments, homogeneityTest, psi, welchGreaterPValue } from './quality-stats.ts';
import { lowerBound, lowerBoundAbove, upperBound, upperBoundAtMost } from './stats.ts';
import type { DistributionAnswer, DistributionRequest, DistributionSeries, Failure, JudgementReason, Role } from './types.ts';

/** How many tests that can fail the canary the configured gates add at each look (one per gate). */
export function qualityFailTests(quality: QualityGates | undefined): number {
  return (quality?.predictions ? 1 : 0) + (quality?.groundTruth ? 1 : 0) + (quality?.agreement ? 1 : 0);
}

/**
 * The gates that judge a step: in a shadow step only agreement (the canary answers no client, so
 * nothing else has data); in a traffic step every other gate (nothing is mirrored any more).
 */
export function gatesFor(quality: QualityGates | undefined, shadow: boolean): GateName[] {
  if (!quality) return [];
  const all: GateName[] = ['predictions', 'groundTruth', 'agreement'];
  return all.filter((g) => quality[g] !== undefined && (g === 'agreement') === shadow);
}

const SERIES: Record<GateName, { series: DistributionSeries; metric: string; by: string }[]> = {
  predictions: [
    { series: 'classes', metric: METRIC_PREDICTED_CLASS, by: 'class' },
    { series: 'values', metric: `${METRIC_PREDICTION_VALUE}_bucket`, by: 'le' },
  ],
  groundTruth: [
    { series: 'labels', metric: METRIC_GROUND_TRUTH, by: 'result' },
    { series: 'errors', metric: `${METRIC_GROUND_TRUTH_ABSOLUTE_ERROR}_bucket`, by: 'le' },
  ],
  // Counted by the canary alone, per stable revision it was compared with.
  agreement: [
    { series: 'comparisons', metric: METRIC_SHADOW_COMPARISONS, by: 'outcome' },
    { series: 'differences', metric: `${METRIC_SHADOW_DIFFERENCE}_bucket`, by: 'le' },
  ],
};

export interface QualityPlanInput {
  quality: QualityGates | undefined;
  namespace: string;
  servedModelName: string;
  canary: string;
  stable: string | undefined;
  /** The window both revisions are compared over (the canary's counted life, capped). */
  window: string;
  windowSeconds: number;
  /** The canary is at a shadow step (only the agreement gate is judged). */
  shadow?: boolean;
}

/** The vector queries of every configured gate, for the canary and the stable revision. */
export function planQuality(input: QualityPlanInput): DistributionRequest[] {
  const { quality } = input;
  if (!quality || input.stable === undefined || input.stable === input.canary) return [];
  const gates = gatesFor(quality, input.shadow ?? false);
  const roles: [Role, string][] = [
    ['canary', input.canary],
    ['stable', input.stable],
  ];
  const stable = input.stable;
  return gates.flatMap((gate) =>
    roles.flatMap(([role, revision]) =>
      // Agreement is counted by the canary, labelled with the stable revision it compared with.
      (gate === 'agreement' && role === 'stable' ? [] : SERIES[gate]).map(({ series, metric, by }) => {
        const pair = gate === 'agreement' ? `,${METRIC_LABEL_STABLE_REVISION}=${promString(stable)}` : '';
        const selector = `{${METRIC_LABEL_NAMESPACE}=${promString(input.namespace)},${METRIC_LABEL_MODEL}=${promString(input.servedModelName)},${METRIC_LABEL_REVISION}=${promString(revision)}${pair}}`;
        return { id: `${role}/${gate}/${series}`, role, revision, gate, series, window: input.window, windowSeconds: input.windowSeconds, query: `sum by (${by}) (increase(${metric}${selector}[${input.window}]))`, by };
      }),
    ),
  );
}

export interface GateResult {
  measurement: GateMeasurement;
  reason: JudgementReason;
  /** False when the gate no longer holds the rollout (groundTruth after maxWait without labels). */
  blocking: boolean;
  failure?: Failure;
}

export interface QualityJudgeInput {
  quality: QualityGates | undefined;
  requests: readonly DistributionRequest[];
  answers: readonly DistributionAnswer[];
  /** Level of each test that can fail the canary at this look (levels().fail). */
  failLevel: number;
  /** Level of each test that can pass the canary at this look (levels().pass). */
  passLevel?: number;
  /** The canary is at a shadow step: only the agreement gate is judged. */
  shadow?: boolean;
  /** How long the canary's requests have counted (for groundTruth.maxWait). */
  countedForMs: number;
}

type Read = { ok: true; counts: Record<string, number> } | { ok: false; error: string };

const sig = (x: number): string => (Number.isFinite(x) ? String(Number(x.toPrecision(3))) : String(x));
const sum = (xs: readonly number[]) => xs.reduce((s, x) => s + x, 0);

const leValue = (le: string): number => (le === '+Inf' ? Infinity : Number(le));

/** Cumulative `le` buckets keyed by their bound's value ("1" and "1.0" are one bucket). */
function bucketCounts(cumulative: Record<string, number>): Map<number, number> {
  const out = new Map<number, number>();
  for (const [le, count] of Object.entries(cumulative)) {
    const bound = leValue(le);
    if (!Number.isNaN(bound)) out.set(bound, (out.get(bound) ?? 0) + count);
  }
  return new Map([...out].sort((a, b) => a[0] - b[0]));
}

/** Per-bucket counts of two cumulative histograms over the union of their bounds, in bound order. */
function alignedBuckets(a: Record<string, number>, b: Record<string, number>): [number[], number[]] {
  const ca = bucketCounts(a);
  const cb = bucketCounts(b);
  const bounds = [...new Set([...ca.keys(), ...cb.keys()])].sort((x, y) => x - y);
  const per = (c: Map<number, number>) => {
    let prev = 0;
    return bounds.map((bound) => {
      const cumulative = c.get(bound) ?? prev;
      const n = Math.max(0, Math.round(cumulative - prev));
      prev = Math.max(prev, cumulative);
      return n;
    });
  };
  return [per(ca), per(cb)];
}

/** Aligned count vectors of the two revisions over the union of their categories. */
function aligned(a: Record<string, number>, b: Record<string, number>): [number[], number[]] {
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  return [keys.map((k) => Math.max(0, Math.round(a[k] ?? 0))), keys.map((k) => Math.max(0, Math.round(b[k] ?? 0)))];
}

function judgePredictions(gate: PredictionsGate, read: (role: Role, s: DistributionSeries) => Read, failLevel: number): GateResult {
  const name = 'predictions';
  const result = (verdict: Verdict, reason: JudgementReason, message: string, n = 0, ns = 0, value = 0): GateResult => ({
    measurement: { name, samples: n, stableSamples: ns, value, bound: gate.maxPSI, verdict, message: `${name}: ${message}` },
    reason,
    blocking: true,
  });
  const reads = [read('canary', 'classes'), read('stable', 'classes'), read('canary', 'values'), read('stable', 'values')];
  const errors = reads.flatMap((r) => (r.ok ? [] : [r.error]));
  if (errors.length > 0) return result('error', 'QueryError', errors.join('; '));
  const [cc, sc, cv, sv] = reads.map((r) => (r.ok ? r.counts : {})) as [Record<string, number>, Record<string, number>, Record<string, number>, Record<string, number>];
  // Classifiers count classes; other models only fill the value histogram.
  const classes = sum(Object.values(cc)) + sum(Object.values(sc)) > 0;
  const [canary, stable] = classes ? aligned(cc, sc) : alignedBuckets(cv, sv);
  const what = classes ? 'predicted classes' : 'prediction values';
  const n = sum(canary);
  const ns = sum(stable);
  if (n === 0) return result('inconclusive', 'NoData', `no canary predictions in the window; never a pass`, 0, ns);
  if (ns === 0) return result('inconclusive', 'NoData', `no stable predictions to compare with in the window`, n, 0);
  const shift = psi(stable, canary);
  const test = homogeneityTest(canary, stable);
  const numbers = `${what}: PSI ${sig(shift)} (limit ${gate.maxPSI}), chi-square p = ${sig(test.pValue)} over ${n} canary and ${ns} stable predictions`;
  if (shift > gate.maxPSI && test.pValue < failLevel) {
    const r = result('fail', 'PredictionsShifted', `the canary's ${what} moved from stable's significantly and beyond the limit: ${numbers}`, n, ns, shift);
    return { ...r, failure: gateFailure(name, 'PredictionsShifted', n, 0, shift, gate.maxPSI) };
  }
  if (n >= gate.minSamples && ns >= gate.minSamples && shift <= gate.maxPSI) return result('pass', 'WithinBudget', `within the limit: ${numbers}`, n, ns, shift);
  const short = n < gate.minSamples || ns < gate.minSamples ? ` (a pass needs ${gate.minSamples} predictions from each)` : ' (a shift beyond the limit that is not significant yet)';
  return result('inconclusive', 'NotEnoughData', `not enough evidence yet${short}: ${numbers}`, n, ns, shift);
}

function gateFailure(gate: GateName, reason: JudgementReason, samples: number, bad: number, value: number, bound: number): Failure {
  return { slo: gate, reason, short: '', long: '', requests: samples, badEvents: bad, burnRates: [], lowerBound: value, threshold: bound };
}

function judgeGroundTruth(gate: GroundTruthGate, read: (role: Role, s: DistributionSeries) => Read, failLevel: number, countedForMs: number): GateResult {
  const name = 'groundTruth';
  const waited = gate.maxWait !== undefined && countedForMs >= (parseDuration(gate.maxWait) ?? Infinity);
  const result = (verdict: Verdict, reason: JudgementReason, message: string, n = 0, ns = 0, value = 0, bound = gate.maxAccuracyDrop): GateResult => ({
    measurement: { name, samples: n, stableSamples: ns, value, bound, verdict, message: `${name}: ${message}` },
    reason,
    blocking: true,
  });
  const waiting = (r: GateResult): GateResult =>
    waited ? { ...r, blocking: false, measurement: { ...r.measurement, message: `${r.measurement.message}; maxWait ${gate.maxWait} is over: the gate no longer holds the rollout` } } : r;
  const reads = [read('canary', 'labels'), read('stable', 'labels'), read('canary', 'errors'), read('stable', 'errors')];
  const errors = reads.flatMap((r) => (r.ok ? [] : [r.error]));
  if (errors.length > 0) return result('error', 'QueryError', errors.join('; '));
  const [cl, sl, ce, se] = reads.map((r) => (r.ok ? r.counts : {})) as [Record<string, number>, Record<string, number>, Record<string, number>, Record<string, number>];
  const round = (x: number | undefined) => Math.max(0, Math.round(x ?? 0));
  const labelled = (c: Record<string, number>) => round(c['correct']) + round(c['incorrect']);
  if (labelled(cl) + labelled(sl) > 0) {
    const [n, ns] = [labelled(cl), labelled(sl)];
    const [wrong, wrongS] = [round(cl['incorrect']), round(sl['incorrect'])];
    const acc = n > 0 ? 1 - wrong / n : 0;
    const accS = ns > 0 ? 1 - wrongS / ns : 0;
    const drop = (accS - acc) * 100;
    const p = n > 0 && ns > 0 ? accuracyWorsePValue(wrong, n, wrongS, ns) : 1;
    const numbers = `accuracy ${sig(acc * 100)}% on ${n} labelled canary predictions against stable's ${sig(accS * 100)}% on ${ns}: a drop of ${sig(drop)} points (limit ${gate.maxAccuracyDrop}), Fisher p = ${sig(p)}`;
    if (n > 0 && ns > 0 && drop > gate.maxAccuracyDrop && p < failLevel) {
      const r = result('fail', 'AccuracyDropped', `the canary is significantly less accurate: ${numbers}`, n, ns, drop);
      return { ...r, failure: gateFailure(name, 'AccuracyDropped', n, wrong, drop, gate.maxAccuracyDrop) };
    }
    if (n >= gate.minLabels && ns >= gate.minLabels && drop <= gate.maxAccuracyDrop) return result('pass', 'WithinBudget', `within the limit: ${numbers}`, n, ns, drop);
    if (n < gate.minLabels || ns < gate.minLabels) return waiting(result('inconclusive', 'WaitingForLabels', `waiting for labels (a pass needs ${gate.minLabels} from each): ${numbers}`, n, ns, drop));
    return result('inconclusive', 'NotEnoughData', `a drop beyond the limit that is not significant yet: ${numbers}`, n, ns, drop);
  }
  const mc = histogramMoments(bucketCounts(ce));
  const ms = histogramMoments(bucketCounts(se));
  if (mc.n + ms.n === 0) return waiting(result('inconclusive', 'WaitingForLabels', 'no labelled predictions in the window yet', 0, 0, 0, gate.maxErrorIncrease));
  const increase = ms.mean > 0 ? (mc.mean / ms.mean - 1) * 100 : mc.mean > 0 ? Infinity : 0;
  const p = welchGreaterPValue(mc, ms);
  const numbers = `mean absolute error ${sig(mc.mean)} on ${mc.n} labelled canary predictions against stable's ${sig(ms.mean)} on ${ms.n}: ${sig(increase)}% higher (limit ${gate.maxErrorIncrease}%), Welch p = ${sig(p)}`;
  if (mc.n >= 2 && ms.n >= 2 && increase > gate.maxErrorIncrease && p < failLevel) {
    const r = result('fail', 'ErrorIncreased', `the canary's error is significantly larger: ${numbers}`, mc.n, ms.n, increase, gate.maxErrorIncrease);
    return { ...r, failure: gateFailure(name, 'ErrorIncreased', mc.n, 0, increase, gate.maxErrorIncrease) };
  }
  if (mc.n >= gate.minLabels && ms.n >= gate.minLabels && increase <= gate.maxErrorIncrease) return result('pass', 'WithinBudget', `within the limit: ${numbers}`, mc.n, ms.n, increase, gate.maxErrorIncrease);
  if (mc.n < gate.minLabels || ms.n < gate.minLabels) return waiting(result('inconclusive', 'WaitingForLabels', `waiting for labels (a pass needs ${gate.minLabels} from each): ${numbers}`, mc.n, ms.n, increase, gate.maxErrorIncrease));
  return result('inconclusive', 'NotEnoughData', `an increase beyond the limit that is not significant yet: ${numbers}`, mc.n, ms.n, increase, gate.maxErrorIncrease);
}

function judgeAgreement(gate: AgreementGate, read: (role: Role, s: DistributionSeries) => Read, failLevel: number, passLevel: number): GateResult {
  const name = 'agreement';
  const result = (verdict: Verdict, reason: JudgementReason, message: string, n = 0, value = 0): GateResult => ({
    measurement: { name, samples: n, stableSamples: n, value, bound: gate.minAgreement, verdict, message: `${name}: ${message}` },
    reason,
    blocking: true,
  });
  const reads = [read('canary', 'comparisons'), read('canary', 'differences')];
  const errors = reads.flatMap((r) => (r.ok ? [] : [r.error]));
  if (errors.length > 0) return result('error', 'QueryError', errors.join('; '));
  const [counts, diffs] = reads.map((r) => (r.ok ? r.counts : {})) as [Record<string, number>, Record<string, number>];
  const c = (outcome: string) => Math.max(0, Math.round(counts[outcome] ?? 0));
  const canaryErrors = c('canary_error');
  let bad = SHADOW_BAD_OUTCOMES.reduce((s, o) => s + c(o), 0);
  let n = c('agree') + bad;
  let rule = 'classes, or regression values within float noise';
  // Regressors with a tolerance: rows within it agree, read from the difference histogram.
  const buckets = bucketCounts(diffs);
  const compared = buckets.get(Infinity) ?? 0;
  if (gate.tolerance !== undefined && compared > 0) {
    const within = Math.round(buckets.get(gate.tolerance) ?? 0);
    bad = Math.round(compared) - within + canaryErrors;
    n = Math.round(compared) + canaryErrors;
    rule = `values within ${gate.tolerance} of stable's`;
  }
  const others = `${c('stable_error')} stable errors and ${c('skipped')} skipped not counted`;
  if (n === 0) return result('inconclusive', 'NoData', `no mirrored rows compared with stable in the window yet (${others}); never a pass`);
  const budget = (100 - gate.minAgreement) / 100;
  const agreement = (1 - bad / n) * 100;
  // Confidence bounds of the agreement, from those of the disagreement share (Clopper-Pearson).
  const lo = (1 - upperBound(bad, n, passLevel)) * 100;
  const hi = (1 - lowerBound(bad, n, failLevel)) * 100;
  const numbers = `${sig(agreement)}% of ${n} mirrored rows agree with stable (${rule}; ${bad} disagree, ${canaryErrors} of them canary errors; ${others}), bounds ${sig(lo)}%–${sig(hi)}% (limit ${gate.minAgreement}%)`;
  if (lowerBoundAbove(bad, n, budget, failLevel)) {
    const r = result('fail', 'Disagrees', `the canary disagrees with stable on the same inputs significantly more than allowed: ${numbers}`, n, agreement);
    return { ...r, failure: gateFailure(name, 'Disagrees', n, bad, agreement, gate.minAgreement) };
  }
  if (n >= gate.minSamples && upperBoundAtMost(bad, n, budget, passLevel)) return result('pass', 'WithinBudget', `within the limit: ${numbers}`, n, agreement);
  const short = n < gate.minSamples ? ` (a pass needs ${gate.minSamples} compared rows)` : ' (the lower bound is still below the limit)';
  return result('inconclusive', 'NotEnoughData', `not enough evidence yet${short}: ${numbers}`, n, agreement);
}

/** The verdict of every configured gate at this look. */
export function judgeQuality(input: QualityJudgeInput): GateResult[] {
  const { quality } = input;
  if (!quality) return [];
  const byId = new Map(input.answers.map((a) => [a.id, a]));
  const read = (gate: GateName) => (role: Role, series: DistributionSeries): Read => {
    const request = input.requests.find((r) => r.gate === gate && r.role === role && r.series === series);
    if (!request) return { ok: false, error: `${role} ${gate} ${series} was not queried` };
    const answer = byId.get(request.id);
    if (!answer) return { ok: false, error: `query ${request.id} got no answer` };
    return answer.ok ? { ok: true, counts: answer.counts } : { ok: false, error: `query ${request.id} failed: ${answer.error}` };
  };
  const out: GateResult[] = [];
  const judged = new Set(gatesFor(quality, input.shadow ?? false));
  if (quality.predictions && judged.has('predictions')) out.push(judgePredictions(quality.predictions, read('predictions'), input.failLevel));
  if (quality.groundTruth && judged.has('groundTruth')) out.push(judgeGroundTruth(quality.groundTruth, read('groundTruth'), input.failLevel, input.countedForMs));
  if (quality.agreement && judged.has('agreement')) out.push(judgeAgreement(quality.agreement, read('agreement'), input.failLevel, input.passLevel ?? input.failLevel));
  return out;
}
