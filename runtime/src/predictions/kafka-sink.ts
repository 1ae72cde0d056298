// The Kafka prediction sink (--prediction-log=kafka): each prediction record to one topic and each
// ground-truth record to another, both keyed by prediction id, so a consumer joins them by key.
// Writes never wait: a record goes into a bounded buffer per topic (record-buffer.ts) and a pump
// sends what is buffered, one batch per topic in flight; a batch the broker does not acknowledge
// (error, timeout, broker gone) is counted and sent again after an exponential back-off, while new
// records queue behind it up to the bound and are dropped (and counted) past it. Delivery is at
// least once: a batch whose acknowledgement was lost is sent again, so consumers dedupe by key.
import { Producer, stringSerializers } from '@platformatic/kafka';
import type { Logger } from 'pino';
import type { RuntimeConfig } from '../config/config.ts';
import { parseBrokers } from '../config/config.ts';
import { errorMessage } from '../errors.ts';
import type { RuntimeMetrics } from '../metrics/metrics.ts';
import type { PredictionSink } from './prediction-log.ts';
import { RecordBuffer, recordTooLarge, retryDelayMs } from './record-buffer.ts';

export type KafkaStream = 'predictions' | 'feedback';

/** Most records and bytes per produce request. */
const BATCH_RECORDS = 1000;
const BATCH_BYTES = 1024 * 1024;
const RETRY_BASE_MS = 100;
const RETRY_MAX_MS = 5000;
/** At most one warning per this long while sends keep failing. */
const WARN_EVERY_MS = 30_000;
/** How long close() waits for what is buffered to be delivered. */
const CLOSE_FLUSH_MS = 5000;

type KafkaConfig = Pick<
  RuntimeConfig,
  'modelName' | 'revision' | 'predictionLogKafkaBrokers' | 'predictionLogKafkaTopic' | 'predictionLogKafkaFeedbackTopic' | 'predictionLogKafkaBufferBytes' | 'predictionLogKafkaTimeoutMs'
>;

class Stream {
  readonly buffer: RecordBuffer;
  pumping = false;
  failures = 0;
  lastWarn = 0;
  readonly name: KafkaStream;
  readonly topic: string;
  constructor(name: KafkaStream, topic: string, bufferBytes: number) {
    this.name = name;
    this.topic = topic;
    this.buffer = new RecordBuffer(bufferBytes);
  }
}

export class KafkaSink implements PredictionSink {
  readonly enabled = true;
  readonly feedback: boolean;
  private readonly producer: Producer<string, string, string, string>;
  private readonly predictions: Stream;
  private readonly feedbackStream: Stream | undefined;
  private readonly metrics: RuntimeMetrics;
  private readonly log: Logger;
  private closing = false;
  /** Resolves the back-off sleeps early when closing. */
  private wake = new Set<() => void>();

  constructor(config: KafkaConfig, metrics: RuntimeMetrics, log: Logger) {
    const brokers = parseBrokers(config.predictionLogKafkaBrokers);
    if ('problem' in brokers) throw new Error(`--prediction-log-kafka-brokers ${brokers.problem}`); // validated in config.ts
    this.metrics = metrics;
    this.log = log;
    this.predictions = new Stream('predictions', config.predictionLogKafkaTopic, config.predictionLogKafkaBufferBytes);
    this.feedbackStream = config.predictionLogKafkaFeedbackTopic === '' ? undefined : new Stream('feedback', config.predictionLogKafkaFeedbackTopic, config.predictionLogKafkaBufferBytes);
    this.feedback = this.feedbackStream !== undefined;
    for (const s of [this.predictions, this.feedbackStream]) {
      if (!s) continue;
      for (const reason of ['buffer_full', 'too_large', 'closed']) metrics.kafkaDropped.inc({ stream: s.name, reason }, 0);
      metrics.kafkaDelivered.inc({ stream: s.name }, 0);
      metrics.kafkaFailures.inc({ stream: s.name }, 0);
      this.gauge(s);
    }
    metrics.kafkaBuffers.refresh = () => {
      this.gauge(this.predictions);
      if (this.feedbackStream) this.gauge(this.feedbackStream);
    };
    this.producer = new Producer({
      clientId: `onnxop-${config.modelName}-${config.revision}`,
      bootstrapBrokers: brokers,
      serializers: stringSerializers,
      // Retries and their back-off are the pump's (counted, with the buffer bound in force); the
      // client's own would hide failures and hold a batch in flight for minutes.
      retries: 0,
      timeout: config.predictionLogKafkaTimeoutMs,
      connectTimeout: config.predictionLogKafkaTimeoutMs,
      acks: -1,
      autocreateTopics: true,
    });
  }

  write(line: string, id: string): void {
    this.enqueue(this.predictions, id, line);
  }

  writeFeedback(line: string, id: string): void {
    if (this.feedbackStream) this.enqueue(this.feedbackStream, id, line);
  }

  private enqueue(s: Stream, key: string, line: string): void {
    const value = line.endsWith('\n') ? line.slice(0, -1) : line;
    const reason = this.closing ? 'closed' : recordTooLarge(key, value) ? 'too_large' : s.buffer.push({ key, value }) ? undefined : 'buffer_full';
    if (reason !== undefined) {
      this.metrics.kafkaDropped.inc({ stream: s.name, reason });
      if (s.name === 'predictions') this.metrics.predictionLogDropped.inc();
      return;
    }
    if (!s.pumping) {
      s.pumping = true;
      // Start on the next turn: the records written in this one go out in one request.
      setImmediate(() => void this.pump(s));
    }
  }

  private gauge(s: Stream): void {
    this.metrics.kafkaBufferedRecords.set({ stream: s.name }, s.buffer.records);
    this.metrics.kafkaBufferedBytes.set({ stream: s.name }, s.buffer.bytes);
  }

  private async pump(s: Stream): Promise<void> {
    for (;;) {
      const batch = s.buffer.nextBatch(BATCH_RECORDS, BATCH_BYTES);
      if (batch.length === 0) break;
      try {
        await this.producer.send({ messages: batch.map((r) => ({ topic: s.topic, key: r.key, value: r.value })) });
        s.buffer.ack();
        s.failures = 0;
        this.metrics.kafkaDelivered.inc({ stream: s.name }, batch.length);
        if (s.name === 'predictions') this.metrics.predictionsLogged.inc(batch.length);
      } catch (err) {
        s.buffer.nack();
        s.failures++;
        this.metrics.kafkaFailures.inc({ stream: s.name }, batch.length);
        const now = Date.now();
        if (now - s.lastWarn >= WARN_EVERY_MS) {
          s.lastWarn = now;
          this.log.warn({ code: 'KAFKA_SEND_FAILED', topic: s.topic, records: batch.length, buffered: s.buffer.records, err: errorMessage(err) }, 'kafka send failed; retrying');
        }
        if (this.closing) break;
        await this.sleep(retryDelayMs(s.failures, RETRY_BASE_MS, RETRY_MAX_MS, Math.random()));
      }
      this.gauge(s);
    }
    this.gauge(s);
    s.pumping = false;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wake.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake.add(done);
    });
  }

  /** Delivers what is buffered (up to a few seconds), counts the rest as dropped, and disconnects. */
  async close(): Promise<void> {
    const deadline = Date.now() + CLOSE_FLUSH_MS;
    const streams = [this.predictions, this.feedbackStream].filter((s): s is Stream => s !== undefined);
    while (Date.now() < deadline && streams.some((s) => s.buffer.records > 0)) {
      for (const w of [...this.wake]) w(); // retry now rather than after the back-off
      await new Promise((r) => setTimeout(r, 20));
    }
    this.closing = true;
    for (const w of [...this.wake]) w();
    for (const s of streams) {
      const left = s.buffer.records;
      if (left > 0) {
        this.metrics.kafkaDropped.inc({ stream: s.name, reason: 'closed' }, left);
        if (s.name === 'predictions') this.metrics.predictionLogDropped.inc(left);
        this.log.warn({ code: 'KAFKA_UNDELIVERED', topic: s.topic, records: left }, 'records not delivered to kafka before shutdown');
      }
    }
    await this.producer.close(true).catch(() => {});
  }
}
