// The alerting and recording rules, as data: one TypeScript source for the plain Prometheus rule file
// (deploy/monitoring/prometheus-rules.yaml, groups:), the PrometheusRule the chart renders from it,
// and the test-only variant whose windows are seconds (the lab alert test). docs/runbooks.md has a
// section per alert; docs/monitoring.md explains the choices.
//
// Per model (namespace + served model name): multi-window, multi-burn-rate alerts on the built-in
// availability and latency SLIs (the SRE workbook's pairs: page 5m/1h at 14.4 and 30m/6h at 6,
// ticket 2h/1d at 3 and 6h/3d at 1), the monitoring guide's threshold levels, and the operator's
// own alerts. Every ratio is recorded only where its denominator is above zero, so no traffic means
// no series rather than NaN: the burn-rate alerts stay quiet and OnnxModelMetricsAbsent watches
// for the case where silence means blindness.
import { AVAILABILITY_BAD_OUTCOMES, AVAILABILITY_EXCLUDED_OUTCOMES, LATENCY_BUCKETS } from '../../lib/contract/index.ts';
import { leSpellings, promString } from '../../operator/src/analysis/promql.ts';
import {
  METRIC_LABEL_MODEL,
  METRIC_LABEL_NAMESPACE,
  METRIC_LABEL_OUTCOME,
  METRIC_LABEL_REVISION,
  OPERATOR,
  OPERATOR_LABEL_NAME,
  RUNTIME,
  SCRAPE_LABEL_MODEL,
  SCRAPE_LABEL_POD,
} from './names.ts';

export interface RecordingRule {
  record: string;
  expr: string;
}
export interface AlertingRule {
  alert: string;
  expr: string;
  for?: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}
export type Rule = RecordingRule | AlertingRule;
export interface RuleGroup {
  name: string;
  interval?: string;
  rules: Rule[];
}
export interface RuleFile {
  groups: RuleGroup[];
}

/**
 * The monitoring guide's levels and where they go: warning → chat (Slack), critical → the paging
 * service (PagerDuty), fatal → page the on-call engineer at once. Alertmanager routes on `severity`.
 */
export const SEVERITIES = ['warning', 'critical', 'fatal'] as const;
export type Severity = (typeof SEVERITIES)[number];

export interface AlertConfig {
  /** The built-in availability SLO the burn-rate alerts defend (a ratio, 0.999 = 99.9%). */
  availabilityObjective: number;
  /** The built-in latency SLO: this share of successful requests within latencyThresholdSeconds. */
  latencyObjective: number;
  /** A bucket bound of onnxop_request_duration_seconds (lib/contract LATENCY_BUCKETS). */
  latencyThresholdSeconds: number;
  /** The guide's error-rate level (critical), a ratio. */
  errorRateCritical: number;
  /** The guide's p99 levels, seconds: warning above the first, critical above the second. */
  p99WarningSeconds: number;
  p99CriticalSeconds: number;
  /** The guide's drift level (warning): population stability index. */
  driftPsiWarning: number;
  /** Prediction collapse: one class holds at least this share of a revision's predictions... */
  collapseShare: number;
  /** ...out of at least this many predictions in the window (no verdict on a handful). */
  collapseMinPredictions: number;
  /** A canary whose step and weight have not moved for this long is stuck (paused or blocked). */
  rolloutStuckAfterSeconds: number;
  /** docs/runbooks.md as the on-call engineer opens it; each alert links to its section. */
  runbookUrl: string;
  /**
   * Every window and `for` is divided by this: 1 in the shipped rules; the lab test generates a
   * variant with 30 (5m → 10s) so an alert fires within a test's minute.
   */
  timeScale: number;
}

export const DEFAULT_ALERT_CONFIG: AlertConfig = {
  availabilityObjective: 0.999,
  latencyObjective: 0.99,
  latencyThresholdSeconds: 0.5,
  errorRateCritical: 0.01,
  p99WarningSeconds: 0.5,
  p99CriticalSeconds: 2,
  driftPsiWarning: 0.15,
  collapseShare: 0.99,
  collapseMinPredictions: 100,
  rolloutStuckAfterSeconds: 3600,
  runbookUrl: 'https://github.com/onnx-operator/onnx-operator/blob/main/docs/runbooks.md',
  timeScale: 1,
};

const MIN = 60;
const HOUR = 3600;
const DAY = 86400;

/** The SRE workbook's multi-window, multi-burn-rate pairs (windows in seconds). */
export const BURN_RATE_ALERTS = [
  { speed: 'fast', severity: 'critical', forSeconds: 2 * MIN, pairs: [{ short: 5 * MIN, long: HOUR, factor: 14.4 }, { short: 30 * MIN, long: 6 * HOUR, factor: 6 }] },
  { speed: 'slow', severity: 'warning', forSeconds: 15 * MIN, pairs: [{ short: 2 * HOUR, long: DAY, factor: 3 }, { short: 6 * HOUR, long: 3 * DAY, factor: 1 }] },
] as const satisfies readonly { speed: string; severity: Severity; forSeconds: number; pairs: readonly { short: number; long: number; factor: number }[] }[];

/** Every window a ratio is recorded for, ascending. */
export const RECORDED_WINDOWS: readonly number[] = [...new Set(BURN_RATE_ALERTS.flatMap((a) => a.pairs.flatMap((p) => [p.short, p.long])))].sort((a, b) => a - b);

/** A Prometheus duration: the largest unit that divides it (5m, 1h, 3d), else seconds or ms. */
export function promDuration(seconds: number): string {
  const ms = Math.round(seconds * 1000);
  if (ms <= 0) throw new Error(`a duration must be positive, got ${seconds}s`);
  for (const [unit, size] of [['d', DAY * 1000], ['h', HOUR * 1000], ['m', MIN * 1000], ['s', 1000]] as const) {
    if (ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

/** A number as PromQL reads it, without binary-float noise (14.4 × 0.001 → 0.0144). */
export function promNumber(n: number): string {
  return String(Number(n.toPrecision(12)));
}

const regexOf = (values: readonly string[]) => values.map((v) => v.replace(/[\\^$.|?*+()[\]{}]/g, '\\$&')).join('|');
const BY_MODEL = `${METRIC_LABEL_NAMESPACE}, ${METRIC_LABEL_MODEL}`;
const BY_REVISION = `${BY_MODEL}, ${METRIC_LABEL_REVISION}`;
const BY_OBJECT = `${METRIC_LABEL_NAMESPACE}, ${OPERATOR_LABEL_NAME}`;

export type Sli = 'availability' | 'latency';
/** The recorded error ratio of one SLI over one window (seconds, before scaling). */
export function ratioRecord(sli: Sli, window: string): string {
  return `namespace_model:onnxop_${sli}_errors:ratio_rate${window}`;
}

/** Bad events / eligible events per model over `w`, only where there were eligible events. */
export function errorRatioExpr(sli: Sli, w: string, cfg: AlertConfig): string {
  if (sli === 'availability') {
    const bad = `${RUNTIME.requests}{${METRIC_LABEL_OUTCOME}=~${promString(regexOf(AVAILABILITY_BAD_OUTCOMES))}}`;
    const total = `${RUNTIME.requests}{${METRIC_LABEL_OUTCOME}!~${promString(regexOf(AVAILABILITY_EXCLUDED_OUTCOMES))}}`;
    return `sum by (${BY_MODEL}) (rate(${bad}[${w}]))\n/\n(sum by (${BY_MODEL}) (rate(${total}[${w}])) > 0)`;
  }
  const le = `le=~${promString(regexOf(leSpellings(cfg.latencyThresholdSeconds)))}`;
  const success = `${METRIC_LABEL_OUTCOME}="success"`;
  return (
    `1 - (\n  sum by (${BY_MODEL}) (rate(${RUNTIME.requestDuration}_bucket{${success},${le}}[${w}]))\n  /\n` +
    `  (sum by (${BY_MODEL}) (rate(${RUNTIME.requestDuration}_count{${success}}[${w}])) > 0)\n)`
  );
}

export interface AlertSpec {
  alert: string;
  severity: Severity;
  expr: string;
  forSeconds?: number;
  summary: string;
  description: string;
  extraLabels?: Record<string, string>;
}

/** The GitHub anchor of a `### Name` heading: lower case, spaces to dashes, punctuation dropped. */
export function runbookAnchor(alert: string): string {
  return alert.toLowerCase().replace(/[^a-z0-9 -]/g, '').replace(/ /g, '-');
}

function alertRule(a: AlertSpec, cfg: AlertConfig): AlertingRule {
  return {
    alert: a.alert,
    expr: a.expr,
    ...(a.forSeconds ? { for: promDuration(a.forSeconds / cfg.timeScale) } : {}),
    labels: { severity: a.severity, ...a.extraLabels },
    annotations: { summary: a.summary, description: a.description, runbook_url: `${cfg.runbookUrl}#${runbookAnchor(a.alert)}` },
  };
}

const where = `{{ $labels.${METRIC_LABEL_NAMESPACE} }}/{{ $labels.${METRIC_LABEL_MODEL} }}`;

function burnRateAlerts(cfg: AlertConfig): AlertSpec[] {
  const slis = [
    { sli: 'availability', name: 'Availability', objective: cfg.availabilityObjective, what: 'requests failing (5xx, timeouts, rejections)' },
    { sli: 'latency', name: 'Latency', objective: cfg.latencyObjective, what: `successful requests slower than ${cfg.latencyThresholdSeconds}s` },
  ] as const;
  return slis.flatMap((s) =>
    BURN_RATE_ALERTS.map((b) => {
      const budget = 1 - s.objective;
      const scaled = (sec: number) => promDuration(sec / cfg.timeScale);
      const expr = b.pairs
        .map((p) => {
          const line = promNumber(p.factor * budget);
          return `(\n  ${ratioRecord(s.sli, scaled(p.short))} > ${line}\nand\n  ${ratioRecord(s.sli, scaled(p.long))} > ${line}\n)`;
        })
        .join('\nor\n');
      const pairs = b.pairs.map((p) => `${scaled(p.short)}/${scaled(p.long)} above ${p.factor}×`).join(' or ');
      return {
        alert: `OnnxModel${s.name}BurnRate${b.speed === 'fast' ? 'Fast' : 'Slow'}`,
        severity: b.severity,
        expr,
        forSeconds: b.forSeconds,
        extraLabels: { slo: s.sli },
        summary: `${where} is burning its ${s.sli} error budget ${b.speed === 'fast' ? 'fast (page)' : 'slowly (ticket)'}`,
        description:
          `${where}: {{ $value | humanizePercentage }} of ${s.what}, against a ${promNumber(s.objective * 100)}% objective ` +
          `(burn rate ${pairs}). At this rate the ${s.sli} error budget is gone well before the period ends.`,
      };
    }),
  );
}

function modelAlerts(cfg: AlertConfig): AlertSpec[] {
  const s = (sec: number) => promDuration(sec / cfg.timeScale);
  const success = `${METRIC_LABEL_OUTCOME}="success"`;
  const p99 = `histogram_quantile(0.99, sum by (${BY_MODEL}, le) (rate(${RUNTIME.requestDuration}_bucket{${success}}[${s(5 * MIN)}])))`;
  const withTraffic = `sum by (${BY_MODEL}) (rate(${RUNTIME.requestDuration}_count{${success}}[${s(5 * MIN)}])) > 0`;
  const p99Alert = (alert: string, severity: Severity, seconds: number, forSeconds: number): AlertSpec => ({
    alert,
    severity,
    expr: `${p99} > ${promNumber(seconds)}\nand on (${BY_MODEL})\n${withTraffic}`,
    forSeconds,
    summary: `${where}: p99 latency above ${seconds}s`,
    description: `${where}: the 99th percentile of successful inference requests took {{ $value | humanizeDuration }} over ${s(5 * MIN)} (level: ${seconds}s).`,
  });
  const classes = (by: string) => `sum by (${by}) (increase(${RUNTIME.predictedClass}[${s(30 * MIN)}]))`;
  const up = `up{${SCRAPE_LABEL_MODEL}!=""}`;
  const ready = `${RUNTIME.modelReady}{${SCRAPE_LABEL_MODEL}!=""}`;
  const byScrapeModel = `${METRIC_LABEL_NAMESPACE}, ${SCRAPE_LABEL_MODEL}`;
  return [
    ...burnRateAlerts(cfg),
    {
      alert: 'OnnxModelHighErrorRate',
      severity: 'critical',
      expr: `${ratioRecord('availability', s(5 * MIN))} > ${promNumber(cfg.errorRateCritical)}`,
      forSeconds: 5 * MIN,
      summary: `${where}: more than ${promNumber(cfg.errorRateCritical * 100)}% of inference requests fail`,
      description: `${where}: {{ $value | humanizePercentage }} of inference requests (client errors aside) failed over ${s(5 * MIN)}: server errors, timeouts or rejections.`,
    },
    p99Alert('OnnxModelLatencyP99High', 'warning', cfg.p99WarningSeconds, 10 * MIN),
    p99Alert('OnnxModelLatencyP99Critical', 'critical', cfg.p99CriticalSeconds, 5 * MIN),
    {
      alert: 'OnnxModelFeatureDrift',
      severity: 'warning',
      expr: `max by (${BY_REVISION}, input, feature) (${RUNTIME.driftPsi}) > ${promNumber(cfg.driftPsiWarning)}`,
      forSeconds: 15 * MIN,
      summary: `${where}: input drift on {{ $labels.input }}[{{ $labels.feature }}]`,
      description: `${where} revision {{ $labels.${METRIC_LABEL_REVISION} }}: the population stability index of feature {{ $labels.feature }} of input {{ $labels.input }} against the baseline profile is {{ $value | printf "%.3f" }} (level ${promNumber(cfg.driftPsiWarning)}; above 0.25 is a major shift).`,
    },
    {
      alert: 'OnnxModelPredictionCollapse',
      severity: 'critical',
      expr:
        `max by (${BY_REVISION}) (\n  ${classes(`${BY_REVISION}, class`)}\n  / on (${BY_REVISION}) group_left()\n` +
        `  (${classes(BY_REVISION)} >= ${cfg.collapseMinPredictions})\n) >= ${promNumber(cfg.collapseShare)}`,
      forSeconds: 10 * MIN,
      summary: `${where}: almost every prediction is the same class`,
      description: `${where} revision {{ $labels.${METRIC_LABEL_REVISION} }}: one class got {{ $value | humanizePercentage }} of the predictions over ${s(30 * MIN)} (at least ${cfg.collapseMinPredictions} predictions): the model predicts ~0% or ~100% of a class.`,
    },
    {
      alert: 'OnnxModelUnavailable',
      severity: 'fatal',
      expr: `max by (${byScrapeModel}) (\n  ${ready}\n  or on (${METRIC_LABEL_NAMESPACE}, ${SCRAPE_LABEL_POD})\n  (${up} * 0)\n) == 0`,
      forSeconds: 2 * MIN,
      summary: `{{ $labels.${METRIC_LABEL_NAMESPACE} }}/{{ $labels.${SCRAPE_LABEL_MODEL} }}: no inference pod is ready`,
      description: `OnnxModel {{ $labels.${METRIC_LABEL_NAMESPACE} }}/{{ $labels.${SCRAPE_LABEL_MODEL} }}: every pod Prometheus scrapes for it is down or reports the model not ready: the inference service is unavailable.`,
    },
    {
      alert: 'OnnxModelMetricsAbsent',
      severity: 'critical',
      expr:
        `group by (${BY_OBJECT}) (${OPERATOR.rolloutStep})\nunless on (${BY_OBJECT})\n` +
        `label_replace(\n  group by (${byScrapeModel}) (${ready} or ${up} == 0),\n  "${OPERATOR_LABEL_NAME}", "$1", "${SCRAPE_LABEL_MODEL}", "(.+)"\n)`,
      forSeconds: 10 * MIN,
      summary: `{{ $labels.${METRIC_LABEL_NAMESPACE} }}/{{ $labels.${OPERATOR_LABEL_NAME} }}: no runtime metrics`,
      description: `The operator manages OnnxModel {{ $labels.${METRIC_LABEL_NAMESPACE} }}/{{ $labels.${OPERATOR_LABEL_NAME} }}, but Prometheus has no series from any of its pods: no pod runs, or none is scraped. Its SLO alerts and the canary analysis see nothing.`,
    },
  ];
}

function operatorAlerts(cfg: AlertConfig): AlertSpec[] {
  const s = (sec: number) => promDuration(sec / cfg.timeScale);
  const stuck = s(cfg.rolloutStuckAfterSeconds);
  const perObject = (metric: string) => `max by (${BY_OBJECT}) (${metric})`;
  const moves = (metric: string) => `max by (${BY_OBJECT}) (changes(${metric}[${stuck}])) > 0`;
  const object = `{{ $labels.${METRIC_LABEL_NAMESPACE} }}/{{ $labels.${OPERATOR_LABEL_NAME} }}`;
  return [
    {
      alert: 'OnnxModelRolledBack',
      severity: 'warning',
      expr: `sum by (${BY_OBJECT}, outcome) (increase(${OPERATOR.rollouts}{outcome=~"rolled-back|failed"}[${s(15 * MIN)}])) > 0`,
      summary: `${object}: the operator rolled a canary back`,
      description: `OnnxModel ${object}: {{ $value | printf "%.0f" }} rollout(s) ended {{ $labels.outcome }} in the last ${s(15 * MIN)}: the stable revision serves, the canary was refused by its analysis, its progress deadline or an abort. kubectl -n {{ $labels.${METRIC_LABEL_NAMESPACE} }} describe onnx {{ $labels.${OPERATOR_LABEL_NAME} }} shows status.lastRollback.`,
    },
    {
      alert: 'OnnxModelRolloutStuck',
      severity: 'warning',
      expr:
        `${perObject(OPERATOR.rolloutStep)} >= 0\nand on (${BY_OBJECT})\n${perObject(`${OPERATOR.rolloutStep} offset ${stuck}`)} >= 0\n` +
        `unless on (${BY_OBJECT})\n${moves(OPERATOR.rolloutStep)}\nunless on (${BY_OBJECT})\n${moves(OPERATOR.canaryWeight)}`,
      forSeconds: 5 * MIN,
      summary: `${object}: the rollout has not moved for ${stuck}`,
      description: `OnnxModel ${object} has had a canary at step {{ $value }} for ${stuck} without a change of step or weight: paused for a human (WaitingForPromote, WaitingForData, a pause action) or blocked.`,
    },
    {
      alert: 'OnnxOperatorDown',
      severity: 'critical',
      expr: `absent(${OPERATOR.leader} == 1)`,
      forSeconds: 5 * MIN,
      summary: 'No onnx-operator instance leads',
      description: 'Prometheus sees no operator instance holding the leader Lease (none scraped, all down, or none elected): no OnnxModel is reconciled, no canary advances or rolls back. Serving pods keep running.',
    },
    {
      alert: 'OnnxOperatorReconcileErrors',
      severity: 'warning',
      expr: `sum without (instance, pod) (rate(${OPERATOR.reconcileErrors}[${s(5 * MIN)}])) > 0`,
      forSeconds: 15 * MIN,
      summary: 'onnx-operator reconciles keep failing ({{ $labels.code }})',
      description: `Reconciles have failed with code {{ $labels.code }} for ${s(15 * MIN)} ({{ $value | printf "%.2f" }}/s): the operator retries with back-off, but the affected models do not converge.`,
    },
  ];
}

/** The recording rules: each SLI's error ratio per model over every window the alerts use. */
function recordingRules(cfg: AlertConfig): RecordingRule[] {
  return (['availability', 'latency'] as const).flatMap((sli) =>
    RECORDED_WINDOWS.map((sec) => {
      const w = promDuration(sec / cfg.timeScale);
      return { record: ratioRecord(sli, w), expr: errorRatioExpr(sli, w, cfg) };
    }),
  );
}

export function alertSpecs(cfg: AlertConfig = DEFAULT_ALERT_CONFIG): AlertSpec[] {
  return [...modelAlerts(cfg), ...operatorAlerts(cfg)];
}

export function prometheusRules(cfg: AlertConfig = DEFAULT_ALERT_CONFIG): RuleFile {
  if (!LATENCY_BUCKETS.includes(cfg.latencyThresholdSeconds)) {
    throw new Error(`latencyThresholdSeconds ${cfg.latencyThresholdSeconds} is not a bucket bound of ${RUNTIME.requestDuration} (${LATENCY_BUCKETS.join(', ')})`);
  }
  return {
    groups: [
      { name: 'onnxop-slo-ratios', rules: recordingRules(cfg) },
      { name: 'onnxop-model-alerts', rules: modelAlerts(cfg).map((a) => alertRule(a, cfg)) },
      { name: 'onnxop-operator-alerts', rules: operatorAlerts(cfg).map((a) => alertRule(a, cfg)) },
    ],
  };
}
