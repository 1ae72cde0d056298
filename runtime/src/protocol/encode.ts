// Builds v2 infer responses: JSON, or JSON + binary tensor data when the client asked for binary
// outputs. Pure.
import { fromHalf, type HostTensor } from './datatypes.ts';

export interface EncodedResponse {
  contentType: string;
  /** A string for JSON-only responses (written as is), else JSON + binary data. */
  body: Buffer | string;
  /** Inference-Header-Content-Length, set when binary data follows the JSON. */
  jsonLength: number | undefined;
}

function toJsonData(t: HostTensor): unknown[] {
  const d = t.data;
  if (Array.isArray(d)) return d;
  switch (t.datatype) {
    case 'FP16':
      return Array.from(d as Uint16Array, fromHalf);
    case 'BOOL':
      return Array.from(d as Uint8Array, (v) => v !== 0);
    case 'INT64':
    case 'UINT64':
      // JSON numbers are exact only up to 2^53; larger values are sent as decimal strings.
      return Array.from(d as BigInt64Array, (v) => (v <= 9007199254740991n && v >= -9007199254740991n ? Number(v) : v.toString()));
    default:
      return Array.from(d as Float32Array);
  }
}

function toBinary(t: HostTensor): Buffer {
  const d = t.data;
  if (Array.isArray(d)) {
    const parts: Buffer[] = [];
    for (const s of d) {
      const bytes = Buffer.from(s, 'utf8');
      const len = Buffer.allocUnsafe(4);
      len.writeUInt32LE(bytes.length);
      parts.push(len, bytes);
    }
    return Buffer.concat(parts);
  }
  return Buffer.from(d.buffer, d.byteOffset, d.byteLength);
}

export interface ResponseOutput {
  name: string;
  tensor: HostTensor;
  binary: boolean;
}

export function encodeInferResponse(
  modelName: string,
  modelVersion: string,
  id: string,
  outputs: readonly ResponseOutput[],
  parameters: Record<string, unknown>,
): EncodedResponse {
  const binaries: Buffer[] = [];
  const json = {
    model_name: modelName,
    model_version: modelVersion,
    id,
    parameters,
    outputs: outputs.map((o) => {
      const base = { name: o.name, datatype: o.tensor.datatype, shape: o.tensor.shape };
      if (!o.binary) return { ...base, data: toJsonData(o.tensor) };
      const bin = toBinary(o.tensor);
      binaries.push(bin);
      return { ...base, parameters: { binary_data_size: bin.length } };
    }),
  };
  const text = JSON.stringify(json);
  if (binaries.length === 0) return { contentType: 'application/json', body: text, jsonLength: undefined };
  const head = Buffer.from(text, 'utf8');
  return { contentType: 'application/octet-stream', body: Buffer.concat([head, ...binaries]), jsonLength: head.length };
}
