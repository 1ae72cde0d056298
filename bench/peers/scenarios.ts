// Pure half of `npm run bench:peers` (docs/comparison.md): the tools and configurations compared,
// the scenario classes, the runs, what clients saw bucketed over time, each run's times and counts
// from its timeline, and the per tool and class summary. No I/O, no clock.
import { percentile } from '../../e2e/lab/loadgen/stats.ts';
import { CLASSIFIER_MIXED_ROWS } from '../../runtime/test-models/build.ts';
import { seeded, TRAFFIC } from '../rollout-report.ts';

export type PeerId = 'onnx-operator' | 'flagger' | 'argo-rollouts';
export type ToolId =
  | 'onnx-operator'
  | 'flagger-documented'
  | 'flagger-tuned'
  | 'argo-rollouts-documented'
  | 'argo-rollouts-tuned';

export interface ToolDef {
  id: ToolId;
  peer: PeerId;
  /** How it is configured: ours (bench/rollout-report.ts rolloutSpec), as its documentation's example does, or tuned to our schedule. */
  config: 'ours' | 'documented' | 'tuned';
  label: string;
  /** From the canary's apply to the end of the run, at most. */
  capMs: number;
  /** The line's colour in the timelines. */
  color: string;
}

export const TOOLS: readonly ToolDef[] = [
  {
    id: 'onnx-operator',
    peer: 'onnx-operator',
    config: 'ours',
    label: 'onnx-operator',
    capMs: 9 * 60_000,
    color: '#1f77b4',
  },
  // Documented: a check a minute, five failed checks roll back, 10% steps to 50%: ~9 minutes to promote.
  {
    id: 'flagger-documented',
    peer: 'flagger',
    config: 'documented',
    label: 'Flagger (documented)',
    capMs: 14 * 60_000,
    color: '#d62728',
  },
  {
    id: 'flagger-tuned',
    peer: 'flagger',
    config: 'tuned',
    label: 'Flagger (tuned)',
    capMs: 8 * 60_000,
    color: '#ff7f0e',
  },
  // Documented: 20% for 5 minutes, then one measurement.
  {
    id: 'argo-rollouts-documented',
    peer: 'argo-rollouts',
    config: 'documented',
    label: 'Argo Rollouts (documented)',
    capMs: 12 * 60_000,
    color: '#2ca02c',
  },
  {
    id: 'argo-rollouts-tuned',
    peer: 'argo-rollouts',
    config: 'tuned',
    label: 'Argo Rollouts (tuned)',
    capMs: 8 * 60_000,
    color: '#9467bd',
  },
];

export const toolDef = (id: ToolId): ToolDef => {
  const t = TOOLS.find((x) => x.id === id);
  if (!t) throw new Error(`unknown tool ${id}`);
  return t;
};

/**
 * The lab's test models each version serves (runtime/test-models; logreg_faulty_twin: logreg_faulty
 * with another graph name, so another digest; classifier_reexport: the classifier exported another
 * way, the same predictions; classifier_swapped: the classifier with two input features swapped, a
 * 200 with another prediction for most rows).
 */
export type ModelName =
  | 'logreg'
  | 'classifier'
  | 'classifier_reexport'
  | 'classifier_swapped'
  | 'logreg_faulty'
  | 'logreg_faulty_twin'
  | 'logreg_slow';

const ERROR_LABEL = '5xx, timeout, no answer';

export interface PeerClass {
  id: string;
  /** Prefix of the run names. */
  tag: string;
  stable: ModelName;
  canary: ModelName;
  /** Requests per second through the gateway; 0: no load at all. */
  rate: number;
  /** Share of requests poisoned (logreg_faulty answers them 500, on either side). */
  poison: number;
  /**
   * Is the new version at fault? Its requests are "requests answered by a bad canary", and a rollback
   * of a canary that is not (healthy, shared incident) is a false rollback.
   */
  canaryAtFault: boolean;
  /** What clients count as bad in the timeline: an error (5xx, timeout, no answer), or also any answer of the new version (10× latency: all of them are slow; silent regression: all of them are wrong). */
  bad: 'error' | 'errorOrNewVersion';
  /** The timeline's words for a bad request. */
  badLabel: string;
  /**
   * What each request carries: `one`, the run's feature row (drawn from the seed); `mixed`, the
   * 16 rows of CLASSIFIER_MIXED_ROWS, on which the classifier predicts all three classes — so a
   * canary that predicts otherwise moves the prediction distribution, and one that does not leaves it.
   */
  rows: 'one' | 'mixed';
  /** Prometheus is stopped OUTAGE_AFTER_S after the fault starts, until the run ends. */
  outage?: boolean;
  /** What a tool that decides well does. */
  expect: 'promoted' | 'rolledBack' | 'notPromoted' | 'notRolledBack';
  runs: number;
  quickRuns: number;
}

// Every class runs under the same configuration of each tool. Ours carries a predictions gate
// (bench/peers/onnx-operator.ts), so a healthy new version is one that predicts what stable does:
// the classifier re-exported, under load whose requests span its three classes.
export const PEER_CLASSES: readonly PeerClass[] = [
  {
    id: 'healthy',
    tag: 'ok',
    stable: 'classifier',
    canary: 'classifier_reexport',
    rate: TRAFFIC.rate,
    poison: 0,
    canaryAtFault: false,
    bad: 'error',
    badLabel: ERROR_LABEL,
    rows: 'mixed',
    expect: 'promoted',
    runs: 1,
    quickRuns: 1,
  },
  {
    id: 'errors 2%',
    tag: 'e2',
    stable: 'logreg',
    canary: 'logreg_faulty',
    rate: TRAFFIC.rate,
    poison: 0.02,
    canaryAtFault: true,
    bad: 'error',
    badLabel: ERROR_LABEL,
    rows: 'one',
    expect: 'rolledBack',
    runs: 1,
    quickRuns: 1,
  },
  {
    id: 'latency 10x',
    tag: 'l10',
    stable: 'logreg',
    canary: 'logreg_slow',
    rate: TRAFFIC.rate,
    poison: 0,
    canaryAtFault: true,
    bad: 'errorOrNewVersion',
    badLabel: 'error, or answered by the 10× slower new version',
    rows: 'one',
    expect: 'rolledBack',
    runs: 1,
    quickRuns: 0,
  },
  {
    id: 'no traffic',
    tag: 'nt',
    stable: 'classifier',
    canary: 'classifier_reexport',
    rate: 0,
    poison: 0,
    canaryAtFault: false,
    bad: 'error',
    badLabel: ERROR_LABEL,
    rows: 'mixed',
    expect: 'notPromoted',
    runs: 1,
    quickRuns: 0,
  },
  // Stable failing too: both versions serve logreg_faulty (different digests), 5% of requests poisoned.
  {
    id: 'shared incident',
    tag: 'si',
    stable: 'logreg_faulty',
    canary: 'logreg_faulty_twin',
    rate: TRAFFIC.rate,
    poison: 0.05,
    canaryAtFault: false,
    bad: 'error',
    badLabel: ERROR_LABEL,
    rows: 'one',
    expect: 'notRolledBack',
    runs: 1,
    quickRuns: 0,
  },
  {
    id: 'prometheus outage',
    tag: 'po',
    stable: 'classifier',
    canary: 'classifier_reexport',
    rate: TRAFFIC.rate,
    poison: 0,
    canaryAtFault: false,
    bad: 'error',
    badLabel: ERROR_LABEL,
    rows: 'mixed',
    outage: true,
    expect: 'notPromoted',
    runs: 1,
    quickRuns: 1,
  },
  // 200 OK, fast, wrong: the classifier exported with two input features swapped (5 of the 16 rows
  // predicted otherwise: classes 0/1/2 on 7/4/5 of them become 3/7/6). Error rate and latency cannot see it.
  {
    id: 'silent regression',
    tag: 'sr',
    stable: 'classifier',
    canary: 'classifier_swapped',
    rate: TRAFFIC.rate,
    poison: 0,
    canaryAtFault: true,
    bad: 'errorOrNewVersion',
    badLabel: 'error, or answered by the new version (wrong predictions)',
    rows: 'mixed',
    expect: 'rolledBack',
    runs: 1,
    quickRuns: 1,
  },
];

/** Seconds after the fault starts (the new version's first traffic) at which Prometheus is stopped in the outage class. */
export const OUTAGE_AFTER_S = 30;
/** Seconds of load on the stable version before the new one is applied. */
export const LEAD_S = 5;
/** Width of the timeline's buckets of client requests, seconds. */
export const BUCKET_S = 5;

export interface PeerRunDef {
  tool: ToolId;
  cls: PeerClass;
  /** Kubernetes name of the workload: class tag and run number. */
  name: string;
  /** The feature rows every request carries (PeerClass.rows). */
  rows: number[][];
  /** Which requests are poisoned (the load generator's poisonSeed): the same for every tool. */
  poisonSeed: number;
}

/**
 * Runs of every selected tool and class; the feature row of `one`-row classes is drawn from the seed and the run's name, so
 * every tool sees the same request for the same run number. `only`: class tags or tool ids.
 */
export function peerCorpus(o: {
  seed: number;
  quick: boolean;
  runs?: number;
  tools?: readonly ToolId[];
  classes?: readonly string[];
}): PeerRunDef[] {
  const out: PeerRunDef[] = [];
  for (const tool of TOOLS) {
    if (o.tools && !o.tools.includes(tool.id)) continue;
    for (const cls of PEER_CLASSES) {
      if (o.classes && !o.classes.includes(cls.tag)) continue;
      const n = o.runs ?? (o.quick ? cls.quickRuns : cls.runs);
      for (let i = 1; i <= n; i++) {
        const name = `${cls.tag}-${i}`;
        const r = (k: number) => seeded(o.seed, `${name}/${k}`);
        const features = [4.3 + 3.6 * r(0), 2 + 2.4 * r(1), 1 + 5.9 * r(2), 0.1 + 2.4 * r(3)].map(
          (x) => Math.round(x * 10) / 10,
        );
        const rows = cls.rows === 'mixed' ? CLASSIFIER_MIXED_ROWS.map((row) => [...row]) : [features];
        out.push({ tool: tool.id, cls, name, rows, poisonSeed: Math.floor(r(4) * 2 ** 31) });
      }
    }
  }
  return out;
}

/** One bucket of client requests: [seconds since the apply of the new version (bucket start), answered or failed, bad, answered by the new version]. */
export type Bucket = [t: number, n: number, bad: number, newVersion: number];

/** A client request as the load generator reported it. */
export interface ClientSample {
  /** ms since the apply of the new version (negative before it). */
  atMs: number;
  /** The x-onnxop-revision header ('(none)' when there was no answer). */
  group: string;
  status?: number;
}

export const isError = (s: ClientSample): boolean => s.status === undefined || s.status >= 500;

/** Samples → buckets of BUCKET_S seconds; `newVersion` is the new version's group (undefined: none known yet). */
export function bucketize(
  samples: readonly ClientSample[],
  newVersion: string | undefined,
  bad: PeerClass['bad'],
  bucketSeconds = BUCKET_S,
): Bucket[] {
  const by = new Map<number, Bucket>();
  for (const s of samples) {
    const t = Math.floor(s.atMs / 1000 / bucketSeconds) * bucketSeconds;
    const b = by.get(t) ?? [t, 0, 0, 0];
    const nv = newVersion !== undefined && s.group === newVersion;
    b[1] += 1;
    if (isError(s) || (bad === 'errorOrNewVersion' && nv)) b[2] += 1;
    if (nv) b[3] += 1;
    by.set(t, b);
  }
  return [...by.values()].sort((a, b) => a[0] - b[0]);
}

/** The new version's share of traffic as the tool set it, seconds since the apply → percent; a change per entry. */
export type WeightPoint = [t: number, weight: number];

export type Outcome = 'promoted' | 'rolledBack' | 'paused' | 'stuck' | 'failed';

export interface Times {
  /** Seconds since the apply: the new version's first traffic (weight > 0). */
  faultStart?: number;
  /** Rollbacks: fault start → the first weight 0 after it (all traffic on stable). */
  faultToStable?: number;
  /** Promotions: fault start → the first weight 100. */
  faultToPromoted?: number;
  /** Pauses: fault start → the pause (the run's end). */
  faultToPaused?: number;
}

/** Times from the weight history, the outcome and (for a pause) the run's end, seconds since the apply. */
export function timesOf(weights: readonly WeightPoint[], outcome: Outcome, end?: number): Times {
  const start = weights.find(([, w]) => w > 0)?.[0];
  if (start === undefined) return {};
  const after = weights.filter(([t]) => t >= start);
  const r = (x: number) => Math.round((x - start) * 10) / 10;
  const back = after.find(([, w]) => w === 0)?.[0];
  const all = after.find(([, w]) => w >= 100)?.[0];
  return {
    faultStart: Math.round(start * 10) / 10,
    ...(outcome === 'rolledBack' && back !== undefined ? { faultToStable: r(back) } : {}),
    ...(outcome === 'promoted' && all !== undefined ? { faultToPromoted: r(all) } : {}),
    ...(outcome === 'paused' && end !== undefined ? { faultToPaused: r(end) } : {}),
  };
}

/**
 * Requests the new version answered while it was exposed: from its first answer until all traffic was
 * back on stable (a rollback) or moved to it (a promotion, where every later answer is its own), or
 * to the run's end. In a class where the canary is at fault, these are requests answered by a bad canary.
 */
export function newVersionRequests(
  buckets: readonly Bucket[],
  weights: readonly WeightPoint[],
  outcome: Outcome,
): number {
  const t = timesOf(weights, outcome);
  const until =
    t.faultStart === undefined
      ? Infinity
      : outcome === 'rolledBack' && t.faultToStable !== undefined
        ? t.faultStart + t.faultToStable
        : outcome === 'promoted' && t.faultToPromoted !== undefined
          ? t.faultStart + t.faultToPromoted
          : Infinity;
  // A bucket counts when it starts before the end: the bucket the rollback lands in is the canary's last.
  return buckets.filter(([t0]) => t0 < until).reduce((n, b) => n + b[3], 0);
}

export interface PeerRunResult {
  tool: ToolId;
  cls: string;
  name: string;
  outcome: Outcome;
  /** The tool's own words for how the run ended (status reason or message). */
  reason?: string;
  times: Times;
  /** Seconds from the apply to the end (decision or cap). */
  seconds: number;
  /** Seconds after the apply that Prometheus was stopped (outage class). */
  outageAt?: number;
  /** Requests answered by the new version while exposed (newVersionRequests). */
  newVersionRequests?: number;
  /** Client requests in all, and bad ones, from the apply to the end. */
  load?: {
    sent: number;
    rate: number;
    errors: number;
    newVersion: number;
    /** The errors by status code ('none': no answer, a timeout or a refused connection). */
    errorStatuses: Record<string, number>;
  };
  weights: WeightPoint[];
  buckets: Bucket[];
}

export interface Spread {
  n: number;
  median?: number;
  max?: number;
}

export function spread(values: readonly (number | undefined)[]): Spread {
  const v = values
    .filter((x): x is number => typeof x === 'number' && Number.isFinite(x))
    .sort((a, b) => a - b);
  if (v.length === 0) return { n: 0 };
  return { n: v.length, median: Math.round(percentile(v, 50) * 10) / 10, max: v[v.length - 1] as number };
}

export interface PeerSummary {
  tool: ToolId;
  cls: string;
  runs: number;
  promoted: number;
  rolledBack: number;
  paused: number;
  stuck: number;
  failed: number;
  /** Rollbacks of a canary that is not at fault (healthy, shared incident). */
  falseRollbacks: number;
  /** Did every run do what the class expects? */
  expected: boolean;
  faultToStable: Spread;
  faultToPromoted: Spread;
  /** Requests answered by a bad canary (classes where it is at fault). */
  badCanaryRequests: Spread;
  reasons: Record<string, number>;
}

export function meetsExpectation(cls: PeerClass, outcome: Outcome): boolean {
  switch (cls.expect) {
    case 'promoted':
      return outcome === 'promoted';
    case 'rolledBack':
      return outcome === 'rolledBack';
    case 'notPromoted':
      return outcome === 'rolledBack' || outcome === 'paused';
    case 'notRolledBack':
      return outcome === 'paused' || outcome === 'promoted';
  }
}

export function summarizePeers(results: readonly PeerRunResult[]): PeerSummary[] {
  const out: PeerSummary[] = [];
  for (const cls of PEER_CLASSES)
    for (const tool of TOOLS) {
      const runs = results.filter((r) => r.tool === tool.id && r.cls === cls.id);
      if (runs.length === 0) continue;
      const count = (o: Outcome) => runs.filter((r) => r.outcome === o).length;
      const reasons: Record<string, number> = {};
      for (const r of runs) {
        const k = `${r.outcome}${r.reason ? `: ${r.reason}` : ''}`;
        reasons[k] = (reasons[k] ?? 0) + 1;
      }
      out.push({
        tool: tool.id,
        cls: cls.id,
        runs: runs.length,
        promoted: count('promoted'),
        rolledBack: count('rolledBack'),
        paused: count('paused'),
        stuck: count('stuck'),
        failed: count('failed'),
        falseRollbacks:
          !cls.canaryAtFault && (cls.expect === 'promoted' || cls.expect === 'notRolledBack')
            ? count('rolledBack')
            : 0,
        expected: runs.every((r) => meetsExpectation(cls, r.outcome)),
        faultToStable: spread(runs.map((r) => r.times.faultToStable)),
        faultToPromoted: spread(runs.map((r) => r.times.faultToPromoted)),
        badCanaryRequests: cls.canaryAtFault ? spread(runs.map((r) => r.newVersionRequests)) : { n: 0 },
        reasons,
      });
    }
  return out;
}

const OUTCOME_TEXT: Record<Outcome, string> = {
  promoted: 'promoted',
  rolledBack: 'rolled back',
  paused: 'paused',
  stuck: 'stuck',
  failed: 'failed',
};

/** "rolled back" or "1 promoted, 1 rolled back" for several runs. */
export function outcomeText(s: PeerSummary): string {
  const parts = (['promoted', 'rolledBack', 'paused', 'stuck', 'failed'] as const)
    .filter((o) => s[o] > 0)
    .map((o) => (s.runs === 1 ? OUTCOME_TEXT[o] : `${s[o]} ${OUTCOME_TEXT[o]}`));
  return parts.join(', ');
}

const secs = (x: Spread) =>
  x.median === undefined ? '–' : x.n > 1 ? `${x.median} (max ${x.max})` : `${x.median}`;

/** The comparison table, Markdown: a row per class and tool. */
export function peersTable(summaries: readonly PeerSummary[]): string {
  const head =
    '| class | tool | runs | outcome | as expected | fault → stable (s) | fault → promoted (s) | requests on the bad canary | false rollbacks |';
  const rows = summaries.map((s) => {
    const cls = PEER_CLASSES.find((c) => c.id === s.cls);
    return `| ${s.cls} | ${toolDef(s.tool).label} | ${s.runs} | ${outcomeText(s)} | ${s.expected ? 'yes' : '**no**'} | ${secs(s.faultToStable)} | ${secs(s.faultToPromoted)} | ${cls?.canaryAtFault ? secs(s.badCanaryRequests) : '–'} | ${s.falseRollbacks} |`;
  });
  return [head, `|${'---|'.repeat(9)}`, ...rows].join('\n');
}
