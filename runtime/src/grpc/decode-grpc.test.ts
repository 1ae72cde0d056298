// Typed `contents` of a ModelInferRequest (varints, fixed-width, bytes) decoded and range-checked
// into tensors, against a signature of every varint-carried datatype. Pure.
import { describe, expect, test } from '@jest/globals';
import type { ModelSignature } from '../protocol/signature.ts';
import { decodeGrpcInfer } from './decode-grpc.ts';
import { CONTENT_FIELD, decodeInferRequest } from './messages.ts';
import { Writer } from './wire.ts';

const sig: ModelSignature = {
  inputs: [
    { name: 'i8', datatype: 'INT8', shape: ['n'] },
    { name: 'i64', datatype: 'INT64', shape: ['n'] },
    { name: 'u64', datatype: 'UINT64', shape: ['n'] },
    { name: 'b', datatype: 'BOOL', shape: ['n'] },
    { name: 's', datatype: 'BYTES', shape: ['n'] },
    { name: 'f64', datatype: 'FP64', shape: ['n'] },
  ],
  outputs: [{ name: 'y', datatype: 'FP32', shape: ['n'] }],
};

const varints = (vs: (number | bigint)[]) => vs.reduce((w: Writer, v) => w.varint(v), new Writer()).finish();
const f64 = (vs: number[]) => Buffer.from(new Float64Array(vs).buffer);

function message(over: Partial<Record<string, Buffer | Buffer[]>> = {}): Buffer {
  const contents: Record<string, [number, Buffer | Buffer[]]> = {
    i8: [CONTENT_FIELD.int, varints([-128, 127, -1])],
    i64: [CONTENT_FIELD.int64, varints([-(2n ** 63n), 2n ** 63n - 1n, -5n])],
    u64: [CONTENT_FIELD.uint64, varints([0, 2n ** 64n - 1n, 300])],
    b: [CONTENT_FIELD.bool, varints([1, 0, 1])],
    s: [CONTENT_FIELD.bytes, [Buffer.from('a'), Buffer.from(''), Buffer.from('ü')]],
    f64: [CONTENT_FIELD.fp64, f64([1.5, -2, 1e300])],
  };
  const w = new Writer().string(1, 'm');
  for (const spec of sig.inputs) {
    const [field, v] = contents[spec.name]!;
    const value = over[spec.name] ?? v;
    const c = new Writer();
    for (const piece of Array.isArray(value) ? value : [value]) c.bytes(field, piece);
    w.message(5, new Writer().string(1, spec.name).string(2, spec.datatype).packed(3, [3]).message(5, c));
  }
  return w.finish();
}

describe('gRPC typed contents', () => {
  test('varints (signed as 10-byte two’s complement), bools, bytes and doubles decode to tensors', async () => {
    const r = await decodeGrpcInfer(decodeInferRequest(message()), sig);
    const data = (n: string) => Array.from(r.inputs.get(n)!.data as ArrayLike<unknown>);
    expect(data('i8')).toEqual([-128, 127, -1]);
    expect(data('i64')).toEqual([-(2n ** 63n), 2n ** 63n - 1n, -5n]);
    expect(data('u64')).toEqual([0n, 2n ** 64n - 1n, 300n]);
    expect(data('b')).toEqual([1, 0, 1]);
    expect(data('s')).toEqual(['a', '', 'ü']);
    expect(data('f64')).toEqual([1.5, -2, 1e300]);
    expect(r.rows).toBe(3);
    expect(r.outputs).toEqual([{ name: 'y', binary: true }]);
  });

  test.each([
    ['i8', varints([1, 128, 0]), /inputs\[i8\]\.contents\[1\] is 128, but INT8 needs an integer between -128 and 127/],
    ['b', varints([1, 2, 0]), /contents\[1\] is 2, but BOOL needs an integer between 0 and 1/],
    ['i8', varints([1, 2]), /inputs\[i8\]\.contents has 2 values but shape needs 3/],
    ['i8', varints([1, 2, 3, 4]), /has more values than shape needs \(3\)/],
    ['i8', Buffer.from([0x80]), /truncated varint/],
    ['s', [Buffer.from('a')], /inputs\[s\]\.contents has 1 values but shape needs 3/],
    ['f64', f64([1, 2]).subarray(0, 12), /inputs\[f64\]\.contents has more values than shape needs \(3\)|has 1\.5 values/],
  ])('%s, case %#: a 400', async (name, value, message_) => {
    await expect(decodeGrpcInfer(decodeInferRequest(message({ [name]: value })), sig)).rejects.toMatchObject({ status: 400, message: expect.stringMatching(message_) });
  });
});
