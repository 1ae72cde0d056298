// The contract between the operator and the runtime: names both processes must agree on. The runtime
// emits these metrics and reads these environment variables; the operator's built-in SLO queries
// and the Deployments it writes use the same constants. Neither side spells them out on its own.

/** Labels every runtime series carries (registry default labels), besides the scrape's `namespace`. */
export const METRIC_LABEL_MODEL = 'model';
export const METRIC_LABEL_REVISION = 'revision';

/** Inference requests by outcome (counter). */
export const METRIC_REQUESTS_TOTAL = 'onnxop_requests_total';
/** Inference request latency by outcome (histogram, seconds). */
export const METRIC_REQUEST_DURATION = 'onnxop_request_duration_seconds';
export const METRIC_LABEL_OUTCOME = 'outcome';
/** Inference requests accepted and not yet answered (gauge); the HPA's targetInflight reads it. */
export const METRIC_REQUESTS_IN_FLIGHT = 'onnxop_requests_in_flight';

/**
 * Model-health series the quality gates compare between revisions (operator/src/analysis/quality.ts):
 * predicted classes (counter, label `class`), the prediction-value histogram (label `output`), and
 * ground truth: classifier rows by result (counter, `result` = correct | incorrect) and regressor
 * rows' absolute error (histogram).
 */
export const METRIC_PREDICTED_CLASS = 'onnxop_predicted_class_total';
export const METRIC_PREDICTION_VALUE = 'onnxop_prediction_value';
export const METRIC_GROUND_TRUTH = 'onnxop_ground_truth_total';
export const METRIC_GROUND_TRUTH_ABSOLUTE_ERROR = 'onnxop_ground_truth_absolute_error';

/**
 * Shadow traffic (docs/rollout.md, "Shadow steps"): the gateway mirrors a share of requests to the
 * canary's shadow port, a listener apart from the client port, so mirrored requests never count in
 * onnxop_requests_total (the SLOs) nor in the model-health series; they count here by `role`
 * (mirror: a copy the gateway sent; compare: the canary asking the stable revision for the same
 * input). Each mirrored row compared with stable's answer counts in the comparisons counter by
 * `outcome` with the stable revision in `stable_revision`; regressor rows' absolute difference goes
 * to the difference histogram.
 */
export const METRIC_SHADOW_REQUESTS = 'onnxop_shadow_requests_total';
export const METRIC_SHADOW_COMPARISONS = 'onnxop_shadow_comparisons_total';
export const METRIC_SHADOW_DIFFERENCE = 'onnxop_shadow_difference';
export const METRIC_LABEL_STABLE_REVISION = 'stable_revision';
export const SHADOW_OUTCOMES = ['agree', 'disagree', 'canary_error', 'stable_error', 'skipped'] as const;
export type ShadowOutcome = (typeof SHADOW_OUTCOMES)[number];
/** Outcomes the agreement gate counts against the canary (the rest are not the canary's doing). */
export const SHADOW_BAD_OUTCOMES: readonly ShadowOutcome[] = ['disagree', 'canary_error'];
/** Bucket bounds of the difference histogram; analysis.quality.agreement.tolerance is one of them. */
export const SHADOW_DIFFERENCE_BUCKETS: readonly number[] = [1e-6, 1e-5, 1e-4, 1e-3, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 100];
/**
 * Float noise: a regressor row agrees when every value differs from stable's by at most
 * absolute + relative × |stable| (a re-export or another thread count moves the last bits only).
 */
export const SHADOW_FLOAT_NOISE = { absolute: 1e-5, relative: 1e-4 } as const;
/** The header that marks the canary's request to the stable revision (never compared again, never mirrored). */
export const HEADER_SHADOW = 'x-onnxop-shadow';
export const SHADOW_COMPARE = 'compare';
/** The runtime's shadow listener: the container port name and the Services' port number. */
export const SHADOW_PORT_NAME = 'shadow';
export const SHADOW_PORT = 8082;

export const OUTCOMES = ['success', 'client_error', 'server_error', 'timeout', 'rejected'] as const;
export type Outcome = (typeof OUTCOMES)[number];

/**
 * The built-in availability SLO's bad events: answers that are the server's fault or that the server
 * refused (500, 504, and 429/503 when the queue is full or the pod is not ready). Client errors
 * (4xx except 429) are the caller's fault and count neither as good nor as bad.
 */
export const AVAILABILITY_BAD_OUTCOMES: readonly Outcome[] = ['server_error', 'timeout', 'rejected'];
export const AVAILABILITY_EXCLUDED_OUTCOMES: readonly Outcome[] = ['client_error'];

/** Bucket bounds (seconds) of the request, queue and compute duration histograms. */
export const LATENCY_BUCKETS: readonly number[] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/**
 * Environment variables the runtime reads and the operator sets in every revision's Deployment,
 * keyed by the runtime's config field (each is also an `onnx-runtime serve` flag: docs/runtime.md).
 * The runtime's option table takes these names; the operator's Deployment builder writes them.
 */
export const RUNTIME_ENV = {
  modelName: 'ONNXOP_MODEL_NAME',
  revision: 'ONNXOP_REVISION',
  modelUri: 'ONNXOP_MODEL_URI',
  modelDigest: 'ONNXOP_MODEL_DIGEST',
  manifestBundle: 'ONNXOP_MANIFEST_BUNDLE',
  port: 'PORT',
  threads: 'ONNXOP_THREADS',
  graphOptimization: 'ONNXOP_GRAPH_OPTIMIZATION',
  executionProvider: 'ONNXOP_EXECUTION_PROVIDER',
  cpuFallback: 'ONNXOP_CPU_FALLBACK',
  maxBatchSize: 'ONNXOP_MAX_BATCH_SIZE',
  maxQueueDelayMs: 'ONNXOP_MAX_QUEUE_DELAY_MS',
  shutdownDelayMs: 'ONNXOP_SHUTDOWN_DELAY_MS',
  baselineProfile: 'ONNXOP_BASELINE_PROFILE',
  shadowPort: 'ONNXOP_SHADOW_PORT',
  shadowCompareUrl: 'ONNXOP_SHADOW_COMPARE_URL',
  // The prediction store the operator points every model at (operator --prediction-kafka-brokers).
  predictionLog: 'ONNXOP_PREDICTION_LOG',
  predictionLogKafkaBrokers: 'ONNXOP_PREDICTION_LOG_KAFKA_BROKERS',
  predictionLogKafkaTopic: 'ONNXOP_PREDICTION_LOG_KAFKA_TOPIC',
  predictionLogKafkaFeedbackTopic: 'ONNXOP_PREDICTION_LOG_KAFKA_FEEDBACK_TOPIC',
} as const;
export type RuntimeEnvName = (typeof RUNTIME_ENV)[keyof typeof RUNTIME_ENV];

/** The prediction store's topics when none are given (runtime and operator flags). */
export const KAFKA_DEFAULT_TOPICS = { predictions: 'onnxop.predictions', feedback: 'onnxop.feedback' } as const;

/**
 * A Kafka bootstrap list (runtime --prediction-log-kafka-brokers, operator --prediction-kafka-brokers)
 * as host:port pairs, or the problem with the first bad one.
 */
export function parseKafkaBrokers(list: string): string[] | { problem: string } {
  const brokers = list.split(',').map((b) => b.trim());
  for (const b of brokers) {
    const m = /^([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\]):(\d{1,5})$/.exec(b);
    if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) return { problem: `has ${JSON.stringify(b)}: each broker must be host:port with a port from 1 to 65535, e.g. kafka-0.kafka:9092,kafka-1.kafka:9092` };
  }
  return brokers;
}

/** Why `name` is not a Kafka topic name, or undefined when it is one. */
export function kafkaTopicProblem(name: string): string | undefined {
  return /^[A-Za-z0-9._-]{1,249}$/.test(name) && name !== '.' && name !== '..' ? undefined : 'must be a Kafka topic name: 1–249 characters of letters, digits, ".", "_" or "-", not "." or ".."';
}

/**
 * The standard OpenTelemetry variables the runtime reads for tracing (docs/runtime.md, "Tracing")
 * and the operator sets when a model's spec.runtime.tracing turns it on. Tracing is off unless an
 * endpoint is set.
 */
export const OTEL_ENV = {
  endpoint: 'OTEL_EXPORTER_OTLP_ENDPOINT',
  tracesEndpoint: 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
  serviceName: 'OTEL_SERVICE_NAME',
  sampler: 'OTEL_TRACES_SAMPLER',
  samplerArg: 'OTEL_TRACES_SAMPLER_ARG',
  resourceAttributes: 'OTEL_RESOURCE_ATTRIBUTES',
} as const;

/** The W3C Trace Context request header a caller's trace continues through (gateway, runtime). */
export const HEADER_TRACEPARENT = 'traceparent';
export const HEADER_TRACESTATE = 'tracestate';

/** Response headers the runtime sets: the revision that answered, and the prediction id (for ground truth). */
export const HEADER_REVISION = 'x-onnxop-revision';
export const HEADER_PREDICTION_ID = 'x-onnxop-prediction-id';

/** Paths the runtime serves and the operator points probes and Prometheus' scrape annotations at. */
export const PATH_METRICS = '/metrics';
export const PATH_LIVE = '/v2/health/live';
export const PATH_READY = '/v2/health/ready';
