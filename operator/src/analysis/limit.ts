// The statistical limit the rollout benchmark compares the analysis against.
import { budgetOf } from './judge.ts';
import { lowerBoundAbove, upperBoundAtMost } from './stats.ts';

export interface DecideInput {
  /** The canary's true bad ratio (bad events / requests), 0 ≤ badRatio ≤ 1. */
  badRatio: number;
  /** SLO objective in percent (99.9): the budget is 1 − objective/100. */
  objective: number;
  /** Burn-rate threshold of the window pair: the line is threshold × budget. */
  threshold: number;
  /**
   * One-sided error probability of the decision. Default 0.05: the fixed-sample reference, one test
   * looked at once. To get what judge() needs at look k instead, pass `levels(analysis, k).fail`
   * (when badRatio is above the line) or `.pass` (below it).
   */
  alpha?: number;
  /** Requests a pass needs anyway (analysis.minRequests); default 0. Does not apply to fails. */
  minRequests?: number;
}

export interface Decision {
  /** Which way the evidence goes at this bad ratio; `undecidable` exactly on the line. */
  decision: 'fail' | 'pass' | 'undecidable';
  /** The fewest requests; Infinity when undecidable (or beyond 10¹² requests). */
  requests: number;
}

/**
 * The fewest canary requests after which an exact one-sided test at level alpha separates a canary
 * whose true bad ratio is `badRatio` from the line threshold × budget, for a sample that shows
 * exactly its expected share of bad events (b = n · badRatio, fractional counts allowed so that the
 * answer is a smooth function of the ratio): fail when the Clopper–Pearson lower bound of b/n is
 * above the line, pass when the upper bound is at most the line (and n ≥ minRequests).
 *
 * This is the "statistical limit" of docs/analysis.md: with the default alpha, what one test looked
 * at once needs; no valid test at the same error rate does much better on a typical sample (a
 * sequential test can save a constant factor in expectation, not the order of magnitude). Divide by
 * the canary's request rate (total rate × weight) for seconds. The closer badRatio is to the line,
 * the more requests any test needs: n grows like 1/(badRatio − line)²; on the line no finite n does.
 */
export function requestsToDecide(input: DecideInput): Decision {
  const { badRatio, objective, threshold } = input;
  const alpha = input.alpha ?? 0.05;
  const line = Math.min(1, threshold * budgetOf(objective));
  // On the line up to rounding (6 × (100 − 99.9)/100 is 0.005999…): no finite sample separates them.
  if (!(badRatio >= 0 && badRatio <= 1) || Math.abs(badRatio - line) <= 1e-9 * line) return { decision: 'undecidable', requests: Infinity };
  const decision = badRatio > line ? 'fail' : 'pass';
  const least = decision === 'pass' ? Math.max(1, Math.ceil(input.minRequests ?? 0)) : 1;
  const decides = (n: number): boolean => (decision === 'fail' ? lowerBoundAbove(n * badRatio, n, line, alpha) : upperBoundAtMost(n * badRatio, n, line, alpha));
  const cap = 1e12;
  let hi = least;
  while (!decides(hi)) {
    if (hi >= cap) return { decision, requests: Infinity };
    hi = Math.min(cap, hi * 2);
  }
  let lo = Math.max(least, Math.floor(hi / 2));
  if (decides(lo)) return { decision, requests: lo };
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (decides(mid)) hi = mid;
    else lo = mid;
  }
  return { decision, requests: hi };
}
