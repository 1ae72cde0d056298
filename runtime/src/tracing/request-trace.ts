// What the servers, the App and the scheduler see of tracing. No OpenTelemetry type appears here:
// with tracing off the tracer is undefined, every call site is one `?.` that does nothing, and the
// SDK (tracing/otel-tracer.ts) is never loaded. With it on, each inference request is one server
// span (REST or gRPC) continuing the caller's W3C traceparent, with child spans for its stages.

/** Span names, one server span per request and its children (docs/runtime.md, "Tracing"). */
export const SPAN_NAMES = {
  http: 'POST /v2/models/{name}/infer',
  grpc: 'inference.GRPCInferenceService/ModelInfer',
  decode: 'decode',
  queue: 'queue',
  run: 'run',
  encode: 'encode',
} as const;

/** Attribute keys the runtime sets (besides the semantic-convention HTTP and RPC ones). */
export const SPAN_ATTRIBUTES = {
  model: 'onnxop.model',
  revision: 'onnxop.revision',
  outcome: 'onnxop.outcome',
  predictionId: 'onnxop.prediction_id',
  /** On the run span: rows in the (merged) batch and requests it served. */
  batchRows: 'onnxop.batch.rows',
  batchRequests: 'onnxop.batch.requests',
  /** On the queue span: why the request left the queue (run, timeout, rejected). */
  queueResult: 'onnxop.queue.result',
} as const;

export type Stage = 'decode' | 'encode';
export type QueueResult = 'run' | 'timeout' | 'rejected';

export interface StageSpan {
  /** Ends the stage; with an error, the span records it and its status is ERROR. */
  end(error?: unknown): void;
}

/** A request's wait in the scheduler's queue, ended when it leaves the queue. */
export interface QueueSpan {
  end(result: QueueResult): void;
}

export interface RunSpan {
  end(error?: unknown): void;
}

export interface RequestSpan {
  stage(name: Stage): StageSpan;
  /** Starts the queue span (the scheduler ends it). */
  queued(): QueueSpan;
  predictionId(id: string): void;
  /** Ends the server span with the reply's HTTP status (for gRPC, the status it maps to, and the gRPC code sent). */
  end(status: number, grpcStatus?: number): void;
}

export interface RequestTracer {
  /**
   * A server span for one inference request, started at `start` (performance.now()), continuing
   * the caller's trace when `traceparent` is a valid W3C header (else a new trace).
   */
  request(protocol: 'http' | 'grpc', traceparent: string | undefined, tracestate: string | undefined, start: number): RequestSpan;
  /**
   * A run of onnxruntime on a (merged) batch: a child of the first request's span, with a link to
   * every request span it served. `queued` are the queue spans the requests were given.
   */
  run(queued: readonly QueueSpan[], rows: number): RunSpan;
}

/**
 * Runs `work` inside a stage span when the request is traced; without a span, just runs it and
 * hands back what it returns — a value stays a value (no promise, no microtask turn for an untraced
 * request's inline decode or encode).
 */
export function inStage<T>(span: RequestSpan | undefined, stage: Stage, work: () => T | Promise<T>): T | Promise<T> {
  if (span === undefined) return work();
  return traced(span.stage(stage), work);
}

async function traced<T>(s: ReturnType<RequestSpan['stage']>, work: () => T | Promise<T>): Promise<T> {
  try {
    const value = await work();
    s.end();
    return value;
  } catch (err) {
    s.end(err);
    throw err;
  }
}
