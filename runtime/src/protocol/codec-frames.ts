// The byte stream between the runtime and its codec process (codec.ts, codec-child.ts): frames of
// [u32 LE header length][u32 LE payload length][header JSON][payload bytes]. Tensors travel as raw
// bytes in the payload (BYTES as 4-byte-length-prefixed UTF-8, the binary data extension's layout),
// at 8-byte-aligned offsets, described by TensorMeta in the header. Streams move them in pieces, so
// neither side's event loop copies a large body in one go. Pure.
import { badRequest } from '../errors.ts';
import { TYPED_ARRAY, type HostTensor, type V2Datatype } from './datatypes.ts';

export interface TensorMeta {
  datatype: V2Datatype;
  shape: number[];
  /** Elements (BYTES: strings). */
  count: number;
  offset: number;
  bytes: number;
}

export interface Frame<H> {
  header: H;
  payload: Buffer;
}

const pad8 = (n: number): number => (n + 7) & ~7;

/** A frame as buffers to write (the payload parts as they are, no copy). */
export function frame(header: object, payload: readonly Buffer[] = []): Buffer[] {
  let json = JSON.stringify(header);
  // The payload starts 8-byte aligned within the frame (a frame read whole starts aligned).
  const headLength = Buffer.byteLength(json);
  json += ' '.repeat(pad8(8 + headLength) - 8 - headLength);
  const head = Buffer.from(json);
  const prefix = Buffer.allocUnsafe(8);
  prefix.writeUInt32LE(head.length, 0);
  prefix.writeUInt32LE(
    payload.reduce((n, p) => n + p.length, 0),
    4,
  );
  return [prefix, head, ...payload];
}

/**
 * Splits a byte stream into frames; `push` returns the frames completed by a chunk. A frame's bytes
 * are copied into its own buffer as they arrive (one copy, spread over the chunks).
 */
export class FrameReader<H> {
  private prefix = Buffer.alloc(8);
  private prefixFilled = 0;
  private whole: Buffer | undefined;
  private filled = 0;

  push(chunk: Buffer): Frame<H>[] {
    const out: Frame<H>[] = [];
    let at = 0;
    while (at < chunk.length) {
      if (!this.whole) {
        const n = Math.min(8 - this.prefixFilled, chunk.length - at);
        chunk.copy(this.prefix, this.prefixFilled, at, at + n);
        this.prefixFilled += n;
        at += n;
        if (this.prefixFilled < 8) break;
        const total = 8 + this.prefix.readUInt32LE(0) + this.prefix.readUInt32LE(4);
        this.whole = Buffer.allocUnsafeSlow(total); // aligned, and of its own
        this.prefix.copy(this.whole, 0);
        this.filled = 8;
        this.prefixFilled = 0;
      }
      const whole = this.whole;
      const n = Math.min(whole.length - this.filled, chunk.length - at);
      chunk.copy(whole, this.filled, at, at + n);
      this.filled += n;
      at += n;
      if (this.filled === whole.length) {
        this.whole = undefined;
        const headLength = whole.readUInt32LE(0);
        out.push({ header: JSON.parse(whole.toString('utf8', 8, 8 + headLength)) as H, payload: whole.subarray(8 + headLength) });
      }
    }
    return out;
  }
}

/** A tensor's values as raw little-endian bytes (a view, no copy); BYTES as 4-byte-length-prefixed UTF-8. */
export function tensorBytes(t: HostTensor): Buffer {
  if (!Array.isArray(t.data)) return Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  const pieces: Buffer[] = [];
  for (const s of t.data) {
    const b = Buffer.from(s, 'utf8');
    const len = Buffer.allocUnsafe(4);
    len.writeUInt32LE(b.length);
    pieces.push(len, b);
  }
  return Buffer.concat(pieces);
}

/** Tensors as payload parts and their metadata (offsets 8-aligned from the payload's start). */
export function packTensors(tensors: readonly HostTensor[]): { metas: TensorMeta[]; parts: Buffer[] } {
  const metas: TensorMeta[] = [];
  const parts: Buffer[] = [];
  let offset = 0;
  for (const t of tensors) {
    const bytes = tensorBytes(t);
    metas.push({ datatype: t.datatype, shape: t.shape, count: t.data.length, offset, bytes: bytes.length });
    parts.push(bytes);
    const padded = pad8(bytes.length);
    if (padded > bytes.length) parts.push(Buffer.alloc(padded - bytes.length));
    offset += padded;
  }
  return { metas, parts };
}

/** A tensor out of a payload, in memory of its own. */
export function unpackTensor(meta: TensorMeta, payload: Buffer): HostTensor {
  const bytes = payload.subarray(meta.offset, meta.offset + meta.bytes);
  if (meta.datatype === 'BYTES') {
    const out = new Array<string>(meta.count);
    let off = 0;
    for (let i = 0; i < meta.count; i++) {
      if (off + 4 > bytes.length) throw badRequest('codec frame: truncated BYTES tensor');
      const len = bytes.readUInt32LE(off);
      out[i] = bytes.toString('utf8', off + 4, off + 4 + len);
      off += 4 + len;
    }
    return { datatype: meta.datatype, shape: meta.shape, data: out };
  }
  const Ctor = TYPED_ARRAY[meta.datatype];
  const data = new Ctor(meta.count);
  new Uint8Array(data.buffer, data.byteOffset, data.byteLength).set(bytes);
  return { datatype: meta.datatype, shape: meta.shape, data };
}
