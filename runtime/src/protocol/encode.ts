// Builds v2 infer responses: JSON, or JSON + binary tensor data when the client asked for binary
// outputs. Pure.
import type { HostTensor } from './datatypes.ts';
import { jsonString, shapeJson, tensorValuesJson } from './json-text.ts';

export interface EncodedResponse {
  contentType: string;
  /** A string for JSON-only responses (written as is), else JSON + binary data. */
  body: Buffer | string;
  /** Inference-Header-Content-Length, set when binary data follows the JSON. */
  jsonLength: number | undefined;
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
  // Written as text (protocol/json-text.ts): the same JSON as stringifying the response object.
  let text = `{"model_name":${jsonString(modelName)},"model_version":${jsonString(modelVersion)},"id":${JSON.stringify(id)},"parameters":${JSON.stringify(parameters)},"outputs":[`;
  outputs.forEach((o, i) => {
    text += `${i === 0 ? '' : ','}{"name":${jsonString(o.name)},"datatype":"${o.tensor.datatype}","shape":${shapeJson(o.tensor.shape)},`;
    if (!o.binary) {
      text += `"data":${tensorValuesJson(o.tensor)}}`;
      return;
    }
    const bin = toBinary(o.tensor);
    binaries.push(bin);
    text += `"parameters":{"binary_data_size":${bin.length}}}`;
  });
  text += ']}';
  if (binaries.length === 0) return { contentType: 'application/json', body: text, jsonLength: undefined };
  const head = Buffer.from(text, 'utf8');
  return { contentType: 'application/octet-stream', body: Buffer.concat([head, ...binaries]), jsonLength: head.length };
}
