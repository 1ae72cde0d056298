// Open Inference Protocol v2 datatypes and their onnxruntime-node counterparts.

export type V2Datatype =
  | 'BOOL'
  | 'UINT8'
  | 'UINT16'
  | 'UINT32'
  | 'UINT64'
  | 'INT8'
  | 'INT16'
  | 'INT32'
  | 'INT64'
  | 'FP16'
  | 'FP32'
  | 'FP64'
  | 'BYTES';

export type OrtType =
  | 'bool'
  | 'uint8'
  | 'uint16'
  | 'uint32'
  | 'uint64'
  | 'int8'
  | 'int16'
  | 'int32'
  | 'int64'
  | 'float16'
  | 'float32'
  | 'float64'
  | 'string';

export type TensorData =
  | Float32Array
  | Float64Array
  | Int8Array
  | Int16Array
  | Int32Array
  | BigInt64Array
  | Uint8Array
  | Uint16Array
  | Uint32Array
  | BigUint64Array
  | string[];

/** A tensor as the runtime handles it: flat data in the onnxruntime layout (FP16 as raw bits, BOOL as 0/1 bytes). */
export interface HostTensor {
  datatype: V2Datatype;
  shape: number[];
  data: TensorData;
}

export const V2_TO_ORT: Readonly<Record<V2Datatype, OrtType>> = {
  BOOL: 'bool',
  UINT8: 'uint8',
  UINT16: 'uint16',
  UINT32: 'uint32',
  UINT64: 'uint64',
  INT8: 'int8',
  INT16: 'int16',
  INT32: 'int32',
  INT64: 'int64',
  FP16: 'float16',
  FP32: 'float32',
  FP64: 'float64',
  BYTES: 'string',
};

export const ORT_TO_V2: Readonly<Record<string, V2Datatype>> = Object.fromEntries(
  Object.entries(V2_TO_ORT).map(([v2, ort]) => [ort, v2 as V2Datatype]),
);

export const V2_DATATYPES = Object.keys(V2_TO_ORT) as V2Datatype[];

type TypedCtor = {
  new (n: number): Exclude<TensorData, string[]>;
  new (buffer: ArrayBufferLike, byteOffset: number, length: number): Exclude<TensorData, string[]>;
  BYTES_PER_ELEMENT: number;
};

export const TYPED_ARRAY: Readonly<Record<Exclude<V2Datatype, 'BYTES'>, TypedCtor>> = {
  BOOL: Uint8Array,
  UINT8: Uint8Array,
  UINT16: Uint16Array,
  UINT32: Uint32Array,
  UINT64: BigUint64Array as unknown as TypedCtor,
  INT8: Int8Array,
  INT16: Int16Array,
  INT32: Int32Array,
  INT64: BigInt64Array as unknown as TypedCtor,
  FP16: Uint16Array,
  FP32: Float32Array,
  FP64: Float64Array,
};

export const isNumeric = (t: V2Datatype): boolean => t !== 'BYTES' && t !== 'BOOL';
export const isFloat = (t: V2Datatype): boolean => t === 'FP16' || t === 'FP32' || t === 'FP64';

export function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

// IEEE 754 half-precision conversion (round to nearest even), because JSON carries FP16 as numbers.
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

export function toHalf(value: number): number {
  f32[0] = value;
  const x = u32[0] ?? 0;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0); // Inf / NaN
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // overflow to Inf
  if (e <= 0) {
    if (e < -10) return sign; // underflow to zero
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && half & 1)) half++;
    return sign | half;
  }
  let half = sign | (e << 10) | (mant >> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++;
  return half;
}

export function fromHalf(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * 2 ** -14 * (mant / 1024);
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * 2 ** (exp - 15) * (1 + mant / 1024);
}
