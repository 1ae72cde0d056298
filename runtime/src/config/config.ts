// The runtime's whole configuration: parsed once from flags and environment (flags win), validated
// once, then passed down as a frozen value. The option table doubles as the `--help` text and the
// reference table in docs/runtime.md.
import { HEADER_REVISION, KAFKA_DEFAULT_TOPICS, RUNTIME_ENV, kafkaTopicProblem, parseKafkaBrokers } from '../../../lib/contract/index.ts';
import { RuntimeError } from '../errors.ts';
import { parseTracingEnv, type TracingConfig } from '../tracing/tracing-config.ts';

export type GraphOptimizationLevel = 'disabled' | 'basic' | 'extended' | 'all';
export type ExecutionProviderName = 'cpu' | 'cuda';
export type PredictionLogInputs = 'full' | 'summary' | 'none';
export type Task = 'auto' | 'classification' | 'regression' | 'none';
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface RuntimeConfig {
  modelName: string;
  revision: string;
  modelUri: string;
  modelDigest: string;
  modelFile: string;
  manifestBundle: string;
  port: number;
  grpc: boolean;
  grpcPort: number;
  shadowPort: number;
  shadowCompareUrl: string;
  host: string;
  threads: number; // 0 = from the container CPU limit
  graphOptimization: GraphOptimizationLevel;
  executionProvider: ExecutionProviderName;
  cpuFallback: boolean;
  threadSpinning: boolean;
  maxBatchSize: number;
  maxQueueDelayMs: number;
  queueLimit: number;
  maxConcurrentRuns: number;
  inlineRunMaxMs: number; // 0 = never run on the event loop
  requestTimeoutMs: number;
  headersTimeoutMs: number;
  bodyTimeoutMs: number;
  maxBodyBytes: number;
  maxBufferedBytes: number;
  maxHeaderBytes: number;
  maxModelBytes: number;
  fetchTimeoutMs: number;
  fetchRetries: number;
  ociPlainHttp: boolean;
  warmup: boolean;
  warmupRequest: string;
  logLevel: LogLevel;
  predictionLog: string; // stdout | none | file:<path> | kafka
  predictionLogInputs: PredictionLogInputs;
  predictionLogKafkaBrokers: string; // host:port[,host:port…]
  predictionLogKafkaTopic: string;
  predictionLogKafkaFeedbackTopic: string; // '' = ground truth not sent
  predictionLogKafkaBufferBytes: number;
  predictionLogKafkaTimeoutMs: number;
  pendingPredictionsMax: number;
  task: Task;
  featureStatsMaxFeatures: number;
  featureWindow: number;
  baselineProfile: string;
  shutdownDelayMs: number;
  drainTimeoutMs: number;
  /** Tracing, from the standard OTEL_* variables (tracing/tracing-config.ts); undefined = off. */
  tracing?: TracingConfig;
}

type Kind = 'string' | 'int' | 'number' | 'bool' | 'enum';

export interface OptionSpec {
  key: keyof RuntimeConfig;
  flag: string;
  env: string;
  kind: Kind;
  values?: readonly string[];
  min?: number;
  max?: number;
  required?: boolean;
  default?: string;
  help: string;
}

// Options the operator sets take their env name from the contract (lib/contract: RUNTIME_ENV); the
// others follow the same rule, ONNXOP_ and the flag in upper snake case.
const env = (flag: string): string => 'ONNXOP_' + flag.toUpperCase().replaceAll('-', '_');

export const OPTIONS: readonly OptionSpec[] = [
  { key: 'modelName', flag: 'model-name', env: RUNTIME_ENV.modelName, kind: 'string', required: true, help: 'Name the model is served under (/v2/models/<name>); a DNS-label-like string.' },
  { key: 'revision', flag: 'revision', env: RUNTIME_ENV.revision, kind: 'string', default: 'dev', help: `Revision label put on every metric and on the ${HEADER_REVISION} response header.` },
  { key: 'modelUri', flag: 'model-uri', env: RUNTIME_ENV.modelUri, kind: 'string', required: true, help: 'Where the model comes from: file:///path, /plain/path, https://host/model.onnx, or oci://registry/repo@sha256:<manifest digest>. A local directory (file:///dir/ or /dir) is a model directory: the ONNX file and its external data, checked against --manifest-bundle.' },
  { key: 'modelDigest', flag: 'model-digest', env: RUNTIME_ENV.modelDigest, kind: 'string', required: true, help: 'sha256 of the ONNX bytes, as sha256:<64 hex>; for a model directory the model_signing manifest digest. Bytes with another digest are never loaded.' },
  { key: 'modelFile', flag: 'model-file', env: env('model-file'), kind: 'string', default: '', help: 'When --model-uri is a directory: the ONNX file inside it (a relative path); default the only *.onnx file at its top level.' },
  { key: 'manifestBundle', flag: 'manifest-bundle', env: RUNTIME_ENV.manifestBundle, kind: 'string', default: '', help: 'The model_signing bundle (file:///path, /plain/path, https://…) whose signed manifest a model directory is checked against: its digest must be --model-digest, and every file must match it. Required for a directory; with a single file its one signed file digest must be the file\'s.' },
  { key: 'port', flag: 'port', env: RUNTIME_ENV.port, kind: 'int', min: 0, max: 65535, default: '8080', help: 'TCP port for the v2 API and /metrics (0 = any free port).' },
  { key: 'grpc', flag: 'grpc', env: env('grpc'), kind: 'bool', default: 'true', help: 'Serve the Open Inference Protocol gRPC service (inference.GRPCInferenceService) on --grpc-port.' },
  { key: 'grpcPort', flag: 'grpc-port', env: env('grpc-port'), kind: 'int', min: 0, max: 65535, default: '8081', help: 'TCP port for the gRPC service, on --host (0 = any free port; also the default when --port=0).' },
  { key: 'shadowPort', flag: 'shadow-port', env: RUNTIME_ENV.shadowPort, kind: 'int', min: 0, max: 65535, default: '8082', help: 'TCP port of the shadow listener, on --host: copies of live requests a gateway mirrors here during a shadow step, counted apart from client traffic (onnxop_shadow_*; never in onnxop_requests_total). 0 = any free port (also the default when --port=0).' },
  { key: 'shadowCompareUrl', flag: 'shadow-compare-url', env: RUNTIME_ENV.shadowCompareUrl, kind: 'string', default: '', help: 'The stable revision\'s shadow listener (http://host:port): every mirrored request is also sent there and both answers are compared (onnxop_shadow_comparisons_total). HTTP_PROXY and NO_PROXY apply. Empty = mirrored requests are run, not compared.' },
  { key: 'host', flag: 'host', env: env('host'), kind: 'string', default: '0.0.0.0', help: 'Address to listen on.' },
  { key: 'threads', flag: 'threads', env: RUNTIME_ENV.threads, kind: 'int', min: 0, max: 1024, default: '0', help: 'onnxruntime intra-op threads; 0 = the container CPU limit (cgroup v2 cpu.max), else the CPU count.' },
  { key: 'graphOptimization', flag: 'graph-optimization', env: RUNTIME_ENV.graphOptimization, kind: 'enum', values: ['disabled', 'basic', 'extended', 'all'], default: 'all', help: 'onnxruntime graph optimization level.' },
  { key: 'executionProvider', flag: 'execution-provider', env: RUNTIME_ENV.executionProvider, kind: 'enum', values: ['cpu', 'cuda'], default: 'cpu', help: 'Execution provider. cuda fails start-up when CUDA is unavailable unless --cpu-fallback is set.' },
  { key: 'threadSpinning', flag: 'thread-spinning', env: env('thread-spinning'), kind: 'bool', default: 'false', help: 'Let onnxruntime\'s intra-op threads spin between runs. Off by default: spinning cuts a few microseconds of wake-up per run but keeps the pool threads busy between requests, taking CPU from request handling and counting against the container CPU limit.' },
  { key: 'cpuFallback', flag: 'cpu-fallback', env: RUNTIME_ENV.cpuFallback, kind: 'bool', default: 'false', help: 'With --execution-provider=cuda: serve on CPU (logged, and visible in onnxop_model_info and onnxop_execution_provider_fallback_total) when CUDA cannot be used.' },
  { key: 'maxBatchSize', flag: 'max-batch-size', env: RUNTIME_ENV.maxBatchSize, kind: 'int', min: 1, max: 65536, default: '32', help: 'Dynamic batching: most rows merged into one run (1 = off). Applies only when every input and output has a dynamic first dimension.' },
  { key: 'maxQueueDelayMs', flag: 'max-queue-delay-ms', env: RUNTIME_ENV.maxQueueDelayMs, kind: 'int', min: 0, max: 10000, default: '0', help: 'Dynamic batching: longest a request waits for others to join its batch. 0 = opportunistic: merge only what is already waiting when a run slot frees (no added latency).' },
  { key: 'queueLimit', flag: 'queue-limit', env: env('queue-limit'), kind: 'int', min: 1, max: 1_000_000, default: '256', help: 'Requests waiting for a run beyond this are answered 429 at once.' },
  { key: 'maxConcurrentRuns', flag: 'max-concurrent-runs', env: env('max-concurrent-runs'), kind: 'int', min: 1, max: 64, default: '2', help: 'onnxruntime runs in flight at once: one session worker thread each, so the event loop never runs the graph. Intra-op threads default to CPUs / workers.' },
  { key: 'inlineRunMaxMs', flag: 'inline-run-max-ms', env: env('inline-run-max-ms'), kind: 'number', min: 0, max: 1000, default: '1', help: 'Adaptive execution: a model whose warm-up runs take under this (p95) runs on the event loop instead of a session worker, saving the thread round trip; if served runs get slower (p99 over it) it moves back to the workers. 0 = always use the workers.' },
  { key: 'requestTimeoutMs', flag: 'request-timeout-ms', env: env('request-timeout-ms'), kind: 'int', min: 1, max: 3_600_000, default: '30000', help: 'A request not answered within this is answered 504 (outcome "timeout").' },
  { key: 'headersTimeoutMs', flag: 'headers-timeout-ms', env: env('headers-timeout-ms'), kind: 'int', min: 100, max: 600_000, default: '10000', help: 'A request whose header block has not fully arrived within this is answered 408 and its connection closed (slow or stalled clients).' },
  { key: 'bodyTimeoutMs', flag: 'body-timeout-ms', env: env('body-timeout-ms'), kind: 'int', min: 100, max: 3_600_000, default: '10000', help: 'A request body that has not fully arrived within this of its headers (and within --request-timeout-ms) is answered 408 (outcome "client_error") and its connection closed.' },
  { key: 'maxBodyBytes', flag: 'max-body-bytes', env: env('max-body-bytes'), kind: 'int', min: 1024, max: 2 ** 31 - 1, default: String(64 * 1024 * 1024), help: 'Largest request body accepted, compressed or not, and after decompression (413 above).' },
  { key: 'maxBufferedBytes', flag: 'max-buffered-bytes', env: env('max-buffered-bytes'), kind: 'int', min: 1024, max: Number.MAX_SAFE_INTEGER, default: String(256 * 1024 * 1024), help: 'Request body bytes held in memory at once by all requests together (declared sizes are reserved up front); a request that does not fit is answered 503 with Retry-After (outcome "rejected"). At least --max-body-bytes.' },
  { key: 'maxHeaderBytes', flag: 'max-header-bytes', env: env('max-header-bytes'), kind: 'int', min: 1024, max: 1024 * 1024, default: '16384', help: 'Largest request header block (request line and headers); larger is answered 431 and the connection closed.' },
  { key: 'maxModelBytes', flag: 'max-model-bytes', env: env('max-model-bytes'), kind: 'int', min: 1, max: Number.MAX_SAFE_INTEGER, default: String(2 * 1024 ** 3), help: 'Largest model artifact fetched.' },
  { key: 'fetchTimeoutMs', flag: 'fetch-timeout-ms', env: env('fetch-timeout-ms'), kind: 'int', min: 100, max: 3_600_000, default: '120000', help: 'Timeout of each artifact fetch attempt.' },
  { key: 'fetchRetries', flag: 'fetch-retries', env: env('fetch-retries'), kind: 'int', min: 0, max: 20, default: '3', help: 'Retries of a failed artifact fetch (network errors, 5xx, 429), with exponential back-off.' },
  { key: 'ociPlainHttp', flag: 'oci-plain-http', env: env('oci-plain-http'), kind: 'bool', default: 'false', help: 'Talk to the OCI registry over http:// (local registries only; the digest still guards the bytes).' },
  { key: 'warmup', flag: 'warmup', env: env('warmup'), kind: 'bool', default: 'true', help: 'Run warm-up requests before reporting ready (see --warmup-request).' },
  { key: 'warmupRequest', flag: 'warmup-request', env: env('warmup-request'), kind: 'string', default: '', help: 'A v2 infer request (JSON file, file:///path or a path) to warm up with; a warm-up failure on it stops start-up (WARMUP_FAILED). Without it the warm-up input is synthesized: each feature at the median of --baseline-profile when given, else every value 1, and a failure on it is only logged.' },
  { key: 'logLevel', flag: 'log-level', env: env('log-level'), kind: 'enum', values: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], default: 'info', help: 'pino log level (JSON logs on stderr).' },
  { key: 'predictionLog', flag: 'prediction-log', env: RUNTIME_ENV.predictionLog, kind: 'string', default: 'stdout', help: 'Prediction log sink: stdout, none, file:<path> (JSON lines), or kafka (each record to --prediction-log-kafka-topic, keyed by prediction id; see the --prediction-log-kafka-* options).' },
  { key: 'predictionLogInputs', flag: 'prediction-log-inputs', env: env('prediction-log-inputs'), kind: 'enum', values: ['full', 'summary', 'none'], default: 'summary', help: 'What of the inputs goes to the prediction log: full tensors, a summary (name, type, shape, first values), or nothing.' },
  { key: 'predictionLogKafkaBrokers', flag: 'prediction-log-kafka-brokers', env: RUNTIME_ENV.predictionLogKafkaBrokers, kind: 'string', default: '', help: 'With --prediction-log=kafka (required there, refused elsewhere): the bootstrap brokers, host:port[,host:port…].' },
  { key: 'predictionLogKafkaTopic', flag: 'prediction-log-kafka-topic', env: RUNTIME_ENV.predictionLogKafkaTopic, kind: 'string', default: KAFKA_DEFAULT_TOPICS.predictions, help: 'With --prediction-log=kafka: the topic prediction records go to (the same JSON as a log line, keyed by prediction id).' },
  { key: 'predictionLogKafkaFeedbackTopic', flag: 'prediction-log-kafka-feedback-topic', env: RUNTIME_ENV.predictionLogKafkaFeedbackTopic, kind: 'string', default: KAFKA_DEFAULT_TOPICS.feedback, help: 'With --prediction-log=kafka: the topic ground truth posted to /v2/models/<name>/feedback goes to, keyed by the same prediction id; empty = not sent.' },
  { key: 'predictionLogKafkaBufferBytes', flag: 'prediction-log-kafka-buffer-bytes', env: env('prediction-log-kafka-buffer-bytes'), kind: 'int', min: 65536, max: 2 ** 31 - 1, default: String(32 * 1024 * 1024), help: 'With --prediction-log=kafka: memory held for records not yet acknowledged, per topic; a record that does not fit is dropped and counted (onnxop_kafka_records_dropped_total), never waited for.' },
  { key: 'predictionLogKafkaTimeoutMs', flag: 'prediction-log-kafka-timeout-ms', env: env('prediction-log-kafka-timeout-ms'), kind: 'int', min: 100, max: 600_000, default: '5000', help: 'With --prediction-log=kafka: a send (or connection) not answered within this fails, is counted (onnxop_kafka_delivery_failures_total) and retried with exponential back-off.' },
  { key: 'pendingPredictionsMax', flag: 'pending-predictions-max', env: env('pending-predictions-max'), kind: 'int', min: 0, max: 10_000_000, default: '10000', help: 'Predictions kept for ground-truth feedback (oldest evicted first, counted in onnxop_pending_predictions_evicted_total).' },
  { key: 'task', flag: 'task', env: env('task'), kind: 'enum', values: ['auto', 'classification', 'regression', 'none'], default: 'auto', help: 'Model kind for prediction/confidence metrics and feedback; auto = classification when an output is a 2-D float named like "prob*", else regression on the first numeric output.' },
  { key: 'featureStatsMaxFeatures', flag: 'feature-stats-max-features', env: env('feature-stats-max-features'), kind: 'int', min: 0, max: 1024, default: '16', help: 'Per-feature statistics and drift cover the first N features (last dimension) of each numeric input; bounds the feature label.' },
  { key: 'featureWindow', flag: 'feature-window', env: env('feature-window'), kind: 'int', min: 10, max: 1_000_000, default: '1000', help: 'Recent values per feature used for the mean/std/min/max/missing-rate gauges and drift.' },
  { key: 'baselineProfile', flag: 'baseline-profile', env: env('baseline-profile'), kind: 'string', default: '', help: 'JSON baseline profile (see docs/runtime.md); enables PSI and KS drift gauges.' },
  { key: 'shutdownDelayMs', flag: 'shutdown-delay-ms', env: RUNTIME_ENV.shutdownDelayMs, kind: 'int', min: 0, max: 600_000, default: '0', help: 'After SIGTERM, keep serving (while reporting not ready) this long so endpoints drop the pod before the listener closes.' },
  { key: 'drainTimeoutMs', flag: 'drain-timeout-ms', env: env('drain-timeout-ms'), kind: 'int', min: 0, max: 600_000, default: '30000', help: 'After the listener closes, longest wait for accepted requests to finish.' },
];

export const USAGE = `Usage: onnx-runtime serve [options]

Serves one ONNX model over the Open Inference Protocol v2 (KServe v2) REST API, with Prometheus
metrics on /metrics. Every option can also be given by its environment variable; a flag wins.`;

export function helpText(): string {
  const lines = [USAGE, '', 'Options:'];
  for (const o of OPTIONS) {
    const value = o.kind === 'bool' ? '[=true|false]' : o.kind === 'enum' ? `=<${o.values?.join('|')}>` : o.kind === 'int' || o.kind === 'number' ? '=<n>' : '=<value>';
    const dflt = o.required ? ' (required)' : o.default !== undefined && o.default !== '' ? ` (default ${o.default})` : '';
    lines.push(`  --${o.flag}${value}`, `      ${o.help}`, `      env ${o.env}${dflt}`);
  }
  lines.push('  --help', '      Print this text.');
  lines.push('', 'Tracing (off by default) is configured by the standard OpenTelemetry variables: set', 'OTEL_EXPORTER_OTLP_ENDPOINT (OTLP over HTTP, e.g. http://jaeger:4318) to turn it on; see', 'OTEL_SERVICE_NAME, OTEL_TRACES_SAMPLER(_ARG), OTEL_RESOURCE_ATTRIBUTES in docs/runtime.md.');
  return lines.join('\n');
}

function invalid(o: OptionSpec, source: string, problem: string): RuntimeError {
  return new RuntimeError('CONFIG_INVALID', `--${o.flag} (${o.env}) ${problem} (got ${source}); run onnx-runtime serve --help`, {
    status: 400,
  });
}

function convert(o: OptionSpec, raw: string, source: string): string | number | boolean {
  switch (o.kind) {
    case 'string':
      return raw;
    case 'bool': {
      const v = raw.toLowerCase();
      if (['true', '1', 'yes', ''].includes(v)) return true;
      if (['false', '0', 'no'].includes(v)) return false;
      throw invalid(o, source, 'must be true or false');
    }
    case 'enum':
      if (!o.values?.includes(raw)) throw invalid(o, source, `must be one of ${o.values?.join(', ')}`);
      return raw;
    case 'int': {
      if (!/^-?\d+$/.test(raw.trim())) throw invalid(o, source, 'must be a whole number');
      const n = Number(raw);
      if ((o.min !== undefined && n < o.min) || (o.max !== undefined && n > o.max)) {
        throw invalid(o, source, `must be between ${o.min} and ${o.max}`);
      }
      return n;
    }
    case 'number': {
      if (!/^\d+(\.\d+)?$/.test(raw.trim())) throw invalid(o, source, 'must be a non-negative number, e.g. 0.5');
      const n = Number(raw);
      if ((o.min !== undefined && n < o.min) || (o.max !== undefined && n > o.max)) {
        throw invalid(o, source, `must be between ${o.min} and ${o.max}`);
      }
      return n;
    }
  }
}

export type ParsedArgs = { command: 'help' } | { command: 'serve'; config: RuntimeConfig };

/** Parses `serve` flags and the environment into a validated config, or throws CONFIG_INVALID. */
export function parseArgs(argv: readonly string[], environment: Record<string, string | undefined>): ParsedArgs {
  const args = [...argv];
  if (args.includes('--help') || args.includes('-h') || args[0] === 'help') return { command: 'help' };
  const command = args.shift();
  if (command !== 'serve') {
    throw new RuntimeError('CONFIG_INVALID', `unknown command ${JSON.stringify(command ?? '')}: the only command is "serve"; run onnx-runtime --help`);
  }
  const byFlag = new Map(OPTIONS.map((o) => [o.flag, o]));
  const fromFlags = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    if (!arg.startsWith('--')) throw new RuntimeError('CONFIG_INVALID', `unexpected argument ${JSON.stringify(arg)}: options look like --name=value; run onnx-runtime serve --help`);
    const eq = arg.indexOf('=');
    const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
    const o = byFlag.get(name);
    if (!o) throw new RuntimeError('CONFIG_INVALID', `unknown option --${name}; run onnx-runtime serve --help for the list`);
    let value: string;
    if (eq !== -1) value = arg.slice(eq + 1);
    else if (o.kind === 'bool' && (args[i + 1] === undefined || args[i + 1]?.startsWith('--'))) value = 'true';
    else {
      const next = args[i + 1];
      if (next === undefined) throw new RuntimeError('CONFIG_INVALID', `--${name} needs a value, e.g. --${name}=<value>`);
      value = next;
      i++;
    }
    fromFlags.set(o.flag, value);
  }
  const out: Record<string, unknown> = {};
  for (const o of OPTIONS) {
    const flagValue = fromFlags.get(o.flag);
    const envValue = environment[o.env];
    const raw = flagValue ?? (envValue !== undefined && envValue !== '' ? envValue : undefined) ?? o.default;
    const source = flagValue !== undefined ? `--${o.flag}=${flagValue}` : envValue ? `${o.env}=${envValue}` : `default ${o.default}`;
    if (raw === undefined) throw new RuntimeError('CONFIG_INVALID', `--${o.flag} (env ${o.env}) is required: ${o.help}`);
    out[o.key] = convert(o, raw, source);
  }
  // --port=0 (any free port) makes the default gRPC port any free port too: two runtimes started
  // that way on one host (tests, benchmarks) must not both take 8081.
  const grpcPort = spec('grpcPort');
  if (out.port === 0 && !fromFlags.has(grpcPort.flag) && !environment[grpcPort.env]) out.grpcPort = 0;
  const shadowPort = spec('shadowPort');
  if (out.port === 0 && !fromFlags.has(shadowPort.flag) && !environment[shadowPort.env]) out.shadowPort = 0;
  const config = out as unknown as RuntimeConfig;
  validate(config);
  config.tracing = parseTracingEnv(environment, { serviceName: config.modelName, serviceVersion: config.revision });
  return { command: 'serve', config: Object.freeze(config) };
}

const spec = (key: keyof RuntimeConfig): OptionSpec => OPTIONS.find((o) => o.key === key) as OptionSpec;

function validate(c: RuntimeConfig): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(c.modelName)) {
    throw invalid(spec('modelName'), c.modelName, 'must be 1–128 characters of letters, digits, ".", "_" or "-", starting with a letter or digit');
  }
  if (!/^[A-Za-z0-9._-]{1,128}$/.test(c.revision)) throw invalid(spec('revision'), c.revision, 'must be 1–128 characters of letters, digits, ".", "_" or "-"');
  if (!/^sha256:[0-9a-f]{64}$/.test(c.modelDigest)) {
    throw invalid(spec('modelDigest'), c.modelDigest, 'must be sha256:<64 lowercase hex digits>, e.g. the output of `sha256sum model.onnx` prefixed with sha256:');
  }
  if (c.modelUri.includes('://') && !/^(file|https?|oci):\/\//.test(c.modelUri)) {
    throw invalid(spec('modelUri'), c.modelUri, 'must start with file://, https://, http://, oci:// or be a file path');
  }
  if (c.manifestBundle.includes('://') && !/^(file|https?):\/\//.test(c.manifestBundle)) {
    throw invalid(spec('manifestBundle'), c.manifestBundle, 'must start with file://, https://, http:// or be a file path');
  }
  if (c.modelFile !== '' && (c.modelFile.startsWith('/') || c.modelFile.split('/').includes('..'))) {
    throw invalid(spec('modelFile'), c.modelFile, 'must be a path inside the model directory, e.g. model.onnx');
  }
  if (!(c.predictionLog === 'stdout' || c.predictionLog === 'none' || c.predictionLog === 'kafka' || /^file:.+/.test(c.predictionLog))) {
    throw invalid(spec('predictionLog'), c.predictionLog, 'must be stdout, none, file:<path> or kafka');
  }
  validateKafka(c);
  if (c.grpc && c.grpcPort !== 0 && c.grpcPort === c.port) throw invalid(spec('grpcPort'), String(c.grpcPort), 'must differ from --port (the REST port)');
  if (c.shadowPort !== 0 && (c.shadowPort === c.port || (c.grpc && c.shadowPort === c.grpcPort))) throw invalid(spec('shadowPort'), String(c.shadowPort), 'must differ from --port and --grpc-port');
  if (c.shadowCompareUrl !== '' && !/^http:\/\/[^/\s]+\/?$/.test(c.shadowCompareUrl)) throw invalid(spec('shadowCompareUrl'), c.shadowCompareUrl, 'must be http://<host>:<port> of the stable revision\'s shadow listener, or empty');
  if (c.maxBufferedBytes < c.maxBodyBytes) {
    throw invalid(spec('maxBufferedBytes'), String(c.maxBufferedBytes), `must be at least --max-body-bytes (${c.maxBodyBytes}), or no body of the largest size could ever be accepted`);
  }
  if (c.cpuFallback && c.executionProvider === 'cpu') {
    throw invalid(spec('cpuFallback'), 'true', 'only applies with --execution-provider=cuda; remove it or set the provider');
  }
}

/** host:port pairs of --prediction-log-kafka-brokers, or the problem with the first bad one. */
export const parseBrokers = parseKafkaBrokers;

function validateKafka(c: RuntimeConfig): void {
  if (c.predictionLog !== 'kafka') {
    if (c.predictionLogKafkaBrokers !== '') throw invalid(spec('predictionLogKafkaBrokers'), c.predictionLogKafkaBrokers, `only applies with --prediction-log=kafka (the sink is ${c.predictionLog}); set both or neither`);
    return;
  }
  if (c.predictionLogKafkaBrokers.trim() === '') throw invalid(spec('predictionLogKafkaBrokers'), 'nothing', 'is required with --prediction-log=kafka: the bootstrap brokers, e.g. kafka:9092');
  const brokers = parseBrokers(c.predictionLogKafkaBrokers);
  if ('problem' in brokers) throw invalid(spec('predictionLogKafkaBrokers'), c.predictionLogKafkaBrokers, brokers.problem);
  for (const key of ['predictionLogKafkaTopic', 'predictionLogKafkaFeedbackTopic'] as const) {
    const topic = c[key];
    if (key === 'predictionLogKafkaFeedbackTopic' && topic === '') continue;
    const problem = kafkaTopicProblem(topic);
    if (problem) throw invalid(spec(key), topic, problem);
  }
  if (c.predictionLogKafkaFeedbackTopic === c.predictionLogKafkaTopic) {
    throw invalid(spec('predictionLogKafkaFeedbackTopic'), c.predictionLogKafkaFeedbackTopic, 'must differ from --prediction-log-kafka-topic, so consumers can tell ground truth from predictions (or be empty to send none)');
  }
}
