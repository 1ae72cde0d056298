import { describe, expect, test } from '@jest/globals';
import { parseConfig } from './config.ts';

describe('parseConfig', () => {
  test('defaults', () => {
    const c = parseConfig([], {}, 'host');
    expect(c).toMatchObject({ httpHost: '0.0.0.0', httpPort: 8080, leaderElect: true, concurrency: 4, gatewayApi: 'auto', fieldManager: 'onnx-operator' });
    expect(c.identity).toMatch(/^host_\d+$/);
  });
  test('flags win over environment', () => {
    const c = parseConfig(['--concurrency', '8', '--default-gateway', 'gw/public'], { CONCURRENCY: '2', LEADER_ELECT: 'false' }, 'h');
    expect(c.concurrency).toBe(8);
    expect(c.leaderElect).toBe(false);
    expect(c.defaultGateway).toEqual({ namespace: 'gw', name: 'public' });
  });
  test('the prediction store: none by default; brokers from a flag or the environment, topics defaulted', () => {
    expect(parseConfig([], {}, 'h').predictionKafka).toBeUndefined();
    expect(parseConfig([], { ONNXOP_PREDICTION_KAFKA_BROKERS: 'k-0.kafka:9092, k-1.kafka:9092' }, 'h').predictionKafka).toEqual({ brokers: 'k-0.kafka:9092,k-1.kafka:9092', topic: 'onnxop.predictions', feedbackTopic: 'onnxop.feedback' });
    expect(parseConfig(['--prediction-kafka-brokers', '10.0.0.1:9092', '--prediction-kafka-topic', 'ml.p'], {}, 'h').predictionKafka).toMatchObject({ topic: 'ml.p' });
  });
  test('watched namespaces and one controller instance', () => {
    expect(parseConfig([], {}, 'h')).toMatchObject({ watchNamespaces: [], instanceId: undefined });
    expect(parseConfig(['--namespace', 'ml', '--instance-id', 'canary-op'], {}, 'h')).toMatchObject({ watchNamespaces: ['ml'], instanceId: 'canary-op' });
    expect(parseConfig([], { WATCH_NAMESPACE: 'prod', ONNXOP_INSTANCE_ID: 'a1' }, 'h')).toMatchObject({ watchNamespaces: ['prod'], instanceId: 'a1' });
    expect(parseConfig(['--namespace', ' ml-prod, ml-staging ,ml-prod,'], {}, 'h').watchNamespaces).toEqual(['ml-prod', 'ml-staging']);
    expect(parseConfig(['--namespace', '*'], { WATCH_NAMESPACE: 'prod' }, 'h').watchNamespaces).toEqual([]);
    expect(() => parseConfig(['--instance-id', 'Not_A_Label'], {}, 'h')).toThrow(/instance-id.*lowercase letters, digits or -/);
    expect(() => parseConfig(['--namespace=-ml'], {}, 'h')).toThrow(/--namespace .*'-ml' is not a namespace name; use a comma list/);
    expect(() => parseConfig(['--namespace', 'ml,Prod'], {}, 'h')).toThrow(/'Prod' is not a namespace name/);
    expect(() => parseConfig(['--namespace', '*,ml'], {}, 'h')).toThrow(/either \* \(every namespace\) or a list of names/);
  });
  test('namespaces that require signatures', () => {
    expect(parseConfig([], {}, 'h')).toMatchObject({ requireSignatureNamespaces: [], verificationResyncSeconds: 120 });
    expect(parseConfig(['--require-signature-namespaces', ' prod, ml ,'], {}, 'h').requireSignatureNamespaces).toEqual(['prod', 'ml']);
    expect(parseConfig([], { REQUIRE_SIGNATURE_NAMESPACES: '*' }, 'h').requireSignatureNamespaces).toEqual(['*']);
  });
  test('Prometheus: defaults, flags and environment', () => {
    expect(parseConfig([], {}, 'h')).toMatchObject({
      prometheusUrl: undefined,
      prometheusTimeoutMs: 5000,
      prometheusBearerTokenFile: undefined,
      prometheusCaFile: undefined,
      prometheusScrapeIntervalMs: 30_000,
    });
    const c = parseConfig(
      ['--prometheus-url', 'https://prom.monitoring:9090/prometheus/', '--prometheus-timeout', '1m30s', '--prometheus-scrape-interval', '2s'],
      { ONNXOP_PROMETHEUS_URL: 'http://ignored:9090', ONNXOP_PROMETHEUS_BEARER_TOKEN_FILE: '/var/run/secrets/prom/token', ONNXOP_PROMETHEUS_CA_FILE: '/etc/prom/ca.crt', ONNXOP_PROMETHEUS_TIMEOUT: '1s' },
      'h',
    );
    expect(c).toMatchObject({
      prometheusUrl: 'https://prom.monitoring:9090/prometheus',
      prometheusTimeoutMs: 90_000,
      prometheusBearerTokenFile: '/var/run/secrets/prom/token',
      prometheusCaFile: '/etc/prom/ca.crt',
      prometheusScrapeIntervalMs: 2000,
    });
    expect(parseConfig([], { ONNXOP_PROMETHEUS_URL: 'http://127.0.0.1:17090', ONNXOP_PROMETHEUS_TIMEOUT: '500ms' }, 'h')).toMatchObject({ prometheusUrl: 'http://127.0.0.1:17090', prometheusTimeoutMs: 500 });
  });
  test('a Prometheus URL with credentials is refused without echoing them', () => {
    let message = '';
    try {
      parseConfig(['--prometheus-url', 'http://admin:s3cret@prom:9090'], {}, 'h');
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/credentials in the URL are not supported .*--prometheus-bearer-token-file/);
    expect(message).not.toContain('s3cret');
  });
  test.each([
    [['--concurrency', '0'], /--concurrency .*'0': use a whole number from 1 to 64/],
    [['--http-port', 'x'], /--http-port .*'x'/],
    [['--leader-elect', 'yes'], /--leader-elect .*use one of true, false/],
    [['--default-gateway', 'public'], /NAMESPACE\/NAME/],
    [['--no-such-flag'], /Unknown option '--no-such-flag'.*--help/],
    [['--require-signature-namespaces', 'ml,Bad_Name'], /--require-signature-namespaces .*'Bad_Name' is not a namespace name/],
    [['--verification-resync-seconds', '1'], /--verification-resync-seconds .*from 5 to 86400/],
    [['--prometheus-url', 'prometheus:9090'], /--prometheus-url .*use http:\/\/ or https:\/\//],
    [['--prometheus-url', 'not a url'], /--prometheus-url .*'not a url': write an http:\/\/ or https:\/\/ URL/],
    [['--prometheus-url', 'http://p:9090/?x=1'], /leave out the query string/],
    [['--prometheus-timeout', '5'], /--prometheus-timeout .*'5': write a duration like 5s \(units ms, s, m, h\)/],
    [['--prometheus-timeout', '10ms'], /--prometheus-timeout .*use a duration from 100ms to 5m/],
    [['--prometheus-scrape-interval', '2h'], /--prometheus-scrape-interval .*use a duration from 1s to 1h/],
    [['--prediction-kafka-brokers', 'kafka'], /--prediction-kafka-brokers .*'kafka': it has "kafka": each broker must be host:port/],
    [['--prediction-kafka-topic', 'p'], /--prediction-kafka-topic .*only applies with --prediction-kafka-brokers/],
    [['--prediction-kafka-brokers', 'k:9092', '--prediction-kafka-topic', 'a b'], /--prediction-kafka-topic .*'a b': it must be a Kafka topic name/],
    [['--prediction-kafka-brokers', 'k:9092', '--prediction-kafka-feedback-topic', 'onnxop.predictions'], /--prediction-kafka-feedback-topic .*use a topic other than --prediction-kafka-topic/],
  ])('%j is refused naming the flag and the fix', (argv, message) => {
    expect(() => parseConfig(argv, {}, 'h')).toThrow(message);
  });
});
