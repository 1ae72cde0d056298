// Reads the header of an ONNX ModelProto (IR version, opset imports, whether a graph is present)
// without onnxruntime, so load failures can be explained in terms a user can act on: "this is not
// an ONNX file", "the model needs opset 99". Walks top-level protobuf fields only.
import { RuntimeError } from '../errors.ts';

export interface OnnxHeader {
  irVersion: number;
  opsets: { domain: string; version: number }[];
  producer: string;
  hasGraph: boolean;
}

class Reader {
  pos = 0;
  readonly buf: Uint8Array;
  constructor(buf: Uint8Array) {
    this.buf = buf;
  }
  varint(): number {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.buf.length) throw new Error('truncated varint');
      const b = this.buf[this.pos++] as number;
      result += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) return result;
      mul *= 128;
    }
    throw new Error('varint too long');
  }
  skip(wireType: number): void {
    if (wireType === 0) this.varint();
    else if (wireType === 1) this.pos += 8;
    else if (wireType === 5) this.pos += 4;
    else if (wireType === 2) {
      // Not `this.pos += this.varint()`: that reads pos before the length's own bytes are consumed.
      const len = this.varint();
      this.pos += len;
    }
    else throw new Error(`unsupported wire type ${wireType}`);
    if (this.pos > this.buf.length) throw new Error('field runs past the end');
  }
  bytes(): Uint8Array {
    const len = this.varint();
    if (this.pos + len > this.buf.length) throw new Error('field runs past the end');
    const out = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return out;
  }
}

function parseOpset(bytes: Uint8Array): { domain: string; version: number } {
  const r = new Reader(bytes);
  let domain = '';
  let version = 0;
  while (r.pos < bytes.length) {
    const tag = r.varint();
    const field = Math.floor(tag / 8);
    const wire = tag & 7;
    if (field === 1 && wire === 2) domain = new TextDecoder().decode(r.bytes());
    else if (field === 2 && wire === 0) version = r.varint();
    else r.skip(wire);
  }
  return { domain: domain === 'ai.onnx' ? '' : domain, version };
}

/** Parses the ModelProto header or throws MODEL_CORRUPT with what is wrong. */
export function inspectOnnx(bytes: Uint8Array, source: string): OnnxHeader {
  const r = new Reader(bytes);
  const header: OnnxHeader = { irVersion: 0, opsets: [], producer: '', hasGraph: false };
  try {
    if (bytes.length === 0) throw new Error('the file is empty');
    while (r.pos < bytes.length) {
      const tag = r.varint();
      const field = Math.floor(tag / 8);
      const wire = tag & 7;
      if (field === 0) throw new Error('field number 0');
      if (field === 1 && wire === 0) header.irVersion = r.varint();
      else if (field === 2 && wire === 2) header.producer = new TextDecoder().decode(r.bytes());
      else if (field === 7 && wire === 2) {
        r.bytes();
        header.hasGraph = true;
      } else if (field === 8 && wire === 2) header.opsets.push(parseOpset(r.bytes()));
      else r.skip(wire);
    }
  } catch (err) {
    throw new RuntimeError(
      'MODEL_CORRUPT',
      `${source} is not a readable ONNX protobuf (${(err as Error).message} at byte ${r.pos} of ${bytes.length}); the file is corrupt or truncated — re-export or re-upload it`,
      { cause: err },
    );
  }
  if (!header.hasGraph || header.irVersion === 0) {
    throw new RuntimeError(
      'MODEL_CORRUPT',
      `${source} parses as protobuf but is not an ONNX model (${header.hasGraph ? 'no ir_version' : 'no graph'}); check that --model-uri points at the .onnx file`,
    );
  }
  return header;
}

export const describeOpsets = (h: OnnxHeader): string =>
  h.opsets.map((o) => `${o.domain || 'ai.onnx'}=${o.version}`).join(', ') || 'none';

// Protobuf fields that can hold a TensorProto (directly or nested), from onnx/onnx.proto.
// ModelProto: graph 7, functions 25. GraphProto: node 1, initializer 5, sparse_initializer 15.
// NodeProto: attribute 5. AttributeProto: t 5, g 6, tensors 10, graphs 11, sparse_tensor 22,
// sparse_tensors 23. SparseTensorProto: values 1, indices 2. FunctionProto: node 7.
// TensorProto: external_data 13 (StringStringEntryProto key 1, value 2).
type Kind = 'model' | 'graph' | 'node' | 'attr' | 'sparse' | 'function' | 'tensor';
const CHILDREN: Record<Exclude<Kind, 'tensor'>, Record<number, Kind>> = {
  model: { 7: 'graph', 25: 'function' },
  graph: { 1: 'node', 5: 'tensor', 15: 'sparse' },
  node: { 5: 'attr' },
  attr: { 5: 'tensor', 6: 'graph', 10: 'tensor', 11: 'graph', 22: 'sparse', 23: 'sparse' },
  sparse: { 1: 'tensor', 2: 'tensor' },
  function: { 7: 'node' },
};

/**
 * Every external-data `location` the model references (initializers, Constant and other tensor
 * attributes, subgraphs, functions, sparse tensors), as written in the file. Throws MODEL_CORRUPT
 * when the protobuf cannot be walked.
 */
export function externalDataLocations(bytes: Uint8Array, source: string): string[] {
  const out = new Set<string>();
  const walk = (buf: Uint8Array, kind: Kind): void => {
    const r = new Reader(buf);
    while (r.pos < buf.length) {
      const tag = r.varint();
      const field = Math.floor(tag / 8);
      const wire = tag & 7;
      if (kind === 'tensor' && field === 13 && wire === 2) {
        const entry = new Reader(r.bytes());
        let key = '';
        let value = '';
        while (entry.pos < entry.buf.length) {
          const t = entry.varint();
          if (t === (1 << 3) + 2) key = new TextDecoder().decode(entry.bytes());
          else if (t === (2 << 3) + 2) value = new TextDecoder().decode(entry.bytes());
          else entry.skip(t & 7);
        }
        if (key === 'location') out.add(value);
        continue;
      }
      const child = kind === 'tensor' ? undefined : CHILDREN[kind][field];
      if (child !== undefined && wire === 2) walk(r.bytes(), child);
      else r.skip(wire);
    }
  };
  try {
    walk(bytes, 'model');
  } catch (err) {
    throw new RuntimeError('MODEL_CORRUPT', `${source} is not a readable ONNX protobuf (${(err as Error).message}); the file is corrupt or truncated — re-export or re-upload it`, { cause: err });
  }
  return [...out];
}
