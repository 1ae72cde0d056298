// The v2 protocol handlers, independent of node:http: a request (method, path, headers, body) in,
// a reply (status, headers, body) out. Owns the serving state (loading → ready → draining).
import { RuntimeError, badRequest, errorMessage } from '../errors.ts';
import { parseJsonBody, type InferRequest } from '../protocol/decode.ts';
import type { ResponseOutput } from '../protocol/encode.ts';
import type { Codec } from '../protocol/codec.ts';
import type { TensorMetadata } from '../grpc/messages.ts';
import { v2Shape, type ModelSignature } from '../protocol/signature.ts';
import type { Scheduler } from '../inference/scheduler.ts';
import { OBSERVE_SLICE_ROWS, type ModelHealth } from '../model-health/model-health.ts';
import type { GroundTruth } from '../predictions/ground-truth.ts';
import { feedbackLine, isoNow, type PredictionSink } from '../predictions/prediction-log.ts';
import type { RuntimeMetrics } from '../metrics/metrics.ts';
import type { PredictionLogInputs } from '../config/config.ts';
import { HEADER_PREDICTION_ID } from '../../../lib/contract/index.ts';
import { inStage, type RequestSpan } from '../tracing/request-trace.ts';

export const SERVER_NAME = 'onnx-operator-runtime';
export const SERVER_VERSION = '0.1.0';
// Header names are part of the operator/runtime contract (the lab gateway and clients read them).
export { HEADER_REVISION as REVISION_HEADER, HEADER_PREDICTION_ID as PREDICTION_ID_HEADER } from '../../../lib/contract/index.ts';

export interface Reply {
  status: number;
  headers?: Record<string, string | number>;
  body: Buffer | string | object;
}

export interface IncomingRequest {
  method: string;
  path: string;
  header(name: string): string | undefined;
  /** Reads the body (with the size limit); only called by routes that take one. */
  body(): Promise<Buffer>;
  /** performance.now() when the request arrived. */
  start: number;
  /** The request's server span when tracing is on. */
  span?: RequestSpan;
}

/** What exists once the model is loaded; absent while loading. */
export interface ServingModel {
  signature: ModelSignature;
  scheduler: Scheduler;
  health: ModelHealth;
  groundTruth: GroundTruth;
  executionProvider: string;
}

export interface AppOptions {
  modelName: string;
  revision: string;
  requestTimeoutMs: number;
  predictionLogInputs: PredictionLogInputs;
  metrics: RuntimeMetrics;
  sink: PredictionSink;
  /** Decodes requests and encodes responses, off the event loop when they are large. */
  codec: Codec;
}

export type Phase = 'loading' | 'ready' | 'draining' | 'failed';

const json = (status: number, body: object): Reply => ({ status, body });
const errorReply = (err: RuntimeError): Reply =>
  err.retryAfterSeconds === undefined ? json(err.status, { error: err.message }) : { status: err.status, headers: { 'retry-after': err.retryAfterSeconds }, body: { error: err.message } };

/** A path segment, percent-decoded; a malformed escape (`%ff`, `%ZZ`) is the client's error. */
function pathSegment(segment: string, what: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw badRequest(`the ${what} in the path, "${segment.length > 64 ? segment.slice(0, 64) + '…' : segment}", is not valid percent-encoded UTF-8`);
  }
}

/**
 * Inference-Header-Content-Length: the byte length of the JSON part, as decimal digits only (no
 * sign, exponent, fraction, spaces or second value).
 */
function jsonPartLength(header: string | undefined): number | undefined {
  if (header === undefined) return undefined;
  if (!/^[0-9]{1,15}$/.test(header)) {
    throw badRequest(`Inference-Header-Content-Length is "${header.length > 32 ? header.slice(0, 32) + '…' : header}"; it must be the byte length of the JSON part, in decimal digits`);
  }
  return Number(header);
}

export class App {
  phase: Phase = 'loading';
  model: ServingModel | undefined;
  private readonly o: AppOptions;
  /** The infer paths as clients send them (checked first: they are nearly all the traffic). */
  private readonly inferPaths: ReadonlySet<string>;

  constructor(options: AppOptions) {
    this.o = options;
    const base = `/v2/models/${encodeURIComponent(options.modelName)}`;
    this.inferPaths = new Set([`${base}/infer`, `${base}/versions/${encodeURIComponent(options.revision)}/infer`]);
  }

  /** The served version (the revision). */
  get revision(): string {
    return this.o.revision;
  }

  get ready(): boolean {
    return this.phase === 'ready' && this.model !== undefined;
  }

  setModel(model: ServingModel): void {
    this.model = model;
  }

  setPhase(phase: Phase): void {
    this.phase = phase;
    this.o.metrics.modelReady.set(this.ready ? 1 : 0);
  }

  /** Routes a request. Never throws: every failure becomes `{"error": …}` with its status. */
  async handle(req: IncomingRequest): Promise<Reply> {
    try {
      return await this.route(req);
    } catch (err) {
      if (err instanceof RuntimeError) return errorReply(err);
      return json(500, { error: `internal error: ${errorMessage(err)}` });
    }
  }

  private notReady(): RuntimeError {
    const why = this.phase === 'loading' ? 'the model is still loading' : this.phase === 'draining' ? 'the server is shutting down' : 'the model failed to load';
    return new RuntimeError('MODEL_NOT_READY', `model ${this.o.modelName} is not ready: ${why}`, { status: 503 });
  }

  private route(req: IncomingRequest): Promise<Reply> | Reply {
    const { method, path } = req;
    if (method === 'POST' && this.inferPaths.has(path)) return this.infer(req);
    const parts = path.split('/').filter(Boolean);
    const get = method === 'GET' || method === 'HEAD';
    if (parts[0] !== 'v2') throw new RuntimeError('NOT_FOUND', `no route ${method} ${path}; the API lives under /v2 (and /metrics)`, { status: 404 });
    if (parts.length === 1) {
      if (!get) throw methodNotAllowed(method, path, 'GET');
      return json(200, { name: SERVER_NAME, version: SERVER_VERSION, extensions: ['binary_tensor_data', 'model_feedback'] });
    }
    if (parts[1] === 'health' && parts.length === 3) {
      if (!get) throw methodNotAllowed(method, path, 'GET');
      if (parts[2] === 'live') return json(200, { live: true });
      if (parts[2] === 'ready') {
        if (!this.ready) throw this.notReady();
        return json(200, { ready: true });
      }
    }
    if (parts[1] === 'models' && parts.length >= 3) {
      const name = pathSegment(parts[2] as string, 'model name');
      let rest = parts.slice(3);
      this.checkServed(name, undefined);
      if (rest[0] === 'versions') {
        this.checkServed(name, rest[1] === undefined ? '' : pathSegment(rest[1], 'version'));
        rest = rest.slice(2);
      }
      const action = rest.join('/');
      if (action === '') {
        if (!get) throw methodNotAllowed(method, path, 'GET');
        return this.metadata();
      }
      if (action === 'ready') {
        if (!get) throw methodNotAllowed(method, path, 'GET');
        if (!this.ready) throw this.notReady();
        return json(200, { name: this.o.modelName, ready: true });
      }
      if (action === 'infer') {
        if (method !== 'POST') throw methodNotAllowed(method, path, 'POST');
        return this.infer(req);
      }
      if (action === 'feedback') {
        if (method !== 'POST') throw methodNotAllowed(method, path, 'POST');
        return this.feedback(req);
      }
    }
    throw new RuntimeError('NOT_FOUND', `no route ${method} ${path}`, { status: 404 });
  }

  /** Model metadata (REST and gRPC). */
  modelMetadata(): { name: string; versions: string[]; platform: string; inputs: TensorMetadata[]; outputs: TensorMetadata[] } {
    const m = this.model;
    if (!m) throw this.notReady();
    const t = (s: ModelSignature['inputs'][number]) => ({ name: s.name, datatype: s.datatype, shape: v2Shape(s.shape) });
    return { name: this.o.modelName, versions: [this.o.revision], platform: 'onnxruntime_onnx', inputs: m.signature.inputs.map(t), outputs: m.signature.outputs.map(t) };
  }

  private metadata(): Reply {
    return json(200, this.modelMetadata());
  }

  /** Throws NOT_FOUND unless `name` (and `version`, when given) is what this server serves. */
  checkServed(name: string, version: string | undefined): void {
    if (name !== this.o.modelName) {
      throw new RuntimeError('NOT_FOUND', `model "${name}" is not served here; this server serves "${this.o.modelName}"`, { status: 404 });
    }
    if (version !== undefined && version !== this.o.revision) {
      throw new RuntimeError('NOT_FOUND', `version "${version}" of model "${name}" is not served here; the served version is "${this.o.revision}"`, { status: 404 });
    }
  }

  /** The model, or MODEL_NOT_READY (503) while there is none to run. */
  servingModel(): ServingModel {
    const m = this.model;
    if (!m || this.phase === 'loading' || this.phase === 'failed') throw this.notReady();
    return m;
  }

  private async infer(req: IncomingRequest): Promise<Reply> {
    const m = this.servingModel();
    const jsonLength = jsonPartLength(req.header('inference-header-content-length'));
    const body = await req.body();
    const span = req.span;
    // Small requests are decoded and encoded inline and come back as values: awaited only when they
    // went to the codec process (or are traced), so an inline request spends no microtask turn on them.
    const decoding = inStage(span, 'decode', () => this.o.codec.decode(body, jsonLength, m.signature));
    const request = decoding instanceof Promise ? await decoding : decoding;
    const { id, outputs: selected } = await this.run(m, request, req.start, span);
    const sink = this.o.sink;
    const encoding = inStage(span, 'encode', () =>
      this.o.codec.encode({
        model: this.o.modelName,
        revision: this.o.revision,
        id,
        outputs: selected,
        log: sink.enabled ? { time: isoNow(), inputs: request.inputs, mode: this.o.predictionLogInputs } : undefined,
      }),
    );
    const encoded = encoding instanceof Promise ? await encoding : encoding;
    this.logLine(encoded, id);
    const headers: Record<string, string | number> = { 'content-type': encoded.contentType, [HEADER_PREDICTION_ID]: id };
    if (encoded.jsonLength !== undefined) headers['inference-header-content-length'] = encoded.jsonLength;
    return { status: 200, headers, body: encoded.body };
  }

  /** Writes (or counts as dropped) an encoded prediction-log line. */
  private logLine(encoded: { line: string | undefined; lineDropped: boolean }, id: string): void {
    if (encoded.line !== undefined) this.o.sink.write(encoded.line, id);
    else if (encoded.lineDropped) this.o.metrics.predictionLogDropped.inc();
  }

  /**
   * A decoded request from any protocol, to its prediction-log line (when the log is on) and its
   * outputs; for gRPC, which encodes its own response.
   */
  async inferDecoded(request: InferRequest, start: number, span?: RequestSpan): Promise<{ id: string; outputs: ResponseOutput[] }> {
    const m = this.servingModel();
    const result = await this.run(m, request, start, span);
    if (this.o.sink.enabled) {
      const encoding = this.o.codec.encode({
        model: this.o.modelName,
        revision: this.o.revision,
        id: result.id,
        outputs: result.outputs,
        log: { time: isoNow(), inputs: request.inputs, mode: this.o.predictionLogInputs },
        responseBody: false,
      });
      this.logLine(encoding instanceof Promise ? await encoding : encoding, result.id);
    }
    return result;
  }

  /** A validated request through model health, the scheduler and the ground-truth store. */
  private async run(m: ServingModel, request: InferRequest, start: number, span: RequestSpan | undefined): Promise<{ id: string; outputs: ResponseOutput[] }> {
    m.health.observeInputs(request.inputs);
    // Whole milliseconds: node keeps one timer list per distinct duration, so fractional timeouts
    // would build (and tear down) a list and a heap entry per request.
    const remaining = Math.max(1, Math.ceil(this.o.requestTimeoutMs - (performance.now() - start)));
    const outputs = await m.scheduler.submit(request.inputs, request.rows, remaining, span?.queued());
    // Large outputs are observed in slices, the event loop free in between (model-health.ts).
    let kept: number;
    let values: Float64Array;
    if (request.rows <= OBSERVE_SLICE_ROWS) {
      kept = m.health.observeOutputs(outputs, request.rows);
      values = m.health.rowValues;
    } else ({ kept, values } = await m.health.observeOutputsSliced(outputs, request.rows));
    const id = m.groundTruth.remember(request.id, values, kept);
    span?.predictionId(id);
    const selected = request.outputs.map((o) => {
      const tensor = outputs.get(o.name);
      if (!tensor) throw new RuntimeError('INFERENCE_FAILED', `the model produced no output "${o.name}"`, { status: 500 });
      return { name: o.name, tensor, binary: o.binary };
    });
    return { id, outputs: selected };
  }

  private async feedback(req: IncomingRequest): Promise<Reply> {
    const m = this.model;
    if (!m) throw this.notReady();
    const body = parseJsonBody(await req.body(), 'feedback body');
    let result;
    try {
      result = m.groundTruth.apply(body);
    } catch (err) {
      // Ground truth for a prediction this replica does not hold (another replica made it, or it
      // was evicted) still goes to the store, which joins by id.
      if (err instanceof RuntimeError && err.code === 'NOT_FOUND') this.sinkFeedback(m, body, false);
      throw err;
    }
    this.sinkFeedback(m, body, true);
    return json(200, result);
  }

  private sinkFeedback(m: ServingModel, body: Record<string, unknown>, matched: boolean): void {
    const kind = m.health.plan.kind;
    if (!this.o.sink.feedback || kind === 'none') return;
    const record = feedbackLine(body, kind, { time: isoNow(), model: this.o.modelName, revision: this.o.revision, matched });
    if (record) this.o.sink.writeFeedback(record.line, record.id);
  }
}

function methodNotAllowed(method: string, path: string, allowed: string): RuntimeError {
  return new RuntimeError('METHOD_NOT_ALLOWED', `${method} is not allowed on ${path}; use ${allowed}`, { status: 405 });
}
