import { parseDuration, parseOnnxModel } from '../api/parse.ts';
import { judge, levels } from './judge.ts';
import { requestsToDecide } from './limit.ts';
import { lowerBoundAbove, upperBoundAtMost } from './stats.ts';
import { analysisSpec, AVAILABILITY } from './test-fixtures.ts';

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

describe('the default analysis', () => {
  // Every default as the parser applies it (not the test fixture, which pins its own values).
  const defaults = parseOnnxModel({
    apiVersion: 'serving.onnxop.io/v1alpha1',
    kind: 'OnnxModel',
    metadata: { name: 'm', namespace: 'ns', uid: 'u' },
    spec: { model: { uri: 'https://models.example.com/m.onnx', digest: `sha256:${'a'.repeat(64)}` }, rollout: { steps: [{ weight: 20 }], analysis: { slos: [AVAILABILITY] } } },
  }).spec.rollout.analysis;
  if (!defaults) throw new Error('no analysis parsed');
  const intervalSeconds = (parseDuration(defaults.interval) ?? 0) / 1000;
  /** Canary requests a pass needs at look k: every pair must pass, so the strictest line decides. */
  const passNeeds = (k: number, badRatio = 0) =>
    Math.max(...defaults.burnRateWindows.map((w) => requestsToDecide({ badRatio, objective: AVAILABILITY.objective, threshold: w.threshold, alpha: levels(defaults, k).pass, minRequests: defaults.minRequests }).requests));

  it('lets a canary without errors at 2.5 req/s pass before maxInconclusive pauses it', () => {
    // The longest window is capped at the canary's age, at least k intervals at look k.
    const k = defaults.maxInconclusive;
    expect(passNeeds(k)).toBeLessThanOrEqual(2.5 * k * intervalSeconds);
    // …and judge() agrees on those counts.
    const requests = Math.ceil(2.5 * k * intervalSeconds);
    const plan = defaults.burnRateWindows.flatMap((w) => [w.short, w.long]).map((w) => ({ id: `canary/availability/${w}`, role: 'canary' as const, revision: 'c', slo: 'availability', window: w, windowSeconds: 60, specWindows: [w], goodQuery: '', totalQuery: '' }));
    const verdict = judge({ analysis: { ...defaults, compareWithStable: false }, requests: plan, answers: plan.map((r) => ({ id: r.id, ok: true, good: requests, total: requests })), look: k }).verdict;
    expect(verdict).toBe('pass');
  });

  it('would pause the same canary under the old default of 3 looks: it needs about 6 req/s for that', () => {
    expect(passNeeds(3)).toBeGreaterThan(2.5 * 3 * intervalSeconds);
    expect(passNeeds(3) / (3 * intervalSeconds)).toBeGreaterThan(5.5);
  });
});

