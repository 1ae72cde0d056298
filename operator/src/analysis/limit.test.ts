import { judge, levels } from './judge.ts';
import { requestsToDecide } from './limit.ts';
import { lowerBoundAbove, upperBoundAtMost } from './stats.ts';
import { analysisSpec } from './test-fixtures.ts';

const analysis = analysisSpec();

describe('requestsToDecide', () => {
  it.each([
    ['25% bad at 99.9% @14.4 (10 of 40)', 0.25, 99.9, 14.4],
    ['5% bad at 99.9% @6', 0.05, 99.9, 6],
    ['2% bad at 99.9% @6', 0.02, 99.9, 6],
    ['1% bad at 99.9% @6', 0.01, 99.9, 6],
    ['0.1% bad at 99.9% @14.4 (a healthy canary)', 0.001, 99.9, 14.4],
    ['no errors at 99.9% @6', 0, 99.9, 6],
  ])('%s: the fewest requests, exactly', (_name, badRatio, objective, threshold) => {
    const d = requestsToDecide({ badRatio, objective, threshold });
    const line = threshold * ((100 - objective) / 100);
    const decides = (n: number) => (d.decision === 'fail' ? lowerBoundAbove(n * badRatio, n, line, 0.05) : upperBoundAtMost(n * badRatio, n, line, 0.05));
    expect(d.decision).toBe(badRatio > line ? 'fail' : 'pass');
    expect(Number.isFinite(d.requests)).toBe(true);
    expect(decides(d.requests)).toBe(true);
    expect(decides(d.requests - 1)).toBe(false);
  });

  it('matches the closed form with no bad events: (1 − line)^n ≤ alpha', () => {
    const line = 6 * 0.001;
    expect(requestsToDecide({ badRatio: 0, objective: 99.9, threshold: 6 }).requests).toBe(Math.ceil(Math.log(0.05) / Math.log(1 - line) - 1e-9));
  });

  it('needs more requests the closer the bad ratio is to the line, and none can decide on it', () => {
    const n = [0.05, 0.02, 0.01, 0.008, 0.007].map((badRatio) => requestsToDecide({ badRatio, objective: 99.9, threshold: 6 }).requests);
    expect([...n].sort((a, b) => a - b)).toEqual(n);
    expect(requestsToDecide({ badRatio: 0.006, objective: 99.9, threshold: 6 })).toEqual({ decision: 'undecidable', requests: Infinity });
  });

  it('counts minRequests for passes only', () => {
    expect(requestsToDecide({ badRatio: 0, objective: 99, threshold: 10, minRequests: 500 }).requests).toBe(500);
    expect(requestsToDecide({ badRatio: 0.5, objective: 99, threshold: 10, minRequests: 500 }).requests).toBeLessThan(50);
  });

  it("gives what judge() needs at a look with that look's levels, and judge() agrees", () => {
    const fixed = requestsToDecide({ badRatio: 0.25, objective: 99.9, threshold: 14.4 }).requests;
    const atLook = requestsToDecide({ badRatio: 0.25, objective: 99.9, threshold: 14.4, alpha: levels(analysis, 1).fail }).requests;
    expect(atLook).toBeGreaterThan(fixed);
    const measure = (n: number) => {
      const bad = Math.round(n * 0.25);
      const request = { id: 'canary/availability/1m', role: 'canary' as const, revision: 'c', slo: 'availability', window: '1m', windowSeconds: 60, specWindows: ['5m', '1h', '30m', '6h'], goodQuery: '', totalQuery: '' };
      return judge({ analysis: { ...analysis, compareWithStable: false }, requests: [request], answers: [{ id: request.id, ok: true, good: n - bad, total: n }], look: 1 }).verdict;
    };
    // compareWithStable off halves the number of fail tests: judge() decides no later than atLook.
    expect(measure(atLook + 4)).toBe('fail');
    expect(measure(Math.max(1, fixed - 4))).not.toBe('fail');
  });
});
