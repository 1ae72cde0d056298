// Statistics of the model-quality gates (docs/analysis.md, "Model-quality gates"): how far the
// canary's prediction distribution moved from stable's (PSI, and a chi-square test of homogeneity
// that it moved at all), and whether its error on labelled predictions is significantly larger
// (Fisher's exact test for accuracy, Welch's test for a mean absolute error). Pure functions.
import { fisherGreaterPValue, logGamma } from './stats.ts';

const { abs, exp, log, max, sqrt } = Math;

/** Regularized lower incomplete gamma P(a, x) by its series (x < a + 1). */
function gammaSeries(a: number, x: number): number {
  let sum = 1 / a;
  let term = sum;
  for (let n = 1; n < 1000; n++) {
    term *= x / (a + n);
    sum += term;
    if (abs(term) < abs(sum) * 1e-15) break;
  }
  return sum * exp(-x + a * log(x) - logGamma(a));
}

/** Regularized upper incomplete gamma Q(a, x) by its continued fraction (x ≥ a + 1), modified Lentz. */
function gammaContinuedFraction(a: number, x: number): number {
  const tiny = 1e-300;
  let b = x + 1 - a;
  let c = 1 / tiny;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 1000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (abs(delta - 1) < 1e-15) break;
  }
  return exp(-x + a * log(x) - logGamma(a)) * h;
}

/** P(X ≥ x) for X ~ χ²(df). */
export function chiSquareSurvival(x: number, df: number): number {
  if (!(df > 0)) return 1;
  if (!(x > 0)) return 1;
  const a = df / 2;
  const h = x / 2;
  return h < a + 1 ? 1 - gammaSeries(a, h) : gammaContinuedFraction(a, h);
}

export interface HomogeneityTest {
  statistic: number;
  df: number;
  /** P-value that two samples this different come from one distribution. */
  pValue: number;
}

/**
 * Pearson's chi-square test that two count vectors over the same categories come from one
 * distribution. Categories empty in both are dropped; with fewer than two left there is nothing to
 * test (p = 1).
 */
export function homogeneityTest(a: readonly number[], b: readonly number[]): HomogeneityTest {
  const cells = a.map((x, i) => [x, b[i] ?? 0] as const).filter(([x, y]) => x + y > 0);
  const na = cells.reduce((s, [x]) => s + x, 0);
  const nb = cells.reduce((s, [, y]) => s + y, 0);
  if (cells.length < 2 || na === 0 || nb === 0) return { statistic: 0, df: 0, pValue: 1 };
  const n = na + nb;
  let statistic = 0;
  for (const [x, y] of cells) {
    const col = x + y;
    const ea = (na * col) / n;
    const eb = (nb * col) / n;
    statistic += ((x - ea) * (x - ea)) / ea + ((y - eb) * (y - eb)) / eb;
  }
  const df = cells.length - 1;
  return { statistic, df, pValue: chiSquareSurvival(statistic, df) };
}

/**
 * Population stability index of `actual` against `expected` (count vectors over the same
 * categories), each share smoothed by half a count per category so that an empty category does not
 * make it infinite. 0 = the same; < 0.1 stable, 0.1–0.25 moderate, > 0.25 major (the usual reading).
 */
export function psi(expected: readonly number[], actual: readonly number[]): number {
  const k = max(expected.length, actual.length);
  const ne = expected.reduce((s, x) => s + x, 0) + 0.5 * k;
  const na = actual.reduce((s, x) => s + x, 0) + 0.5 * k;
  let total = 0;
  for (let i = 0; i < k; i++) {
    const pe = ((expected[i] ?? 0) + 0.5) / ne;
    const pa = ((actual[i] ?? 0) + 0.5) / na;
    total += (pa - pe) * log(pa / pe);
  }
  return total;
}

/** P(Z ≥ z) for a standard normal Z (Abramowitz–Stegun 7.1.26 on erfc, |error| < 1.5e-7). */
export function normalSurvival(z: number): number {
  const x = abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const erfc = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))) * exp(-x * x);
  return z >= 0 ? erfc / 2 : 1 - erfc / 2;
}

/** Mean and variance of a sample. */
export interface Moments {
  n: number;
  mean: number;
  variance: number;
}

/**
 * One-sided Welch test that A's mean is larger than B's; a normal approximation, fine for the
 * hundreds of labels a ground-truth gate waits for.
 */
export function welchGreaterPValue(a: Moments, b: Moments): number {
  if (a.n < 2 || b.n < 2) return 1;
  const se = sqrt(a.variance / a.n + b.variance / b.n);
  if (!(se > 0)) return a.mean > b.mean ? 0 : 1;
  return normalSurvival((a.mean - b.mean) / se);
}

/**
 * Moments of a classic Prometheus histogram from its cumulative bucket counts (`le` → count, +Inf
 * included): each observation taken at its bucket's midpoint (the last finite bound for +Inf). The
 * mean is approximate to half a bucket; both revisions are measured the same way.
 */
export function histogramMoments(buckets: ReadonlyMap<number, number>): Moments {
  const bounds = [...buckets.keys()].sort((x, y) => x - y);
  let prevBound = 0;
  let prevCount = 0;
  let n = 0;
  let sum = 0;
  let sumSq = 0;
  const lastFinite = bounds.filter(Number.isFinite).at(-1) ?? 0;
  for (const le of bounds) {
    const cumulative = buckets.get(le) ?? 0;
    const count = max(0, cumulative - prevCount);
    const mid = Number.isFinite(le) ? (prevBound + le) / 2 : lastFinite;
    n += count;
    sum += count * mid;
    sumSq += count * mid * mid;
    prevCount = max(prevCount, cumulative);
    if (Number.isFinite(le)) prevBound = le;
  }
  if (n === 0) return { n: 0, mean: 0, variance: 0 };
  const mean = sum / n;
  return { n, mean, variance: n > 1 ? max(0, (sumSq - n * mean * mean) / (n - 1)) : 0 };
}

/** Fisher's exact one-sided p-value that A's error share (wrong of labelled) is larger than B's. */
export function accuracyWorsePValue(wrongA: number, labelledA: number, wrongB: number, labelledB: number): number {
  return fisherGreaterPValue(wrongA, labelledA, wrongB, labelledB);
}
