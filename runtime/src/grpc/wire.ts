// Protocol Buffers wire format, just what the Open Inference Protocol's messages need: varints,
// fixed 32/64-bit values and length-delimited fields. Hand-written rather than generated so that
// tensor bytes (raw_input_contents, packed floats) stay slices of the received message instead of
// becoming arrays of JS numbers. Pure.
import { badRequest } from '../errors.ts';

export const VARINT = 0;
export const FIXED64 = 1;
export const LEN = 2;
export const FIXED32 = 5;

/** Reads one message's fields in order; malformed input throws a 400 (the client's bytes). */
export class Reader {
  readonly buf: Buffer;
  pos: number;
  readonly end: number;

  constructor(buf: Buffer, start = 0, end = buf.length) {
    this.buf = buf;
    this.pos = start;
    this.end = end;
  }

  get done(): boolean {
    return this.pos >= this.end;
  }

  private fail(what: string): never {
    throw badRequest(`the request is not a valid protobuf message (${what} at byte ${this.pos}); send a ModelInferRequest of the inference.GRPCInferenceService protocol`);
  }

  /** A varint as a bigint (for 64-bit fields). */
  varintBig(): bigint {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (this.pos >= this.end) this.fail('truncated varint');
      const b = this.buf[this.pos++] as number;
      result |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return BigInt.asUintN(64, result);
      shift += 7n;
      if (shift > 63n) this.fail('varint too long');
    }
  }

  /** A varint that fits in a double exactly (lengths, tags, 32-bit values); larger ones are read as bigint and converted. */
  varint(): number {
    let result = 0;
    let mul = 1;
    const start = this.pos;
    for (let i = 0; i < 7; i++) {
      if (this.pos >= this.end) this.fail('truncated varint');
      const b = this.buf[this.pos++] as number;
      result += (b & 0x7f) * mul;
      if (b < 0x80) return result;
      mul *= 128;
    }
    this.pos = start;
    return Number(this.varintBig());
  }

  /** A tag: [field number, wire type]. */
  tag(): [number, number] {
    const t = this.varint();
    return [Math.floor(t / 8), t & 7];
  }

  /** The bytes of a length-delimited field (a slice, not a copy). */
  bytes(): Buffer {
    const n = this.varint();
    if (n > this.end - this.pos) this.fail('length past the end');
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  string(): string {
    return this.bytes().toString('utf8');
  }

  fixed32(): Buffer {
    if (this.end - this.pos < 4) this.fail('truncated fixed32');
    this.pos += 4;
    return this.buf.subarray(this.pos - 4, this.pos);
  }

  fixed64(): Buffer {
    if (this.end - this.pos < 8) this.fail('truncated fixed64');
    this.pos += 8;
    return this.buf.subarray(this.pos - 8, this.pos);
  }

  skip(wire: number): void {
    if (wire === VARINT) this.varintBig();
    else if (wire === FIXED64) this.fixed64();
    else if (wire === LEN) this.bytes();
    else if (wire === FIXED32) this.fixed32();
    else this.fail(`wire type ${wire}`);
  }
}

/** Builds a message; nested messages are written into their own Writer and added as bytes. */
export class Writer {
  private parts: Buffer[] = [];
  private cur: number[] = [];
  length = 0;

  private flush(): void {
    if (this.cur.length > 0) {
      this.parts.push(Buffer.from(this.cur));
      this.cur = [];
    }
  }

  private byte(b: number): void {
    this.cur.push(b);
    this.length++;
  }

  varint(v: number | bigint): this {
    let n = BigInt.asUintN(64, BigInt(v));
    if (typeof v === 'number' && v >= 0 && v < 2 ** 31) {
      let x = v;
      while (x >= 0x80) {
        this.byte((x & 0x7f) | 0x80);
        x >>>= 7;
      }
      this.byte(x);
      return this;
    }
    while (n >= 0x80n) {
      this.byte(Number(n & 0x7fn) | 0x80);
      n >>= 7n;
    }
    this.byte(Number(n));
    return this;
  }

  tag(field: number, wire: number): this {
    return this.varint(field * 8 + wire);
  }

  /** A length-delimited field with these bytes (kept by reference, not copied). */
  bytes(field: number, b: Uint8Array): this {
    this.tag(field, LEN).varint(b.length);
    this.flush();
    this.parts.push(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
    this.length += b.length;
    return this;
  }

  string(field: number, s: string): this {
    return s === '' ? this : this.bytes(field, Buffer.from(s, 'utf8'));
  }

  bool(field: number, v: boolean): this {
    return v ? this.tag(field, VARINT).varint(1) : this;
  }

  message(field: number, m: Writer): this {
    this.tag(field, LEN).varint(m.length);
    this.flush();
    this.parts.push(...m.finishParts());
    this.length += m.length;
    return this;
  }

  /** Packed repeated varints. */
  packed(field: number, values: readonly (number | bigint)[]): this {
    if (values.length === 0) return this;
    const inner = new Writer();
    for (const v of values) inner.varint(v);
    return this.message(field, inner);
  }

  finishParts(): Buffer[] {
    this.flush();
    return this.parts;
  }

  finish(): Buffer {
    const parts = this.finishParts();
    return parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, this.length);
  }
}

/** Packed (or repeated) varints of a field as a list, for small fields such as shapes. */
export function readPackedVarints(r: Reader, wire: number, into: bigint[]): void {
  if (wire === VARINT) {
    into.push(r.varintBig());
    return;
  }
  const sub = new Reader(r.bytes());
  while (!sub.done) into.push(sub.varintBig());
}
