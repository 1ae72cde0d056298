import { describe, expect, test } from '@jest/globals';
import { fromHalf, toHalf, type HostTensor } from './datatypes.ts';
import { jsonString, shapeJson, tensorValuesJson } from './json-text.ts';

// What JSON.stringify gives for the values as plain JS (the encoding json-text replaces).
function viaStringify(t: HostTensor, limit = t.data.length): string {
  const d = Array.from(t.data as ArrayLike<unknown>).slice(0, limit);
  return JSON.stringify(
    d.map((v) => {
      if (t.datatype === 'FP16') return fromHalf(v as number);
      if (t.datatype === 'BOOL') return v !== 0;
      if (typeof v === 'bigint') return v <= 9007199254740991n && v >= -9007199254740991n ? Number(v) : v.toString();
      return v;
    }),
  );
}

const cases: HostTensor[] = [
  { datatype: 'FP32', shape: [1, 6], data: new Float32Array([0.1, -0, NaN, Infinity, -Infinity, 3.4e38]) },
  { datatype: 'FP64', shape: [5], data: new Float64Array([Math.PI, -1e-300, 5e-324, Number.MAX_VALUE, -0.5]) },
  { datatype: 'FP16', shape: [4], data: new Uint16Array([toHalf(1.5), toHalf(-2), 0x7c00, 0x7e00]) },
  { datatype: 'BOOL', shape: [3], data: new Uint8Array([1, 0, 7]) },
  { datatype: 'INT8', shape: [2], data: new Int8Array([-128, 127]) },
  { datatype: 'UINT32', shape: [2], data: new Uint32Array([0, 4294967295]) },
  { datatype: 'INT64', shape: [4], data: new BigInt64Array([0n, -9007199254740991n, 9007199254740992n, -(2n ** 63n)]) },
  { datatype: 'UINT64', shape: [2], data: new BigUint64Array([42n, 2n ** 64n - 1n]) },
  { datatype: 'BYTES', shape: [3], data: ['plain', 'quote " and \\ backslash', 'line\nbreak \u2028 ünï'] },
  { datatype: 'FP32', shape: [0], data: new Float32Array(0) },
];

describe('tensor values as JSON text', () => {
  test.each(cases.map((c) => [c.datatype, c.shape.join('x'), c] as const))('%s [%s] matches JSON.stringify of the plain values', (_dt, _shape, t) => {
    const text = tensorValuesJson(t);
    expect(text).toBe(viaStringify(t));
    expect(JSON.parse(text)).toHaveLength(t.data.length);
  });

  test('a limit keeps the first values only', () => {
    const t: HostTensor = { datatype: 'FP32', shape: [10], data: Float32Array.from({ length: 10 }, (_, i) => i / 4) };
    expect(tensorValuesJson(t, 3)).toBe('[0,0.25,0.5]');
    expect(tensorValuesJson(t, 0)).toBe('[]');
    expect(tensorValuesJson(t, 99)).toBe(viaStringify(t));
  });

  test('shapes and strings', () => {
    expect(shapeJson([])).toBe('[]');
    expect(shapeJson([1, 4, 0])).toBe('[1,4,0]');
    for (const s of ['logreg', 'a"b', 'rev\n1', '']) expect(jsonString(s)).toBe(JSON.stringify(s));
    // Remembered strings come back identical.
    expect(jsonString('a"b')).toBe(JSON.stringify('a"b'));
  });
});
