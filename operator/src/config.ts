// The operator's configuration: flags win over environment variables, which win over defaults.
// Parsed and validated once at start; an invalid value names the flag and the fix.
import { parseArgs } from 'node:util';
import { DEFAULT_RUNTIME_IMAGE } from './api/constants.ts';
import { parseDuration } from './api/parse.ts';
import { OperatorError } from './errors.ts';
import { KAFKA_DEFAULT_TOPICS, kafkaTopicProblem, parseKafkaBrokers } from '../../lib/contract/index.ts';

export interface OperatorConfig {
  kubeconfig: string | undefined;
  /** Watch only these namespaces (--namespace a,b); empty = every namespace. */
  watchNamespaces: string[];
  instanceId: string | undefined;
  httpHost: string;
  httpPort: number;
  leaderElect: boolean;
  leaderElectionNamespace: string;
  leaderElectionId: string;
  identity: string;
  concurrency: number;
  runtimeImage: string;
  defaultGateway: { namespace: string; name: string } | undefined;
  gatewayApi: 'auto' | 'enabled' | 'disabled';
  fieldManager: string;
  clusterDomain: string;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';
  watchdogSeconds: number;
  /** Namespaces whose models must carry spec.signature (`*` = all); the namespace label adds more. */
  requireSignatureNamespaces: string[];
  verificationResyncSeconds: number;
  /** Where the analysis queries the runtime's metrics; unset = no Prometheus configured. */
  prometheusUrl: string | undefined;
  prometheusTimeoutMs: number;
  prometheusBearerTokenFile: string | undefined;
  prometheusCaFile: string | undefined;
  /** Prometheus' scrape interval for the runtime pods: analysis windows and intervals are checked against it. */
  prometheusScrapeIntervalMs: number;
  /** The prediction store every model's runtime writes to (--prediction-kafka-brokers); unset = none. */
  predictionKafka: PredictionKafka | undefined;
}

/** Kafka brokers and topics for prediction records and ground truth. */
export interface PredictionKafka {
  brokers: string;
  topic: string;
  feedbackTopic: string;
}

export const configFlags = {
  kubeconfig: { type: 'string', env: 'KUBECONFIG', help: 'kubeconfig file; in-cluster credentials when unset' },
  namespace: { type: 'string', env: 'WATCH_NAMESPACE', help: 'comma list of the namespaces to watch, e.g. ml-prod,ml-staging (default: all); the RBAC can then be Roles in those namespaces' },
  'instance-id': { type: 'string', env: 'ONNXOP_INSTANCE_ID', help: 'reconcile only models labelled serving.onnxop.io/controller-instance=<id> (default: only models without that label)' },
  'http-host': { type: 'string', env: 'HTTP_HOST', help: 'address for /metrics, /healthz, /readyz (default 0.0.0.0)' },
  'http-port': { type: 'string', env: 'HTTP_PORT', help: 'port for /metrics, /healthz, /readyz (default 8080)' },
  'leader-elect': { type: 'string', env: 'LEADER_ELECT', help: 'true|false: elect a leader on a Lease (default true)' },
  'leader-election-namespace': { type: 'string', env: 'POD_NAMESPACE', help: 'namespace of the leader Lease (default: default)' },
  'leader-election-id': { type: 'string', env: 'LEADER_ELECTION_ID', help: 'name of the leader Lease (default onnx-operator)' },
  concurrency: { type: 'string', env: 'CONCURRENCY', help: 'models reconciled at once (default 4, 1..64)' },
  'runtime-image': { type: 'string', env: 'RUNTIME_IMAGE', help: `runtime image when a model sets none (default ${DEFAULT_RUNTIME_IMAGE})` },
  'default-gateway': { type: 'string', env: 'DEFAULT_GATEWAY', help: 'NAMESPACE/NAME of the Gateway HTTPRoutes attach to when a model names none' },
  'gateway-api': { type: 'string', env: 'GATEWAY_API', help: 'auto|enabled|disabled: manage HTTPRoutes (default auto: when the CRDs exist)' },
  'field-manager': { type: 'string', env: 'FIELD_MANAGER', help: 'server-side apply field manager (default onnx-operator)' },
  'cluster-domain': { type: 'string', env: 'CLUSTER_DOMAIN', help: 'cluster DNS domain (default cluster.local)' },
  'log-level': { type: 'string', env: 'LOG_LEVEL', help: 'fatal|error|warn|info|debug|trace (default info)' },
  'watchdog-seconds': { type: 'string', env: 'WATCHDOG_SECONDS', help: 'restart a watch silent for this long (default 600; a watch the server has not closed 30 s past its timeout is restarted sooner)' },
  'require-signature-namespaces': { type: 'string', env: 'REQUIRE_SIGNATURE_NAMESPACES', help: 'comma list of namespaces (or *) whose models must be signed; namespaces labelled serving.onnxop.io/require-signature=true too' },
  'verification-resync-seconds': { type: 'string', env: 'VERIFICATION_RESYNC_SECONDS', help: 're-read the bundle and trust material of signed models this often (default 120)' },
  'prometheus-url': { type: 'string', env: 'ONNXOP_PROMETHEUS_URL', help: 'http(s) URL of the Prometheus API the rollout analysis queries, e.g. http://prometheus.monitoring:9090' },
  'prometheus-timeout': { type: 'string', env: 'ONNXOP_PROMETHEUS_TIMEOUT', help: 'timeout of one analysis query, e.g. 5s or 500ms (default 5s, 100ms..5m)' },
  'prometheus-bearer-token-file': { type: 'string', env: 'ONNXOP_PROMETHEUS_BEARER_TOKEN_FILE', help: 'file with a bearer token sent to Prometheus; re-read when it changes' },
  'prometheus-ca-file': { type: 'string', env: 'ONNXOP_PROMETHEUS_CA_FILE', help: "PEM CA bundle that verifies Prometheus' TLS certificate" },
  'prometheus-scrape-interval': { type: 'string', env: 'ONNXOP_PROMETHEUS_SCRAPE_INTERVAL', help: "Prometheus' scrape interval for the runtime pods, e.g. 30s (default 30s, 1s..1h)" },
  'prediction-kafka-brokers': { type: 'string', env: 'ONNXOP_PREDICTION_KAFKA_BROKERS', help: 'host:port list of the Kafka brokers every model\'s runtime sends its prediction records and ground truth to, keyed by prediction id, e.g. kafka-0.kafka:9092 (default: none, records go to the pods\' stdout)' },
  'prediction-kafka-topic': { type: 'string', env: 'ONNXOP_PREDICTION_KAFKA_TOPIC', help: `with --prediction-kafka-brokers: the topic of prediction records (default ${KAFKA_DEFAULT_TOPICS.predictions})` },
  'prediction-kafka-feedback-topic': { type: 'string', env: 'ONNXOP_PREDICTION_KAFKA_FEEDBACK_TOPIC', help: `with --prediction-kafka-brokers: the topic of ground-truth records (default ${KAFKA_DEFAULT_TOPICS.feedback})` },
} as const;

type FlagName = keyof typeof configFlags;

function invalid(flag: FlagName, value: string, fix: string): OperatorError {
  return new OperatorError('CONFIG_INVALID', `--${flag} (or $${configFlags[flag].env}) is '${value}': ${fix}`, { transient: false });
}

function intIn(flag: FlagName, raw: string | undefined, def: number, min: number, max: number): number {
  if (raw === undefined || raw === '') return def;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw invalid(flag, raw, `use a whole number from ${min} to ${max}`);
  return n;
}

function oneOf<T extends string>(flag: FlagName, raw: string | undefined, def: T, allowed: readonly T[]): T {
  if (raw === undefined || raw === '') return def;
  if (!(allowed as readonly string[]).includes(raw)) throw invalid(flag, raw, `use one of ${allowed.join(', ')}`);
  return raw as T;
}

export function parseConfig(argv: string[], env: NodeJS.ProcessEnv, hostname: string): OperatorConfig {
  const options = Object.fromEntries(Object.entries(configFlags).map(([k, v]) => [k, { type: v.type }]));
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({ args: argv, options: options as Record<string, { type: 'string' }>, strict: true, allowPositionals: false }).values;
  } catch (err) {
    throw new OperatorError('CONFIG_INVALID', `${(err as Error).message}; see 'onnx-operator run --help'`, { transient: false, cause: err });
  }
  const get = (flag: FlagName): string | undefined => {
    const v = values[flag];
    return typeof v === 'string' ? v : env[configFlags[flag].env];
  };
  const gateway = get('default-gateway');
  let defaultGateway: OperatorConfig['defaultGateway'];
  if (gateway) {
    const m = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)\/([a-z0-9]([-a-z0-9.]*[a-z0-9])?)$/.exec(gateway);
    if (!m) throw invalid('default-gateway', gateway, 'write it as NAMESPACE/NAME, e.g. gateway-system/public');
    defaultGateway = { namespace: m[1] ?? '', name: m[3] ?? '' };
  }
  const leader = oneOf('leader-elect', get('leader-elect'), 'true', ['true', 'false'] as const);
  return {
    kubeconfig: get('kubeconfig') || undefined,
    watchNamespaces: watchNamespaces(get('namespace')),
    instanceId: labelValue('instance-id', get('instance-id')),
    httpHost: get('http-host') || '0.0.0.0',
    httpPort: intIn('http-port', get('http-port'), 8080, 0, 65535),
    leaderElect: leader === 'true',
    leaderElectionNamespace: get('leader-election-namespace') || 'default',
    leaderElectionId: get('leader-election-id') || 'onnx-operator',
    identity: `${hostname}_${process.pid}`,
    concurrency: intIn('concurrency', get('concurrency'), 4, 1, 64),
    runtimeImage: get('runtime-image') || DEFAULT_RUNTIME_IMAGE,
    defaultGateway,
    gatewayApi: oneOf('gateway-api', get('gateway-api'), 'auto', ['auto', 'enabled', 'disabled'] as const),
    fieldManager: get('field-manager') || 'onnx-operator',
    clusterDomain: get('cluster-domain') || 'cluster.local',
    logLevel: oneOf('log-level', get('log-level'), 'info', ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const),
    watchdogSeconds: intIn('watchdog-seconds', get('watchdog-seconds'), 600, 5, 3600),
    requireSignatureNamespaces: namespaceList(get('require-signature-namespaces')),
    verificationResyncSeconds: intIn('verification-resync-seconds', get('verification-resync-seconds'), 120, 5, 86_400),
    prometheusUrl: prometheusUrl(get('prometheus-url')),
    prometheusTimeoutMs: durationIn('prometheus-timeout', get('prometheus-timeout'), 5_000, 100, 300_000),
    prometheusBearerTokenFile: get('prometheus-bearer-token-file') || undefined,
    prometheusCaFile: get('prometheus-ca-file') || undefined,
    prometheusScrapeIntervalMs: durationIn('prometheus-scrape-interval', get('prometheus-scrape-interval'), 30_000, 1_000, 3_600_000),
    predictionKafka: predictionKafka(get('prediction-kafka-brokers'), get('prediction-kafka-topic'), get('prediction-kafka-feedback-topic')),
  };
}

function predictionKafka(brokers: string | undefined, topic: string | undefined, feedbackTopic: string | undefined): PredictionKafka | undefined {
  if (!brokers) {
    if (topic) throw invalid('prediction-kafka-topic', topic, 'only applies with --prediction-kafka-brokers; set the brokers too, or leave it out');
    if (feedbackTopic) throw invalid('prediction-kafka-feedback-topic', feedbackTopic, 'only applies with --prediction-kafka-brokers; set the brokers too, or leave it out');
    return undefined;
  }
  const list = parseKafkaBrokers(brokers);
  if ('problem' in list) throw invalid('prediction-kafka-brokers', brokers, `it ${list.problem}`);
  const out = { brokers: list.join(','), topic: topic || KAFKA_DEFAULT_TOPICS.predictions, feedbackTopic: feedbackTopic || KAFKA_DEFAULT_TOPICS.feedback };
  for (const [flag, name] of [['prediction-kafka-topic', out.topic], ['prediction-kafka-feedback-topic', out.feedbackTopic]] as const) {
    const problem = kafkaTopicProblem(name);
    if (problem) throw invalid(flag, name, `it ${problem}`);
  }
  if (out.topic === out.feedbackTopic) throw invalid('prediction-kafka-feedback-topic', out.feedbackTopic, 'use a topic other than --prediction-kafka-topic, so consumers can tell ground truth from predictions');
  return out;
}

/** A namespace name or label value: 1–63 of [a-z0-9-], alphanumeric at both ends. */
function labelValue(flag: FlagName, raw: string | undefined): string | undefined {
  if (!raw) return undefined;
  if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(raw)) throw invalid(flag, raw, 'use 1–63 lowercase letters, digits or -, starting and ending with a letter or digit');
  return raw;
}

/** The --namespace list: names, de-duplicated in order; `*` or nothing means every namespace. */
function watchNamespaces(raw: string | undefined): string[] {
  const list = [...new Set((raw ?? '').split(',').map((s) => s.trim()).filter((s) => s !== ''))];
  if (list.includes('*')) {
    if (list.length > 1) throw invalid('namespace', raw ?? '', 'use either * (every namespace) or a list of names, not both');
    return [];
  }
  for (const ns of list) if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(ns)) throw invalid('namespace', raw ?? '', `'${ns}' is not a namespace name; use a comma list of names (1–63 lowercase letters, digits or -), or leave it unset for every namespace`);
  return list;
}

function durationIn(flag: FlagName, raw: string | undefined, def: number, minMs: number, maxMs: number): number {
  if (raw === undefined || raw === '') return def;
  const ms = parseDuration(raw);
  const show = (n: number) => (n % 3_600_000 === 0 ? `${n / 3_600_000}h` : n % 60_000 === 0 ? `${n / 60_000}m` : n % 1000 === 0 ? `${n / 1000}s` : `${n}ms`);
  if (ms === undefined) throw invalid(flag, raw, `write a duration like ${show(def)} (units ms, s, m, h)`);
  if (ms < minMs || ms > maxMs) throw invalid(flag, raw, `use a duration from ${show(minMs)} to ${show(maxMs)}`);
  return ms;
}

function prometheusUrl(raw: string | undefined): string | undefined {
  if (raw === undefined || raw === '') return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw invalid('prometheus-url', raw, 'write an http:// or https:// URL, e.g. http://prometheus.monitoring:9090');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw invalid('prometheus-url', raw, 'use http:// or https://');
  if (url.username !== '' || url.password !== '') throw invalid('prometheus-url', url.host, 'credentials in the URL are not supported (they would show in logs); use --prometheus-bearer-token-file');
  if (url.search !== '' || url.hash !== '') throw invalid('prometheus-url', raw, 'leave out the query string and fragment: the API paths are added to this URL');
  return url.href.replace(/\/$/, '');
}

function namespaceList(raw: string | undefined): string[] {
  const list = (raw ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
  for (const ns of list) if (ns !== '*' && !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(ns)) throw invalid('require-signature-namespaces', raw ?? '', `'${ns}' is not a namespace name; use a comma list of names, or *`);
  return list;
}

export function configHelp(): string {
  const rows = Object.entries(configFlags).map(([flag, v]) => `  --${flag.padEnd(28)} $${v.env.padEnd(22)} ${v.help}`);
  return ['Usage: onnx-operator run [flags]', '', 'Flags (environment variable in the second column):', ...rows, ''].join('\n');
}
