// A gRPC ModelInferRequest as the runtime's InferRequest, validated against the model signature
// with the same rules (and the same messages) as the REST decoder: names, datatypes, shapes and
// symbolic dimensions, element counts, integer ranges. Tensor values come from
// raw_input_contents (what tritonclient sends; copied once into aligned memory) or from the typed
// `contents` fields. Varint contents are decoded in slices, the event loop free in between.
import { badRequest } from '../errors.ts';
import { TYPED_ARRAY, V2_DATATYPES, elementCount, type HostTensor, type TensorData, type V2Datatype } from '../protocol/datatypes.ts';
import { DEFAULT_LIMITS, INT_RANGES, binaryToTensorData, checkComplete, checkShape, inputSpecs, requestId, rowsOf, type DecodeLimits, type InferRequest } from '../protocol/decode.ts';
import type { ModelSignature } from '../protocol/signature.ts';
import { CONTENT_FIELD, type Contents, type InferRequestMessage, type InputTensor } from './messages.ts';

/** Varint values decoded between two turns of the event loop. */
const SLICE = 1 << 20;
const yieldTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

const FIELD_OF: Record<V2Datatype, number | undefined> = {
  BOOL: CONTENT_FIELD.bool,
  INT8: CONTENT_FIELD.int,
  INT16: CONTENT_FIELD.int,
  INT32: CONTENT_FIELD.int,
  INT64: CONTENT_FIELD.int64,
  UINT8: CONTENT_FIELD.uint,
  UINT16: CONTENT_FIELD.uint,
  UINT32: CONTENT_FIELD.uint,
  UINT64: CONTENT_FIELD.uint64,
  FP32: CONTENT_FIELD.fp32,
  FP64: CONTENT_FIELD.fp64,
  FP16: undefined, // no typed field: raw_input_contents only
  BYTES: CONTENT_FIELD.bytes,
};
const FIELD_NAME = ['', 'bool_contents', 'int_contents', 'int64_contents', 'uint_contents', 'uint64_contents', 'fp32_contents', 'fp64_contents', 'bytes_contents'];

function shapeOf(t: InputTensor): number[] {
  return t.shape.map((d, i) => {
    if (d < 0n || d > BigInt(Number.MAX_SAFE_INTEGER)) throw badRequest(`inputs[${t.name}].shape[${i}] is ${d}; dimensions are non-negative integers`);
    return Number(d);
  });
}

/** Fixed-width contents (fp32/fp64): the pieces' bytes, copied into a typed array. */
function fixedContents(name: string, datatype: V2Datatype, pieces: (Buffer | bigint)[], count: number): TensorData {
  const Ctor = TYPED_ARRAY[datatype as 'FP32' | 'FP64'];
  const out = new Ctor(count);
  const bytes = new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  let at = 0;
  for (const p of pieces) {
    const b = p as Buffer;
    if (at + b.length > bytes.length || b.length % Ctor.BYTES_PER_ELEMENT !== 0) throw badRequest(`inputs[${name}].contents has more values than shape needs (${count})`);
    bytes.set(b, at);
    at += b.length;
  }
  if (at !== bytes.length) throw badRequest(`inputs[${name}].contents has ${at / Ctor.BYTES_PER_ELEMENT} values but shape needs ${count}`);
  return out;
}

/** Varint contents, range-checked into the datatype's array. */
async function varintContents(name: string, datatype: V2Datatype, pieces: (Buffer | bigint)[], packed: boolean[], count: number): Promise<TensorData> {
  const big = datatype === 'INT64' || datatype === 'UINT64';
  const out = big ? (datatype === 'INT64' ? new BigInt64Array(count) : new BigUint64Array(count)) : new TYPED_ARRAY[datatype as 'INT32'](count);
  const [lo, hi] = datatype === 'BOOL' ? [0, 1] : (INT_RANGES[datatype] ?? [0, 0]);
  const signed = datatype.startsWith('INT');
  let n = 0;
  let sinceYield = 0;
  const put = (v: bigint) => {
    if (n >= count) throw badRequest(`inputs[${name}].contents has more values than shape needs (${count})`);
    if (big) (out as BigInt64Array)[n++] = datatype === 'INT64' ? BigInt.asIntN(64, v) : v;
    else {
      const x = Number(signed ? BigInt.asIntN(64, v) : v);
      if (x < lo || x > hi) throw badRequest(`inputs[${name}].contents[${n}] is ${x}, but ${datatype} needs an integer between ${lo} and ${hi}`);
      (out as Int32Array)[n++] = x;
    }
  };
  for (let i = 0; i < pieces.length; i++) {
    const p = pieces[i] as Buffer | bigint;
    if (!packed[i]) {
      put(p as bigint);
      continue;
    }
    const b = p as Buffer;
    let pos = 0;
    while (pos < b.length) {
      // A varint: fast path for values under 2^28 (four bytes), else bigint.
      let v = 0;
      let shift = 0;
      let byte = 0;
      const start = pos;
      do {
        if (pos >= b.length) throw badRequest(`inputs[${name}].contents: truncated varint`);
        byte = b[pos++] as number;
        if (shift < 28) v |= (byte & 0x7f) << shift;
        shift += 7;
      } while (byte >= 0x80 && shift < 70);
      if (byte >= 0x80) throw badRequest(`inputs[${name}].contents: varint too long`);
      if (pos - start <= 4) put(BigInt(v));
      else {
        let x = 0n;
        for (let k = pos - 1; k >= start; k--) x = (x << 7n) | BigInt((b[k] as number) & 0x7f);
        put(BigInt.asUintN(64, x));
      }
      if (++sinceYield >= SLICE) {
        sinceYield = 0;
        await yieldTurn();
      }
    }
  }
  if (n !== count) throw badRequest(`inputs[${name}].contents has ${n} values but shape needs ${count}`);
  return out;
}

async function contentsData(t: InputTensor, datatype: V2Datatype, contents: Contents, count: number): Promise<TensorData> {
  const field = FIELD_OF[datatype];
  if (field === undefined) throw badRequest(`inputs[${t.name}] is ${datatype}: send its values in raw_input_contents (no typed contents field holds them)`);
  for (const f of contents.fields.keys()) {
    if (f !== field) throw badRequest(`inputs[${t.name}].contents has ${FIELD_NAME[f]}, but a ${datatype} input's values go in ${FIELD_NAME[field]}`);
  }
  const pieces = contents.fields.get(field) ?? [];
  if (datatype === 'FP32' || datatype === 'FP64') return fixedContents(t.name, datatype, pieces, count);
  if (datatype === 'BYTES') {
    if (pieces.length !== count) throw badRequest(`inputs[${t.name}].contents has ${pieces.length} values but shape needs ${count}`);
    return pieces.map((p) => (p as Buffer).toString('utf8'));
  }
  return varintContents(t.name, datatype, pieces, contents.packed.get(field) ?? [], count);
}

export async function decodeGrpcInfer(m: InferRequestMessage, sig: ModelSignature, limits: DecodeLimits = DEFAULT_LIMITS): Promise<InferRequest> {
  if (m.inputs.length === 0) throw badRequest(`inputs is empty; send one InferInputTensor per model input (${sig.inputs.map((i) => i.name).join(', ')})`);
  if (m.raw.length > 0 && m.raw.length !== m.inputs.length) {
    throw badRequest(`raw_input_contents has ${m.raw.length} entries for ${m.inputs.length} inputs; give one per input, in the order of inputs, or use contents for all`);
  }
  const specs = inputSpecs(sig);
  const symbols = new Map<string, { value: number; input: string }>();
  const inputs = new Map<string, HostTensor>();
  for (const [idx, t] of m.inputs.entries()) {
    const spec = specs.get(t.name);
    if (!spec) throw badRequest(`inputs[${idx}].name "${t.name}" is not an input of this model; its inputs are: ${sig.inputs.map((i) => i.name).join(', ')}`);
    if (inputs.has(t.name)) throw badRequest(`input "${t.name}" is given twice; give each input once`);
    if (!V2_DATATYPES.includes(t.datatype as V2Datatype)) throw badRequest(`inputs[${t.name}].datatype is "${t.datatype}"; use one of ${V2_DATATYPES.join(', ')} (this input is ${spec.datatype})`);
    const datatype = t.datatype as V2Datatype;
    if (datatype !== spec.datatype) throw badRequest(`inputs[${t.name}].datatype is ${datatype} but the model expects ${spec.datatype}`);
    const shape = shapeOf(t);
    checkShape(spec, shape, symbols);
    const count = elementCount(shape);
    if (count > limits.maxElements) throw badRequest(`inputs[${t.name}] has ${count} elements, more than the limit of ${limits.maxElements}`);
    let data: TensorData;
    if (m.raw.length > 0) {
      if (t.contents && t.contents.fields.size > 0) throw badRequest(`inputs[${t.name}] has contents and raw_input_contents; use one`);
      data = binaryToTensorData(t.name, datatype, m.raw[idx] as Buffer, count);
    } else {
      if (!t.contents) throw badRequest(`inputs[${t.name}] has no contents and the request no raw_input_contents`);
      data = await contentsData(t, datatype, t.contents, count);
    }
    inputs.set(t.name, { datatype, shape, data });
  }
  checkComplete(sig, inputs);
  const known = new Set(sig.outputs.map((o) => o.name));
  const outputs =
    m.outputs.length === 0
      ? sig.outputs.map((o) => ({ name: o.name, binary: true }))
      : m.outputs.map((o, i) => {
          if (!known.has(o.name)) throw badRequest(`outputs[${i}].name "${o.name}" is not an output of this model; its outputs are: ${[...known].join(', ')}`);
          return { name: o.name, binary: true };
        });
  return { id: requestId(m.id === '' ? undefined : m.id), inputs, outputs, rows: rowsOf(sig, inputs) };
}
