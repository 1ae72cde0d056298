// Parses and validates a v2 infer request (JSON, or JSON + binary tensor data) against the model
// signature. Pure: everything a request can get wrong is caught here, before onnxruntime sees it,
// and reported as a 400 naming the field and what the model expects.
import { badRequest } from '../errors.ts';
import {
  TYPED_ARRAY,
  V2_DATATYPES,
  elementCount,
  isFloat,
  toHalf,
  type HostTensor,
  type TensorData,
  type V2Datatype,
} from './datatypes.ts';
import { isDynamic, v2Shape, type ModelSignature, type TensorSpec } from './signature.ts';

export interface RequestedOutput {
  name: string;
  binary: boolean;
}

export interface InferRequest {
  /** Client-supplied request id, echoed back (and used as prediction id) when present. */
  id: string | undefined;
  inputs: Map<string, HostTensor>;
  /** Outputs to return, in order. */
  outputs: RequestedOutput[];
  /** Rows along the first dimension (the batching unit); 1 for models without a batch dimension. */
  rows: number;
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type JsonObject = { [k: string]: Json };

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'string' ? `"${v.length > 20 ? v.slice(0, 20) + '…' : v}"` : typeof v === 'object' ? 'an object' : String(v);
}

/**
 * The deepest nesting of arrays and objects a JSON body may have. A v2 request needs about 4 levels
 * plus one per dimension of nested data; a body of brackets makes one JS object per byte (a 256 KB
 * body nested 100,000 deep left the heap 60 MB larger), so depth is checked on the bytes first.
 */
export const MAX_JSON_DEPTH = 64;

/** Whether the JSON text nests arrays/objects deeper than `limit` (a byte scan: strings skipped). */
export function nestsDeeperThan(text: Uint8Array, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as number;
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > limit) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}

export function parseJsonBody(body: Buffer, what: string): JsonObject {
  if (nestsDeeperThan(body, MAX_JSON_DEPTH)) {
    throw badRequest(`${what} nests arrays or objects more than ${MAX_JSON_DEPTH} levels deep; nest tensor data one level per dimension at most, or send it flat`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw badRequest(`${what} is not valid JSON (${(err as Error).message}); send a JSON object with Content-Type: application/json`, err);
  }
  if (!isObject(parsed)) throw badRequest(`${what} must be a JSON object, got ${describe(parsed)}`);
  return parsed;
}

export const INT_RANGES: Partial<Record<V2Datatype, [number, number]>> = {
  INT8: [-128, 127],
  INT16: [-32768, 32767],
  INT32: [-2147483648, 2147483647],
  UINT8: [0, 255],
  UINT16: [0, 65535],
  UINT32: [0, 4294967295],
};

function jsonToTensorData(name: string, datatype: V2Datatype, values: readonly Json[], count: number): TensorData {
  const bad = (i: number, want: string): never => {
    throw badRequest(`inputs[${name}].data[${i}] is ${describe(values[i])}, but ${datatype} needs ${want}`);
  };
  if (datatype === 'BYTES') {
    const out = new Array<string>(count);
    for (let i = 0; i < count; i++) {
      const v = values[i];
      if (typeof v !== 'string') bad(i, 'a string');
      out[i] = v as string;
    }
    return out;
  }
  if (datatype === 'INT64' || datatype === 'UINT64') {
    const out = datatype === 'INT64' ? new BigInt64Array(count) : new BigUint64Array(count);
    const [lo, hi] = datatype === 'INT64' ? [-(2n ** 63n), 2n ** 63n - 1n] : [0n, 2n ** 64n - 1n];
    for (let i = 0; i < count; i++) {
      const v = values[i];
      // Large 64-bit values may come as decimal strings, since JSON numbers lose precision past 2^53.
      let b: bigint | undefined;
      if (typeof v === 'number' && Number.isInteger(v)) b = BigInt(v);
      else if (typeof v === 'string' && /^-?\d{1,20}$/.test(v)) b = BigInt(v);
      if (b === undefined || b < lo || b > hi) bad(i, 'an integer in range (a number, or a decimal string for values beyond 2^53)');
      out[i] = b as bigint;
    }
    return out;
  }
  if (datatype === 'BOOL') {
    const out = new Uint8Array(count);
    for (let i = 0; i < count; i++) {
      const v = values[i];
      if (v === true || v === 1) out[i] = 1;
      else if (v !== false && v !== 0) bad(i, 'true or false');
    }
    return out;
  }
  const Ctor = TYPED_ARRAY[datatype];
  const out = new Ctor(count) as Float32Array | Float64Array | Int8Array | Int16Array | Int32Array | Uint8Array | Uint16Array | Uint32Array;
  if (isFloat(datatype)) {
    const half = datatype === 'FP16';
    for (let i = 0; i < count; i++) {
      const v = values[i];
      // null stands for a missing value (NaN), which feature statistics count as missing.
      const n = typeof v === 'number' ? v : v === null ? NaN : bad(i, 'a number (or null for a missing value)');
      out[i] = half ? toHalf(n) : n;
    }
    return out;
  }
  const [lo, hi] = INT_RANGES[datatype] as [number, number];
  for (let i = 0; i < count; i++) {
    const v = values[i];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) bad(i, `an integer between ${lo} and ${hi}`);
    out[i] = v as number;
  }
  return out;
}

export function binaryToTensorData(name: string, datatype: V2Datatype, bytes: Buffer, count: number): TensorData {
  if (datatype === 'BYTES') {
    // Each element: a 4-byte little-endian length, then that many bytes.
    const out: string[] = [];
    let off = 0;
    while (off < bytes.length) {
      if (off + 4 > bytes.length) throw badRequest(`inputs[${name}] binary BYTES data is truncated at byte ${off}: each element needs a 4-byte length prefix`);
      const len = bytes.readUInt32LE(off);
      off += 4;
      if (off + len > bytes.length) throw badRequest(`inputs[${name}] binary BYTES element ${out.length} claims ${len} bytes but only ${bytes.length - off} remain`);
      out.push(bytes.toString('utf8', off, off + len));
      off += len;
    }
    if (out.length !== count) throw badRequest(`inputs[${name}] binary data holds ${out.length} BYTES elements but shape needs ${count}`);
    return out;
  }
  const Ctor = TYPED_ARRAY[datatype];
  const want = count * Ctor.BYTES_PER_ELEMENT;
  if (bytes.length !== want) {
    throw badRequest(`inputs[${name}] binary_data_size is ${bytes.length} bytes but shape × ${datatype} needs ${want} bytes`);
  }
  // Copy into an aligned buffer: typed arrays need element alignment, the HTTP body gives none.
  const copy = new Uint8Array(want);
  copy.set(bytes);
  return new Ctor(copy.buffer, 0, count);
}

/**
 * Nested `data` as a flat array, row-major. Iterative (an explicit stack, not recursion), so no
 * nesting can overflow the call stack; nesting deeper than the input's rank cannot be right and is
 * refused before it costs anything.
 */
function flatten(name: string, values: Json[], maxDepth: number): Json[] {
  const out: Json[] = [];
  const arrays: Json[][] = [values];
  const next: number[] = [0];
  while (arrays.length > 0) {
    const top = arrays.length - 1;
    const arr = arrays[top] as Json[];
    const i = next[top] as number;
    if (i === arr.length) {
      arrays.pop();
      next.pop();
      continue;
    }
    next[top] = i + 1;
    const v = arr[i] as Json;
    if (Array.isArray(v)) {
      if (arrays.length >= maxDepth) {
        throw badRequest(`inputs[${name}].data is nested more than ${maxDepth} level(s) deep, deeper than its shape's rank; nest one level per dimension at most, or send the values flat`);
      }
      arrays.push(v);
      next.push(0);
    } else {
      out.push(v);
    }
  }
  return out;
}

function parseShape(name: string, raw: Json | undefined): number[] {
  if (!Array.isArray(raw)) throw badRequest(`inputs[${name}].shape is ${describe(raw)}; give it as an array of non-negative integers, e.g. [1, 4]`);
  return raw.map((d, i) => {
    if (typeof d !== 'number' || !Number.isInteger(d) || d < 0) {
      throw badRequest(`inputs[${name}].shape[${i}] is ${describe(d)}; dimensions are non-negative integers`);
    }
    return d;
  });
}

export function checkShape(spec: TensorSpec, shape: number[], symbols: Map<string, { value: number; input: string }>): void {
  if (spec.shape.length === 0) return; // shape unknown to the model: onnxruntime decides
  const expected = () => `[${v2Shape(spec.shape).join(', ')}]`;
  if (shape.length !== spec.shape.length) {
    throw badRequest(`inputs[${spec.name}].shape [${shape.join(', ')}] has rank ${shape.length}; the model expects rank ${spec.shape.length} ${expected()} (-1 = any size)`);
  }
  spec.shape.forEach((d, i) => {
    const got = shape[i] as number;
    if (!isDynamic(d)) {
      if (got !== d) throw badRequest(`inputs[${spec.name}].shape[${i}] is ${got}; the model expects ${d} (shape ${expected()})`);
    } else if (typeof d === 'string' && d !== '') {
      const seen = symbols.get(d);
      if (seen && seen.value !== got) {
        throw badRequest(`inputs[${spec.name}].shape[${i}] is ${got} but inputs[${seen.input}] gave ${seen.value} for the same dimension "${d}"; they must agree`);
      }
      symbols.set(d, { value: got, input: spec.name });
    }
  });
}

const specsBySignature = new WeakMap<ModelSignature, Map<string, TensorSpec>>();
/** The signature's inputs by name, built once per signature rather than per request. */
export function inputSpecs(sig: ModelSignature): Map<string, TensorSpec> {
  let specs = specsBySignature.get(sig);
  if (!specs) {
    specs = new Map(sig.inputs.map((s) => [s.name, s]));
    specsBySignature.set(sig, specs);
  }
  return specs;
}

export interface DecodeLimits {
  maxElements: number;
}

export const DEFAULT_LIMITS: DecodeLimits = { maxElements: 1 << 28 };

/** The id a client gave (echoed back, used as prediction id), checked. */
export function requestId(id: unknown): string | undefined {
  if (id !== undefined && (typeof id !== 'string' || id.length === 0 || id.length > 128)) {
    throw badRequest(`id is ${describe(id)}; when given it must be a non-empty string of at most 128 characters`);
  }
  return id as string | undefined;
}

/** Rows along the first dimension of the first input (1 for models without a batch dimension). */
export function rowsOf(sig: ModelSignature, inputs: Map<string, HostTensor>): number {
  const first = sig.inputs[0];
  return first && first.shape.length > 0 ? (inputs.get(first.name)?.shape[0] ?? 1) : 1;
}

/** The model's inputs that `inputs` lacks: a 400 naming them. */
export function checkComplete(sig: ModelSignature, inputs: Map<string, HostTensor>): void {
  const missing = sig.inputs.filter((s) => !inputs.has(s.name)).map((s) => s.name);
  if (missing.length > 0) throw badRequest(`missing input(s): ${missing.join(', ')}; the model needs all of: ${sig.inputs.map((i) => i.name).join(', ')}`);
}

/**
 * Decodes a request body. `jsonLength` is the Inference-Header-Content-Length header (binary
 * extension): the first `jsonLength` bytes are JSON, the rest is binary tensor data.
 */
export function decodeInferRequest(
  body: Buffer,
  jsonLength: number | undefined,
  sig: ModelSignature,
  limits: DecodeLimits = DEFAULT_LIMITS,
): InferRequest {
  if (jsonLength !== undefined && (jsonLength > body.length || jsonLength < 0)) {
    throw badRequest(`Inference-Header-Content-Length is ${jsonLength} but the body has ${body.length} bytes; it must be the byte length of the JSON part`);
  }
  const head = parseJsonBody(jsonLength === undefined ? body : body.subarray(0, jsonLength), 'request body');
  let binaryOffset = jsonLength ?? body.length;

  const id = requestId(head.id);
  const rawInputs = head.inputs;
  if (!Array.isArray(rawInputs) || rawInputs.length === 0) {
    throw badRequest(`inputs is ${describe(rawInputs)}; send a non-empty array of {name, shape, datatype, data}, one per model input (${sig.inputs.map((i) => i.name).join(', ')})`);
  }
  const specs = inputSpecs(sig);
  const symbols = new Map<string, { value: number; input: string }>();
  const inputs = new Map<string, HostTensor>();
  for (const [idx, raw] of rawInputs.entries()) {
    if (!isObject(raw)) throw badRequest(`inputs[${idx}] is ${describe(raw)}; each input is an object {name, shape, datatype, data}`);
    const name = raw.name;
    if (typeof name !== 'string') throw badRequest(`inputs[${idx}].name is ${describe(name)}; give the input's name as a string`);
    const spec = specs.get(name);
    if (!spec) throw badRequest(`inputs[${idx}].name "${name}" is not an input of this model; its inputs are: ${sig.inputs.map((i) => i.name).join(', ')}`);
    if (inputs.has(name)) throw badRequest(`input "${name}" is given twice; give each input once`);
    const datatype = raw.datatype;
    if (typeof datatype !== 'string' || !V2_DATATYPES.includes(datatype as V2Datatype)) {
      throw badRequest(`inputs[${name}].datatype is ${describe(datatype)}; use one of ${V2_DATATYPES.join(', ')} (this input is ${spec.datatype})`);
    }
    if (datatype !== spec.datatype) throw badRequest(`inputs[${name}].datatype is ${datatype} but the model expects ${spec.datatype}`);
    const shape = parseShape(name, raw.shape);
    checkShape(spec, shape, symbols);
    const count = elementCount(shape);
    if (count > limits.maxElements) throw badRequest(`inputs[${name}] has ${count} elements, more than the limit of ${limits.maxElements}`);
    const params = isObject(raw.parameters) ? raw.parameters : undefined;
    const binarySize = params?.binary_data_size;
    let data: TensorData;
    if (binarySize !== undefined) {
      if (typeof binarySize !== 'number' || !Number.isInteger(binarySize) || binarySize < 0) {
        throw badRequest(`inputs[${name}].parameters.binary_data_size is ${describe(binarySize)}; it must be a byte count`);
      }
      if (jsonLength === undefined) throw badRequest(`inputs[${name}] uses binary_data_size but the Inference-Header-Content-Length header is missing`);
      if (raw.data !== undefined) throw badRequest(`inputs[${name}] has both data and binary_data_size; use one`);
      if (binaryOffset + binarySize > body.length) {
        throw badRequest(`inputs[${name}].parameters.binary_data_size ${binarySize} runs past the end of the body (${body.length - binaryOffset} binary bytes left)`);
      }
      data = binaryToTensorData(name, datatype, body.subarray(binaryOffset, binaryOffset + binarySize), count);
      binaryOffset += binarySize;
    } else {
      let values = raw.data;
      if (!Array.isArray(values)) throw badRequest(`inputs[${name}].data is ${describe(values)}; give the values as a flat or nested array in row-major order`);
      // Nested arrays (row-major) are accepted as well as flat ones.
      if (values.length > 0 && Array.isArray(values[0])) values = flatten(name, values, Math.max(1, shape.length));
      if (values.length !== count) {
        throw badRequest(`inputs[${name}].data has ${values.length} elements but shape [${shape.join(', ')}] needs ${count}`);
      }
      data = jsonToTensorData(name, datatype, values, count);
    }
    inputs.set(name, { datatype, shape, data });
  }
  if (binaryOffset !== body.length) {
    throw badRequest(`the body has ${body.length - binaryOffset} binary bytes not claimed by any input's binary_data_size`);
  }
  checkComplete(sig, inputs);

  const params = isObject(head.parameters) ? head.parameters : undefined;
  const binaryDefault = params?.binary_data_output === true;
  let outputs: RequestedOutput[];
  if (head.outputs === undefined) {
    outputs = sig.outputs.map((o) => ({ name: o.name, binary: binaryDefault }));
  } else {
    if (!Array.isArray(head.outputs)) throw badRequest(`outputs is ${describe(head.outputs)}; give an array of {name} or leave it out for all outputs`);
    const known = new Set(sig.outputs.map((o) => o.name));
    outputs = head.outputs.map((o, i) => {
      if (!isObject(o) || typeof o.name !== 'string') throw badRequest(`outputs[${i}] must be an object with a string name`);
      if (!known.has(o.name)) throw badRequest(`outputs[${i}].name "${o.name}" is not an output of this model; its outputs are: ${[...known].join(', ')}`);
      const p = isObject(o.parameters) ? o.parameters : undefined;
      return { name: o.name, binary: typeof p?.binary_data === 'boolean' ? p.binary_data : binaryDefault };
    });
  }
  return { id, inputs, outputs, rows: rowsOf(sig, inputs) };
}
