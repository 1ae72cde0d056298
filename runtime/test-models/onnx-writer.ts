// A minimal, dependency-free writer for the subset of the ONNX protobuf schema (onnx.proto3) the
// test models need. Field numbers follow onnx/onnx.proto; only what is written here is supported.

export const ElemType = {
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  UINT16: 4,
  INT16: 5,
  INT32: 6,
  INT64: 7,
  STRING: 8,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
  UINT32: 12,
  UINT64: 13,
} as const;

class Writer {
  private chunks: Uint8Array[] = [];
  private size = 0;

  private push(bytes: Uint8Array): void {
    this.chunks.push(bytes);
    this.size += bytes.length;
  }

  varint(value: number | bigint): void {
    let v = BigInt.asUintN(64, BigInt(value));
    const out: number[] = [];
    while (v >= 0x80n) {
      out.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    out.push(Number(v));
    this.push(Uint8Array.from(out));
  }

  tag(field: number, wireType: number): void {
    this.varint((field << 3) | wireType);
  }

  int(field: number, value: number | bigint): void {
    this.tag(field, 0);
    this.varint(value);
  }

  bytes(field: number, value: Uint8Array): void {
    this.tag(field, 2);
    this.varint(value.length);
    this.push(value);
  }

  string(field: number, value: string): void {
    this.bytes(field, new TextEncoder().encode(value));
  }

  float(field: number, value: number): void {
    this.tag(field, 5);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, value, true);
    this.push(b);
  }

  message(field: number, build: (w: Writer) => void): void {
    const inner = new Writer();
    build(inner);
    this.bytes(field, inner.finish());
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.size);
    let offset = 0;
    for (const c of this.chunks) {
      out.set(c, offset);
      offset += c.length;
    }
    return out;
  }
}

export type Dim = number | string;

export interface ValueInfo {
  name: string;
  elemType: number;
  shape: Dim[];
}

export type AttrValue =
  | { kind: 'int'; value: number }
  | { kind: 'float'; value: number }
  | { kind: 'ints'; value: number[] }
  | { kind: 'string'; value: string };

export interface NodeDef {
  op: string;
  inputs: string[];
  outputs: string[];
  attrs?: Record<string, AttrValue>;
  domain?: string;
}

export interface Initializer {
  name: string;
  dims: number[];
  elemType: number; // FLOAT or INT64
  data: Float32Array | BigInt64Array;
  /** Stored in an external-data file next to the model instead of raw_data (see encodeModelWithExternalData). */
  external?: boolean;
}

/** Where an initializer's bytes live in the external-data file. */
interface ExternalRef {
  location: string;
  offset: number;
  length: number;
}

export interface ModelDef {
  name: string;
  opset: number;
  irVersion?: number;
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  nodes: NodeDef[];
  initializers?: Initializer[];
  extraOpsets?: { domain: string; version: number }[];
}

function writeValueInfo(w: Writer, v: ValueInfo): void {
  w.string(1, v.name);
  w.message(2, (type) =>
    type.message(1, (tensor) => {
      tensor.int(1, v.elemType);
      tensor.message(2, (shape) => {
        for (const d of v.shape) {
          shape.message(1, (dim) => (typeof d === 'number' ? dim.int(1, d) : dim.string(2, d)));
        }
      });
    }),
  );
}

function writeAttr(w: Writer, name: string, a: AttrValue): void {
  w.string(1, name);
  switch (a.kind) {
    case 'float':
      w.float(2, a.value);
      w.int(20, 1);
      break;
    case 'int':
      w.int(3, a.value);
      w.int(20, 2);
      break;
    case 'string':
      w.string(4, a.value);
      w.int(20, 3);
      break;
    case 'ints':
      for (const i of a.value) w.int(8, i);
      w.int(20, 7);
      break;
  }
}

const tensorBytes = (t: Initializer): Uint8Array => new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);

function writeTensor(w: Writer, t: Initializer, ext?: ExternalRef): void {
  for (const d of t.dims) w.int(1, d);
  w.int(2, t.elemType);
  w.string(8, t.name);
  if (ext) {
    // external_data (13): StringStringEntryProto {key 1, value 2}; data_location (14) = EXTERNAL (1).
    for (const [k, v] of [['location', ext.location], ['offset', String(ext.offset)], ['length', String(ext.length)]] as const) {
      w.message(13, (e) => {
        e.string(1, k);
        e.string(2, v);
      });
    }
    w.int(14, 1);
    return;
  }
  // raw_data is little-endian bytes of the typed array; this machine (x86/arm) is little-endian.
  w.bytes(9, tensorBytes(t));
}

/**
 * The model and its external-data file: initializers marked `external` are written to `location`
 * (relative to the model file, 64-byte aligned offsets) and referenced from the model by
 * location/offset/length, as onnx.save_model(..., save_as_external_data=True) does.
 */
export function encodeModelWithExternalData(m: ModelDef, location: string): { model: Uint8Array; data: Uint8Array } {
  const refs = new Map<string, ExternalRef>();
  const parts: Uint8Array[] = [];
  let size = 0;
  for (const t of m.initializers ?? []) {
    if (!t.external) continue;
    const pad = (64 - (size % 64)) % 64;
    if (pad) parts.push(new Uint8Array(pad));
    size += pad;
    const b = tensorBytes(t);
    refs.set(t.name, { location, offset: size, length: b.length });
    parts.push(b);
    size += b.length;
  }
  const data = new Uint8Array(size);
  let off = 0;
  for (const p of parts) {
    data.set(p, off);
    off += p.length;
  }
  return { model: encode(m, refs), data };
}

export function encodeModel(m: ModelDef): Uint8Array {
  return encode(m, new Map());
}

function encode(m: ModelDef, external: ReadonlyMap<string, ExternalRef>): Uint8Array {
  const w = new Writer();
  w.int(1, m.irVersion ?? 8);
  w.string(2, 'onnx-operator-test-models');
  w.message(7, (g) => {
    m.nodes.forEach((n, i) =>
      g.message(1, (node) => {
        for (const x of n.inputs) node.string(1, x);
        for (const x of n.outputs) node.string(2, x);
        node.string(3, `${n.op.toLowerCase()}_${i}`);
        node.string(4, n.op);
        for (const [k, v] of Object.entries(n.attrs ?? {})) node.message(5, (a) => writeAttr(a, k, v));
        if (n.domain) node.string(7, n.domain);
      }),
    );
    g.string(2, m.name);
    for (const t of m.initializers ?? []) g.message(5, (tw) => writeTensor(tw, t, external.get(t.name)));
    for (const v of m.inputs) g.message(11, (vw) => writeValueInfo(vw, v));
    for (const v of m.outputs) g.message(12, (vw) => writeValueInfo(vw, v));
  });
  w.message(8, (o) => {
    o.string(1, '');
    o.int(2, m.opset);
  });
  for (const extra of m.extraOpsets ?? []) {
    w.message(8, (o) => {
      o.string(1, extra.domain);
      o.int(2, extra.version);
    });
  }
  return w.finish();
}
