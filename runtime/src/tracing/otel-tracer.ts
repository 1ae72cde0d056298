// Tracing with the OpenTelemetry SDK: a tracer provider with the configured sampler and resource, a
// bounded batch span processor and the OTLP/HTTP (protobuf) exporter. serve.ts imports this module
// only when tracing is on. Parents are passed explicitly (no async context manager): the server span
// is the parent of its stages, and a batched run is a child of the first sampled request it served,
// linked to all of them. Export is asynchronous and bounded (spans beyond the queue are dropped), so
// a slow, failing or absent collector never fails or holds up a request.
import { DiagLogLevel, ROOT_CONTEXT, SpanKind, SpanStatusCode, diag, trace, type Context, type DiagLogger, type Link, type Span, type Tracer } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  TracerProvider,
  type Sampler,
  type SpanExporter,
} from '@opentelemetry/sdk-trace';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import type { Logger } from 'pino';
import { AVAILABILITY_BAD_OUTCOMES, HEADER_TRACEPARENT, HEADER_TRACESTATE } from '../../../lib/contract/index.ts';
import { errorMessage } from '../errors.ts';
import { outcomeOf } from '../metrics/metrics.ts';
import { SPAN_ATTRIBUTES as A, SPAN_NAMES, type QueueResult, type QueueSpan, type RequestSpan, type RequestTracer, type RunSpan, type Stage, type StageSpan } from './request-trace.ts';
import type { TracingConfig } from './tracing-config.ts';

export function samplerFor(config: Pick<TracingConfig, 'sampler' | 'ratio'>): Sampler {
  switch (config.sampler) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return new TraceIdRatioBasedSampler(config.ratio);
    case 'parentbased_always_on':
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(config.ratio) });
  }
}

const propagator = new W3CTraceContextPropagator();
const carrierGetter = {
  get: (carrier: { traceparent: string | undefined; tracestate: string | undefined }, key: string) =>
    key === HEADER_TRACEPARENT ? carrier.traceparent : key === HEADER_TRACESTATE ? carrier.tracestate : undefined,
  keys: () => [HEADER_TRACEPARENT, HEADER_TRACESTATE],
};

function endWith(span: Span, error: unknown): void {
  if (error !== undefined) {
    span.recordException(error instanceof Error ? error : new Error(errorMessage(error)));
    span.setStatus({ code: SpanStatusCode.ERROR, message: errorMessage(error) });
  }
  span.end();
}

/** A stage or a run: ended, with the error when there was one. */
class OtelChild implements StageSpan, RunSpan {
  private readonly span: Span;
  constructor(span: Span) {
    this.span = span;
  }
  end(error?: unknown): void {
    endWith(this.span, error);
  }
}

class OtelQueue implements QueueSpan {
  readonly request: OtelRequest;
  private readonly span: Span;
  constructor(request: OtelRequest, span: Span) {
    this.request = request;
    this.span = span;
  }
  end(result: QueueResult): void {
    this.span.setAttribute(A.queueResult, result);
    if (result !== 'run') this.span.setStatus({ code: SpanStatusCode.ERROR, message: result === 'timeout' ? 'the request timed out in the queue' : 'the queue was full' });
    this.span.end();
  }
}

class OtelRequest implements RequestSpan {
  readonly span: Span;
  readonly context: Context;
  private readonly tracer: Tracer;
  private readonly protocol: 'http' | 'grpc';
  constructor(span: Span, parent: Context, tracer: Tracer, protocol: 'http' | 'grpc') {
    this.span = span;
    this.context = trace.setSpan(parent, span);
    this.tracer = tracer;
    this.protocol = protocol;
  }
  stage(name: Stage): StageSpan {
    return new OtelChild(this.tracer.startSpan(SPAN_NAMES[name], { kind: SpanKind.INTERNAL }, this.context));
  }
  queued(): QueueSpan {
    return new OtelQueue(this, this.tracer.startSpan(SPAN_NAMES.queue, { kind: SpanKind.INTERNAL }, this.context));
  }
  predictionId(id: string): void {
    this.span.setAttribute(A.predictionId, id);
  }
  end(status: number, grpcStatus?: number): void {
    const outcome = outcomeOf(status);
    this.span.setAttribute(A.outcome, outcome);
    if (this.protocol === 'http') this.span.setAttribute('http.response.status_code', status);
    else if (grpcStatus !== undefined) this.span.setAttribute('rpc.grpc.status_code', grpcStatus);
    // A server span is an error only for what the server answered badly (the SLO's bad outcomes);
    // a client's 4xx is the client's error (OpenTelemetry's HTTP semantic conventions).
    if (AVAILABILITY_BAD_OUTCOMES.includes(outcome)) this.span.setStatus({ code: SpanStatusCode.ERROR, message: `${outcome} (${status})` });
    this.span.end();
  }
}

/** The runtime's RequestTracer on an OpenTelemetry tracer. */
export function createRequestTracer(tracer: Tracer, model: { name: string; revision: string }): RequestTracer {
  const baseAttributes = { [A.model]: model.name, [A.revision]: model.revision };
  return {
    request(protocol, traceparent, tracestate, start) {
      const parent = traceparent === undefined ? ROOT_CONTEXT : propagator.extract(ROOT_CONTEXT, { traceparent, tracestate }, carrierGetter);
      const attributes =
        protocol === 'http'
          ? { ...baseAttributes, 'http.request.method': 'POST', 'http.route': '/v2/models/{name}/infer' }
          : { ...baseAttributes, 'rpc.system': 'grpc', 'rpc.service': 'inference.GRPCInferenceService', 'rpc.method': 'ModelInfer' };
      const span = tracer.startSpan(SPAN_NAMES[protocol], { kind: SpanKind.SERVER, startTime: start, attributes }, parent);
      return new OtelRequest(span, parent, tracer, protocol);
    },
    run(queued, rows) {
      const requests = queued.filter((q): q is OtelQueue => q instanceof OtelQueue).map((q) => q.request);
      const first = requests.find((r) => r.span.isRecording()) ?? requests[0];
      const links: Link[] = requests.map((r) => ({ context: r.span.spanContext() }));
      const span = tracer.startSpan(
        SPAN_NAMES.run,
        { kind: SpanKind.INTERNAL, links, attributes: { ...baseAttributes, [A.batchRows]: rows, [A.batchRequests]: requests.length } },
        first?.context ?? ROOT_CONTEXT,
      );
      return new OtelChild(span);
    },
  };
}

export interface Tracing {
  tracer: RequestTracer;
  /** Exports what is buffered (bounded by the export timeout). */
  flush(): Promise<void>;
  /** Flushes and stops the exporter; never takes longer than `timeoutMs`. */
  shutdown(timeoutMs: number): Promise<void>;
}

/** OpenTelemetry's internal warnings and errors (failed exports) to the runtime's log, at most one per 10 s. */
function diagToLog(log: Logger): DiagLogger {
  let last = -Infinity;
  let suppressed = 0;
  const emit = (level: 'warn' | 'error') => (message: string, ...args: unknown[]) => {
    const now = performance.now();
    if (now - last < 10_000) {
      suppressed++;
      return;
    }
    last = now;
    log[level]({ code: 'TRACE_EXPORT', detail: args.map((a) => errorMessage(a)).join('; ') || undefined, suppressed: suppressed || undefined }, `tracing: ${message}`);
    suppressed = 0;
  };
  const ignore = () => {};
  return { error: emit('error'), warn: emit('warn'), info: ignore, debug: ignore, verbose: ignore };
}

/**
 * Starts tracing as configured. `exporter` replaces the OTLP exporter (tests pass the SDK's
 * in-memory exporter); everything else, the batch span processor included, is what production runs.
 */
export function startTracing(config: TracingConfig, model: { name: string; revision: string }, log: Logger, exporter?: SpanExporter): Tracing {
  diag.setLogger(diagToLog(log), { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true });
  const processor = new BatchSpanProcessor({
    exporter: exporter ?? new OTLPTraceExporter({ url: config.endpoint, timeoutMillis: config.exportTimeoutMs }),
    maxQueueSize: config.batch.maxQueueSize,
    maxExportBatchSize: config.batch.maxExportBatchSize,
    scheduledDelayMillis: config.batch.scheduledDelayMs,
    exportTimeoutMillis: config.batch.exportTimeoutMs,
  });
  const provider = new TracerProvider({
    sampler: samplerFor(config),
    resource: defaultResource().merge(resourceFromAttributes(config.resourceAttributes)),
    spanProcessors: [processor],
  });
  const tracer = createRequestTracer(provider.getTracer('onnx-operator-runtime'), model);
  log.info({ endpoint: config.endpoint, serviceName: config.serviceName, sampler: config.sampler, ratio: config.sampler.endsWith('traceidratio') ? config.ratio : undefined }, 'tracing on: exporting spans over OTLP/HTTP');
  return {
    tracer,
    flush: () => provider.forceFlush({ timeoutMillis: config.batch.exportTimeoutMs }),
    shutdown: (timeoutMs) => {
      let timer: NodeJS.Timeout | undefined;
      const limit = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
      return Promise.race([provider.shutdown().catch((err: unknown) => log.warn({ err: errorMessage(err) }, 'tracing: flushing spans at shutdown failed')), limit]).finally(() => clearTimeout(timer));
    },
  };
}
