// The first pure half of an analysis round: which instant queries are due now. One request per
// SLO × distinct window × role; windows are capped at the canary's age (docs/analysis.md, "Young
// canaries"), and a window that would be shorter than two scrapes is not queried at all.
import { LATENCY_BUCKETS } from '../../../lib/contract/index.ts';
import type { SpecIssue } from '../api/errors.ts';
import { parseDuration } from '../api/parse.ts';
import type { AnalysisSpec, SloSpec } from '../api/types.ts';
import { PLACEHOLDERS, sloQueries, unknownPlaceholders } from './promql.ts';
import type { AnalysisProblem, MeasurementPlan, MeasurementRequest, Role, WaitingWindow } from './types.ts';

const FIELD = 'spec.rollout.analysis';

/** A duration in milliseconds as Prometheus reads it (units in decreasing order): 3723000 → `1h2m3s`. */
export function formatDuration(ms: number): string {
  if (ms <= 0) return '0s';
  const units: [string, number][] = [
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
    ['ms', 1],
  ];
  let rest = Math.round(ms);
  let out = '';
  for (const [unit, size] of units) {
    const n = Math.floor(rest / size);
    if (n > 0) out += `${n}${unit}`;
    rest -= n * size;
  }
  return out;
}

/** The spec's problems with one SLO that planning cannot work around (no query is made for it). */
export function sloIssues(slo: SloSpec, index: number): SpecIssue[] {
  const f = `${FIELD}.slos[${index}]`;
  const issues: SpecIssue[] = [];
  if ((slo.builtin === undefined) === (slo.custom === undefined)) {
    issues.push({ code: 'FIELD_CONFLICT', field: f, message: `${f} needs exactly one of builtin (availability, latency) or custom {goodQuery, totalQuery}` });
  }
  if (slo.builtin === 'latency') {
    const t = slo.latencyThresholdSeconds;
    if (t === undefined) {
      issues.push({ code: 'FIELD_REQUIRED', field: `${f}.latencyThresholdSeconds`, message: `${f}.latencyThresholdSeconds is required with builtin: latency; one of the bucket bounds ${LATENCY_BUCKETS.join(', ')}` });
    } else if (!LATENCY_BUCKETS.includes(t)) {
      issues.push({
        code: 'FIELD_ENUM',
        field: `${f}.latencyThresholdSeconds`,
        message:
          `${f}.latencyThresholdSeconds must be one of the runtime's latency histogram bucket bounds (seconds): ${LATENCY_BUCKETS.join(', ')} (got ${t}); ` +
          'slow requests are counted from the histogram, which can only count exactly at a bound',
      });
    }
  }
  if (slo.custom) {
    for (const key of ['goodQuery', 'totalQuery'] as const) {
      const unknown = unknownPlaceholders(slo.custom[key]);
      if (unknown.length > 0) {
        issues.push({
          code: 'FIELD_PATTERN',
          field: `${f}.custom.${key}`,
          message: `${f}.custom.${key} uses unknown placeholder${unknown.length > 1 ? 's' : ''} ${unknown.map((u) => `{{${u}}}`).join(', ')}; the known ones are ${PLACEHOLDERS.map((p) => `{{${p}}}`).join(', ')}`,
        });
      }
    }
  }
  return issues;
}

function assertScrapeInterval(scrapeIntervalSeconds: number): void {
  if (!(scrapeIntervalSeconds > 0) || !Number.isFinite(scrapeIntervalSeconds)) {
    throw new RangeError(`the Prometheus scrape interval must be a positive number of seconds (got ${scrapeIntervalSeconds})`);
  }
}

/**
 * Checks an analysis spec against what Prometheus can measure: every window and the interval at
 * least two scrapes long (increase() needs two samples in its window; a look more often than every
 * two scrapes mostly re-reads the same samples), latency thresholds at bucket bounds, custom
 * queries' placeholders known. Each issue names the field and the fix. Pure; run it where the spec
 * is parsed (a spec that fails it never gets a verdict better than error).
 */
export function validateAnalysis(analysis: AnalysisSpec, scrapeIntervalSeconds: number): SpecIssue[] {
  assertScrapeInterval(scrapeIntervalSeconds);
  const issues: SpecIssue[] = [];
  const least = 2 * scrapeIntervalSeconds * 1000;
  const duration = (value: string, field: string, what: string) => {
    const ms = parseDuration(value);
    if (ms === undefined) {
      issues.push({ code: 'FIELD_PATTERN', field, message: `${field} must be a duration such as 30s, 5m or 1h30m (got ${JSON.stringify(value)})` });
    } else if (ms < least) {
      issues.push({
        code: 'FIELD_RANGE',
        field,
        message: `${field} ${value} is shorter than two Prometheus scrapes (2 × ${scrapeIntervalSeconds}s = ${formatDuration(least)}): ${what}; set it to at least ${formatDuration(least)}, or scrape more often and set --prometheus-scrape-interval to match`,
      });
    }
  };
  duration(analysis.interval, `${FIELD}.interval`, 'looks that often would mostly see the same samples again');
  if (analysis.burnRateWindows.length === 0) {
    issues.push({ code: 'FIELD_REQUIRED', field: `${FIELD}.burnRateWindows`, message: `${FIELD}.burnRateWindows needs at least one pair, e.g. {short: 5m, long: 1h, threshold: 14.4}` });
  }
  analysis.burnRateWindows.forEach((w, i) => {
    for (const key of ['short', 'long'] as const) duration(w[key], `${FIELD}.burnRateWindows[${i}].${key}`, 'a window needs two samples of a counter to count anything');
  });
  analysis.slos.forEach((slo, i) => issues.push(...sloIssues(slo, i)));
  return issues;
}

export interface PlanInput {
  analysis: AnalysisSpec;
  namespace: string;
  servedModelName: string;
  /**
   * `since`: from when the canary's requests count (RFC 3339 or a Date): the core passes its first
   * traffic plus analysis.initialDelay. Windows are capped at the time since.
   */
  canary: { revision: string; since: string | Date };
  stable?: { revision: string };
  now: Date;
  scrapeIntervalSeconds: number;
}

/** The spec windows of all pairs, once each, as written. */
export function specWindows(analysis: AnalysisSpec): string[] {
  return [...new Set(analysis.burnRateWindows.flatMap((w) => [w.short, w.long]))];
}

/**
 * The queries due now for the canary (and the stable revision, when compareWithStable and one
 * exists), over the same windows for both. Windows are capped at the canary's age, never below two
 * scrape intervals: younger than that, nothing is queried (`waiting`).
 */
export function planMeasurements(input: PlanInput): MeasurementPlan {
  const { analysis, now, scrapeIntervalSeconds } = input;
  assertScrapeInterval(scrapeIntervalSeconds);
  const problems: AnalysisProblem[] = [];
  const since = input.canary.since instanceof Date ? input.canary.since.getTime() : Date.parse(input.canary.since);
  if (Number.isNaN(since)) {
    problems.push({ code: 'FIELD_PATTERN', field: 'status.canary.since', message: `status.canary.since is not a time (got ${JSON.stringify(String(input.canary.since))})` });
    return { requests: [], waiting: [], problems };
  }
  const ageMs = Math.max(0, Math.floor((now.getTime() - since) / 1000) * 1000);
  const leastMs = 2 * scrapeIntervalSeconds * 1000;

  // Spec window → the window actually queried (ms), or undefined while the canary is too young.
  const queried = new Map<string, number | undefined>();
  for (const w of specWindows(analysis)) {
    const ms = parseDuration(w);
    if (ms === undefined) continue; // validateAnalysis names it; judge() reports the SLO as error.
    const capped = Math.min(ms, ageMs);
    queried.set(w, capped < leastMs ? undefined : capped);
  }

  const roles: { role: Role; revision: string }[] = [{ role: 'canary', revision: input.canary.revision }];
  if (analysis.compareWithStable && input.stable && input.stable.revision !== input.canary.revision) roles.push({ role: 'stable', revision: input.stable.revision });

  const requests: MeasurementRequest[] = [];
  const waiting: WaitingWindow[] = [];
  analysis.slos.forEach((slo, i) => {
    const issues = sloIssues(slo, i);
    if (issues.length > 0) {
      problems.push(...issues.map((issue) => ({ ...issue, slo: slo.name })));
      return;
    }
    const byWindow = new Map<number, string[]>();
    for (const [w, ms] of queried) {
      if (ms === undefined) waiting.push({ slo: slo.name, window: w, canaryAgeSeconds: ageMs / 1000, neededSeconds: leastMs / 1000 });
      else byWindow.set(ms, [...(byWindow.get(ms) ?? []), w]);
    }
    for (const { role, revision } of roles) {
      for (const [ms, served] of [...byWindow].sort((a, b) => a[0] - b[0])) {
        const window = formatDuration(ms);
        const queries = sloQueries(slo, { namespace: input.namespace, servedModelName: input.servedModelName, revision }, window);
        if (!queries) continue; // unreachable: sloIssues() refused it above.
        requests.push({ id: `${role}/${slo.name}/${window}`, role, revision, slo: slo.name, window, windowSeconds: ms / 1000, specWindows: served, ...queries });
      }
    }
  });
  return { requests, waiting, problems };
}
