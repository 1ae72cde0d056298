// PromQL for the SLOs: the built-in availability and latency queries over the runtime's metrics
// (names and labels from the shared contract), and the custom queries' placeholders.
import {
  AVAILABILITY_BAD_OUTCOMES,
  AVAILABILITY_EXCLUDED_OUTCOMES,
  LATENCY_BUCKETS,
  METRIC_LABEL_MODEL,
  METRIC_LABEL_OUTCOME,
  METRIC_LABEL_REVISION,
  METRIC_REQUEST_DURATION,
  METRIC_REQUESTS_TOTAL,
} from '../../../lib/contract/index.ts';
import type { SloSpec } from '../api/types.ts';

/** The label Prometheus' Kubernetes service discovery puts the pod's namespace in (not set by the runtime). */
export const METRIC_LABEL_NAMESPACE = 'namespace';

/** A PromQL double-quoted string literal. */
export function promString(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

/** A regular expression (RE2) matching exactly the given literals. */
function regexOf(values: readonly string[]): string {
  return values.map((v) => v.replace(/[\\^$.|?*+()[\]{}]/g, '\\$&')).join('|');
}

/**
 * Spellings of a bucket bound as an `le` label value: JavaScript's (the runtime writes `1`, `0.25`)
 * and the float form Prometheus 3 normalizes classic histogram `le` labels to at ingestion (`1.0`).
 */
export function leSpellings(bound: number): string[] {
  const js = String(bound);
  const normalized = /[.e]/.test(js) ? js : `${js}.0`;
  return [...new Set([js, normalized])];
}

export interface Target {
  namespace: string;
  servedModelName: string;
  revision: string;
}

function selector(t: Target, extra: string[]): string {
  const labels = [`${METRIC_LABEL_NAMESPACE}=${promString(t.namespace)}`, `${METRIC_LABEL_MODEL}=${promString(t.servedModelName)}`, `${METRIC_LABEL_REVISION}=${promString(t.revision)}`, ...extra];
  return `{${labels.join(',')}}`;
}

const increase = (metric: string, t: Target, extra: string[], window: string) => `sum(increase(${metric}${selector(t, extra)}[${window}]))`;

/**
 * Availability: total = requests except client errors (the caller's fault: neither good nor bad);
 * good = total less the bad outcomes (server errors, timeouts, rejections).
 */
export function availabilityQueries(t: Target, window: string): { goodQuery: string; totalQuery: string } {
  const excluded = `${METRIC_LABEL_OUTCOME}!~${promString(regexOf(AVAILABILITY_EXCLUDED_OUTCOMES))}`;
  const notGood = `${METRIC_LABEL_OUTCOME}!~${promString(regexOf([...AVAILABILITY_EXCLUDED_OUTCOMES, ...AVAILABILITY_BAD_OUTCOMES]))}`;
  return { goodQuery: increase(METRIC_REQUESTS_TOTAL, t, [notGood], window), totalQuery: increase(METRIC_REQUESTS_TOTAL, t, [excluded], window) };
}

/** Latency: of the successful requests (total), those answered within the threshold (good). */
export function latencyQueries(t: Target, window: string, thresholdSeconds: number): { goodQuery: string; totalQuery: string } {
  const success = `${METRIC_LABEL_OUTCOME}="success"`;
  const le = `le=~${promString(regexOf(leSpellings(thresholdSeconds)))}`;
  return {
    goodQuery: increase(`${METRIC_REQUEST_DURATION}_bucket`, t, [success, le], window),
    totalQuery: increase(`${METRIC_REQUEST_DURATION}_count`, t, [success], window),
  };
}

export const PLACEHOLDERS = ['revision', 'namespace', 'window'] as const;
export type Placeholder = (typeof PLACEHOLDERS)[number];
const PLACEHOLDER = /\{\{\s*([^{}]*?)\s*\}\}/g;

/** The `{{…}}` placeholders in a custom query that are not one of PLACEHOLDERS. */
export function unknownPlaceholders(query: string): string[] {
  return [...query.matchAll(PLACEHOLDER)].map((m) => m[1] ?? '').filter((name) => !(PLACEHOLDERS as readonly string[]).includes(name));
}

/**
 * Fills a custom query's placeholders. {{revision}} and {{namespace}} are label values and are
 * escaped as inside a PromQL string (users write `revision="{{revision}}"`); {{window}} is a
 * Prometheus duration (`[{{window}}]`).
 */
export function substitute(query: string, values: Record<Placeholder, string>): string {
  const escape = (v: string) => promString(v).slice(1, -1);
  return query.replace(PLACEHOLDER, (whole, name: string) => {
    if (name === 'window') return values.window;
    if (name === 'revision' || name === 'namespace') return escape(values[name]);
    return whole;
  });
}

/** The good/total queries of one SLO for one revision and window. */
export function sloQueries(slo: SloSpec, t: Target, window: string): { goodQuery: string; totalQuery: string } | undefined {
  if (slo.custom) {
    const values = { revision: t.revision, namespace: t.namespace, window };
    return { goodQuery: substitute(slo.custom.goodQuery, values), totalQuery: substitute(slo.custom.totalQuery, values) };
  }
  if (slo.builtin === 'availability') return availabilityQueries(t, window);
  if (slo.builtin === 'latency' && slo.latencyThresholdSeconds !== undefined && LATENCY_BUCKETS.includes(slo.latencyThresholdSeconds)) {
    return latencyQueries(t, window, slo.latencyThresholdSeconds);
  }
  return undefined;
}
