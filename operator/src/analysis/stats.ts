// Exact binomial statistics for the judge, written out here (no dependency): log-gamma, the
// regularized incomplete beta function, binomial tails, Clopper–Pearson bounds, Fisher's exact
// one-sided test, and the alpha spent at each look. docs/analysis.md explains why these and not
// normal approximations: the counts that matter most are small (10 bad of 40), where the normal
// approximation is wrong in exactly the direction that causes false rollbacks.

// Math's functions held in module constants: inside a vm context (Jest) every global lookup in a hot
// loop goes through the context's interceptors and costs ten times the arithmetic.
const { abs, ceil, exp, floor, log, log1p, max, min, sin, sqrt, PI } = Math;

/** Lanczos approximation (g = 7, n = 9), about 15 significant digits for x > 0. */
const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];

/** ln Γ(x) for x > 0. */
export function logGamma(x: number): number {
  if (x < 0.5) return log(PI / sin(PI * x)) - logGamma(1 - x);
  const z = x - 1;
  let s = LANCZOS[0] ?? 0;
  for (let i = 1; i < LANCZOS.length; i++) s += (LANCZOS[i] ?? 0) / (z + i);
  const t = z + 7.5;
  return 0.5 * log(2 * PI) + (z + 0.5) * log(t) - t + log(s);
}

/** ln C(n, k). */
export function logChoose(n: number, k: number): number {
  return logGamma(n + 1) - logGamma(k + 1) - logGamma(n - k + 1);
}

/** Continued fraction of the incomplete beta function (modified Lentz), as in Numerical Recipes. */
function betaContinuedFraction(x: number, a: number, b: number): number {
  const tiny = 1e-300;
  const qab = a + b;
  const qap = a + 1;
  const qam = a - 1;
  let c = 1;
  let d = 1 - (qab * x) / qap;
  if (abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  // Converges in O(sqrt(max(a, b))) steps on the side of the mean it is used on.
  const maxIterations = 10_000 + 20 * ceil(sqrt(max(a, b)));
  for (let m = 1; m <= maxIterations; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((qam + m2) * (a + m2));
    d = 1 + aa * d;
    if (abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (qab + m) * x) / ((a + m2) * (qap + m2));
    d = 1 + aa * d;
    if (abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (abs(delta - 1) < 1e-15) break;
  }
  return h;
}

/** The regularized incomplete beta function I_x(a, b), a, b > 0, 0 ≤ x ≤ 1. */
export function regularizedBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const logFront = logGamma(a + b) - logGamma(a) - logGamma(b) + a * log(x) + b * log1p(-x);
  if (x < (a + 1) / (a + b + 2)) return (exp(logFront) * betaContinuedFraction(x, a, b)) / a;
  return 1 - (exp(logFront) * betaContinuedFraction(1 - x, b, a)) / b;
}

/** P(X ≥ k) for X ~ Binomial(n, p). */
export function binomialUpperTail(k: number, n: number, p: number): number {
  if (k <= 0) return 1;
  if (k > n) return 0;
  return regularizedBeta(p, k, n - k + 1);
}

/** P(X ≤ k) for X ~ Binomial(n, p). */
export function binomialLowerTail(k: number, n: number, p: number): number {
  if (k < 0) return 0;
  if (k >= n) return 1;
  return 1 - regularizedBeta(p, k + 1, n - k);
}

/** The Beta(a, b) density at x: the derivative of I_x(a, b) in x. */
function betaDensity(x: number, a: number, b: number): number {
  if (x <= 0 || x >= 1) return 0;
  return exp(logGamma(a + b) - logGamma(a) - logGamma(b) + (a - 1) * log(x) + (b - 1) * log1p(-x));
}

/**
 * Solves f(p) = target for a monotone f on [lo, hi]: Newton steps from `start`, kept inside a
 * shrinking bracket (bisection whenever a step would leave it), to a relative precision of 1e-12.
 */
function solve(f: (p: number) => number, df: (p: number) => number, target: number, lo: number, hi: number, increasing: boolean): number {
  let x = (lo + hi) / 2;
  for (let i = 0; i < 200; i++) {
    const fx = f(x) - target;
    if (fx === 0) return x;
    if (fx < 0 === increasing) lo = x;
    else hi = x;
    const slope = df(x);
    let next = slope !== 0 ? x - fx / slope : NaN;
    if (!(next > lo && next < hi)) next = (lo + hi) / 2;
    if (abs(next - x) <= 1e-12 * max(next, 1e-300) || hi - lo <= 1e-12 * hi) return next;
    x = next;
  }
  return x;
}

/**
 * Clopper–Pearson (exact) one-sided lower confidence bound for a binomial proportion: the smallest
 * p not rejected, i.e. P_p(X ≥ bad) = alpha. With probability at least 1 − alpha it lies below the
 * true proportion, for every n and true p (no normal approximation).
 */
export function lowerBound(bad: number, n: number, alpha: number): number {
  if (n <= 0 || bad <= 0) return 0;
  return solve((p) => binomialUpperTail(bad, n, p), (p) => betaDensity(p, bad, n - bad + 1), alpha, 0, bad / n, true);
}

/** Clopper–Pearson one-sided upper confidence bound: P_p(X ≤ bad) = alpha. 1 when n = 0. */
export function upperBound(bad: number, n: number, alpha: number): number {
  if (n <= 0 || bad >= n) return 1;
  return solve((p) => binomialLowerTail(bad, n, p), (p) => -betaDensity(p, bad + 1, n - bad), alpha, bad / n, 1, false);
}

/**
 * Whether the lower bound at level alpha lies strictly above p0, decided from one tail (exact, no
 * bisection): L > p0 ⟺ P_{p0}(X ≥ bad) < alpha.
 */
export function lowerBoundAbove(bad: number, n: number, p0: number, alpha: number): boolean {
  if (n <= 0 || bad <= 0) return false;
  return binomialUpperTail(bad, n, p0) < alpha;
}

/** Whether the upper bound at level alpha is at most p0: U ≤ p0 ⟺ P_{p0}(X ≤ bad) ≤ alpha. */
export function upperBoundAtMost(bad: number, n: number, p0: number, alpha: number): boolean {
  if (n <= 0) return false;
  if (p0 >= 1) return true;
  return binomialLowerTail(bad, n, p0) <= alpha;
}

/**
 * Fisher's exact test, one-sided: the p-value of "group A's proportion is larger than group B's"
 * under H0: p_A ≤ p_B. Conditional on the total of bad events, A's share is hypergeometric; the
 * p-value is P(X ≥ badA). Valid (conservative) for the whole composite null p_A ≤ p_B.
 */
export function fisherGreaterPValue(badA: number, nA: number, badB: number, nB: number): number {
  const N = nA + nB;
  const K = badA + badB;
  if (nA <= 0 || nB <= 0 || K === 0) return 1;
  const lo = max(0, nA - (N - K));
  const hi = min(K, nA);
  if (badA <= lo) return 1;
  const logDenominator = logChoose(N, nA);
  const logPmf = (x: number): number => logChoose(K, x) + logChoose(N - K, nA - x) - logDenominator;
  // pmf(x+1)/pmf(x) = (K−x)(nA−x) / ((x+1)(N−K−nA+x+1)). Sum the tail from its end nearest the
  // mode: the terms shrink away from the mode, so the sum stops once they no longer count.
  const mode = floor(((nA + 1) * (K + 1)) / (N + 2));
  const ratioUp = (x: number): number => ((K - x) * (nA - x)) / ((x + 1) * (N - K - nA + x + 1));
  const sumFrom = (start: number, end: number, step: 1 | -1): number => {
    let term = exp(logPmf(start));
    let sum = 0;
    for (let x = start; step === 1 ? x <= end : x >= end; x += step) {
      sum += term;
      if (term < sum * 1e-17) break;
      term = step === 1 ? term * ratioUp(x) : term / ratioUp(x - 1);
    }
    return sum;
  };
  if (badA >= mode) return min(1, sumFrom(badA, hi, 1));
  return max(0, min(1, 1 - sumFrom(badA - 1, lo, -1)));
}

/**
 * The share of alpha spent at look k (1-based): alpha · 6 / (π² k²). The shares sum to alpha over
 * infinitely many looks (Σ 1/k² = π²/6), so a union bound over all looks of the same canary keeps
 * the overall error at most alpha however long the canary runs, and whatever the dependence
 * between looks (overlapping windows included).
 */
export function alphaAtLook(alpha: number, look: number): number {
  const k = max(1, floor(look));
  return (alpha * 6) / (PI * PI * k * k);
}
