import {
  alphaAtLook,
  binomialLowerTail,
  binomialUpperTail,
  fisherGreaterPValue,
  logGamma,
  lowerBound,
  lowerBoundAbove,
  upperBound,
  upperBoundAtMost,
} from './stats.ts';

// Reference values computed with mpmath at 40 digits (betainc, findroot, exact hypergeometric sums).
const close = (actual: number, expected: number, rel = 1e-9) =>
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(rel * Math.max(Math.abs(expected), 1e-300) + 1e-15);

describe('logGamma', () => {
  it.each([
    [1, 0],
    [2, 0],
    [5, Math.log(24)],
    [0.5, Math.log(Math.sqrt(Math.PI))],
    [101, 363.73937555556347],
  ])('ln Γ(%p)', (x, expected) => close(logGamma(x), expected, 1e-12));
});

describe('binomial tails', () => {
  it.each([
    [10, 40, 0.0144, 2.189995248928077e-10, 0.9999999999913143],
    [1, 1200, 0.0144, 0.9999999724047849, 5.114074287804628e-7],
    [0, 10, 0.1, 1, 0.3486784401],
    [5, 100000, 0.0001, 0.970752986794441, 0.06707650449728682],
    [30, 1000000, 2e-5, 0.021817091152628254, 0.9865261530664711],
    [150, 10000, 0.012, 0.004346030110746689, 0.9966276960249649],
    [3, 7, 0.5, 0.7734375, 0.5],
    [2000, 200000, 0.0098, 0.1847639603000983, 0.8211890350797044],
    [12, 1200, 0.01, 0.5389777880509562, 0.5759662112598787],
  ])('P(X ≥ %p), P(X ≤ k) for n = %p, p = %p', (k, n, p, upper, lower) => {
    close(binomialUpperTail(k, n, p), upper, 1e-7);
    close(binomialLowerTail(k, n, p), lower, 1e-7);
  });

  it('agrees with a direct sum of the probability mass for small n', () => {
    for (const n of [1, 5, 20, 60]) {
      for (const p of [0.001, 0.05, 0.3, 0.9]) {
        const pmf = Array.from({ length: n + 1 }, (_, j) => Math.exp(logGamma(n + 1) - logGamma(j + 1) - logGamma(n - j + 1)) * p ** j * (1 - p) ** (n - j));
        for (let k = 0; k <= n; k++) {
          const up = pmf.slice(k).reduce((a, b) => a + b, 0);
          const low = pmf.slice(0, k + 1).reduce((a, b) => a + b, 0);
          expect(Math.abs(binomialUpperTail(k, n, p) - up)).toBeLessThan(1e-10);
          expect(Math.abs(binomialLowerTail(k, n, p) - low)).toBeLessThan(1e-10);
        }
      }
    }
  });
});

describe('Clopper–Pearson bounds', () => {
  it.each([
    [10, 40, 0.0076, 0.10596828986735404, 0.44931637354668075],
    [1, 1200, 3e-4, 2.500374762423129e-7, 0.008764380517645286],
    [0, 1000, 0.05, 0, 0.0029912495450952962],
    [50, 5000, 1e-6, 0.004662157784948775, 0.018400821915800683],
    [12, 1200, 0.05, 0.005780013685350539, 0.016151886355551474],
  ])('%p bad of %p at alpha %p', (bad, n, alpha, lower, upper) => {
    close(lowerBound(bad, n, alpha), lower, 1e-7);
    close(upperBound(bad, n, alpha), upper, 1e-7);
  });

  it('has closed forms at the edges: 0 of n and n of n', () => {
    close(upperBound(0, 300, 0.01), 1 - 0.01 ** (1 / 300), 1e-9);
    close(lowerBound(300, 300, 0.01), 0.01 ** (1 / 300), 1e-9);
    expect(upperBound(0, 0, 0.05)).toBe(1);
    expect(lowerBound(0, 0, 0.05)).toBe(0);
  });

  it('decides from one tail exactly as the bounds do', () => {
    for (const [bad, n, alpha] of [
      [10, 40, 0.0076],
      [3, 500, 0.01],
      [40, 2000, 1e-5],
    ] as const) {
      const l = lowerBound(bad, n, alpha);
      const u = upperBound(bad, n, alpha);
      expect(lowerBoundAbove(bad, n, l * 0.999, alpha)).toBe(true);
      expect(lowerBoundAbove(bad, n, l * 1.001, alpha)).toBe(false);
      expect(upperBoundAtMost(bad, n, u * 1.001, alpha)).toBe(true);
      expect(upperBoundAtMost(bad, n, u * 0.999, alpha)).toBe(false);
    }
    expect(upperBoundAtMost(0, 0, 0.5, 0.05)).toBe(false);
  });
});

describe('fisherGreaterPValue', () => {
  it.each([
    [10, 400, 10, 1600, 0.00246445029872218],
    [3, 1000, 1, 4000, 0.027146232326152177],
    [0, 100, 5, 500, 1],
    [50, 2000, 100, 8000, 7.786949711319433e-5],
    [7, 200, 2, 800, 0.0002916413436858583],
    [1, 10, 40, 90, 0.9963704660241284],
  ])('%p/%p vs %p/%p', (a, na, b, nb, expected) => close(fisherGreaterPValue(a, na, b, nb), expected, 1e-8));

  it('is 1 without bad events or without a comparison group', () => {
    expect(fisherGreaterPValue(0, 100, 0, 100)).toBe(1);
    expect(fisherGreaterPValue(5, 100, 0, 0)).toBe(1);
  });
});

describe('alphaAtLook', () => {
  it('spends at most alpha over any number of looks, most of it early', () => {
    let spent = 0;
    for (let k = 1; k <= 100_000; k++) spent += alphaAtLook(0.05, k);
    expect(spent).toBeLessThanOrEqual(0.05);
    expect(spent).toBeGreaterThan(0.0499);
    close(alphaAtLook(0.05, 1), 0.05 * 0.6079271018540267, 1e-12);
    expect(alphaAtLook(0.05, 0)).toBe(alphaAtLook(0.05, 1));
  });
});
