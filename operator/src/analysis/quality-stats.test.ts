import { describe, expect, it } from '@jest/globals';
import { chiSquareSurvival, histogramMoments, homogeneityTest, normalSurvival, psi, welchGreaterPValue } from './quality-stats.ts';

describe('quality statistics', () => {
  it.each([
    [3.841458820694124, 1, 0.05],
    [5.991464547107979, 2, 0.05],
    [18.307038053275146, 10, 0.05],
    [6.634896601021214, 1, 0.01],
    [0.1015308, 1, 0.75],
    [100, 3, 1.6e-21],
  ])('chi-square survival P(X ≥ %d; df %d) = %d (tables)', (x, df, p) => {
    expect(chiSquareSurvival(x, df)).toBeCloseTo(p, p < 1e-3 ? 22 : 6);
  });

  it('chi-square survival is 1 at 0 and without degrees of freedom', () => {
    expect(chiSquareSurvival(0, 3)).toBe(1);
    expect(chiSquareSurvival(5, 0)).toBe(1);
  });

  it('homogeneity: the same shares are no evidence, a 90/10 against 50/50 split is overwhelming', () => {
    expect(homogeneityTest([50, 50], [500, 500]).pValue).toBeCloseTo(1, 10);
    const moved = homogeneityTest([90, 10], [50, 50]);
    expect(moved.df).toBe(1);
    expect(moved.pValue).toBeLessThan(1e-8);
    // Categories empty on both sides do not count as degrees of freedom.
    expect(homogeneityTest([10, 0, 20, 0], [12, 0, 18, 0]).df).toBe(1);
    expect(homogeneityTest([10], [20]).pValue).toBe(1);
  });

  it('PSI: 0 for the same shares, large for a collapse onto one class, finite with empty categories', () => {
    expect(psi([100, 200, 300], [10, 20, 30])).toBeCloseTo(0, 2);
    expect(psi([500, 500], [1000, 0])).toBeGreaterThan(1);
    expect(Number.isFinite(psi([0, 100], [100, 0]))).toBe(true);
    // Symmetric in its arguments (it is a symmetrized divergence).
    expect(psi([30, 70], [60, 40])).toBeCloseTo(psi([60, 40], [30, 70]), 10);
  });

  it('normal survival matches the tables', () => {
    expect(normalSurvival(1.959964)).toBeCloseTo(0.025, 6);
    expect(normalSurvival(0)).toBeCloseTo(0.5, 7);
    expect(normalSurvival(-1.644854)).toBeCloseTo(0.95, 6);
  });

  it('Welch: a larger mean with enough samples is significant; the same mean is not', () => {
    expect(welchGreaterPValue({ n: 400, mean: 1.2, variance: 1 }, { n: 400, mean: 1, variance: 1 })).toBeLessThan(0.01);
    expect(welchGreaterPValue({ n: 400, mean: 1, variance: 1 }, { n: 400, mean: 1, variance: 1 })).toBeCloseTo(0.5, 6);
    expect(welchGreaterPValue({ n: 1, mean: 9, variance: 0 }, { n: 400, mean: 1, variance: 1 })).toBe(1);
  });

  it('histogram moments at the buckets’ midpoints, +Inf at the last finite bound', () => {
    const m = histogramMoments(new Map([[1, 10], [2, 30], [Infinity, 30]]));
    expect(m.n).toBe(30);
    expect(m.mean).toBeCloseTo((10 * 0.5 + 20 * 1.5) / 30, 10);
    expect(histogramMoments(new Map([[1, 0], [Infinity, 0]]))).toEqual({ n: 0, mean: 0, variance: 0 });
    expect(histogramMoments(new Map([[1, 0], [Infinity, 4]])).mean).toBe(1);
  });
});
