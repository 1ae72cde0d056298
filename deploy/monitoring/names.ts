// The series the alerts and dashboards read. Names the operator and the runtime share come from the
// contract (lib/contract); the rest are the runtime's and the operator's own, listed in
// docs/metrics.md (a unit test checks every name here is documented there), and the scrape labels
// the lab's Prometheus and the chart's PodMonitor attach to every runtime series.
import { METRIC_LABEL_MODEL, METRIC_LABEL_OUTCOME, METRIC_LABEL_REVISION, METRIC_REQUEST_DURATION, METRIC_REQUESTS_IN_FLIGHT, METRIC_REQUESTS_TOTAL, METRIC_SHADOW_COMPARISONS, METRIC_SHADOW_DIFFERENCE } from '../../lib/contract/index.ts';
import { METRIC_LABEL_NAMESPACE } from '../../operator/src/analysis/promql.ts';

export { METRIC_LABEL_MODEL, METRIC_LABEL_NAMESPACE, METRIC_LABEL_OUTCOME, METRIC_LABEL_REVISION, METRIC_REQUEST_DURATION, METRIC_REQUESTS_IN_FLIGHT, METRIC_REQUESTS_TOTAL };

/**
 * Target labels the scrape adds from the pod's labels (serving.onnxop.io/model and /revision): the
 * OnnxModel's name and revision even when a target is down and its own series are gone. The lab's
 * scrape configuration (e2e/lab/prometheus.ts) sets them; a PodMonitor needs the same relabelings.
 */
export const SCRAPE_LABEL_MODEL = 'onnx_model';
export const SCRAPE_LABEL_REVISION = 'onnx_revision';
export const SCRAPE_LABEL_POD = 'pod';

/** The runtime's series (docs/metrics.md). */
export const RUNTIME = {
  requests: METRIC_REQUESTS_TOTAL,
  requestDuration: METRIC_REQUEST_DURATION,
  inFlight: METRIC_REQUESTS_IN_FLIGHT,
  queueDepth: 'onnxop_queue_depth',
  queueDuration: 'onnxop_queue_duration_seconds',
  computeDuration: 'onnxop_compute_duration_seconds',
  batchSize: 'onnxop_batch_size',
  runs: 'onnxop_runs_total',
  modelReady: 'onnxop_model_ready',
  modelInfo: 'onnxop_model_info',
  featureMean: 'onnxop_feature_mean',
  featureStd: 'onnxop_feature_std',
  featureMin: 'onnxop_feature_min',
  featureMax: 'onnxop_feature_max',
  featureMissingRatio: 'onnxop_feature_missing_ratio',
  featureValues: 'onnxop_feature_values_total',
  driftPsi: 'onnxop_feature_drift_psi',
  driftKs: 'onnxop_feature_drift_ks',
  driftKsPValue: 'onnxop_feature_drift_ks_p_value',
  predictionValue: 'onnxop_prediction_value',
  predictedClass: 'onnxop_predicted_class_total',
  confidence: 'onnxop_prediction_confidence',
  predictionsLogged: 'onnxop_predictions_logged_total',
  predictionLogDropped: 'onnxop_prediction_log_dropped_total',
  pendingPredictions: 'onnxop_pending_predictions',
  pendingEvicted: 'onnxop_pending_predictions_evicted_total',
  feedback: 'onnxop_feedback_total',
  groundTruth: 'onnxop_ground_truth_total',
  absoluteError: 'onnxop_ground_truth_absolute_error',
  shadowComparisons: METRIC_SHADOW_COMPARISONS,
  shadowDifference: METRIC_SHADOW_DIFFERENCE,
  cpuSeconds: 'onnxop_process_process_cpu_seconds_total',
  residentMemory: 'onnxop_process_process_resident_memory_bytes',
  eventLoopLag: 'onnxop_process_nodejs_eventloop_lag_p99_seconds',
} as const;

/** The operator's series (docs/metrics.md, "Operator metrics"); per-model ones carry namespace and name. */
export const OPERATOR = {
  reconciles: 'onnxop_operator_reconcile_total',
  reconcileErrors: 'onnxop_operator_reconcile_errors_total',
  rollouts: 'onnxop_operator_rollouts_total',
  canaryWeight: 'onnxop_operator_canary_weight',
  rolloutStep: 'onnxop_operator_rollout_step',
  analysisVerdicts: 'onnxop_operator_analysis_verdicts_total',
  burnRate: 'onnxop_operator_analysis_burn_rate',
  leader: 'onnxop_operator_leader',
} as const;

/** The label the operator's per-model series name the OnnxModel with (beside `namespace`). */
export const OPERATOR_LABEL_NAME = 'name';
