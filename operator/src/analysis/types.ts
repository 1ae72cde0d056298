// The analysis' two pure halves meet the Prometheus adapter here: planMeasurements() says which
// instant queries are due (MeasurementRequest), the adapter answers each with raw counts or an error
// (MeasurementAnswer), judge() turns the answers into a Judgement. docs/analysis.md has the maths.
import type { SpecIssue } from '../api/errors.ts';
import type { GateMeasurement, GateName, SloMeasurement, Verdict, WindowBurnRate } from '../api/types.ts';

export type Role = 'canary' | 'stable';

/** One instant query pair the core wants answered: raw counts over a window ending at the query time. */
export interface MeasurementRequest {
  /** Stable and unique within a plan: `${role}/${slo}/${window}`. */
  id: string;
  role: Role;
  revision: string;
  slo: string;
  /** Go duration actually queried (the spec's window, capped at the canary's age). */
  window: string;
  windowSeconds: number;
  /**
   * The spec's windows (as written in burnRateWindows) this request answers for. Several when
   * capping at the canary's age makes them the same window: it is queried once.
   */
  specWindows: string[];
  /** PromQL returning one sample or an empty vector: good events over the window. */
  goodQuery: string;
  /** PromQL returning one sample or an empty vector: all counted events over the window. */
  totalQuery: string;
}

/** null = no series (an empty vector). */
export type MeasurementAnswer = { id: string; ok: true; good: number | null; total: number | null } | { id: string; ok: false; error: string };

/** Which series a quality gate reads: predicted classes, prediction values, ground-truth results, absolute errors. */
export type DistributionSeries = 'classes' | 'values' | 'labels' | 'errors' | 'comparisons' | 'differences';

/** One instant query for a model-quality gate: counts by one label over a window (a vector). */
export interface DistributionRequest {
  /** `${role}/${gate}/${series}`. */
  id: string;
  role: Role;
  revision: string;
  gate: GateName;
  series: DistributionSeries;
  window: string;
  windowSeconds: number;
  /** PromQL returning one sample per value of `by` (or an empty vector). */
  query: string;
  /** The label the samples are told apart by (class, le, result). */
  by: string;
}

/** Counts keyed by the request's `by` label; an empty vector is an empty record. */
export type DistributionAnswer = { id: string; ok: true; counts: Record<string, number> } | { id: string; ok: false; error: string };

/** A spec window for which nothing is queried yet: the canary is younger than two scrapes. */
export interface WaitingWindow {
  slo: string;
  window: string;
  canaryAgeSeconds: number;
  /** Two scrape intervals: the least age a window can be measured over. */
  neededSeconds: number;
}

/** A problem with the spec found while planning; the SLO it concerns is not queried. */
export interface AnalysisProblem extends SpecIssue {
  slo?: string;
}

export interface MeasurementPlan {
  requests: MeasurementRequest[];
  waiting: WaitingWindow[];
  problems: AnalysisProblem[];
}

export type JudgementReason =
  | 'WithinBudget'
  | 'BudgetBurning'
  | 'WorseThanStable'
  | 'NotEnoughData'
  | 'NoData'
  | 'SharedIncident'
  | 'QueryError'
  | 'WaitingForData'
  // Model-quality gates (quality.ts).
  | 'PredictionsShifted'
  | 'AccuracyDropped'
  | 'ErrorIncreased'
  | 'WaitingForLabels'
  | 'Disagrees';

/** Counts and bounds of one revision over one window (bounds as burn rates: bad ratio / budget). */
export interface WindowEvidence {
  /** The spec's window. */
  window: string;
  /** The window actually queried (capped at the canary's age). */
  measuredWindow: string;
  requests: number;
  badEvents: number;
  burnRate: number;
  /** Lower confidence bound of the burn rate at the per-test level used to fail. */
  burnRateLower: number;
  /** Upper confidence bound of the burn rate at the per-look level used to pass. */
  burnRateUpper: number;
}

/** One burn-rate window pair of one SLO, as judged. */
export interface PairEvidence {
  short: string;
  long: string;
  threshold: number;
  verdict: Verdict;
  reason: JudgementReason;
  canary: WindowEvidence[];
  stable?: WindowEvidence[];
  /** Fisher's one-sided p-values (canary worse than stable), per window, when compared. */
  worseThanStablePValues?: number[];
}

/** Everything judge() concluded about one SLO, beyond what status keeps. */
export interface SloEvidence {
  slo: string;
  verdict: Verdict;
  reason: JudgementReason;
  message: string;
  pairs: PairEvidence[];
}

export interface Failure {
  slo: string;
  /** BudgetBurning, WorseThanStable or NoData (noDataPolicy: Fail). */
  reason: JudgementReason;
  short: string;
  long: string;
  /** Canary requests and bad events in the long window (it contains the short one). */
  requests: number;
  badEvents: number;
  burnRates: WindowBurnRate[];
  /**
   * The smaller of the two windows' lower confidence bounds of the canary's burn rate. For
   * BudgetBurning it is above `threshold`; for WorseThanStable above 1 (`threshold` is then 1: the
   * canary burns budget faster than sustainable and significantly faster than stable).
   */
  lowerBound: number;
  threshold: number;
  /** WorseThanStable: the stable revision's counts in the long window. */
  stable?: { revision: string; requests: number; badEvents: number; burnRates: WindowBurnRate[] };
}

export interface Judgement {
  verdict: Verdict;
  reason: JudgementReason;
  /** For people: names the SLO, window pair, counts, burn rates, bounds. */
  message: string;
  /** Per SLO, in spec order: status.lastAnalysis.slos. */
  slos: SloMeasurement[];
  /** Per SLO, in spec order: every pair's counts, bounds and verdict (metrics, logs, tests). */
  evidence: SloEvidence[];
  /** Set when verdict is fail: the numbers for status.lastRollback. */
  failure?: Failure;
  /** Per configured quality gate: status.lastAnalysis.gates. */
  gates: GateMeasurement[];
}
