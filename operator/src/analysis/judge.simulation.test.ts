// Repeated looks at the same canary: the false-fail (and false-pass) rate over a canary's whole life
// must stay within alpha. A canary exactly on the line threshold × budget is the worst case for both
// errors: any fail is a false fail (its true burn rate is not above the threshold) and any pass is a
// false pass (it is not below it). The same simulated counts judged by a fixed-sample test re-run at
// every look (alpha 0.05 each time) show what the alpha spending prevents: that test fails and
// passes such canaries far more often than 5%.
import type { AnalysisSpec } from '../api/types.ts';
import { DEFAULT_ALPHA, judge } from './judge.ts';
import { planMeasurements } from './plan.ts';
import { lowerBoundAbove, upperBoundAtMost } from './stats.ts';
import { analysisSpec } from './test-fixtures.ts';
import type { MeasurementAnswer } from './types.ts';
import { seededRandom } from '../../../lib/test-support/seeded-random.ts';

const binomial = (n: number, p: number, random: () => number): number => {
  let k = 0;
  for (let i = 0; i < n; i++) if (random() < p) k++;
  return k;
};

interface Simulation {
  runs: number;
  looks: number;
  /** Runs with at least one fail / pass verdict from judge(). */
  judgeFails: number;
  judgePasses: number;
  /** The same for a fixed-sample test at level alpha re-run at every look. */
  naiveFails: number;
  naivePasses: number;
}

/**
 * `runs` canaries with a constant true bad ratio, looked at every `intervalSeconds` for `looks`
 * looks. Each interval brings `perInterval` requests; every window is the sum of its intervals
 * (capped at the canary's age, as planMeasurements caps it).
 */
function simulate(o: { analysis: AnalysisSpec; badRatio: number; runs: number; looks: number; intervalSeconds: number; perInterval: number; random: () => number }): Simulation {
  const start = new Date('2026-03-01T00:00:00Z');
  const pair = o.analysis.burnRateWindows[0];
  const slo = o.analysis.slos[0];
  if (!pair || !slo) throw new Error('the simulation needs one SLO and one window pair');
  const line = pair.threshold * ((100 - slo.objective) / 100);
  const out: Simulation = { runs: o.runs, looks: o.looks, judgeFails: 0, judgePasses: 0, naiveFails: 0, naivePasses: 0 };
  for (let run = 0; run < o.runs; run++) {
    const bad: number[] = [];
    let failed = false;
    let passed = false;
    let naiveFailed = false;
    let naivePassed = false;
    for (let look = 1; look <= o.looks; look++) {
      bad.push(binomial(o.perInterval, o.badRatio, o.random));
      const now = new Date(start.getTime() + look * o.intervalSeconds * 1000);
      const plan = planMeasurements({ analysis: o.analysis, namespace: 'sim', servedModelName: 'm', canary: { revision: 'c', since: start }, now, scrapeIntervalSeconds: 5 });
      const counts = plan.requests.map((r) => {
        const intervals = Math.round(r.windowSeconds / o.intervalSeconds);
        const b = bad.slice(-intervals).reduce((x, y) => x + y, 0);
        return { request: r, total: intervals * o.perInterval, bad: b };
      });
      const answers: MeasurementAnswer[] = counts.map((c) => ({ id: c.request.id, ok: true, good: c.total - c.bad, total: c.total }));
      const j = judge({ analysis: o.analysis, requests: plan.requests, answers, look });
      failed ||= j.verdict === 'fail';
      passed ||= j.verdict === 'pass';
      const windows = [pair.short, pair.long].map((w) => counts.find((c) => c.request.specWindows.includes(w)));
      if (windows.every((c) => c !== undefined)) {
        naiveFailed ||= windows.every((c) => c !== undefined && lowerBoundAbove(c.bad, c.total, line, DEFAULT_ALPHA));
        naivePassed ||= windows.every((c) => c !== undefined && c.total >= o.analysis.minRequests && upperBoundAtMost(c.bad, c.total, line, DEFAULT_ALPHA));
      }
    }
    out.judgeFails += failed ? 1 : 0;
    out.judgePasses += passed ? 1 : 0;
    out.naiveFails += naiveFailed ? 1 : 0;
    out.naivePasses += naivePassed ? 1 : 0;
  }
  return out;
}

describe('judge under repeated looks', () => {
  // 99% objective (1% budget), one pair 1m/5m at 2×: the line is a 2% bad ratio. 100 requests every
  // 10 s, 50 looks (8 minutes 20 s): the 1m window holds 600 requests, the 5m one up to 3000.
  const analysis = analysisSpec({
    interval: '10s',
    slos: [{ name: 'availability', builtin: 'availability', objective: 99 }],
    burnRateWindows: [{ short: '1m', long: '5m', threshold: 2 }],
    minRequests: 50,
    compareWithStable: false,
  });
  const base = { analysis, runs: 200, looks: 50, intervalSeconds: 10, perInterval: 100 };

  it('keeps false fails and false passes of a canary on the line within alpha over 50 looks', () => {
    const s = simulate({ ...base, badRatio: 0.02, random: seededRandom(20260301) });
    expect(s.judgeFails / s.runs).toBeLessThanOrEqual(DEFAULT_ALPHA);
    expect(s.judgePasses / s.runs).toBeLessThanOrEqual(DEFAULT_ALPHA);
    // What re-running a fixed-sample test at every look would do to the same canaries.
    expect(s.naiveFails / s.runs).toBeGreaterThan(DEFAULT_ALPHA);
    expect(s.naivePasses / s.runs).toBeGreaterThan(DEFAULT_ALPHA);
  });

  it('still decides clear cases: a healthy canary passes and a 3× regression fails', () => {
    const healthy = simulate({ ...base, runs: 20, looks: 30, badRatio: 0.002, random: seededRandom(7) });
    expect(healthy.judgeFails).toBe(0);
    expect(healthy.judgePasses).toBe(healthy.runs);
    const bad = simulate({ ...base, runs: 20, looks: 30, badRatio: 0.06, random: seededRandom(8) });
    expect(bad.judgeFails).toBe(bad.runs);
    expect(bad.judgePasses).toBe(0);
  });
});
