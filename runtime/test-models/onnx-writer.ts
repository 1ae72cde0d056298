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

function writeTensor(w: Writer, t: Initializer): void {
  for (const d of t.dims) w.int(1, d);
  w.int(2, t.elemType);
  w.string(8, t.name);
  // raw_data is little-endian bytes of the typed array; this machine (x86/arm) is little-endian.
  w.bytes(9, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
}

export function encodeModel(m: ModelDef): Uint8Array {
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
    for (const t of m.initializers ?? []) g.message(5, (tw) => writeTensor(tw, t));
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
