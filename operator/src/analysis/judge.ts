// The second pure half of an analysis round: raw counts in, a verdict out. Burn rates per window,
// the SRE workbook's multi-window pairs, exact confidence bounds with alpha spent over the looks of
// one canary, and the comparison with the stable revision. docs/analysis.md has the maths and why.
import { parseDuration } from '../api/parse.ts';
import type { AnalysisSpec, SloMeasurement, SloSpec, Verdict, WindowBurnRate } from '../api/types.ts';
import { sloIssues } from './plan.ts';
import { judgeQuality, qualityFailTests, type GateResult } from './quality.ts';
import { alphaAtLook, fisherGreaterPValue, lowerBound, lowerBoundAbove, upperBound, upperBoundAtMost } from './stats.ts';
import type { DistributionAnswer, DistributionRequest, Failure, Judgement, JudgementReason, MeasurementAnswer, MeasurementRequest, PairEvidence, Role, SloEvidence, WindowEvidence } from './types.ts';

/** Overall error probability over a canary's whole life, for each direction (false fail, false pass). */
export const DEFAULT_ALPHA = 0.05;

export interface JudgeInput {
  analysis: AnalysisSpec;
  requests: MeasurementRequest[];
  answers: MeasurementAnswer[];
  /**
   * 1-based index of this measurement in the canary's life: count every judge() call for the same
   * canary revision, across steps and operator restarts (persist it). Restarting the count at 1
   * spends the error budget again and voids the guarantee.
   */
  look: number;
  /** Overall false-fail and false-pass probability over the canary's life; default 0.05 (95%). */
  alpha?: number;
  /** The model-quality gates' queries and answers (analysis.quality), and how long the canary has counted. */
  gates?: { requests: DistributionRequest[]; answers: DistributionAnswer[]; countedForMs: number };
  /**
   * The canary is at a shadow step: it answers no client, so its SLOs are not judged (they would only
   * count no data) and the agreement gate alone decides.
   */
  shadow?: boolean;
}

/** The per-test levels used at one look. */
export interface Levels {
  /** Spent on this look: alpha · 6/(π² look²). */
  perLook: number;
  /** Each test that can fail the canary: perLook / (SLOs × pairs × (compareWithStable ? 2 : 1)). */
  fail: number;
  /**
   * Each test that can pass the canary: perLook / 2. A false pass needs every SLO and pair to pass,
   * but a pair passes on either of its two windows, so each window's test gets half the look's level.
   */
  pass: number;
}

export function levels(analysis: AnalysisSpec, look: number, alpha = DEFAULT_ALPHA): Levels {
  const perLook = alphaAtLook(alpha, look);
  const failTests = Math.max(1, analysis.slos.length * analysis.burnRateWindows.length * (analysis.compareWithStable ? 2 : 1) + qualityFailTests(analysis.quality));
  return { perLook, fail: perLook / failTests, pass: perLook / 2 };
}

/** The error budget as a bad ratio: 1 − objective/100. */
export const budgetOf = (objective: number): number => (100 - objective) / 100;

interface Counts {
  requests: number;
  bad: number;
}
type Read = { ok: true; counts: Counts; request: MeasurementRequest } | { ok: false; error: string } | { ok: 'waiting' };

/**
 * Counts from an answer. increase() extrapolates, so counts may be fractional: they are rounded
 * (bad = total − good, clamped to [0, total]). No total series = no requests; no good series with a
 * total = no good events (a canary failing every request has no success series to sum).
 */
function readCounts(request: MeasurementRequest, answer: MeasurementAnswer | undefined): Read {
  if (!answer) return { ok: false, error: `query ${request.id} got no answer` };
  if (!answer.ok) return { ok: false, error: `query ${request.id} failed: ${answer.error}` };
  const { good, total } = answer;
  for (const v of [good, total]) {
    if (v !== null && (!Number.isFinite(v) || v < 0)) return { ok: false, error: `query ${request.id} answered an invalid count (good ${good}, total ${total})` };
  }
  const requests = Math.round(total ?? 0);
  const bad = Math.min(requests, Math.max(0, Math.round((total ?? 0) - (good ?? 0))));
  return { ok: true, counts: { requests, bad }, request };
}

const sig = (x: number): string => {
  if (!Number.isFinite(x)) return String(x);
  if (x === 0) return '0';
  if (Math.abs(x) >= 100) return x.toFixed(0);
  return String(Number(x.toPrecision(3)));
};
const pct = (ratio: number): string => `${sig(ratio * 100)}%`;

function evidence(window: string, read: Extract<Read, { ok: true }>, budget: number, alphaFail: number, alphaPass: number): WindowEvidence {
  const { requests, bad } = read.counts;
  return {
    window,
    measuredWindow: read.request.window,
    requests,
    badEvents: bad,
    burnRate: requests > 0 ? bad / requests / budget : 0,
    burnRateLower: lowerBound(bad, requests, alphaFail) / budget,
    burnRateUpper: upperBound(bad, requests, alphaPass) / budget,
  };
}

function describe(e: WindowEvidence): string {
  const capped = e.measuredWindow !== e.window ? ` (capped at the canary's age: ${e.measuredWindow})` : '';
  return `${e.window}${capped}: ${counted(e)}`;
}

function counted(e: WindowEvidence): string {
  if (e.requests === 0) return 'no requests';
  return `${e.badEvents} bad of ${e.requests} (${pct(e.badEvents / e.requests)}), burn rate ${sig(e.burnRate)}× [bounds ${sig(e.burnRateLower)}×–${sig(e.burnRateUpper)}×]`;
}

/** Both windows of a pair; once when capping made them the same window. */
function describeBoth(windows: WindowEvidence[]): string {
  const [a, b] = windows;
  if (a && b && a.measuredWindow === b.measuredWindow) return `${a.window} and ${b.window} (both capped at the canary's age: ${a.measuredWindow}): ${counted(a)}`;
  return windows.map(describe).join('; ');
}

interface PairResult extends PairEvidence {
  message: string;
  errors: string[];
  failure?: Failure;
}

interface SloContext {
  slo: SloSpec;
  budget: number;
  levels: Levels;
  minRequests: number;
  read(role: Role, window: string): Read;
}

function judgePair(ctx: SloContext, pair: { short: string; long: string; threshold: number }, compare: boolean): PairResult {
  const { slo, budget } = ctx;
  const bound = Math.min(1, pair.threshold * budget);
  const base = { short: pair.short, long: pair.long, threshold: pair.threshold, canary: [] as WindowEvidence[] };
  const name = `${pair.short}/${pair.long}`;
  const windows = [pair.short, pair.long];

  const canaryReads = windows.map((w) => ctx.read('canary', w));
  if (canaryReads.some((r) => r.ok === 'waiting')) {
    return { ...base, verdict: 'inconclusive', reason: 'WaitingForData', errors: [], message: `${name}: waiting for data (the canary is younger than two scrapes)` };
  }
  const stableReads = compare ? windows.map((w) => ctx.read('stable', w)) : [];
  const errors = [...canaryReads, ...stableReads].flatMap((r) => (r.ok === false ? [r.error] : []));
  if (errors.length > 0) return { ...base, verdict: 'error', reason: 'QueryError', errors, message: `${name}: ${errors.join('; ')}` };

  const measure = (reads: Read[]) => {
    const good = reads.flatMap((r, i) => (r.ok === true ? [evidence(windows[i] ?? '', r, budget, ctx.levels.fail, ctx.levels.pass)] : []));
    return good.length === windows.length ? good : undefined;
  };
  const canary = measure(canaryReads) ?? [];
  const stable = measure(stableReads);
  const stableRevision = stableReads.flatMap((r) => (r.ok === true ? [r.request.revision] : []))[0] ?? '';
  const hasStable = stable !== undefined && stable.every((s) => s.requests > 0);
  const withStable = stable ? { stable } : {};
  const counts = (e: WindowEvidence) => [e.badEvents, e.requests] as const;

  // Strong evidence against the canary: both windows' lower bounds above threshold × budget. Order:
  // budget burning (and stable confidently is not) > worse than stable (also during a shared incident: a canary
  // far worse than an ailing stable is still to blame) > shared incident > pass.
  const burning = canary.every((e) => lowerBoundAbove(...counts(e), bound, ctx.levels.fail));
  // The stable revision would fail the same pair by the same rule: a shared incident.
  const stableBurning = hasStable && stable.every((e) => lowerBoundAbove(...counts(e), bound, ctx.levels.fail));
  // The stable revision is confidently within threshold × budget (an upper bound at most the line in
  // a window). Only then is a burning canary blamed on its own burn: when stable's counts cannot rule
  // out that it burns too (a shared incident that its few requests do not prove yet), the canary is
  // failed only if it is significantly worse than stable.
  const stableClear = !hasStable || stable.some((e) => upperBoundAtMost(...counts(e), bound, ctx.levels.pass));
  // Significantly worse than stable (Fisher, one-sided) and burning budget faster than 1×, in both windows.
  const pValues = hasStable ? canary.map((e, i) => fisherGreaterPValue(e.badEvents, e.requests, stable[i]?.badEvents ?? 0, stable[i]?.requests ?? 0)) : [];
  const worse = hasStable && canary.every((e, i) => (pValues[i] ?? 1) <= ctx.levels.fail && lowerBoundAbove(...counts(e), budget, ctx.levels.fail));
  // Pass: the pair's failure condition (both windows above the line) is confidently false, i.e. at
  // least one window has enough requests and its upper bound within threshold × budget. Asking it of
  // both would let the short window's few requests block every pass at low traffic, although the
  // long window alone already rules the failure out. No window may be confidently above the line
  // either: a canary whose last minutes burn is not passed on the strength of its older record.
  const passing =
    canary.some((e) => e.requests >= ctx.minRequests && upperBoundAtMost(...counts(e), bound, ctx.levels.pass)) &&
    !canary.some((e) => lowerBoundAbove(...counts(e), bound, ctx.levels.fail));

  const judged = { ...base, canary, ...withStable, ...(hasStable ? { worseThanStablePValues: pValues } : {}) };
  const [short, long] = canary as [WindowEvidence, WindowEvidence];
  const canaryText = describeBoth(canary);
  const stableText = stable ? `stable ${describeBoth(stable)}` : '';
  const burnRates: WindowBurnRate[] = canary.map((e) => ({ window: e.window, burnRate: e.burnRate }));
  const failure = (reason: JudgementReason, threshold: number): Failure => ({
    slo: slo.name,
    reason,
    short: pair.short,
    long: pair.long,
    requests: long.requests,
    badEvents: long.badEvents,
    burnRates,
    lowerBound: Math.min(short.burnRateLower, long.burnRateLower),
    threshold,
  });

  if (burning && stableClear) {
    return {
      ...judged,
      verdict: 'fail',
      reason: 'BudgetBurning',
      errors: [],
      failure: failure('BudgetBurning', pair.threshold),
      message: `${name}: burning the error budget faster than ${pair.threshold}× in both windows (lower bounds above ${pair.threshold}×): ${canaryText}${stableText ? `; ${stableText}` : ''}`,
    };
  }
  if (worse) {
    const f = failure('WorseThanStable', 1);
    const [ss, sl] = stable as [WindowEvidence, WindowEvidence];
    f.stable = { revision: stableRevision, requests: sl.requests, badEvents: sl.badEvents, burnRates: [ss, sl].map((e) => ({ window: e.window, burnRate: e.burnRate })) };
    return {
      ...judged,
      verdict: 'fail',
      reason: 'WorseThanStable',
      errors: [],
      failure: f,
      message: `${name}: the canary is significantly worse than stable (Fisher one-sided p = ${pValues.map(sig).join(', ')}) and burns its budget faster than 1× in both windows: canary ${canaryText}; ${stableText}`,
    };
  }
  if (burning && stableBurning) {
    return {
      ...judged,
      verdict: 'inconclusive',
      reason: 'SharedIncident',
      errors: [],
      message: `${name}: the stable revision burns faster than ${pair.threshold}× too, a shared incident (not blamed on the canary): canary ${canaryText}; ${stableText}`,
    };
  }
  if (burning) {
    // Stable is neither clear nor proven burning, and the canary is not significantly worse.
    const stableAbove = (stable ?? []).every((e) => e.burnRate > pair.threshold);
    return {
      ...judged,
      verdict: 'inconclusive',
      reason: stableAbove ? 'SharedIncident' : 'NotEnoughData',
      errors: [],
      message: `${name}: the canary burns faster than ${pair.threshold}×, but the stable revision's counts cannot rule out that it burns ${stableAbove ? 'as fast (likely a shared incident)' : 'too'}, and the canary is not significantly worse than stable (Fisher one-sided p = ${pValues.map(sig).join(', ')}): canary ${canaryText}; ${stableText}`,
    };
  }
  if (passing) {
    return { ...judged, verdict: 'pass', reason: 'WithinBudget', errors: [], message: `${name}: within ${pair.threshold}× (an upper bound at most ${pair.threshold}× with ≥ ${ctx.minRequests} requests): ${canaryText}` };
  }
  if (stableBurning) {
    return { ...judged, verdict: 'inconclusive', reason: 'SharedIncident', errors: [], message: `${name}: the stable revision burns faster than ${pair.threshold}×, a shared incident; the canary is not judged on it: canary ${canaryText}; ${stableText}` };
  }
  if (long.requests === 0) return { ...judged, verdict: 'inconclusive', reason: 'NoData', errors: [], message: `${name}: no canary requests in ${long.measuredWindow}` };
  return {
    ...judged,
    verdict: 'inconclusive',
    reason: 'NotEnoughData',
    errors: [],
    message: `${name}: not enough evidence yet (a pass needs a window with ≥ ${ctx.minRequests} requests and its upper bound at most ${pair.threshold}×; a fail lower bounds above ${pair.threshold}×): ${canaryText}`,
  };
}

interface SloResult {
  evidence: SloEvidence;
  measurement: SloMeasurement;
  failure?: Failure;
}

const FAIL_ORDER: JudgementReason[] = ['BudgetBurning', 'WorseThanStable', 'Disagrees', 'AccuracyDropped', 'ErrorIncreased', 'PredictionsShifted', 'NoData'];
const INCONCLUSIVE_ORDER: JudgementReason[] = ['SharedIncident', 'NoData', 'WaitingForData', 'WaitingForLabels', 'NotEnoughData'];
const rank = (order: JudgementReason[], r: JudgementReason) => (order.includes(r) ? order.indexOf(r) : order.length);

function judgeSlo(input: JudgeInput, slo: SloSpec, index: number, levels: Levels): SloResult {
  const { analysis, requests, answers } = input;
  const budget = budgetOf(slo.objective);
  const answerById = new Map(answers.map((a) => [a.id, a]));
  const findRequest = (role: Role, window: string) => requests.find((r) => r.role === role && r.slo === slo.name && r.specWindows.includes(window));
  const ctx: SloContext = {
    slo,
    budget,
    levels,
    minRequests: analysis.minRequests,
    read: (role, window) => {
      const request = findRequest(role, window);
      return request ? readCounts(request, answerById.get(request.id)) : { ok: 'waiting' };
    },
  };
  const result = (verdict: Verdict, reason: JudgementReason, message: string, pairs: PairResult[], failure?: Failure): SloResult => {
    // Status keeps the canary's counts in its longest measured window (it contains all the others)
    // and the burn rate of every spec window that had requests.
    const windows = new Map<string, WindowEvidence>();
    for (const p of pairs) for (const e of p.canary) windows.set(e.window, e);
    const longest = [...windows.values()].sort((a, b) => (parseDuration(b.measuredWindow) ?? 0) - (parseDuration(a.measuredWindow) ?? 0))[0];
    const measurement: SloMeasurement = {
      name: slo.name,
      requests: longest?.requests ?? 0,
      badEvents: longest?.badEvents ?? 0,
      burnRates: [...windows.values()].filter((e) => e.requests > 0).map((e) => ({ window: e.window, burnRate: e.burnRate })),
      verdict,
      message: `${slo.name}: ${message}`,
    };
    const pairEvidence: PairEvidence[] = pairs.map(({ message: _m, errors: _e, failure: _f, ...p }) => p);
    return { evidence: { slo: slo.name, verdict, reason, message: measurement.message ?? '', pairs: pairEvidence }, measurement, ...(failure ? { failure } : {}) };
  };

  const issues = [...sloIssues(slo, index), ...analysis.burnRateWindows.flatMap((w, i) => [w.short, w.long].filter((d) => parseDuration(d) === undefined).map((d) => `spec.rollout.analysis.burnRateWindows[${i}]: ${JSON.stringify(d)} is not a duration`))];
  if (issues.length > 0) {
    const text = issues.map((i) => (typeof i === 'string' ? i : i.message)).join('; ');
    return result('error', 'QueryError', `not measured, the spec is invalid: ${text}`, []);
  }

  const compare = analysis.compareWithStable && requests.some((r) => r.role === 'stable' && r.slo === slo.name);
  const pairs = analysis.burnRateWindows.map((w) => judgePair(ctx, w, compare));
  const objective = `objective ${slo.objective}%, budget ${pct(budget)}`;

  // A fail on strong evidence stands even when other pairs' queries failed: its own numbers are
  // complete, and waiting would only keep a bad canary in traffic.
  const fails = pairs.filter((p) => p.verdict === 'fail').sort((a, b) => rank(FAIL_ORDER, a.reason) - rank(FAIL_ORDER, b.reason));
  const fail = fails[0];
  if (fail) return result('fail', fail.reason, `${fail.message} (${objective})`, pairs, fail.failure);
  const errors = pairs.filter((p) => p.verdict === 'error');
  if (errors.length > 0) return result('error', 'QueryError', [...new Set(errors.flatMap((p) => p.errors))].join('; '), pairs);
  if (pairs.every((p) => p.verdict === 'pass')) return result('pass', 'WithinBudget', `within budget: ${pairs.map((p) => p.message).join(' | ')} (${objective})`, pairs);

  // No data: the canary had no requests in any measured window (the longest contains all others).
  const measured = pairs.flatMap((p) => p.canary);
  if (measured.length > 0 && measured.every((e) => e.requests === 0)) {
    const longestPair = [...pairs].sort((a, b) => (parseDuration(b.long) ?? 0) - (parseDuration(a.long) ?? 0))[0] ?? pairs[0];
    const text = `no data: the canary had no requests in ${measured.map((e) => e.measuredWindow).filter((w, i, all) => all.indexOf(w) === i).join(', ')}`;
    if (analysis.noDataPolicy === 'Fail') {
      const failure: Failure | undefined = longestPair && {
        slo: slo.name,
        reason: 'NoData',
        short: longestPair.short,
        long: longestPair.long,
        requests: 0,
        badEvents: 0,
        burnRates: [],
        lowerBound: 0,
        threshold: longestPair.threshold,
      };
      return result('fail', 'NoData', `${text}; noDataPolicy: Fail`, pairs, failure);
    }
    return result('inconclusive', 'NoData', `${text}; never a pass, waiting for traffic`, pairs);
  }
  const open = pairs.filter((p) => p.verdict !== 'pass').sort((a, b) => rank(INCONCLUSIVE_ORDER, a.reason) - rank(INCONCLUSIVE_ORDER, b.reason));
  const first = open[0];
  const reason = first && first.reason !== 'NoData' ? first.reason : 'NotEnoughData';
  return result('inconclusive', reason, `${open.map((p) => p.message).join(' | ')} (${objective})`, pairs);
}

/**
 * Judges one look at the canary. Verdicts, most severe first: fail (strong evidence in some SLO:
 * BudgetBurning, WorseThanStable; or NoData under noDataPolicy Fail) > error (a query failed and no
 * SLO fails) > inconclusive (SharedIncident > NoData > WaitingForData > NotEnoughData) > pass (every
 * SLO and every pair within budget with at least minRequests requests in each window).
 */
export function judge(input: JudgeInput): Judgement {
  const { analysis } = input;
  const lv = levels(analysis, input.look, input.alpha ?? DEFAULT_ALPHA);
  const shadow = input.shadow ?? false;
  const results = shadow ? [] : analysis.slos.map((slo, i) => judgeSlo(input, slo, i, lv));
  const gates: GateResult[] = judgeQuality({ quality: analysis.quality, requests: input.gates?.requests ?? [], answers: input.gates?.answers ?? [], failLevel: lv.fail, passLevel: lv.pass, countedForMs: input.gates?.countedForMs ?? 0, shadow });
  const out = (verdict: Verdict, reason: JudgementReason, message: string, failure?: Failure): Judgement => ({
    verdict,
    reason,
    message,
    slos: results.map((r) => r.measurement),
    evidence: results.map((r) => r.evidence),
    gates: gates.map((g) => g.measurement),
    ...(failure ? { failure } : {}),
  });
  // SLOs and gates alike: what each concluded, for the message of the one that decides.
  const parts = [
    ...results.map((r) => ({ name: r.evidence.slo, verdict: r.evidence.verdict, reason: r.evidence.reason, message: r.evidence.message, failure: r.failure, blocking: true })),
    ...gates.map((g) => ({ name: g.measurement.name, verdict: g.measurement.verdict, reason: g.reason, message: g.measurement.message, failure: g.failure, blocking: g.blocking })),
  ];
  type Part = (typeof parts)[number];
  const withOthers = (chosen: Part) => {
    const rest = parts
      .filter((p) => p !== chosen)
      .map((p) => `${p.name}: ${p.verdict} (${p.reason})`)
      .join(', ');
    return `${chosen.message}${rest ? ` [others: ${rest}]` : ''}`;
  };

  if (results.length === 0 && !shadow) return out('inconclusive', 'NotEnoughData', 'no SLOs to measure');
  if (parts.length === 0) return out('inconclusive', 'NotEnoughData', 'a shadow step without an agreement gate: nothing to judge');
  const fail = parts.filter((p) => p.verdict === 'fail').sort((a, b) => rank(FAIL_ORDER, a.reason) - rank(FAIL_ORDER, b.reason))[0];
  if (fail) return out('fail', fail.reason, withOthers(fail), fail.failure);
  const errors = parts.filter((p) => p.verdict === 'error' && p.blocking);
  if (errors.length > 0) return out('error', 'QueryError', errors.map((p) => p.message).join(' | '));
  const first = parts.filter((p) => p.verdict === 'inconclusive' && p.blocking).sort((a, b) => rank(INCONCLUSIVE_ORDER, a.reason) - rank(INCONCLUSIVE_ORDER, b.reason))[0];
  if (first) return out('inconclusive', first.reason, withOthers(first));
  return out('pass', 'WithinBudget', parts.map((p) => p.message).join(' | '));
}
