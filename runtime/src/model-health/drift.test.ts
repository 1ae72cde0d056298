import { describe, expect, test } from '@jest/globals';
import { ksPValue, ksStatistic, psi } from './drift.ts';
import { fromHalf, toHalf } from '../protocol/datatypes.ts';

const uniform = (n: number, lo = 0, hi = 1) => Array.from({ length: n }, (_, i) => lo + ((hi - lo) * (i + 0.5)) / n);

describe('drift statistics', () => {
  test('identical distributions: PSI ≈ 0, KS ≈ 0, p ≈ 1', () => {
    const a = uniform(1000);
    expect(psi(a, uniform(500))).toBeLessThan(0.01);
    expect(ksStatistic(a, uniform(500))).toBeLessThan(0.01);
    expect(ksPValue(ksStatistic(a, uniform(500)), 1000, 500)).toBeGreaterThan(0.99);
  });

  test('shifted distributions: KS is the CDF gap, PSI grows with the shift', () => {
    const a = uniform(1000);
    expect(ksStatistic(a, uniform(1000, 0.5, 1.5))).toBeCloseTo(0.5, 2);
    expect(ksStatistic(a, uniform(1000, 2, 3))).toBe(1);
    expect(psi(a, uniform(1000, 0.2, 1.2))).toBeGreaterThan(0.1);
    expect(psi(a, uniform(1000, 0.5, 1.5))).toBeGreaterThan(psi(a, uniform(1000, 0.2, 1.2)));
    expect(ksPValue(0.5, 1000, 1000)).toBeLessThan(1e-10);
  });
});

describe('FP16 conversion', () => {
  test.each([0, 1, -2, 0.5, 65504, 6.103515625e-5, 5.960464477539063e-8, Infinity, -Infinity])('%p round-trips exactly', (v) => {
    expect(fromHalf(toHalf(v))).toBe(v);
  });
  test('rounds to nearest and overflows to infinity', () => {
    expect(fromHalf(toHalf(0.1))).toBeCloseTo(0.1, 3);
    expect(fromHalf(toHalf(1e6))).toBe(Infinity);
    expect(Number.isNaN(fromHalf(toHalf(NaN)))).toBe(true);
  });
});
