import { describe, expect, test } from '@jest/globals';
import { seededRandom } from './seeded-random.ts';

describe('seededRandom', () => {
  test('the same seed draws the same numbers; another seed others', () => {
    const a = seededRandom(42);
    const b = seededRandom(42);
    const c = seededRandom(43);
    const xs = Array.from({ length: 5 }, a);
    expect(Array.from({ length: 5 }, b)).toEqual(xs);
    expect(Array.from({ length: 5 }, c)).not.toEqual(xs);
  });

  test('uniform on [0, 1): every tenth gets about a tenth of 10,000 draws', () => {
    const r = seededRandom(7);
    const bins = new Array<number>(10).fill(0);
    for (let i = 0; i < 10_000; i++) {
      const x = r();
      expect(x).toBeGreaterThanOrEqual(0);
      expect(x).toBeLessThan(1);
      bins[Math.floor(x * 10)]! += 1;
    }
    for (const n of bins) expect(Math.abs(n - 1000)).toBeLessThan(150);
  });
});
