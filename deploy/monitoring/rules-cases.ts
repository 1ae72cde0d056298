// promtool unit tests of the shipped rules (deploy/monitoring/rules.ts at its production windows):
// for every alert, input series that fire it and series that must not, zero traffic among them.
// Each case is one promtool test group; rules.test.ts runs each through the real promtool.
import { LATENCY_BUCKETS, OUTCOMES, type Outcome } from '../../lib/contract/index.ts';
import { OPERATOR, RUNTIME } from './names.ts';
import { alertSpecs, DEFAULT_ALERT_CONFIG, runbookAnchor } from './rules.ts';

export interface InputSeries {
  series: string;
  values: string;
}
export interface AlertExpectation {
  alertname: string;
  /** Minutes from the start. */
  at: number;
  /** Labels of each firing alert (severity and the rule's labels are added); [] = must not fire. */
  fire: { labels: Record<string, string>; value?: string }[];
}
export interface RuleCase {
  name: string;
  /** Sample spacing in minutes (default 1). */
  interval?: number;
  series: InputSeries[];
  alerts: AlertExpectation[];
  /** PromQL that must return nothing at `at` (e.g. a ratio at zero traffic: no series, no NaN). */
  empty?: { expr: string; at: number }[];
}

const MODEL = { namespace: 'prod', model: 'fraud' };
const POD = { ...MODEL, revision: 'r1', pod: 'fraud-r1-a', onnx_model: 'fraud', onnx_revision: 'r1' };
const OPERATOR_TARGET = { job: 'onnx-operator', instance: '10.0.0.9:8080', pod: 'onnx-operator-0' };

function selector(metric: string, labels: Record<string, string>): string {
  return `${metric}{${Object.entries(labels).map(([k, v]) => `${k}="${v}"`).join(',')}}`;
}
/** A counter growing by `perMinute` every minute for `minutes` minutes (promtool's expanding notation). */
const counter = (perMinute: number, minutes: number) => `0+${perMinute}x${minutes}`;
const gauge = (value: number, minutes: number) => `${value}x${minutes}`;

/** The request counter of one pod, every outcome present (the runtime creates them at 0). */
function requests(perMinute: Partial<Record<Outcome, number>>, minutes: number): InputSeries[] {
  return OUTCOMES.map((outcome) => ({ series: selector(RUNTIME.requests, { ...POD, outcome }), values: counter(perMinute[outcome] ?? 0, minutes) }));
}

/**
 * The request-duration histogram of successful requests: `perMinute` maps a bucket's upper bound
 * to the requests per minute that land in it (above the previous bound).
 */
function latency(perMinute: Record<number, number>, minutes: number): InputSeries[] {
  const bounds = [...LATENCY_BUCKETS, Infinity];
  let cumulative = 0;
  const series = bounds.map((le) => {
    cumulative += perMinute[le] ?? 0;
    return { series: selector(`${RUNTIME.requestDuration}_bucket`, { ...POD, outcome: 'success', le: le === Infinity ? '+Inf' : String(le) }), values: counter(cumulative, minutes) };
  });
  return [...series, { series: selector(`${RUNTIME.requestDuration}_count`, { ...POD, outcome: 'success' }), values: counter(cumulative, minutes) }];
}

const burn = (speed: 'Fast' | 'Slow', slo: 'Availability' | 'Latency', at: number, value?: string): AlertExpectation => ({
  alertname: `OnnxModel${slo}BurnRate${speed}`,
  at,
  fire: value === undefined ? [] : [{ labels: MODEL, value }],
});
const quiet = (alertname: string, at: number): AlertExpectation => ({ alertname, at, fire: [] });
const ALL_BURN = ['Fast', 'Slow'].flatMap((s) => ['Availability', 'Latency'].map((slo) => `OnnxModel${slo}BurnRate${s}`));
const ratio = (sli: string, w: string) => `namespace_model:onnxop_${sli}_errors:ratio_rate${w}`;

export const RULE_CASES: RuleCase[] = [
  {
    name: 'availability: 2% of requests fail for 70m → fast burn (page), slow burn, error rate > 1%',
    series: requests({ success: 980, server_error: 20 }, 70),
    alerts: [burn('Fast', 'Availability', 70, '2%'), burn('Slow', 'Availability', 70, '2%'), { alertname: 'OnnxModelHighErrorRate', at: 70, fire: [{ labels: MODEL, value: '2%' }] }],
  },
  {
    name: 'availability: 0.2% fail for 7h → slow burn only (6h/3d above 1×), no page, under the 1% level',
    series: requests({ success: 998, timeout: 2 }, 420),
    alerts: [burn('Slow', 'Availability', 420, '0.2%'), burn('Fast', 'Availability', 420), quiet('OnnxModelHighErrorRate', 420)],
  },
  {
    name: 'availability: 0.05% fail for 7h → within budget, quiet',
    series: requests({ success: 1999, rejected: 1 }, 420),
    alerts: [burn('Fast', 'Availability', 420), burn('Slow', 'Availability', 420), quiet('OnnxModelHighErrorRate', 420)],
  },
  {
    name: 'client errors only (the caller is at fault) → no availability ratio, quiet',
    series: requests({ client_error: 50 }, 120),
    alerts: [burn('Fast', 'Availability', 120), quiet('OnnxModelHighErrorRate', 120)],
    empty: [{ expr: ratio('availability', '5m'), at: 120 }],
  },
  {
    name: 'zero traffic for 7h → no ratio series (no NaN), no SLO or latency alert',
    series: [...requests({}, 420), ...latency({}, 420)],
    alerts: [...ALL_BURN.map((a) => quiet(a, 420)), quiet('OnnxModelHighErrorRate', 420), quiet('OnnxModelLatencyP99High', 420), quiet('OnnxModelLatencyP99Critical', 420)],
    empty: ['5m', '1h', '6h', '3d'].flatMap((w) => [{ expr: ratio('availability', w), at: 420 }, { expr: ratio('latency', w), at: 420 }]),
  },
  {
    name: 'latency: 20% of successful requests slower than 0.5s for 70m → fast latency burn, p99 above 0.5s',
    series: latency({ 0.1: 80, 1: 20 }, 70),
    alerts: [burn('Fast', 'Latency', 70, '20%'), { alertname: 'OnnxModelLatencyP99High', at: 70, fire: [{ labels: MODEL, value: '975ms' }] }, quiet('OnnxModelLatencyP99Critical', 70)],
  },
  {
    name: 'latency: 2% slower than 0.5s for 7h → slow latency burn only; p99 0.75s (warning, not critical)',
    series: latency({ 0.1: 98, 1: 2 }, 420),
    alerts: [
      burn('Slow', 'Latency', 420, '2%'),
      burn('Fast', 'Latency', 420),
      { alertname: 'OnnxModelLatencyP99High', at: 420, fire: [{ labels: MODEL, value: '750ms' }] },
      quiet('OnnxModelLatencyP99Critical', 420),
    ],
  },
  {
    name: 'latency: 2% between 2.5s and 5s → p99 3.75s, critical and warning',
    series: latency({ 0.1: 98, 5: 2 }, 30),
    alerts: [{ alertname: 'OnnxModelLatencyP99Critical', at: 30, fire: [{ labels: MODEL, value: '3.75s' }] }, { alertname: 'OnnxModelLatencyP99High', at: 30, fire: [{ labels: MODEL, value: '3.75s' }] }],
  },
  {
    name: 'latency: every request under 0.1s for 7h → quiet',
    series: latency({ 0.05: 60, 0.1: 40 }, 420),
    alerts: [burn('Fast', 'Latency', 420), burn('Slow', 'Latency', 420), quiet('OnnxModelLatencyP99High', 420), quiet('OnnxModelLatencyP99Critical', 420)],
  },
  {
    name: 'drift: PSI 0.3 on one feature for 30m → warning; PSI 0.1 on another → nothing',
    series: [
      { series: selector(RUNTIME.driftPsi, { ...POD, input: 'features', feature: '0' }), values: gauge(0.3, 30) },
      { series: selector(RUNTIME.driftPsi, { ...POD, input: 'features', feature: '1' }), values: gauge(0.1, 30) },
    ],
    alerts: [{ alertname: 'OnnxModelFeatureDrift', at: 30, fire: [{ labels: { ...MODEL, revision: 'r1', input: 'features', feature: '0' }, value: '0.300' }] }],
  },
  {
    name: 'drift: PSI 0.12 for an hour → quiet',
    series: [{ series: selector(RUNTIME.driftPsi, { ...POD, input: 'features', feature: '0' }), values: gauge(0.12, 60) }],
    alerts: [quiet('OnnxModelFeatureDrift', 60)],
  },
  {
    name: 'prediction collapse: every prediction class 1 for an hour → critical',
    series: [{ series: selector(RUNTIME.predictedClass, { ...POD, class: '1' }), values: counter(10, 60) }],
    alerts: [{ alertname: 'OnnxModelPredictionCollapse', at: 60, fire: [{ labels: { ...MODEL, revision: 'r1' }, value: '100%' }] }],
  },
  {
    name: 'prediction collapse: a 70/30 split → quiet; one class but 1 prediction a minute (too few) → quiet',
    series: [
      { series: selector(RUNTIME.predictedClass, { ...POD, class: '0' }), values: counter(7, 60) },
      { series: selector(RUNTIME.predictedClass, { ...POD, class: '1' }), values: counter(3, 60) },
      { series: selector(RUNTIME.predictedClass, { ...POD, model: 'rare', onnx_model: 'rare', class: '1' }), values: counter(1, 60) },
    ],
    alerts: [quiet('OnnxModelPredictionCollapse', 60)],
  },
  {
    name: 'unavailable: the only pod is down → fatal; a pod up but not ready → fatal',
    series: [
      { series: selector('up', { ...POD, job: 'pods' }), values: gauge(0, 10) },
      { series: selector('up', { ...POD, model: 'b', onnx_model: 'b', pod: 'b-r1-a', job: 'pods' }), values: gauge(1, 10) },
      { series: selector(RUNTIME.modelReady, { ...POD, model: 'b', onnx_model: 'b', pod: 'b-r1-a', job: 'pods' }), values: gauge(0, 10) },
    ],
    alerts: [{ alertname: 'OnnxModelUnavailable', at: 10, fire: [{ labels: { namespace: 'prod', onnx_model: 'fraud' } }, { labels: { namespace: 'prod', onnx_model: 'b' } }] }],
  },
  {
    name: 'unavailable: one pod ready, another down → quiet',
    series: [
      { series: selector('up', { ...POD, job: 'pods' }), values: gauge(1, 10) },
      { series: selector(RUNTIME.modelReady, { ...POD, job: 'pods' }), values: gauge(1, 10) },
      { series: selector('up', { ...POD, pod: 'fraud-r1-b', job: 'pods' }), values: gauge(0, 10) },
    ],
    alerts: [quiet('OnnxModelUnavailable', 10)],
  },
  {
    name: 'metrics absent: the operator manages fraud, no pod of it is scraped → critical',
    series: [{ series: selector(OPERATOR.rolloutStep, { ...OPERATOR_TARGET, namespace: 'prod', name: 'fraud' }), values: gauge(-1, 20) }],
    alerts: [{ alertname: 'OnnxModelMetricsAbsent', at: 20, fire: [{ labels: { namespace: 'prod', name: 'fraud' } }] }],
  },
  {
    name: 'metrics absent: runtime series present (even at zero traffic), or the target down (Unavailable says it) → quiet',
    series: [
      { series: selector(OPERATOR.rolloutStep, { ...OPERATOR_TARGET, namespace: 'prod', name: 'fraud' }), values: gauge(-1, 20) },
      { series: selector(RUNTIME.modelReady, { ...POD, job: 'pods' }), values: gauge(1, 20) },
      ...requests({}, 20),
      { series: selector(OPERATOR.rolloutStep, { ...OPERATOR_TARGET, namespace: 'prod', name: 'down' }), values: gauge(-1, 20) },
      { series: selector('up', { ...POD, model: 'down', onnx_model: 'down', pod: 'down-r1-a', job: 'pods' }), values: gauge(0, 20) },
    ],
    alerts: [quiet('OnnxModelMetricsAbsent', 20)],
  },
  {
    name: 'rolled back: a rollback counted → warning',
    series: [
      { series: selector(OPERATOR.rollouts, { ...OPERATOR_TARGET, namespace: 'prod', name: 'fraud', outcome: 'rolled-back' }), values: '0x5 1x10' },
      { series: selector(OPERATOR.rollouts, { ...OPERATOR_TARGET, namespace: 'prod', name: 'fraud', outcome: 'promoted' }), values: gauge(0, 15) },
      { series: selector(OPERATOR.rollouts, { ...OPERATOR_TARGET, namespace: 'prod', name: 'iris', outcome: 'promoted' }), values: '0x5 1x10' },
    ],
    alerts: [{ alertname: 'OnnxModelRolledBack', at: 10, fire: [{ labels: { namespace: 'prod', name: 'fraud', outcome: 'rolled-back' }, value: '1' }] }],
  },
  {
    name: 'rolled back: only promotions (and an old rollback, 30m ago) → quiet',
    series: [
      { series: selector(OPERATOR.rollouts, { ...OPERATOR_TARGET, namespace: 'prod', name: 'fraud', outcome: 'rolled-back' }), values: '0x10 1x50' },
      { series: selector(OPERATOR.rollouts, { ...OPERATOR_TARGET, namespace: 'prod', name: 'fraud', outcome: 'promoted' }), values: counter(1, 60) },
    ],
    alerts: [quiet('OnnxModelRolledBack', 60)],
  },
  {
    name: 'rollout stuck: a canary at step 0, weight 20, for 80m → warning',
    series: [
      { series: selector(OPERATOR.rolloutStep, { ...OPERATOR_TARGET, namespace: 'prod', name: 'fraud' }), values: gauge(0, 80) },
      { series: selector(OPERATOR.canaryWeight, { ...OPERATOR_TARGET, namespace: 'prod', name: 'fraud' }), values: gauge(20, 80) },
    ],
    alerts: [{ alertname: 'OnnxModelRolloutStuck', at: 80, fire: [{ labels: { namespace: 'prod', name: 'fraud' }, value: '0' }] }],
  },
  {
    name: 'rollout stuck: a step moved 40m ago, a model without canary (-1) for 80m, a canary 30m old → quiet',
    series: [
      { series: selector(OPERATOR.rolloutStep, { ...OPERATOR_TARGET, namespace: 'prod', name: 'fraud' }), values: '0x40 1x40' },
      { series: selector(OPERATOR.canaryWeight, { ...OPERATOR_TARGET, namespace: 'prod', name: 'fraud' }), values: '20x40 50x40' },
      { series: selector(OPERATOR.rolloutStep, { ...OPERATOR_TARGET, namespace: 'prod', name: 'idle' }), values: gauge(-1, 80) },
      { series: selector(OPERATOR.rolloutStep, { ...OPERATOR_TARGET, namespace: 'prod', name: 'young' }), values: '-1x50 0x30' },
    ],
    alerts: [quiet('OnnxModelRolloutStuck', 80)],
  },
  {
    name: 'operator down: no instance leads for 10m → critical',
    series: [{ series: selector(OPERATOR.leader, OPERATOR_TARGET), values: gauge(0, 10) }],
    alerts: [{ alertname: 'OnnxOperatorDown', at: 10, fire: [{ labels: {} }] }],
  },
  {
    name: 'operator down: no operator series at all → critical',
    series: [{ series: selector('up', { job: 'other' }), values: gauge(1, 10) }],
    alerts: [{ alertname: 'OnnxOperatorDown', at: 10, fire: [{ labels: {} }] }],
  },
  {
    name: 'operator down: a leader and a standby → quiet',
    series: [
      { series: selector(OPERATOR.leader, OPERATOR_TARGET), values: gauge(1, 10) },
      { series: selector(OPERATOR.leader, { ...OPERATOR_TARGET, instance: '10.0.0.8:8080', pod: 'onnx-operator-1' }), values: gauge(0, 10) },
    ],
    alerts: [quiet('OnnxOperatorDown', 10)],
  },
  {
    name: 'reconcile errors: 3 a minute for 30m → warning',
    series: [{ series: selector(OPERATOR.reconcileErrors, { ...OPERATOR_TARGET, code: 'KUBE_API_ERROR' }), values: counter(3, 30) }],
    alerts: [{ alertname: 'OnnxOperatorReconcileErrors', at: 30, fire: [{ labels: { job: 'onnx-operator', code: 'KUBE_API_ERROR' }, value: '0.05' }] }],
  },
  {
    name: 'reconcile errors: one burst 25m ago, none since → quiet',
    series: [{ series: selector(OPERATOR.reconcileErrors, { ...OPERATOR_TARGET, code: 'KUBE_API_ERROR' }), values: '0x5 4x25' }],
    alerts: [quiet('OnnxOperatorReconcileErrors', 30)],
  },
];

/** Renders an annotation template the way Prometheus does for the label and $value forms we use. */
export function renderAnnotation(template: string, labels: Record<string, string>, value: string | undefined): string {
  return template.replace(/\{\{\s*([^}]*?)\s*\}\}/g, (whole, inner: string) => {
    const label = /^\$labels\.([a-zA-Z_][a-zA-Z0-9_]*)$/.exec(inner);
    if (label) return labels[label[1] ?? ''] ?? '';
    if (inner.startsWith('$value')) {
      if (value === undefined) throw new Error(`the case gives no rendered $value for ${whole}`);
      return value;
    }
    throw new Error(`renderAnnotation: unsupported template ${whole}`);
  });
}

/** One case as a promtool test file (YAML-compatible JSON) against `ruleFile`. */
export function promtoolTestFile(c: RuleCase, ruleFile: string): object {
  const specs = new Map(alertSpecs(DEFAULT_ALERT_CONFIG).map((a) => [a.alert, a]));
  return {
    rule_files: [ruleFile],
    evaluation_interval: '1m',
    tests: [
      {
        name: c.name,
        interval: `${c.interval ?? 1}m`,
        input_series: c.series,
        alert_rule_test: c.alerts.map((a) => {
          const spec = specs.get(a.alertname);
          if (!spec) throw new Error(`no alert named ${a.alertname}`);
          return {
            eval_time: `${a.at}m`,
            alertname: a.alertname,
            exp_alerts: a.fire.map((f) => {
              const labels = { ...f.labels, severity: spec.severity, ...spec.extraLabels };
              return {
                exp_labels: labels,
                exp_annotations: {
                  summary: renderAnnotation(spec.summary, labels, f.value),
                  description: renderAnnotation(spec.description, labels, f.value),
                  runbook_url: `${DEFAULT_ALERT_CONFIG.runbookUrl}#${runbookAnchor(a.alertname)}`,
                },
              };
            }),
          };
        }),
        promql_expr_test: (c.empty ?? []).map((e) => ({ expr: e.expr, eval_time: `${e.at}m`, exp_samples: [] })),
      },
    ],
  };
}
