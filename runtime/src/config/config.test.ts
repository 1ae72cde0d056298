import { describe, expect, test } from '@jest/globals';
import { parseArgs, parseBrokers } from './config.ts';
import { cpusFromCpuMax } from '../model/threads.ts';

const base = { ONNXOP_MODEL_NAME: 'm', ONNXOP_MODEL_URI: '/models/m.onnx', ONNXOP_MODEL_DIGEST: 'sha256:' + 'a'.repeat(64) };

describe('config', () => {
  test('environment supplies values, flags win, defaults fill the rest', () => {
    const parsed = parseArgs(['serve', '--port', '9000', '--cpu-fallback', '--execution-provider=cuda'], { ...base, PORT: '7000', ONNXOP_REVISION: 'abc123', ONNXOP_MAX_BATCH_SIZE: '8' });
    expect(parsed.command).toBe('serve');
    if (parsed.command !== 'serve') return;
    expect(parsed.config).toMatchObject({ modelName: 'm', port: 9000, revision: 'abc123', maxBatchSize: 8, cpuFallback: true, executionProvider: 'cuda', host: '0.0.0.0', requestTimeoutMs: 30000, threadSpinning: false });
    expect(Object.isFrozen(parsed.config)).toBe(true);
  });

  test.each([
    [['--port=70000'], /--port \(PORT\) must be between 0 and 65535/],
    [['--graph-optimization=max'], /must be one of disabled, basic, extended, all/],
    [['--prediction-log=kafka:broker'], /must be stdout, none, file:<path> or kafka/],
    [['--prediction-log=kafka'], /--prediction-log-kafka-brokers \(ONNXOP_PREDICTION_LOG_KAFKA_BROKERS\) is required with --prediction-log=kafka/],
    [['--prediction-log=kafka', '--prediction-log-kafka-brokers=kafka'], /has "kafka": each broker must be host:port/],
    [['--prediction-log=kafka', '--prediction-log-kafka-brokers=a:9092,b:70000'], /has "b:70000": each broker must be host:port with a port from 1 to 65535/],
    [['--prediction-log=kafka', '--prediction-log-kafka-brokers=a:9092', '--prediction-log-kafka-topic=my topic'], /--prediction-log-kafka-topic .* must be a Kafka topic name/],
    [['--prediction-log=kafka', '--prediction-log-kafka-brokers=a:9092', '--prediction-log-kafka-feedback-topic=..'], /--prediction-log-kafka-feedback-topic .* must be a Kafka topic name/],
    [['--prediction-log=kafka', '--prediction-log-kafka-brokers=a:9092', '--prediction-log-kafka-feedback-topic=onnxop.predictions'], /must differ from --prediction-log-kafka-topic/],
    [['--prediction-log-kafka-brokers=a:9092'], /--prediction-log-kafka-brokers .* only applies with --prediction-log=kafka \(the sink is stdout\)/],
    [['--prediction-log=kafka', '--prediction-log-kafka-brokers=a:9092', '--prediction-log-kafka-buffer-bytes=100'], /--prediction-log-kafka-buffer-bytes .* must be between 65536/],
    [['--model-uri=s3://bucket/m.onnx'], /must start with file:\/\/, https:\/\/, http:\/\/, oci:\/\//],
    [['--cpu-fallback'], /only applies with --execution-provider=cuda/],
    [['--warmup=maybe'], /--warmup \(ONNXOP_WARMUP\) must be true or false/],
    [['--model-name=bad name'], /--model-name .* must be 1–128 characters/],
    [['--inline-run-max-ms=fast'], /--inline-run-max-ms \(ONNXOP_INLINE_RUN_MAX_MS\) must be a non-negative number/],
    [['--inline-run-max-ms=5000'], /--inline-run-max-ms \(ONNXOP_INLINE_RUN_MAX_MS\) must be between 0 and 1000/],
  ])('%j is refused with a message naming the flag', (args, message) => {
    expect(() => parseArgs(['serve', ...args], base)).toThrow(message);
  });

  test('the Kafka sink: brokers from the flag or the environment, topics defaulted, an empty feedback topic turns ground truth off', () => {
    const parsed = parseArgs(['serve', '--prediction-log-kafka-feedback-topic='], { ...base, ONNXOP_PREDICTION_LOG: 'kafka', ONNXOP_PREDICTION_LOG_KAFKA_BROKERS: 'k-0.kafka:9092, [::1]:9093' });
    if (parsed.command !== 'serve') throw new Error('expected serve');
    expect(parsed.config).toMatchObject({ predictionLog: 'kafka', predictionLogKafkaBrokers: 'k-0.kafka:9092, [::1]:9093', predictionLogKafkaTopic: 'onnxop.predictions', predictionLogKafkaFeedbackTopic: '', predictionLogKafkaBufferBytes: 32 * 2 ** 20 });
    expect(parseBrokers(parsed.config.predictionLogKafkaBrokers)).toEqual(['k-0.kafka:9092', '[::1]:9093']);
  });

  test('--inline-run-max-ms takes fractions, from the flag or ONNXOP_INLINE_RUN_MAX_MS; default 1', () => {
    const get = (args: string[], env: Record<string, string> = {}) => {
      const p = parseArgs(['serve', ...args], { ...base, ...env });
      return p.command === 'serve' ? p.config.inlineRunMaxMs : undefined;
    };
    expect(get([])).toBe(1);
    expect(get(['--inline-run-max-ms=0.25'])).toBe(0.25);
    expect(get([], { ONNXOP_INLINE_RUN_MAX_MS: '0' })).toBe(0);
  });

  test('cgroup v2 cpu.max sizes the thread pool', () => {
    expect(cpusFromCpuMax('max 100000\n')).toBeUndefined();
    expect(cpusFromCpuMax('200000 100000')).toBe(2);
    expect(cpusFromCpuMax('150000 100000')).toBe(2);
    expect(cpusFromCpuMax('50000 100000')).toBe(1);
  });
});
