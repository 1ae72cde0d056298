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
    else if (wireType === 2) this.pos += this.varint();
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
