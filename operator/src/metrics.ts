// The operator's own metrics (documented in docs/metrics.md, "Operator").
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { QUERY_RESULTS as PROMETHEUS_QUERY_RESULTS } from './prometheus/response.ts';

export interface OperatorMetrics {
  registry: Registry;
  reconciles: Counter<'result'>;
  reconcileErrors: Counter<'code'>;
  reconcileDuration: Histogram;
  queueDepth: Gauge;
  queueActive: Gauge;
  apiWrites: Counter<'verb' | 'kind'>;
  kubeRequests: Counter<'method' | 'code'>;
  watchRestarts: Counter<'resource' | 'reason'>;
  rollouts: Counter<'namespace' | 'name' | 'outcome'>;
  canaryWeight: Gauge<'namespace' | 'name'>;
  rolloutStep: Gauge<'namespace' | 'name'>;
  analysisVerdicts: Counter<'verdict'>;
  burnRate: Gauge<'namespace' | 'name' | 'slo' | 'window'>;
  leader: Gauge;
  prometheusQueries: Counter<'result'>;
  prometheusQueryDuration: Histogram;
}

export function createMetrics(): OperatorMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'onnxop_operator_process_' });
  const m: OperatorMetrics = {
    registry,
    reconciles: new Counter({ name: 'onnxop_operator_reconcile_total', help: 'Reconciles by result (success, error).', labelNames: ['result'], registers: [registry] }),
    reconcileErrors: new Counter({ name: 'onnxop_operator_reconcile_errors_total', help: 'Failed reconciles by error code.', labelNames: ['code'], registers: [registry] }),
    reconcileDuration: new Histogram({
      name: 'onnxop_operator_reconcile_duration_seconds',
      help: 'Time to reconcile one model, I/O included.',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    queueDepth: new Gauge({ name: 'onnxop_operator_workqueue_depth', help: 'Keys waiting in the work queue (queued or delayed).', registers: [registry] }),
    queueActive: new Gauge({ name: 'onnxop_operator_workqueue_active', help: 'Keys being reconciled now.', registers: [registry] }),
    apiWrites: new Counter({ name: 'onnxop_operator_api_writes_total', help: 'Write requests the operator sent to the API server.', labelNames: ['verb', 'kind'], registers: [registry] }),
    kubeRequests: new Counter({
      name: 'onnxop_operator_kube_requests_total',
      help: 'Requests to the Kubernetes API by method (WATCH for watch streams) and HTTP status code (error: no answer); code 403 means the RBAC lacks a permission.',
      labelNames: ['method', 'code'],
      registers: [registry],
    }),
    watchRestarts: new Counter({ name: 'onnxop_operator_watch_restarts_total', help: 'Watch restarts by resource and reason (expired, error, watchdog, closed).', labelNames: ['resource', 'reason'], registers: [registry] }),
    rollouts: new Counter({ name: 'onnxop_operator_rollouts_total', help: 'Finished rollouts by model and outcome.', labelNames: ['namespace', 'name', 'outcome'], registers: [registry] }),
    canaryWeight: new Gauge({ name: 'onnxop_operator_canary_weight', help: 'Current canary traffic weight (percent) per model.', labelNames: ['namespace', 'name'], registers: [registry] }),
    rolloutStep: new Gauge({ name: 'onnxop_operator_rollout_step', help: 'Current rollout step index (0-based) per model; -1 without a canary.', labelNames: ['namespace', 'name'], registers: [registry] }),
    analysisVerdicts: new Counter({ name: 'onnxop_operator_analysis_verdicts_total', help: 'Canary analysis measurements by verdict (pass, fail, inconclusive, error).', labelNames: ['verdict'], registers: [registry] }),
    burnRate: new Gauge({ name: 'onnxop_operator_analysis_burn_rate', help: "The canary's error-budget burn rate per SLO and window at the last measurement.", labelNames: ['namespace', 'name', 'slo', 'window'], registers: [registry] }),
    leader: new Gauge({ name: 'onnxop_operator_leader', help: '1 while this instance reconciles: it holds the leader Lease, or runs without leader election.', registers: [registry] }),
    prometheusQueries: new Counter({
      name: 'onnxop_operator_prometheus_queries_total',
      help: 'Analysis queries sent to Prometheus by result (success, http_error, invalid_response, timeout, connection_error, credentials_error).',
      labelNames: ['result'],
      registers: [registry],
    }),
    prometheusQueryDuration: new Histogram({
      name: 'onnxop_operator_prometheus_query_duration_seconds',
      help: 'Time of one analysis query to Prometheus, answer read and checked.',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
  };
  for (const result of ['success', 'error']) m.reconciles.inc({ result }, 0);
  for (const outcome of ['promoted', 'rolled-back', 'aborted', 'failed']) m.rollouts.inc({ outcome }, 0);
  for (const result of PROMETHEUS_QUERY_RESULTS) m.prometheusQueries.inc({ result }, 0);
  for (const verdict of ['pass', 'fail', 'inconclusive', 'error']) m.analysisVerdicts.inc({ verdict }, 0);
  return m;
}
