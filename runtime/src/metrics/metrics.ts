// The runtime's Prometheus metrics. Names, labels and meanings are a contract documented in
// docs/metrics.md: the operator's built-in SLOs and the dashboards query them. Every series carries
// `model` and `revision` (registry default labels); nothing per-request ever becomes a label.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import {
  LATENCY_BUCKETS,
  METRIC_LABEL_MODEL,
  METRIC_LABEL_OUTCOME,
  METRIC_GROUND_TRUTH,
  METRIC_GROUND_TRUTH_ABSOLUTE_ERROR,
  METRIC_LABEL_REVISION,
  METRIC_PREDICTED_CLASS,
  METRIC_PREDICTION_VALUE,
  METRIC_REQUEST_DURATION,
  METRIC_REQUESTS_TOTAL,
  OUTCOMES,
  type Outcome,
} from '../../../lib/contract/index.ts';
import { FastCounter, FastGauge, FastHistogram, type CounterChild, type HistogramChild } from './fast.ts';

// The series the operator's built-in SLOs query (names, labels, outcomes, latency buckets) come from
// the contract both processes import.
export { LATENCY_BUCKETS, OUTCOMES, type Outcome };
export const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];
export const PROBABILITY_BUCKETS = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 1];
export const PREDICTION_BUCKETS = [-100, -10, -5, -2, -1, -0.5, 0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1, 2, 5, 10, 100];
export const ERROR_BUCKETS = [0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 100];

export type RuntimeMetrics = ReturnType<typeof createMetrics>;

export function createMetrics(model: string, revision: string) {
  const registry = new Registry();
  registry.setDefaultLabels({ [METRIC_LABEL_MODEL]: model, [METRIC_LABEL_REVISION]: revision });
  collectDefaultMetrics({ register: registry, prefix: 'onnxop_process_' });
  const r = [registry];
  /** The Kafka sink's hook that sets its buffer gauges (see kafkaBufferedRecords). */
  const kafkaBuffers: { refresh?: () => void } = {};

  // Updated per request: fast.ts metrics (a field increment on a label-bound child), rendered at
  // scrape time in the same text format.
  const requests = new FastCounter(registry, METRIC_REQUESTS_TOTAL, 'Inference requests by outcome.', [METRIC_LABEL_OUTCOME]);
  const requestDuration = new FastHistogram(
    registry,
    METRIC_REQUEST_DURATION,
    'Inference request latency from the first byte read to the response written, by outcome.',
    [METRIC_LABEL_OUTCOME],
    LATENCY_BUCKETS,
  );
  const runs = new FastCounter(registry, 'onnxop_runs_total', 'onnxruntime runs by result.', ['result']);
  const fast = {
    requests,
    /** One child per outcome, created at start-up so every outcome exists at 0. */
    requestsBy: Object.fromEntries(OUTCOMES.map((o) => [o, requests.labels({ [METRIC_LABEL_OUTCOME]: o })])) as Record<Outcome, CounterChild>,
    requestDurationBy: {} as Record<Outcome, HistogramChild>,
    queueDuration: new FastHistogram(registry, 'onnxop_queue_duration_seconds', 'Time a request waited in the queue before its run started.', [], LATENCY_BUCKETS).labels(),
    computeDuration: new FastHistogram(registry, 'onnxop_compute_duration_seconds', 'onnxruntime run time per (possibly batched) run.', [], LATENCY_BUCKETS).labels(),
    batchSize: new FastHistogram(registry, 'onnxop_batch_size', 'Rows per onnxruntime run (1 without dynamic batching).', [], BATCH_BUCKETS).labels(),
    runsOk: runs.labels({ result: 'ok' }),
    runsError: runs.labels({ result: 'error' }),
    inFlight: new FastGauge(registry, 'onnxop_requests_in_flight', 'Inference requests accepted and not yet answered.', []).labels(),
    queueDepth: new FastGauge(registry, 'onnxop_queue_depth', 'Requests waiting for a run.', []).labels(),
    requestBytesBuffered: new FastGauge(
      registry,
      'onnxop_request_body_bytes_buffered',
      'Request body bytes held in memory now (declared sizes reserved on arrival), against --max-buffered-bytes.',
      [],
    ).labels(),
    featureValues: new FastCounter(registry, 'onnxop_feature_values_total', 'Values observed per feature.', ['input', 'feature']),
    featureMissing: new FastCounter(registry, 'onnxop_feature_missing_total', 'null/NaN values observed per feature.', ['input', 'feature']),
    predictionValue: new FastHistogram(
      registry,
      METRIC_PREDICTION_VALUE,
      'Distribution of predictions: the first value per row of the score output (regression value, or positive-class score).',
      ['output'],
      PREDICTION_BUCKETS,
    ),
    predictedClass: new FastCounter(registry, METRIC_PREDICTED_CLASS, 'Predicted classes (class index; above 31 as "other").', ['class']),
    confidence: new FastHistogram(registry, 'onnxop_prediction_confidence', 'Classifier confidence: the probability of the predicted class.', [], PROBABILITY_BUCKETS).labels(),
    predictionsLogged: new FastCounter(registry, 'onnxop_predictions_logged_total', 'Prediction records written to the prediction log sink.', []).labels(),
    pendingPredictions: new FastGauge(registry, 'onnxop_pending_predictions', 'Predictions held awaiting ground truth.', []).labels(),
    pendingEvicted: new FastCounter(registry, 'onnxop_pending_predictions_evicted_total', 'Predictions evicted before their ground truth arrived (cap reached).', []).labels(),
  };
  for (const o of OUTCOMES) fast.requestDurationBy[o] = requestDuration.labels({ [METRIC_LABEL_OUTCOME]: o });

  const m = {
    registry,
    ...fast,
    modelReady: new Gauge({ name: 'onnxop_model_ready', help: '1 when the model is loaded, warmed up and accepting requests.', registers: r }),
    loadDuration: new Gauge({ name: 'onnxop_model_load_duration_seconds', help: 'Fetch + verify + load + warm-up time of the model.', registers: r }),
    modelInfo: new Gauge({
      name: 'onnxop_model_info',
      help: 'Always 1; labels describe the loaded model.',
      labelNames: ['digest', 'ort_version', 'execution_provider', 'requested_execution_provider', 'opset'],
      registers: r,
    }),
    inlineExecution: new Gauge({
      name: 'onnxop_inline_execution',
      help: 'Execution mode: 1 when onnxruntime runs inline on the event loop (warm-up runs measured under --inline-run-max-ms), 0 when runs go to session worker threads.',
      registers: r,
    }),
    providerFallbacks: new Counter({
      name: 'onnxop_execution_provider_fallback_total',
      help: 'Times the requested execution provider was unavailable and the CPU fallback policy applied.',
      labelNames: ['requested'],
      registers: r,
    }),
    // Model health: window statistics, set when /metrics is scraped.
    featureMean: new Gauge({ name: 'onnxop_feature_mean', help: 'Mean of the recent window of a numeric input feature.', labelNames: ['input', 'feature'], registers: r }),
    featureStd: new Gauge({ name: 'onnxop_feature_std', help: 'Standard deviation of the recent window of a feature.', labelNames: ['input', 'feature'], registers: r }),
    featureMin: new Gauge({ name: 'onnxop_feature_min', help: 'Minimum of the recent window of a feature.', labelNames: ['input', 'feature'], registers: r }),
    featureMax: new Gauge({ name: 'onnxop_feature_max', help: 'Maximum of the recent window of a feature.', labelNames: ['input', 'feature'], registers: r }),
    featureMissingRatio: new Gauge({
      name: 'onnxop_feature_missing_ratio',
      help: 'Share of null/NaN values in the recent window of a feature.',
      labelNames: ['input', 'feature'],
      registers: r,
    }),
    driftPsi: new Gauge({ name: 'onnxop_feature_drift_psi', help: 'Population stability index of the recent window against the baseline profile.', labelNames: ['input', 'feature'], registers: r }),
    driftKs: new Gauge({ name: 'onnxop_feature_drift_ks', help: 'Two-sample Kolmogorov–Smirnov statistic of the recent window against the baseline.', labelNames: ['input', 'feature'], registers: r }),
    driftKsPValue: new Gauge({ name: 'onnxop_feature_drift_ks_p_value', help: 'Asymptotic p-value of the KS statistic.', labelNames: ['input', 'feature'], registers: r }),
    // Prediction log and delayed ground truth.
    httpProtocolErrors: new Counter({
      name: 'onnxop_http_protocol_errors_total',
      help: 'Connections answered and closed before a request could be routed, by reason: malformed (400), headers_too_large (431), headers_timeout (408).',
      labelNames: ['reason'],
      registers: r,
    }),
    predictionLogDropped: new Counter({ name: 'onnxop_prediction_log_dropped_total', help: 'Prediction records dropped because the sink fell behind or failed.', registers: r }),
    // The Kafka sink (--prediction-log=kafka), by stream: predictions or feedback (ground truth).
    kafkaDelivered: new Counter({ name: 'onnxop_kafka_records_delivered_total', help: 'Records the Kafka broker acknowledged, by stream (predictions, feedback).', labelNames: ['stream'], registers: r }),
    kafkaDropped: new Counter({
      name: 'onnxop_kafka_records_dropped_total',
      help: 'Records never sent to Kafka, by stream and reason: buffer_full (the buffer bound was reached while the broker was slow or away), too_large (over 1 000 000 bytes) or closed (still buffered at shutdown).',
      labelNames: ['stream', 'reason'],
      registers: r,
    }),
    kafkaFailures: new Counter({ name: 'onnxop_kafka_delivery_failures_total', help: 'Records in send attempts that failed (each is retried), by stream.', labelNames: ['stream'], registers: r }),
    // Set when /metrics is scraped (by the sink's refresh hook), so a scrape during an outage sees the
    // buffer as it is, not as it was when the last send attempt ended.
    kafkaBufferedRecords: new Gauge({ name: 'onnxop_kafka_buffered_records', help: 'Records held for Kafka (waiting, in flight or awaiting a retry), by stream.', labelNames: ['stream'], registers: r, collect: () => kafkaBuffers.refresh?.() }),
    kafkaBufferedBytes: new Gauge({ name: 'onnxop_kafka_buffered_bytes', help: 'Bytes charged for the records held for Kafka, by stream; at most --prediction-log-kafka-buffer-bytes.', labelNames: ['stream'], registers: r, collect: () => kafkaBuffers.refresh?.() }),
    kafkaBuffers,
    feedback: new Counter({ name: 'onnxop_feedback_total', help: 'Ground-truth posts by outcome (accepted, unknown_id, invalid).', labelNames: ['outcome'], registers: r }),
    groundTruth: new Counter({ name: METRIC_GROUND_TRUTH, help: 'Classifier rows with ground truth, by result (correct, incorrect).', labelNames: ['result'], registers: r }),
    absoluteError: new Histogram({ name: METRIC_GROUND_TRUTH_ABSOLUTE_ERROR, help: 'Regressor rows with ground truth: |prediction − truth|.', buckets: ERROR_BUCKETS, registers: r }),
  };

  // Initialize label sets that must exist before the first event, so rate() sees the first errors
  // of a new revision instead of a series appearing mid-window. (Request outcomes and run results:
  // their children above.)
  for (const o of ['accepted', 'unknown_id', 'invalid']) m.feedback.inc({ outcome: o }, 0);
  for (const res of ['correct', 'incorrect']) m.groundTruth.inc({ result: res }, 0);
  for (const reason of ['malformed', 'headers_too_large', 'headers_timeout']) m.httpProtocolErrors.inc({ reason }, 0);
  m.modelReady.set(0);
  m.inlineExecution.set(0);
  return m;
}

/** HTTP status → outcome label, the SLO's notion of good and bad events. */
export function outcomeOf(status: number): Outcome {
  if (status < 400) return 'success';
  if (status === 429 || status === 503) return 'rejected';
  if (status === 504) return 'timeout';
  if (status < 500) return 'client_error';
  return 'server_error';
}
