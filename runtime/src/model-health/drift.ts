// Drift statistics of a recent window against a baseline sample. Pure functions.

/** Interior bin edges at the baseline's quantiles (10 equal-mass bins by default). */
export function quantileEdges(sortedBaseline: readonly number[], bins = 10): number[] {
  const edges: number[] = [];
  for (let i = 1; i < bins; i++) {
    const v = sortedBaseline[Math.min(sortedBaseline.length - 1, Math.floor((i * sortedBaseline.length) / bins))];
    if (v !== undefined && (edges.length === 0 || v > (edges[edges.length - 1] as number))) edges.push(v);
  }
  return edges;
}

function binShares(values: readonly number[], edges: readonly number[]): number[] {
  const counts = new Array<number>(edges.length + 1).fill(0);
  for (const v of values) {
    // Bins are [edge[i-1], edge[i]); few edges, so a linear scan is fine.
    let b = 0;
    while (b < edges.length && v >= (edges[b] as number)) b++;
    counts[b] = (counts[b] as number) + 1;
  }
  return counts.map((c) => c / Math.max(1, values.length));
}

/**
 * Population stability index over the baseline's quantile bins. Empty bins are floored at a small
 * share so one empty bin does not make the index infinite. < 0.1 stable, 0.1–0.25 moderate, > 0.25 major.
 */
export function psi(sortedBaseline: readonly number[], current: readonly number[], bins = 10): number {
  if (sortedBaseline.length === 0 || current.length === 0) return NaN;
  const edges = quantileEdges(sortedBaseline, bins);
  const expected = binShares(sortedBaseline, edges);
  const actual = binShares(current, edges);
  const eps = 1e-4;
  let sum = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = Math.max(expected[i] as number, eps);
    const a = Math.max(actual[i] as number, eps);
    sum += (a - e) * Math.log(a / e);
  }
  return sum;
}

/** Two-sample Kolmogorov–Smirnov statistic: the largest gap between the empirical CDFs. */
export function ksStatistic(sortedA: readonly number[], sortedB: readonly number[]): number {
  const n = sortedA.length;
  const m = sortedB.length;
  if (n === 0 || m === 0) return NaN;
  let i = 0;
  let j = 0;
  let d = 0;
  while (i < n && j < m) {
    const a = sortedA[i] as number;
    const b = sortedB[j] as number;
    const x = Math.min(a, b);
    while (i < n && (sortedA[i] as number) <= x) i++;
    while (j < m && (sortedB[j] as number) <= x) j++;
    d = Math.max(d, Math.abs(i / n - j / m));
  }
  return d;
}

/** Asymptotic p-value of a two-sample KS statistic (Kolmogorov distribution). */
export function ksPValue(d: number, n: number, m: number): number {
  if (!Number.isFinite(d) || n === 0 || m === 0) return NaN;
  const en = Math.sqrt((n * m) / (n + m));
  const lambda = (en + 0.12 + 0.11 / en) * d;
  if (lambda < 1e-3) return 1;
  let sum = 0;
  for (let k = 1; k <= 100; k++) {
    const term = 2 * (k % 2 === 1 ? 1 : -1) * Math.exp(-2 * k * k * lambda * lambda);
    sum += term;
    if (Math.abs(term) < 1e-10) break;
  }
  return Math.min(1, Math.max(0, sum));
}
