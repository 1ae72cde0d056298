// The stable revision's answer to a compare request, decoded back to tensors: a v2 infer response
// in JSON, or with the binary tensor extension (a JSON part of Inference-Header-Content-Length
// bytes, then each binary output's bytes in output order). Pure; numeric and BOOL outputs only (a
// BYTES output is never what a classifier or regressor is compared on).
import { TYPED_ARRAY, V2_DATATYPES, toHalf, type HostTensor, type V2Datatype } from '../protocol/datatypes.ts';

export type DecodedResponse = { ok: true; outputs: Map<string, HostTensor> } | { ok: false; reason: string };

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function decodeInferResponse(body: Buffer, jsonLength: number | undefined): DecodedResponse {
  const headLength = jsonLength ?? body.length;
  if (!Number.isInteger(headLength) || headLength < 0 || headLength > body.length) return { ok: false, reason: `Inference-Header-Content-Length ${jsonLength} does not fit a ${body.length}-byte body` };
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.subarray(0, headLength).toString('utf8'));
  } catch (err) {
    return { ok: false, reason: `the response is not JSON: ${(err as Error).message}` };
  }
  if (!isRecord(parsed) || !Array.isArray(parsed['outputs'])) return { ok: false, reason: 'the response has no outputs array' };
  const outputs = new Map<string, HostTensor>();
  let at = headLength;
  for (const [i, o] of (parsed['outputs'] as unknown[]).entries()) {
    if (!isRecord(o) || typeof o['name'] !== 'string' || typeof o['datatype'] !== 'string' || !Array.isArray(o['shape'])) return { ok: false, reason: `outputs[${i}] needs name, datatype and shape` };
    const datatype = o['datatype'] as V2Datatype;
    if (!V2_DATATYPES.includes(datatype) || datatype === 'BYTES') return { ok: false, reason: `outputs[${i}] has datatype ${String(o['datatype'])}; only numeric and BOOL outputs are compared` };
    const shape = o['shape'] as unknown[];
    if (!shape.every((d) => Number.isInteger(d) && (d as number) >= 0)) return { ok: false, reason: `outputs[${i}].shape must be non-negative integers` };
    const count = (shape as number[]).reduce((a, b) => a * b, 1);
    const Ctor = TYPED_ARRAY[datatype];
    const params = isRecord(o['parameters']) ? o['parameters'] : {};
    const size = params['binary_data_size'];
    if (size !== undefined) {
      if (!Number.isInteger(size) || (size as number) !== count * Ctor.BYTES_PER_ELEMENT || at + (size as number) > body.length) return { ok: false, reason: `outputs[${i}].binary_data_size ${String(size)} does not match its shape or the body` };
      const copy = Buffer.from(body.subarray(at, at + (size as number))); // aligned, owned bytes
      at += size as number;
      outputs.set(o['name'], { datatype, shape: shape as number[], data: new Ctor(copy.buffer, copy.byteOffset, count) });
      continue;
    }
    const data = o['data'];
    if (!Array.isArray(data) || data.length !== count) return { ok: false, reason: `outputs[${i}].data must hold ${count} values` };
    const out = new Ctor(count);
    for (let k = 0; k < count; k++) {
      const v: unknown = data[k];
      const n = typeof v === 'boolean' ? (v ? 1 : 0) : typeof v === 'number' ? v : Number.NaN;
      if (out instanceof BigInt64Array || out instanceof BigUint64Array) {
        if (!Number.isInteger(n)) return { ok: false, reason: `outputs[${i}].data[${k}] is not an integer` };
        out[k] = BigInt(n);
      } else out[k] = datatype === 'FP16' ? toHalf(n) : n;
    }
    outputs.set(o['name'], { datatype, shape: shape as number[], data: out });
  }
  return { ok: true, outputs };
}
