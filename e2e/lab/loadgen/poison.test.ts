import { POISON_FEATURE_VALUE } from '../../../runtime/test-models/build.ts';
import { isPoisoned, isPoisonedSeeded, poisonedAmong, poisonInferBody, POISON_VALUE } from './poison.ts';

const decode = (b: Uint8Array): unknown => JSON.parse(new TextDecoder().decode(b));

describe('isPoisoned', () => {
  it('0.02 poisons every 50th request: 49, 99, 149, …', () => {
    const hits = Array.from({ length: 1000 }, (_, i) => i).filter((i) => isPoisoned(i, 0.02));
    expect(hits).toHaveLength(20);
    expect(hits.slice(0, 3)).toEqual([49, 99, 149]);
  });

  it.each([0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 1 / 3, 0.5, 0.57, 0.999, 1])(
    'ratio %d: every prefix of n requests holds exactly floor(n·ratio)',
    (ratio) => {
      let count = 0;
      for (let n = 1; n <= 5000; n++) {
        if (isPoisoned(n - 1, ratio)) count += 1;
        if (count !== poisonedAmong(n, ratio))
          throw new Error(`ratio ${ratio}: ${count} poisoned among ${n}`);
      }
      expect(count).toBeLessThanOrEqual(5000 * ratio + 1e-6);
      expect(count).toBeGreaterThan(5000 * ratio - 1);
    },
  );

  it('none for ratio 0, all for ratio 1', () => {
    expect([0, 1, 2, 99].map((i) => isPoisoned(i, 0))).toEqual([false, false, false, false]);
    expect([0, 1, 2, 99].map((i) => isPoisoned(i, 1))).toEqual([true, true, true, true]);
  });

  it('handles ratios whose products land just under an integer (0.57·100 = 56.99…)', () => {
    expect(poisonedAmong(100, 0.57)).toBe(57);
    expect(poisonedAmong(100, 0.07)).toBe(7);
  });
});

describe('isPoisonedSeeded', () => {
  const hits = (ratio: number, seed: number, n = 20_000) =>
    Array.from({ length: n }, (_, i) => i).filter((i) => isPoisonedSeeded(i, ratio, seed));

  it('poisons the share in expectation, the same requests for the same seed, others for another', () => {
    for (const ratio of [0.02, 0.05]) {
      const a = hits(ratio, 1);
      // Binomial(20000, ratio): 5 standard deviations either side.
      const sd = Math.sqrt(20_000 * ratio * (1 - ratio));
      expect(Math.abs(a.length - 20_000 * ratio)).toBeLessThan(5 * sd);
      expect(hits(ratio, 1)).toEqual(a);
      expect(hits(ratio, 2)).not.toEqual(a);
    }
  });

  it('lands on every endpoint of a round-robin over five, where the even spread lands on one', () => {
    const even = Array.from({ length: 20_000 }, (_, i) => i).filter((i) => isPoisoned(i, 0.02));
    expect(new Set(even.map((i) => i % 5)).size).toBe(1);
    const seeded = hits(0.02, 7);
    for (let r = 0; r < 5; r++) {
      const share = seeded.filter((i) => i % 5 === r).length / seeded.length;
      expect(share).toBeGreaterThan(0.12);
      expect(share).toBeLessThan(0.28);
    }
  });

  it('none for ratio 0, all for ratio 1', () => {
    expect(hits(0, 3, 1000)).toHaveLength(0);
    expect(hits(1, 3, 1000)).toHaveLength(1000);
  });
});

describe('poisonInferBody', () => {
  it('is the value logreg_faulty fails on', () => {
    expect(POISON_VALUE).toBe(POISON_FEATURE_VALUE);
  });

  it('sets feature 0 of every row in flat data, split by shape', () => {
    const body = JSON.stringify({
      id: 'x',
      inputs: [{ name: 'features', datatype: 'FP32', shape: [2, 4], data: [1, 2, 3, 4, 5, 6, 7, 8] }],
    });
    expect(decode(poisonInferBody(body))).toEqual({
      id: 'x',
      inputs: [{ name: 'features', datatype: 'FP32', shape: [2, 4], data: [1000, 2, 3, 4, 1000, 6, 7, 8] }],
    });
  });

  it('sets feature 0 of every row in nested data, from bytes, to a chosen value', () => {
    const request = (rows: number[][]) => ({
      inputs: [
        { name: 'f', shape: [2, 2], data: rows },
        { name: 'g', data: [9] },
      ],
    });
    const bytes = new TextEncoder().encode(
      JSON.stringify(
        request([
          [1, 2],
          [3, 4],
        ]),
      ),
    );
    expect(decode(poisonInferBody(bytes, 5000))).toEqual(
      request([
        [5000, 2],
        [5000, 4],
      ]),
    );
  });

  it.each([
    ['not json', /not JSON/],
    ['{}', /no inputs\[0\]\.data/],
    ['{"inputs":[{"data":[]}]}', /no inputs\[0\]\.data/],
    ['{"inputs":[{"data":[1,2,3]}]}', /shape is not a list/],
    ['{"inputs":[{"shape":[2,2],"data":[1,2,3]}]}', /3 values for shape \[2, 2\]/],
    ['{"inputs":[{"shape":[1,4],"data":[[1,2],3]}]}', /rows of numbers/],
  ])('refuses %s', (body, msg) => {
    expect(() => poisonInferBody(body)).toThrow(msg);
  });
});
