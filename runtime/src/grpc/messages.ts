// The messages of the Open Inference Protocol's gRPC service (package `inference`, service
// GRPCInferenceService; field numbers as in KServe's grpc_predict_v2.proto and Triton's
// grpc_service.proto, which tritonclient speaks). Both directions of every message the runtime
// serves, so tests and the benchmark can be clients too. Pure.
import { Reader, Writer, FIXED32, FIXED64, LEN, VARINT, readPackedVarints } from './wire.ts';

export type ParamValue = boolean | bigint | string | number;

/** InferTensorContents as received: per field, the pieces of its values (packed runs or single values). */
export interface Contents {
  /** field number → pieces: a packed run (Buffer), or one value (bigint for varints, Buffer for fixed/bytes). */
  fields: Map<number, (Buffer | bigint)[]>;
  /** Pieces that are packed runs, by field. */
  packed: Map<number, boolean[]>;
}

export interface InputTensor {
  name: string;
  datatype: string;
  shape: bigint[];
  parameters: Map<string, ParamValue>;
  contents: Contents | undefined;
}

export interface RequestedOutput {
  name: string;
  parameters: Map<string, ParamValue>;
}

export interface InferRequestMessage {
  modelName: string;
  modelVersion: string;
  id: string;
  parameters: Map<string, ParamValue>;
  inputs: InputTensor[];
  outputs: RequestedOutput[];
  raw: Buffer[];
}

export interface OutputTensor {
  name: string;
  datatype: string;
  shape: readonly number[];
  /** Raw little-endian bytes (BYTES: 4-byte length-prefixed elements). */
  raw: Uint8Array;
}

export interface InferResponseMessage {
  modelName: string;
  modelVersion: string;
  id: string;
  parameters: Record<string, string>;
  outputs: OutputTensor[];
}

export const CONTENT_FIELD = { bool: 1, int: 2, int64: 3, uint: 4, uint64: 5, fp32: 6, fp64: 7, bytes: 8 } as const;

function readParameter(b: Buffer): ParamValue | undefined {
  const r = new Reader(b);
  let v: ParamValue | undefined;
  while (!r.done) {
    const [f, w] = r.tag();
    if (f === 1 && w === VARINT) v = r.varintBig() !== 0n;
    else if (f === 2 && w === VARINT) v = BigInt.asIntN(64, r.varintBig());
    else if (f === 3 && w === LEN) v = r.string();
    else if (f === 4 && w === FIXED64) v = r.fixed64().readDoubleLE(0);
    else if (f === 5 && w === VARINT) v = r.varintBig();
    else r.skip(w);
  }
  return v;
}

function readMapEntry(b: Buffer, into: Map<string, ParamValue>): void {
  const r = new Reader(b);
  let key = '';
  let value: ParamValue | undefined;
  while (!r.done) {
    const [f, w] = r.tag();
    if (f === 1 && w === LEN) key = r.string();
    else if (f === 2 && w === LEN) value = readParameter(r.bytes());
    else r.skip(w);
  }
  if (value !== undefined) into.set(key, value);
}

function readContents(b: Buffer): Contents {
  const r = new Reader(b);
  const fields = new Map<number, (Buffer | bigint)[]>();
  const packed = new Map<number, boolean[]>();
  const add = (f: number, piece: Buffer | bigint, isPacked: boolean) => {
    if (!fields.has(f)) {
      fields.set(f, []);
      packed.set(f, []);
    }
    fields.get(f)!.push(piece);
    packed.get(f)!.push(isPacked);
  };
  while (!r.done) {
    const [f, w] = r.tag();
    if (f < 1 || f > 8) r.skip(w);
    else if (f === CONTENT_FIELD.bytes && w === LEN) add(f, r.bytes(), false);
    else if (w === LEN) add(f, r.bytes(), true);
    else if (w === VARINT) add(f, r.varintBig(), false);
    else if (w === FIXED32) add(f, r.fixed32(), false);
    else if (w === FIXED64) add(f, r.fixed64(), false);
    else r.skip(w);
  }
  return { fields, packed };
}

function readInput(b: Buffer): InputTensor {
  const r = new Reader(b);
  const t: InputTensor = { name: '', datatype: '', shape: [], parameters: new Map(), contents: undefined };
  while (!r.done) {
    const [f, w] = r.tag();
    if (f === 1 && w === LEN) t.name = r.string();
    else if (f === 2 && w === LEN) t.datatype = r.string();
    else if (f === 3 && (w === LEN || w === VARINT)) readPackedVarints(r, w, t.shape);
    else if (f === 4 && w === LEN) readMapEntry(r.bytes(), t.parameters);
    else if (f === 5 && w === LEN) t.contents = readContents(r.bytes());
    else r.skip(w);
  }
  t.shape = t.shape.map((d) => BigInt.asIntN(64, d));
  return t;
}

function readRequested(b: Buffer): RequestedOutput {
  const r = new Reader(b);
  const o: RequestedOutput = { name: '', parameters: new Map() };
  while (!r.done) {
    const [f, w] = r.tag();
    if (f === 1 && w === LEN) o.name = r.string();
    else if (f === 2 && w === LEN) readMapEntry(r.bytes(), o.parameters);
    else r.skip(w);
  }
  return o;
}

export function decodeInferRequest(buf: Buffer): InferRequestMessage {
  const r = new Reader(buf);
  const m: InferRequestMessage = { modelName: '', modelVersion: '', id: '', parameters: new Map(), inputs: [], outputs: [], raw: [] };
  while (!r.done) {
    const [f, w] = r.tag();
    if (f === 1 && w === LEN) m.modelName = r.string();
    else if (f === 2 && w === LEN) m.modelVersion = r.string();
    else if (f === 3 && w === LEN) m.id = r.string();
    else if (f === 4 && w === LEN) readMapEntry(r.bytes(), m.parameters);
    else if (f === 5 && w === LEN) m.inputs.push(readInput(r.bytes()));
    else if (f === 6 && w === LEN) m.outputs.push(readRequested(r.bytes()));
    else if (f === 7 && w === LEN) m.raw.push(r.bytes());
    else r.skip(w);
  }
  return m;
}

export function encodeInferResponse(m: InferResponseMessage): Buffer {
  const w = new Writer().string(1, m.modelName).string(2, m.modelVersion).string(3, m.id);
  for (const [key, value] of Object.entries(m.parameters)) w.message(4, new Writer().string(1, key).message(2, new Writer().string(3, value)));
  for (const o of m.outputs) w.message(5, new Writer().string(1, o.name).string(2, o.datatype).packed(3, o.shape));
  for (const o of m.outputs) w.bytes(6, o.raw);
  return w.finish();
}

/** The name/version pair of ModelReadyRequest and ModelMetadataRequest. */
export function decodeNameVersion(buf: Buffer): { name: string; version: string } {
  const r = new Reader(buf);
  const out = { name: '', version: '' };
  while (!r.done) {
    const [f, w] = r.tag();
    if (f === 1 && w === LEN) out.name = r.string();
    else if (f === 2 && w === LEN) out.version = r.string();
    else r.skip(w);
  }
  return out;
}

/** ServerLiveResponse, ServerReadyResponse, ModelReadyResponse: one bool in field 1. */
export const encodeFlag = (v: boolean): Buffer => new Writer().bool(1, v).finish();

export function encodeServerMetadata(m: { name: string; version: string; extensions: string[] }): Buffer {
  const w = new Writer().string(1, m.name).string(2, m.version);
  for (const e of m.extensions) w.string(3, e);
  return w.finish();
}

export interface TensorMetadata {
  name: string;
  datatype: string;
  shape: number[];
}

export function encodeModelMetadata(m: { name: string; versions: string[]; platform: string; inputs: TensorMetadata[]; outputs: TensorMetadata[] }): Buffer {
  const w = new Writer().string(1, m.name);
  for (const v of m.versions) w.string(2, v);
  w.string(3, m.platform);
  const t = (x: TensorMetadata) => new Writer().string(1, x.name).string(2, x.datatype).packed(3, x.shape);
  for (const i of m.inputs) w.message(4, t(i));
  for (const o of m.outputs) w.message(5, t(o));
  return w.finish();
}

// The client's side (tests and the benchmark speak gRPC to the runtime with these).

export function encodeInferRequest(m: { modelName: string; modelVersion?: string; id?: string; inputs: { name: string; datatype: string; shape: number[] }[]; outputs?: string[]; raw: Uint8Array[] }): Buffer {
  const w = new Writer().string(1, m.modelName).string(2, m.modelVersion ?? '').string(3, m.id ?? '');
  for (const i of m.inputs) w.message(5, new Writer().string(1, i.name).string(2, i.datatype).packed(3, i.shape));
  for (const o of m.outputs ?? []) w.message(6, new Writer().string(1, o));
  for (const r of m.raw) w.bytes(7, r);
  return w.finish();
}

export function decodeInferResponse(buf: Buffer): { modelName: string; id: string; outputs: { name: string; datatype: string; shape: number[] }[]; raw: Buffer[] } {
  const r = new Reader(buf);
  const out = { modelName: '', id: '', outputs: [] as { name: string; datatype: string; shape: number[] }[], raw: [] as Buffer[] };
  while (!r.done) {
    const [f, w] = r.tag();
    if (f === 1 && w === LEN) out.modelName = r.string();
    else if (f === 3 && w === LEN) out.id = r.string();
    else if (f === 5 && w === LEN) {
      const o = new Reader(r.bytes());
      const t = { name: '', datatype: '', shape: [] as number[] };
      const shape: bigint[] = [];
      while (!o.done) {
        const [g, x] = o.tag();
        if (g === 1 && x === LEN) t.name = o.string();
        else if (g === 2 && x === LEN) t.datatype = o.string();
        else if (g === 3) readPackedVarints(o, x, shape);
        else o.skip(x);
      }
      t.shape = shape.map(Number);
      out.outputs.push(t);
    } else if (f === 6 && w === LEN) out.raw.push(r.bytes());
    else r.skip(w);
  }
  return out;
}

