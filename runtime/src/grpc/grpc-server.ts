// The Open Inference Protocol's gRPC service (inference.GRPCInferenceService: ServerLive,
// ServerReady, ModelReady, ServerMetadata, ModelMetadata, ModelInfer) on its own port, beside
// REST. It shares everything behind the protocol with REST: the App (readiness, model checks,
// model health, scheduler and batching, ground truth, prediction log), the body budget and the
// request metrics (onnxop_requests_total counts gRPC calls by the same outcomes). Outputs go back
// in raw_output_contents, as Triton sends them. Other methods of Triton's service (streaming,
// repository, statistics) answer UNIMPLEMENTED.
import { Server, ServerCredentials, status as Status, type ServerUnaryCall, type sendUnaryData, type ServiceDefinition, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { RuntimeError, errorMessage } from '../errors.ts';
import { outcomeOf, type RuntimeMetrics } from '../metrics/metrics.ts';
import type { App } from '../server/app.ts';
import { SERVER_NAME, SERVER_VERSION } from '../server/app.ts';
import { Reservation, type ByteBudget } from '../server/body.ts';
import { decodeGrpcInfer } from './decode-grpc.ts';
import { decodeInferRequest, decodeNameVersion, encodeFlag, encodeInferResponse, encodeModelMetadata, encodeServerMetadata, type InferRequestMessage } from './messages.ts';
import { tensorBytes } from '../protocol/codec-frames.ts';
import { HEADER_TRACEPARENT, HEADER_TRACESTATE } from '../../../lib/contract/index.ts';
import { inStage, type RequestTracer } from '../tracing/request-trace.ts';

export interface GrpcOptions {
  host: string;
  port: number;
  /** Largest request message (RESOURCE_EXHAUSTED above), as --max-body-bytes for REST. */
  maxMessageBytes: number;
  budget: ByteBudget;
  metrics: RuntimeMetrics;
  /** With tracing on: a server span per ModelInfer call. */
  tracer?: RequestTracer;
}

export interface GrpcServer {
  port: number;
  /** Stops taking calls and waits for the ones in progress (at most timeoutMs; then cancels them). */
  stop(timeoutMs: number): Promise<boolean>;
}

/** A request's bytes, or why they could not be read (a client's error, answered INVALID_ARGUMENT). */
type Decoded<T> = { value: T; bytes: number } | { error: RuntimeError; bytes: number };

/** Deserializers never throw: grpc-js would answer a throw with INTERNAL, a server's error. */
function decoder<T>(decode: (b: Buffer) => T): (b: Buffer) => Decoded<T> {
  return (b) => {
    try {
      return { value: decode(b), bytes: b.length };
    } catch (err) {
      return { error: err instanceof RuntimeError ? err : new RuntimeError('BAD_REQUEST', errorMessage(err), { status: 400 }), bytes: b.length };
    }
  };
}

const empty = decoder(() => undefined);
const nameVersion = decoder(decodeNameVersion);
const inferRequest = decoder(decodeInferRequest);

function method<T>(name: string, deserialize: (b: Buffer) => Decoded<T>) {
  return {
    path: `/inference.GRPCInferenceService/${name}`,
    requestStream: false,
    responseStream: false,
    requestSerialize: () => Buffer.alloc(0),
    requestDeserialize: deserialize,
    responseSerialize: (b: Buffer) => b,
    responseDeserialize: (b: Buffer) => b,
    originalName: name,
  };
}

export const SERVICE: ServiceDefinition = {
  ServerLive: method('ServerLive', empty),
  ServerReady: method('ServerReady', empty),
  ModelReady: method('ModelReady', nameVersion),
  ServerMetadata: method('ServerMetadata', empty),
  ModelMetadata: method('ModelMetadata', nameVersion),
  ModelInfer: method('ModelInfer', inferRequest),
};

/** A runtime error's HTTP status as a gRPC status code (the outcome label still comes from the HTTP status). */
export function grpcCode(httpStatus: number): Status {
  switch (httpStatus) {
    case 400:
      return Status.INVALID_ARGUMENT;
    case 404:
      return Status.NOT_FOUND;
    case 408:
    case 504:
      return Status.DEADLINE_EXCEEDED;
    case 413:
      return Status.RESOURCE_EXHAUSTED;
    case 415:
    case 405:
      return Status.UNIMPLEMENTED;
    case 429:
    case 503:
      return Status.UNAVAILABLE;
    default:
      return httpStatus < 500 ? Status.INVALID_ARGUMENT : Status.INTERNAL;
  }
}

function fail(callback: sendUnaryData<Buffer>, err: unknown): number {
  const e = err instanceof RuntimeError ? err : new RuntimeError('INTERNAL', `internal error: ${errorMessage(err)}`, { status: 500 });
  callback({ code: grpcCode(e.status), details: e.message });
  return e.status;
}

/** A metadata value as text (binary `-bin` values and absent keys are undefined). */
function metadataText(call: ServerUnaryCall<unknown, unknown>, key: string): string | undefined {
  const v = call.metadata.get(key)[0];
  return typeof v === 'string' ? v : undefined;
}

export function startGrpcServer(app: App, o: GrpcOptions): Promise<GrpcServer> {
  const m = o.metrics;
  const unary =
    <T>(handle: (value: T) => Buffer | Promise<Buffer>) =>
    (call: ServerUnaryCall<Decoded<T>, Buffer>, callback: sendUnaryData<Buffer>) => {
      const req = call.request;
      if ('error' in req) {
        fail(callback, req.error);
        return;
      }
      Promise.resolve()
        .then(() => handle(req.value))
        .then(
          (reply) => callback(null, reply),
          (err: unknown) => fail(callback, err),
        );
    };

  const modelInfer = (call: ServerUnaryCall<Decoded<InferRequestMessage>, Buffer>, callback: sendUnaryData<Buffer>) => {
    const start = performance.now();
    m.inFlight.inc();
    const reservation = new Reservation(o.budget);
    const span = o.tracer?.request('grpc', metadataText(call, HEADER_TRACEPARENT), metadataText(call, HEADER_TRACESTATE), start);
    const done = (status: number) => {
      span?.end(status, status === 200 ? Status.OK : grpcCode(status));
      reservation.release();
      m.inFlight.dec();
      const outcome = outcomeOf(status);
      m.requestsBy[outcome].inc();
      m.requestDurationBy[outcome].observe((performance.now() - start) / 1000);
    };
    const req = call.request;
    void (async () => {
      // The message is already in memory: it counts against the same budget as REST bodies.
      reservation.reserve(req.bytes);
      if ('error' in req) throw req.error;
      const msg = req.value;
      app.checkServed(msg.modelName, msg.modelVersion === '' ? undefined : msg.modelVersion);
      const model = app.servingModel();
      const decoding = inStage(span, 'decode', () => decodeGrpcInfer(msg, model.signature));
      const request = decoding instanceof Promise ? await decoding : decoding;
      const { id, outputs } = await app.inferDecoded(request, start, span);
      return inStage(span, 'encode', async () =>
        encodeInferResponse({
          modelName: msg.modelName,
          modelVersion: app.revision,
          id,
          parameters: {},
          outputs: outputs.map((x) => ({ name: x.name, datatype: x.tensor.datatype, shape: x.tensor.shape, raw: tensorBytes(x.tensor) })),
        }),
      );
    })().then(
      (reply) => {
        callback(null, reply);
        done(200);
      },
      (err: unknown) => done(fail(callback, err)),
    );
  };

  const handlers: UntypedServiceImplementation = {
    ServerLive: unary<undefined>(() => encodeFlag(true)),
    ServerReady: unary<undefined>(() => encodeFlag(app.ready)),
    ModelReady: unary<{ name: string; version: string }>((r) => {
      app.checkServed(r.name, r.version === '' ? undefined : r.version);
      return encodeFlag(app.ready);
    }),
    ServerMetadata: unary<undefined>(() => encodeServerMetadata({ name: SERVER_NAME, version: SERVER_VERSION, extensions: ['binary_tensor_data', 'model_feedback'] })),
    ModelMetadata: unary<{ name: string; version: string }>((r) => {
      app.checkServed(r.name, r.version === '' ? undefined : r.version);
      return encodeModelMetadata(app.modelMetadata());
    }),
    ModelInfer: modelInfer,
  };

  const server = new Server({
    'grpc.max_receive_message_length': o.maxMessageBytes,
    'grpc.max_send_message_length': -1,
  });
  server.addService(SERVICE, handlers);
  return new Promise((resolve, reject) => {
    server.bindAsync(`${o.host}:${o.port}`, ServerCredentials.createInsecure(), (err, port) => {
      if (err) return reject(new RuntimeError('CONFIG_INVALID', `the gRPC server cannot listen on ${o.host}:${o.port}: ${err.message}`, { cause: err }));
      resolve({
        port,
        stop: (timeoutMs) =>
          new Promise<boolean>((done) => {
            const t = setTimeout(() => {
              server.forceShutdown();
              done(false);
            }, timeoutMs);
            server.tryShutdown(() => {
              clearTimeout(t);
              done(true);
            });
          }),
      });
    });
  });
}
