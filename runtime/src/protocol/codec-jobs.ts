// The codec's two jobs — decoding an infer request, encoding its response and prediction-log line —
// and how they travel as frames (codec-frames.ts) to and from the codec process. Pure: codec.ts
// runs a job on the calling thread when it is small, and in the codec process (codec-child.ts,
// which calls `answer`) when it is not.
import type { PredictionLogInputs } from '../config/config.ts';
import { RuntimeError, errorMessage, type ErrorCode } from '../errors.ts';
import { MAX_LINE_BYTES, minLineBytes, predictionLine } from '../predictions/prediction-log.ts';
import { frame, packTensors, unpackTensor, type Frame, type TensorMeta } from './codec-frames.ts';
import type { HostTensor } from './datatypes.ts';
import { decodeInferRequest, type InferRequest, type RequestedOutput } from './decode.ts';
import { encodeInferResponse, type EncodedResponse, type ResponseOutput } from './encode.ts';
import type { ModelSignature } from './signature.ts';

/** What an infer response (and its prediction-log line) is built from. */
export interface EncodeInput {
  model: string;
  revision: string;
  /** The prediction id. */
  id: string;
  outputs: ResponseOutput[];
  /** Set when the prediction log wants a line for this request. */
  log: { time: string; inputs: Map<string, HostTensor>; mode: PredictionLogInputs } | undefined;
  /** false: only the log line is wanted (gRPC encodes its own response). */
  responseBody?: false;
}

export interface EncodeResult extends EncodedResponse {
  /** The prediction-log line; undefined when none was asked for, or when it would be too long to keep. */
  line: string | undefined;
  /** True when a line was asked for but not built (longer than the log's buffer). */
  lineDropped: boolean;
}

export function runDecode(body: Buffer, jsonLength: number | undefined, signature: ModelSignature): InferRequest {
  return decodeInferRequest(body, jsonLength, signature);
}

/** One object literal of one shape (not a spread of `encoded`): this runs for every request. */
const encodeResult = (encoded: EncodedResponse, line: string | undefined, lineDropped: boolean): EncodeResult => ({
  contentType: encoded.contentType,
  body: encoded.body,
  jsonLength: encoded.jsonLength,
  line,
  lineDropped,
});

export function runEncode(input: EncodeInput): EncodeResult {
  const encoded: EncodedResponse =
    input.responseBody === false ? { contentType: '', body: '', jsonLength: undefined } : encodeInferResponse(input.model, input.revision, input.id, input.outputs, { prediction_id: input.id });
  const log = input.log;
  if (!log) return encodeResult(encoded, undefined, false);
  const record = { id: input.id, time: log.time, model: input.model, revision: input.revision, inputs: log.inputs, outputs: input.outputs };
  if (minLineBytes(record, log.mode) > MAX_LINE_BYTES) return encodeResult(encoded, undefined, true);
  return encodeResult(encoded, predictionLine(record, log.mode), false);
}

// Frame headers. Runtime → codec process:
export interface DecodeHeader {
  type: 'decode';
  id: number;
  jsonLength: number | undefined;
  signature: ModelSignature;
}
export interface EncodeHeader {
  type: 'encode';
  id: number;
  model: string;
  revision: string;
  predictionId: string;
  responseBody: boolean;
  outputs: { name: string; binary: boolean; tensor: TensorMeta }[];
  log: { time: string; mode: PredictionLogInputs; inputs: [string, TensorMeta][] } | undefined;
}
// Codec process → runtime:
export interface DecodedHeader {
  type: 'decoded';
  id: number;
  requestId: string | undefined;
  rows: number;
  outputs: RequestedOutput[];
  inputs: [string, TensorMeta][];
}
export interface EncodedHeader {
  type: 'encoded';
  id: number;
  contentType: string;
  jsonLength: number | undefined;
  /** The payload: the body, then the line's UTF-8 bytes. */
  bodyBytes: number;
  lineBytes: number | undefined;
  lineDropped: boolean;
}
export interface FailedHeader {
  type: 'failed';
  id: number;
  code: ErrorCode;
  status: number;
  message: string;
}
export type JobHeader = DecodeHeader | EncodeHeader;
export type ReplyHeader = DecodedHeader | EncodedHeader | FailedHeader;

/** Summary log lines show the first values only (prediction-log.ts): no need to send more. */
const SUMMARY_VALUES = 8;

export function decodeFrame(id: number, body: Buffer, jsonLength: number | undefined, signature: ModelSignature): Buffer[] {
  return frame({ type: 'decode', id, jsonLength, signature } satisfies DecodeHeader, [body]);
}

export function encodeFrame(id: number, input: EncodeInput): Buffer[] {
  const logInputs = input.log ? [...input.log.inputs] : [];
  const head = (t: HostTensor): HostTensor => (input.log?.mode === 'full' || t.data.length <= SUMMARY_VALUES ? t : { ...t, data: t.data.slice(0, SUMMARY_VALUES) });
  const packed = packTensors([...input.outputs.map((o) => o.tensor), ...logInputs.map(([, t]) => head(t))]);
  const n = input.outputs.length;
  const header: EncodeHeader = {
    type: 'encode',
    id,
    model: input.model,
    revision: input.revision,
    predictionId: input.id,
    responseBody: input.responseBody !== false,
    outputs: input.outputs.map((o, i) => ({ name: o.name, binary: o.binary, tensor: packed.metas[i] as TensorMeta })),
    log: input.log && { time: input.log.time, mode: input.log.mode, inputs: logInputs.map(([name], i) => [name, packed.metas[n + i] as TensorMeta]) },
  };
  return frame(header, packed.parts);
}

/** The codec process's side: runs the job in a frame and returns the reply frame. Never throws. */
export function answer(job: Frame<JobHeader>): Buffer[] {
  const h = job.header;
  try {
    if (h.type === 'decode') {
      const request = runDecode(job.payload, h.jsonLength, h.signature);
      const inputs = [...request.inputs];
      const packed = packTensors(inputs.map(([, t]) => t));
      const header: DecodedHeader = { type: 'decoded', id: h.id, requestId: request.id, rows: request.rows, outputs: request.outputs, inputs: inputs.map(([name], i) => [name, packed.metas[i] as TensorMeta]) };
      return frame(header, packed.parts);
    }
    const result = runEncode({
      model: h.model,
      revision: h.revision,
      id: h.predictionId,
      ...(h.responseBody ? {} : { responseBody: false as const }),
      outputs: h.outputs.map((o) => ({ name: o.name, binary: o.binary, tensor: unpackTensor(o.tensor, job.payload) })),
      log: h.log && { time: h.log.time, mode: h.log.mode, inputs: new Map(h.log.inputs.map(([name, meta]) => [name, unpackTensor(meta, job.payload)])) },
    });
    const body = typeof result.body === 'string' ? Buffer.from(result.body, 'utf8') : result.body;
    const line = result.line === undefined ? undefined : Buffer.from(result.line, 'utf8');
    const header: EncodedHeader = { type: 'encoded', id: h.id, contentType: result.contentType, jsonLength: result.jsonLength, bodyBytes: body.length, lineBytes: line?.length, lineDropped: result.lineDropped };
    return frame(header, line ? [body, line] : [body]);
  } catch (err) {
    return frame(failure(h.id, err));
  }
}

/** A job's failure: request errors keep their code and status; anything else is a 500. */
export function failure(id: number, err: unknown): FailedHeader {
  if (err instanceof RuntimeError) return { type: 'failed', id, code: err.code, status: err.status, message: err.message };
  return { type: 'failed', id, code: 'INTERNAL', status: 500, message: `internal error in the codec: ${errorMessage(err)}` };
}

/** A decoded reply as the request it describes. */
export function decodedRequest(reply: Frame<DecodedHeader>): InferRequest {
  const h = reply.header;
  return { id: h.requestId, rows: h.rows, outputs: h.outputs, inputs: new Map(h.inputs.map(([name, meta]) => [name, unpackTensor(meta, reply.payload)])) };
}

/** An encoded reply as the response body and log line. */
export function encodedResult(reply: Frame<EncodedHeader>): EncodeResult {
  const h = reply.header;
  const body = reply.payload.subarray(0, h.bodyBytes);
  const line = h.lineBytes === undefined ? undefined : reply.payload.toString('utf8', h.bodyBytes, h.bodyBytes + h.lineBytes);
  return { contentType: h.contentType, jsonLength: h.jsonLength, body, line, lineDropped: h.lineDropped };
}
