// Pure half of `npm run bench:rollout`: the seeded corpus, the rollout spec every scenario uses, the
// statistical limits the measured times are divided by, and the per-class summary. No I/O, no clock.
import { createHash } from 'node:crypto';
import { percentile } from '../e2e/lab/loadgen/stats.ts';
import { judge, planMeasurements, requestsToDecide } from '../operator/src/analysis/index.ts';
import type { MeasurementAnswer } from '../operator/src/analysis/index.ts';
import { parseOnnxModel } from '../operator/src/api/parse.ts';
import type { AnalysisSpec } from '../operator/src/api/types.ts';

/** Traffic of every scenario with load: total requests per second through the gateway, and the canary's step weight. */
export const TRAFFIC = { rate: 20, weight: 20 } as const;
export const canaryRate = (rate: number = TRAFFIC.rate, weight: number = TRAFFIC.weight): number =>
  (rate * weight) / 100;

/** The canary models of the corpus (stable is always logreg). */
export type CanaryModel = 'classifier' | 'logreg_faulty' | 'logreg_slow' | 'logreg_slow2x';

export type Outcome = 'promoted' | 'rolledBack' | 'paused' | 'undecided' | 'failed';

export interface ClassDef {
  id: string;
  /** Short prefix of the model names. */
  tag: string;
  canary: CanaryModel;
  /** Requests per second through the gateway; 0: no load at all. */
  rate: number;
  /** Share of requests poisoned (the faulty canary answers them 500). */
  poison: number;
  /** Runs in the full corpus and with --quick. */
  runs: number;
  quickRuns: number;
  /** What a correct operator does; undefined: reported as measured (no target). */
  expect?: 'promoted' | 'rolledBack' | 'notPromoted';
  /** The SLO the fault is about, for the limit. */
  slo: 'availability' | 'latency' | undefined;
  /** Prometheus is stopped once the canary holds its step. */
  outage?: boolean;
}

export const CLASSES: readonly ClassDef[] = [
  {
    id: 'healthy',
    tag: 'ok',
    canary: 'classifier',
    rate: 20,
    poison: 0,
    runs: 6,
    quickRuns: 1,
    expect: 'promoted',
    slo: undefined,
  },
  {
    id: 'errors 0.5%',
    tag: 'e05',
    canary: 'logreg_faulty',
    rate: 20,
    poison: 0.005,
    runs: 4,
    quickRuns: 0,
    slo: 'availability',
  },
  {
    id: 'errors 1%',
    tag: 'e1',
    canary: 'logreg_faulty',
    rate: 20,
    poison: 0.01,
    runs: 4,
    quickRuns: 0,
    slo: 'availability',
  },
  {
    id: 'errors 2%',
    tag: 'e2',
    canary: 'logreg_faulty',
    rate: 20,
    poison: 0.02,
    runs: 4,
    quickRuns: 1,
    expect: 'rolledBack',
    slo: 'availability',
  },
  {
    id: 'errors 5%',
    tag: 'e5',
    canary: 'logreg_faulty',
    rate: 20,
    poison: 0.05,
    runs: 4,
    quickRuns: 1,
    expect: 'rolledBack',
    slo: 'availability',
  },
  {
    id: 'latency 2x',
    tag: 'l2',
    canary: 'logreg_slow2x',
    rate: 20,
    poison: 0,
    runs: 3,
    quickRuns: 0,
    slo: 'latency',
  },
  {
    id: 'latency 10x',
    tag: 'l10',
    canary: 'logreg_slow',
    rate: 20,
    poison: 0,
    runs: 4,
    quickRuns: 1,
    expect: 'rolledBack',
    slo: 'latency',
  },
  {
    id: 'no data',
    tag: 'nd',
    canary: 'classifier',
    rate: 0,
    poison: 0,
    runs: 2,
    quickRuns: 1,
    expect: 'notPromoted',
    slo: undefined,
  },
  {
    id: 'prometheus outage',
    tag: 'po',
    canary: 'classifier',
    rate: 20,
    poison: 0,
    runs: 3,
    quickRuns: 1,
    expect: 'notPromoted',
    slo: undefined,
    outage: true,
  },
];

/**
 * spec.rollout of every scenario: one step at 20% for at least a minute, availability at 99.9% and
 * latency at 99% under 5 ms (a bucket bound), the SRE workbook's fast-burn pair (5m/1h at 14.4×;
 * capped at the canary's age, so in a run of minutes both windows are its whole life), compared with
 * stable, a look every 10 s. maxInconclusive 30: a canary without a verdict pauses after 300 s, later
 * than the ~160 s a healthy canary needs at 4 req/s (docs/rollout.md, "Rollout benchmark").
 */
export function rolloutSpec(): Record<string, unknown> {
  return {
    steps: [{ weight: TRAFFIC.weight, pause: '1m' }],
    analysis: {
      interval: '10s',
      // A canary's first seconds in a fresh container are slower than the warm stable's (a healthy
      // canary was failed on the 5 ms latency SLO at its first look in the image-based lab);
      // docs/analysis.md recommends a few scrape intervals for tight latency thresholds.
      initialDelay: '10s',
      slos: [
        { name: 'availability', builtin: 'availability', objective: 99.9 },
        { name: 'latency', builtin: 'latency', objective: 99, latencyThresholdSeconds: 0.005 },
      ],
      burnRateWindows: [{ short: '5m', long: '1h', threshold: 14.4 }],
      minRequests: 100,
      compareWithStable: true,
      maxInconclusive: 30,
      maxErrors: 3,
    },
    progressDeadline: '3m',
    scaleDownDelay: '5s',
  };
}

/** rolloutSpec() as the operator parses it (every default applied). */
export function benchAnalysis(): AnalysisSpec {
  const model = parseOnnxModel({
    apiVersion: 'serving.onnxop.io/v1alpha1',
    kind: 'OnnxModel',
    metadata: { name: 'bench', namespace: 'bench', uid: 'bench' },
    spec: {
      model: { uri: 'https://models.example.com/m.onnx', digest: `sha256:${'0'.repeat(64)}` },
      rollout: rolloutSpec(),
    },
  });
  if (!model.spec.rollout.analysis) throw new Error('rolloutSpec() has no analysis');
  return model.spec.rollout.analysis;
}

/** A number in [0, 1) from the seed and a key: the same on every machine and run. */
export function seeded(seed: number, key: string): number {
  return createHash('sha256').update(`${seed}:${key}`).digest().readUInt32BE(0) / 2 ** 32;
}

export interface RunDef {
  /** The OnnxModel's name: the class tag and the run's number in its class. */
  name: string;
  cls: ClassDef;
  /** The request's feature row, drawn from the seed (iris-like ranges, one decimal). */
  features: number[];
}

/**
 * The corpus: every class's runs, the order of the runs without an outage shuffled by the seed (so
 * classes share the machine's ups and downs), the outage runs last (they stop Prometheus together).
 */
export function corpus(seed: number, quick: boolean, only?: readonly string[]): RunDef[] {
  const runs: RunDef[] = [];
  for (const cls of CLASSES) {
    if (only && !only.includes(cls.tag)) continue;
    for (let i = 1; i <= (quick ? cls.quickRuns : cls.runs); i++) {
      const name = `${cls.tag}-${i}`;
      const r = (k: number) => seeded(seed, `${name}/${k}`);
      const features = [4.3 + 3.6 * r(0), 2 + 2.4 * r(1), 1 + 5.9 * r(2), 0.1 + 2.4 * r(3)].map(
        (x) => Math.round(x * 10) / 10,
      );
      runs.push({ name, cls, features });
    }
  }
  const shuffled = runs.filter((r) => !r.cls.outage);
  for (let i = shuffled.length - 1; i > 0; i--) {
    const j = Math.floor(seeded(seed, `order/${i}`) * (i + 1));
    [shuffled[i], shuffled[j]] = [shuffled[j] as RunDef, shuffled[i] as RunDef];
  }
  return [...shuffled, ...runs.filter((r) => r.cls.outage)];
}

/** Bad events / requests of one revision over the canary's life, per SLO, as Prometheus counted them. */
export type Ratios = Partial<Record<'availability' | 'latency', { requests: number; bad: number }>>;

export interface RunResult {
  name: string;
  cls: string;
  outcome: Outcome;
  /** lastRollback.reason, the pause reason, or why the run failed. */
  reason?: string;
  /** Seconds from the canary's first traffic (route weight > 0) to all traffic on stable (rollbacks). */
  faultToStable?: number;
  /** Seconds from the canary's first traffic to all traffic on the canary (promotions). */
  faultToPromoted?: number;
  /** Seconds from the canary's first traffic to the pause. */
  faultToPaused?: number;
  /** Outage runs: seconds from stopping Prometheus to all traffic on stable. */
  outageToStable?: number;
  looks?: number;
  lastAnalysis?: { verdict: string; reason?: string; message?: string };
  lastRollback?: Record<string, unknown>;
  load?: { sent: number; seconds: number; rate: number; canary?: RevisionLoad; stable?: RevisionLoad };
  /** Prometheus' counts over the canary's life. */
  canaryCounts?: Ratios;
  stableCounts?: Ratios;
  /** Other operators with the bench's instance id (they would reconcile this run's model too) seen during the run. */
  foreignOperators?: string[];
}

export interface RevisionLoad {
  requests: number;
  serverErrors: number;
  poisoned: number;
  p50Ms: number;
  p99Ms: number;
}

export interface Limit {
  slo: string;
  badRatio: number;
  /** The line the test separates the canary from: threshold × budget. */
  line: number;
  decision: 'fail' | 'pass' | 'undecidable';
  requests: number;
  /** requests ÷ the canary's request rate (rate × weight). */
  seconds: number;
}

/**
 * requestsToDecide (docs/analysis.md, fixed-sample α = 0.05) for a bad ratio against a burn-rate
 * threshold of an SLO, in requests and in seconds at the canary's request rate.
 */
export function limitFor(
  slo: string,
  badRatio: number,
  objective: number,
  threshold: number,
  rate = canaryRate(),
): Limit {
  const d = requestsToDecide({ badRatio, objective, threshold });
  return {
    slo,
    badRatio,
    line: threshold * ((100 - objective) / 100),
    decision: d.decision,
    requests: d.requests,
    seconds: d.requests / rate,
  };
}

export interface ClassLimits {
  /** Against the burn-rate pair's line (14.4 × budget): what the SLO itself asks. */
  line: Limit[];
  /** Against 1 × budget: the least a rollback for burning budget needs (the worse-than-stable route's floor). */
  budget: Limit[];
  /**
   * The reference our time is divided by: for a canary that should fail, the fastest fail over both
   * lines and every SLO; for one that should pass, the slowest SLO's pass against the line.
   */
  reference?: Limit;
}

/** The limits for canary bad ratios per SLO, under the bench's analysis. */
export function classLimits(
  ratios: Partial<Record<string, number>>,
  analysis: AnalysisSpec = benchAnalysis(),
  rate = canaryRate(),
): ClassLimits {
  const threshold = analysis.burnRateWindows[0]?.threshold ?? 14.4;
  const line: Limit[] = [];
  const budget: Limit[] = [];
  for (const slo of analysis.slos) {
    const ratio = ratios[slo.name];
    if (ratio === undefined) continue;
    line.push(limitFor(slo.name, ratio, slo.objective, threshold, rate));
    budget.push(limitFor(slo.name, ratio, slo.objective, 1, rate));
  }
  const fails = [...line, ...budget]
    .filter((l) => l.decision === 'fail')
    .sort((a, b) => a.requests - b.requests);
  const passes = line.filter((l) => l.decision === 'pass').sort((a, b) => b.requests - a.requests);
  const reference = fails[0] ?? (passes.length === line.length ? passes[0] : undefined);
  return { line, budget, ...(reference ? { reference } : {}) };
}

export interface Replay {
  verdict: 'fail' | 'pass' | 'none';
  reason?: string;
  look?: number;
  /** Seconds after the step began (the first look is one interval in). */
  seconds: number;
}

/**
 * The judge itself on expected counts: every interval, planMeasurements() and judge() over windows
 * holding exactly rate × window requests with the given bad ratios (fractional counts, as increase()
 * gives). What the statistics alone need, without scrape, reconcile or route delays.
 */
export function replayExpected(o: {
  analysis?: AnalysisSpec;
  canary: Partial<Record<string, number>>;
  stable: Partial<Record<string, number>>;
  rate?: number;
  weight?: number;
  maxSeconds: number;
}): Replay {
  const analysis = o.analysis ?? benchAnalysis();
  const rate = o.rate ?? TRAFFIC.rate;
  const weight = o.weight ?? TRAFFIC.weight;
  const intervalSeconds = parseSeconds(analysis.interval);
  const start = Date.parse('2026-01-01T00:00:00Z');
  for (let look = 1; look * intervalSeconds <= o.maxSeconds; look++) {
    const now = new Date(start + look * intervalSeconds * 1000);
    const plan = planMeasurements({
      analysis,
      namespace: 'bench',
      servedModelName: 'm',
      canary: { revision: 'c', since: new Date(start) },
      stable: { revision: 's' },
      now,
      scrapeIntervalSeconds: 2,
    });
    const answers: MeasurementAnswer[] = plan.requests.map((r) => {
      const share = r.role === 'canary' ? weight / 100 : 1 - weight / 100;
      const total = rate * share * r.windowSeconds;
      const bad = total * ((r.role === 'canary' ? o.canary : o.stable)[r.slo] ?? 0);
      return { id: r.id, ok: true, good: total - bad, total };
    });
    const j = judge({ analysis, requests: plan.requests, answers, look });
    if (j.verdict === 'fail' || j.verdict === 'pass')
      return { verdict: j.verdict, reason: j.reason, look, seconds: look * intervalSeconds };
  }
  return { verdict: 'none', seconds: o.maxSeconds };
}

/** '10s', '2m', '1h' → seconds (the bench's own spec uses no other form). */
export function parseSeconds(d: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(d);
  if (!m) throw new Error(`not a duration: ${d}`);
  return Number(m[1]) * { ms: 0.001, s: 1, m: 60, h: 3600 }[m[2] as 'ms' | 's' | 'm' | 'h'];
}

export interface Spread {
  n: number;
  median?: number;
  p90?: number;
}

/** Median and p90 (nearest rank), rounded to 0.1. */
export function spread(values: readonly (number | undefined)[]): Spread {
  const v = values
    .filter((x): x is number => typeof x === 'number' && Number.isFinite(x))
    .sort((a, b) => a - b);
  if (v.length === 0) return { n: 0 };
  const r = (x: number) => Math.round(x * 10) / 10;
  return { n: v.length, median: r(percentile(v, 50)), p90: r(percentile(v, 90)) };
}

const ratioOf = (c: { requests: number; bad: number } | undefined): number | undefined =>
  c && c.requests > 0 ? c.bad / c.requests : undefined;

export interface ClassSummary {
  cls: string;
  /** The SLO the class's fault is about (undefined: healthy, no data, outage). */
  faultSlo?: string;
  runs: number;
  promoted: number;
  rolledBack: number;
  paused: number;
  undecided: number;
  failed: number;
  reasons: Record<string, number>;
  /** Rolled-back runs: fault start → all traffic on stable, seconds. */
  faultToStable: Spread;
  faultToPromoted: Spread;
  faultToPaused: Spread;
  outageToStable: Spread;
  /**
   * The bad ratios the limits and the replay use: availability, the poisoned share (0 otherwise);
   * latency, the share slower than the threshold that Prometheus counted over the canary's (and the
   * stable revision's) life in the runs, median over runs — what the judge saw; the fault model's
   * share at steady state on loopback (`steady`) only when no run has counts.
   */
  canaryBadRatio: Partial<Record<string, number>>;
  stableBadRatio: Partial<Record<string, number>>;
  /** The canary's bad ratios as Prometheus counted them over its life in the runs (median over runs). */
  measuredCanaryBadRatio: Partial<Record<string, number>>;
  /** Rollbacks by the SLO that failed (a healthy-latency canary failed on latency: its first seconds were slow). */
  rolledBackBySlo: Record<string, number>;
  limits: ClassLimits;
  /** Our median time ÷ the reference limit (rollbacks for a fault class, promotions for healthy). */
  timeOverLimit?: number;
  replay: Replay;
  /** Runs during which another operator with the bench's instance id was running. */
  interfered: number;
}

/** Median of the measured ratio over runs, per SLO. */
function medianRatio(
  runs: readonly RunResult[],
  which: 'canaryCounts' | 'stableCounts',
  slo: 'availability' | 'latency',
): number | undefined {
  const v = runs
    .map((r) => ratioOf(r[which]?.[slo]))
    .filter((x): x is number => x !== undefined)
    .sort((a, b) => a - b);
  return v.length ? percentile(v, 50) : undefined;
}

/**
 * One class's counts, times, limits and replay. `steady`: each model's share of requests slower
 * than the latency threshold at steady state (logreg is the stable revision).
 */
export function summarize(
  cls: ClassDef,
  runs: readonly RunResult[],
  horizonSeconds: number,
  steady?: Partial<Record<string, number>>,
): ClassSummary {
  const count = (o: Outcome) => runs.filter((r) => r.outcome === o).length;
  const reasons: Record<string, number> = {};
  for (const r of runs) {
    const key = `${r.outcome}${r.reason ? `:${r.reason}` : ''}`;
    reasons[key] = (reasons[key] ?? 0) + 1;
  }
  const canaryBadRatio: Partial<Record<string, number>> = {};
  const stableBadRatio: Partial<Record<string, number>> = {};
  const measuredCanaryBadRatio: Partial<Record<string, number>> = {};
  // The fault is the outage, or there is no traffic: no bad ratio to decide on.
  if (cls.rate > 0 && !cls.outage) {
    canaryBadRatio.availability = cls.poison;
    stableBadRatio.availability = 0;
    for (const slo of ['availability', 'latency'] as const) {
      const m = medianRatio(runs, 'canaryCounts', slo);
      if (m !== undefined) measuredCanaryBadRatio[slo] = Math.round(m * 10000) / 10000;
    }
    const canaryLat = measuredCanaryBadRatio.latency ?? steady?.[cls.canary];
    if (canaryLat !== undefined) canaryBadRatio.latency = canaryLat;
    const stableLat = medianRatio(runs, 'stableCounts', 'latency') ?? steady?.logreg;
    if (stableLat !== undefined) stableBadRatio.latency = Math.round(stableLat * 10000) / 10000;
  }
  const rolledBackBySlo: Record<string, number> = {};
  for (const r of runs) {
    const slo = r.outcome === 'rolledBack' ? r.lastRollback?.['slo'] : undefined;
    if (typeof slo === 'string') rolledBackBySlo[slo] = (rolledBackBySlo[slo] ?? 0) + 1;
  }
  const limits = classLimits(canaryBadRatio);
  const faultToStable = spread(runs.map((r) => r.faultToStable));
  const faultToPromoted = spread(runs.map((r) => r.faultToPromoted));
  const ours = limits.reference?.decision === 'pass' ? faultToPromoted.median : faultToStable.median;
  const ref = limits.reference?.seconds;
  const replay =
    cls.rate > 0 && !cls.outage
      ? replayExpected({ canary: canaryBadRatio, stable: stableBadRatio, maxSeconds: horizonSeconds })
      : { verdict: 'none' as const, seconds: horizonSeconds };
  return {
    cls: cls.id,
    ...(cls.slo ? { faultSlo: cls.slo } : {}),
    runs: runs.length,
    promoted: count('promoted'),
    rolledBack: count('rolledBack'),
    paused: count('paused'),
    undecided: count('undecided'),
    failed: count('failed'),
    reasons,
    faultToStable,
    faultToPromoted,
    faultToPaused: spread(runs.map((r) => r.faultToPaused)),
    outageToStable: spread(runs.map((r) => r.outageToStable)),
    canaryBadRatio,
    stableBadRatio,
    measuredCanaryBadRatio,
    rolledBackBySlo,
    limits,
    ...(ours !== undefined && ref !== undefined && ref > 0 && Number.isFinite(ref)
      ? { timeOverLimit: Math.round((ours / ref) * 10) / 10 }
      : {}),
    replay,
    interfered: runs.filter((r) => (r.foreignOperators?.length ?? 0) > 0).length,
  };
}

export interface Target {
  target: string;
  met: boolean;
  detail: string;
}

/** The issue's targets, judged on the summaries (a class missing from the run is not met). */
export function targets(summaries: readonly ClassSummary[]): Target[] {
  const by = (id: string) => summaries.find((s) => s.cls === id);
  const out: Target[] = [];
  const healthy = by('healthy');
  out.push({
    target: '0 false rollbacks of healthy canaries',
    met: !!healthy && healthy.rolledBack === 0,
    detail: healthy ? `${healthy.rolledBack} of ${healthy.runs} healthy canaries rolled back` : 'not run',
  });
  for (const id of ['errors 2%', 'errors 5%', 'latency 10x']) {
    const s = by(id);
    out.push({
      target: `every ${id} regression rolled back before promotion`,
      met: !!s && s.runs > 0 && s.rolledBack === s.runs,
      detail: s
        ? `${s.rolledBack} of ${s.runs} rolled back, ${s.promoted} promoted, ${s.paused} paused, ${s.undecided + s.failed} other`
        : 'not run',
    });
  }
  for (const id of ['errors 5%', 'latency 10x']) {
    const s = by(id);
    const m = s?.faultToStable.median;
    out.push({
      target: `median fault → stable ≤ 45 s for ${id}`,
      met: m !== undefined && m <= 45,
      detail: m !== undefined ? `median ${m} s, p90 ${s?.faultToStable.p90} s` : 'no rollback measured',
    });
  }
  const quiet = ['no data', 'prometheus outage'].map(by).filter((s): s is ClassSummary => !!s);
  const promotedQuiet = quiet.reduce((n, s) => n + s.promoted, 0);
  out.push({
    target: '0 promotions without data',
    met: quiet.length > 0 && promotedQuiet === 0,
    detail: quiet.map((s) => `${s.cls}: ${s.promoted} of ${s.runs} promoted`).join('; ') || 'not run',
  });
  return out;
}

export interface CostInput {
  models: number;
  seconds: number;
  queries: number;
  measurements: number;
  cpuSeconds: number;
  intervalSeconds: number;
  /** SLOs × distinct windows queried × revisions (canary and stable): measurement requests per look at most. */
  requestsPerLook: number;
  /**
   * Measurements that may have sent their queries but not yet counted their verdict when a counter
   * was read (the operator's reconcile concurrency): the slack of the query bound.
   */
  inFlight: number;
}

export interface Cost {
  models: number;
  seconds: number;
  prometheusQueriesPerSecond: number;
  measurementsPerSecond: number;
  /** PromQL queries per measurement (a request is a good/total pair): at most 2 × requestsPerLook. */
  queriesPerMeasurement: number;
  queryBoundPerMeasurement: number;
  /** Measurements per model per interval: at most 1 (plus rounding at the edges of the window). */
  measurementsPerModelPerInterval: number;
  withinBound: boolean;
  operatorCpuCores: number;
}

export function cost(c: CostInput): Cost {
  const r2 = (x: number) => Math.round(x * 100) / 100;
  const perLook = c.measurements > 0 ? c.queries / c.measurements : 0;
  const perInterval = c.measurements / c.models / (c.seconds / c.intervalSeconds);
  return {
    models: c.models,
    seconds: r2(c.seconds),
    prometheusQueriesPerSecond: r2(c.queries / c.seconds),
    measurementsPerSecond: r2(c.measurements / c.seconds),
    queriesPerMeasurement: r2(perLook),
    queryBoundPerMeasurement: 2 * c.requestsPerLook,
    measurementsPerModelPerInterval: r2(perInterval),
    // Slack: a window of T seconds can hold T/interval + 1 looks of one model, and `inFlight`
    // measurements may have sent their queries before the verdict counter moved.
    withinBound:
      c.queries <= 2 * c.requestsPerLook * (c.measurements + c.inFlight) &&
      c.measurements <= c.models * (Math.floor(c.seconds / c.intervalSeconds) + 1),
    operatorCpuCores: r2(c.cpuSeconds / c.seconds),
  };
}

const fmt = (x: number | undefined, unit = '') =>
  x === undefined || !Number.isFinite(x) ? '–' : `${x}${unit}`;
const pct = (x: number | undefined) => (x === undefined ? '–' : `${Math.round(x * 10000) / 100}%`);
const limitText = (l: Limit | undefined) =>
  l
    ? `${l.decision} ${Number.isFinite(l.requests) ? `${l.requests} req = ${Math.round(l.seconds * 10) / 10} s` : '∞'} (${l.slo} ${pct(l.badRatio)} vs ${pct(l.line)})`
    : '–';

/** The per-class table, Markdown. */
export function table(summaries: readonly ClassSummary[]): string {
  const head =
    '| class | runs | promoted | rolled back | paused | other | fault → stable median / p90 (s) | fault → promoted median (s) | limit vs 14.4× line | limit vs 1× budget | judge on expected counts | ours / limit |';
  const rows = summaries.map((s) => {
    const slo = s.faultSlo ?? s.limits.reference?.slo;
    const budget = s.limits.budget.find((l) => l.slo === slo && l.decision === 'fail');
    const line = s.limits.line.find((l) => l.slo === slo);
    const replay =
      s.replay.verdict === 'none'
        ? `none in ${s.replay.seconds} s`
        : `${s.replay.verdict} ${s.replay.reason} at ${s.replay.seconds} s`;
    const outage =
      s.outageToStable.n > 0
        ? ` (outage → stable ${fmt(s.outageToStable.median)} / ${fmt(s.outageToStable.p90)})`
        : '';
    const bySlo = Object.entries(s.rolledBackBySlo).filter(
      ([slo]) => s.faultSlo !== undefined && slo !== s.faultSlo,
    );
    const rolled = `${s.rolledBack}${bySlo.length ? ` (${bySlo.map(([slo, n]) => `${n} on ${slo}`).join(', ')})` : ''}`;
    return `| ${s.cls} | ${s.runs} | ${s.promoted} | ${rolled} | ${s.paused} | ${s.undecided + s.failed} | ${fmt(s.faultToStable.median)} / ${fmt(s.faultToStable.p90)}${outage} | ${fmt(s.faultToPromoted.median)} | ${limitText(line)} | ${limitText(budget)} | ${replay} | ${fmt(s.timeOverLimit)} |`;
  });
  return [head, `|${'---|'.repeat(12)}`, ...rows].join('\n');
}
