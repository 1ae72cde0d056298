import type { AnalysisSpec, NoDataPolicy, SloSpec } from '../api/types.ts';
import { judge, levels } from './judge.ts';
import { planMeasurements } from './plan.ts';
import { AVAILABILITY, analysisSpec } from './test-fixtures.ts';
import type { MeasurementAnswer, MeasurementRequest, Role } from './types.ts';

const NOW = new Date('2026-03-01T12:00:00Z');

const analysis = analysisSpec;

type Counts = { bad: number; total: number } | { good: number | null; total: number | null } | { error: string } | 'missing';
type Traffic = (role: Role, req: MeasurementRequest) => Counts;

/** Plans for a canary of the given age and answers every request from `traffic`. */
function run(spec: AnalysisSpec, ageSeconds: number, traffic: Traffic, look = 1, stable = true) {
  const plan = planMeasurements({
    analysis: spec,
    namespace: 'ml',
    servedModelName: 'fraud',
    canary: { revision: 'c1', since: new Date(NOW.getTime() - ageSeconds * 1000) },
    ...(stable ? { stable: { revision: 's0' } } : {}),
    now: NOW,
    scrapeIntervalSeconds: 15,
  });
  const answers: MeasurementAnswer[] = plan.requests.flatMap((r): MeasurementAnswer[] => {
    const c = traffic(r.role, r);
    if (c === 'missing') return [];
    if ('error' in c) return [{ id: r.id, ok: false, error: c.error }];
    if ('bad' in c) return [{ id: r.id, ok: true, good: c.total - c.bad, total: c.total }];
    return [{ id: r.id, ok: true, good: c.good, total: c.total }];
  });
  return judge({ analysis: spec, requests: plan.requests, answers, look });
}

/** Steady traffic: requests per second and bad ratio per role, counts proportional to the window. */
const steady =
  (canary: { rps: number; bad: number }, stable: { rps: number; bad: number } = { rps: canary.rps * 4, bad: 0.0001 }): Traffic =>
  (role, r) => {
    const t = role === 'canary' ? canary : stable;
    const total = Math.round(t.rps * r.windowSeconds);
    return { total, bad: Math.round(total * t.bad) };
  };
const fixed =
  (canary: Counts, stable: Counts = { bad: 0, total: 2000 }): Traffic =>
  (role) =>
    role === 'canary' ? canary : stable;

describe('judge: failing on strong evidence', () => {
  it.each([
    ['alone', false],
    ['with a healthy stable to compare', true],
  ])('fails a canary with 10 bad of its first 40 requests at 99.9%% without waiting for minRequests (%s)', (_name, stable) => {
    const j = run(analysis(), 60, fixed({ bad: 10, total: 40 }), 1, stable);
    expect(j.verdict).toBe('fail');
    expect(j.reason).toBe('BudgetBurning');
    expect(j.failure).toMatchObject({ slo: 'availability', reason: 'BudgetBurning', short: '5m', long: '1h', requests: 40, badEvents: 10, threshold: 14.4 });
    expect(j.failure?.lowerBound).toBeGreaterThan(14.4);
    expect(j.failure?.burnRates).toEqual([
      { window: '5m', burnRate: expect.closeTo(250, 6) },
      { window: '1h', burnRate: expect.closeTo(250, 6) },
    ]);
    expect(j.message).toMatch(/availability: 5m\/1h: burning the error budget faster than 14\.4× in both windows/);
    expect(j.message).toContain("5m and 1h (both capped at the canary's age: 1m): 10 bad of 40 (25%), burn rate 250× [bounds 106×–");
    expect(j.message).toContain('objective 99.9%');
  });

  it.each([
    ['1 bad of 40, stable 0 of 2000', { bad: 1, total: 40 }, true],
    ['2 bad of 40, nothing to compare with', { bad: 2, total: 40 }, false],
  ])('does not fail on weak evidence: %s', (_name, counts, stable) => {
    const j = run(analysis(), 60, fixed(counts), 1, stable);
    expect([j.verdict, j.reason]).toEqual(['inconclusive', 'NotEnoughData']);
    expect(j.failure).toBeUndefined();
  });

  it('fails 2 bad of 40 next to a clean stable: significantly worse, and above 1× the budget', () => {
    expect(run(analysis(), 60, fixed({ bad: 2, total: 40 }, { bad: 0, total: 2000 })).reason).toBe('WorseThanStable');
  });

  it('fails a pair only when both of its windows burn (a short spike alone does not)', () => {
    // Two hours old: 5m burns at 42×, 1h at 4×; 30m at 8×, 6h capped at 2h at 2×.
    const byWindow: Record<string, { bad: number; total: number }> = {
      '5m': { bad: 50, total: 1200 },
      '30m': { bad: 60, total: 7200 },
      '1h': { bad: 60, total: 14400 },
      '2h': { bad: 60, total: 28800 },
    };
    const j = run(analysis({ compareWithStable: false }), 7200, (_role, r) => byWindow[r.window] ?? 'missing');
    expect(j.verdict).toBe('inconclusive');
    expect(j.evidence[0]?.pairs.map((p) => p.reason)).toEqual(['NotEnoughData', 'NotEnoughData']);
  });

  it('needs more evidence at later looks: the bounds widen as alpha is spent', () => {
    const counts = fixed({ bad: 4, total: 100 });
    const early = run(analysis({ compareWithStable: false }), 60, counts, 1);
    const late = run(analysis({ compareWithStable: false }), 60, counts, 200);
    expect(early.verdict).toBe('fail');
    expect(late.verdict).toBe('inconclusive');
    const lower = (j: typeof early) => j.evidence[0]?.pairs[0]?.canary[0]?.burnRateLower ?? NaN;
    expect(lower(late)).toBeLessThan(lower(early));
    expect(levels(analysis(), 200).fail).toBeLessThan(levels(analysis(), 1).fail);
  });
});

describe('judge: passing', () => {
  it('passes a healthy canary with enough requests in every window', () => {
    const j = run(analysis(), 7 * 3600, steady({ rps: 4, bad: 0.0005 }), 10);
    expect(j.verdict).toBe('pass');
    expect(j.reason).toBe('WithinBudget');
    expect(j.failure).toBeUndefined();
    expect(j.slos).toEqual([
      {
        name: 'availability',
        requests: 86400,
        badEvents: 43,
        // 1 bad of 1200, 7 of 14400, 4 of 7200, 43 of 86400 (0.05% rounded per window).
        burnRates: [
          { window: '5m', burnRate: expect.closeTo(1 / 1.2, 2) },
          { window: '1h', burnRate: expect.closeTo(7 / 14.4, 2) },
          { window: '30m', burnRate: expect.closeTo(4 / 7.2, 2) },
          { window: '6h', burnRate: expect.closeTo(43 / 86.4, 2) },
        ],
        verdict: 'pass',
        message: expect.stringMatching(/^availability: within budget: 5m\/1h: within 14\.4×.* \| 30m\/6h: within 6×/),
      },
    ]);
  });

  it.each([
    ['fewer than minRequests in every window of a pair', analysis({ minRequests: 20000 }), 7 * 3600, steady({ rps: 4, bad: 0 })],
    ['a young canary with a clean but short record', analysis(), 120, steady({ rps: 0.5, bad: 0 })],
    ['a bad ratio whose upper bound is above threshold × budget', analysis({ compareWithStable: false }), 7 * 3600, steady({ rps: 4, bad: 0.0058 })],
  ])('does not pass %s', (_name, spec, age, traffic) => {
    const j = run(spec, age, traffic, 5);
    expect(j.verdict).toBe('inconclusive');
    expect(j.reason).toBe('NotEnoughData');
  });

  it('counts minRequests per window: a pair passes on the window that has them (the long one at low traffic)', () => {
    const spec = analysis({ minRequests: 1000, burnRateWindows: [{ short: '5m', long: '1h', threshold: 14.4 }], compareWithStable: false });
    expect(run(spec, 7200, steady({ rps: 0.3, bad: 0 })).verdict).toBe('pass'); // 90 in 5m, 1080 in 1h
    expect(run(spec, 7200, steady({ rps: 0.27, bad: 0 })).verdict).toBe('inconclusive'); // 81 in 5m, 972 in 1h
  });
});

describe('judge: no data is never a pass', () => {
  const legacyPass = 'Pass' as string as NoDataPolicy;
  it.each<[string, Counts, NoDataPolicy, string, string]>([
    ['no series', { good: null, total: null }, 'Inconclusive', 'inconclusive', 'NoData'],
    ['zero requests', { bad: 0, total: 0 }, 'Inconclusive', 'inconclusive', 'NoData'],
    ['zero requests, policy Fail', { bad: 0, total: 0 }, 'Fail', 'fail', 'NoData'],
    ['no series, policy Pass (being removed: treated as Inconclusive)', { good: null, total: null }, legacyPass, 'inconclusive', 'NoData'],
  ])('%s', (_name, counts, noDataPolicy, verdict, reason) => {
    for (const minRequests of [0, 100]) {
      const j = run(analysis({ noDataPolicy, minRequests }), 7 * 3600, fixed(counts));
      expect([j.verdict, j.reason]).toEqual([verdict, reason]);
      expect(j.slos[0]).toMatchObject({ requests: 0, badEvents: 0, burnRates: [] });
      if (verdict === 'fail') expect(j.failure).toMatchObject({ reason: 'NoData', requests: 0, long: '6h' });
    }
  });

  it('reads a missing good series with requests as zero good events (every request failed)', () => {
    const j = run(analysis(), 60, fixed({ good: null, total: 40 }));
    expect(j.verdict).toBe('fail');
    expect(j.failure).toMatchObject({ requests: 40, badEvents: 40 });
  });

  it('waits for data while the canary is younger than two scrapes', () => {
    const j = run(analysis(), 10, fixed({ bad: 0, total: 0 }));
    expect([j.verdict, j.reason]).toEqual(['inconclusive', 'WaitingForData']);
  });
});

describe('judge: comparison with stable', () => {
  it('does not blame the canary for a shared incident', () => {
    const j = run(analysis(), 600, fixed({ bad: 30, total: 400 }, { bad: 150, total: 2000 }));
    expect(j.verdict).toBe('inconclusive');
    expect(j.reason).toBe('SharedIncident');
    expect(j.message).toMatch(/stable revision burns faster than 14\.4× too, a shared incident/);
    expect(j.failure).toBeUndefined();
  });

  it('still fails a canary far worse than a stable revision in a shared incident', () => {
    const j = run(analysis(), 600, fixed({ bad: 200, total: 400 }, { bad: 150, total: 2000 }));
    expect([j.verdict, j.reason]).toEqual(['fail', 'WorseThanStable']);
  });

  it('does not blame the canary while the stable revision may be burning as fast (a shared incident its counts do not prove yet)', () => {
    // Seen in bench:peers ten seconds into a shared incident: stable 6 bad of 156 (3.8%, burn 38×,
    // lower bound under 14.4×), canary 4 bad of 39: not significantly worse than stable.
    const j = run(analysis(), 600, fixed({ bad: 4, total: 39 }, { bad: 6, total: 156 }));
    expect([j.verdict, j.reason]).toEqual(['inconclusive', 'SharedIncident']);
    expect(j.message).toMatch(/cannot rule out that it burns as fast \(likely a shared incident\)/);
    expect(j.failure).toBeUndefined();
  });

  it('holds a burning canary when the stable revision has too few requests to be called clear, unless the canary is significantly worse', () => {
    // Stable 0 bad of 40: its upper bound is above 14.4 × 0.1%, so stable is not proven clear.
    const held = run(analysis(), 600, fixed({ bad: 3, total: 40 }, { bad: 0, total: 40 }));
    expect([held.verdict, held.reason]).toEqual(['inconclusive', 'NotEnoughData']);
    const failed = run(analysis(), 600, fixed({ bad: 20, total: 40 }, { bad: 0, total: 40 }));
    expect([failed.verdict, failed.reason]).toEqual(['fail', 'WorseThanStable']);
  });

  it('blames the canary when stable is healthy', () => {
    const j = run(analysis(), 600, fixed({ bad: 30, total: 400 }, { bad: 1, total: 2000 }));
    expect([j.verdict, j.reason]).toEqual(['fail', 'BudgetBurning']);
  });

  it('fails a canary significantly worse than stable that burns budget, below every threshold', () => {
    // 0.5% errors: below 14.4 × 0.1% and 6 × 0.1%, but 5× the budget and 50× stable's 0.01%.
    const j = run(analysis(), 7 * 3600, steady({ rps: 4, bad: 0.005 }, { rps: 16, bad: 0.0001 }), 3);
    expect([j.verdict, j.reason]).toEqual(['fail', 'WorseThanStable']);
    // 5m/1h: 6 bad of 1200 in 5m is not yet strong evidence of burning over 1×; 30m/6h decides.
    expect(j.failure).toMatchObject({ reason: 'WorseThanStable', short: '30m', long: '6h', threshold: 1, requests: 86400, badEvents: 432 });
    expect(j.failure?.stable).toEqual({ revision: 's0', requests: 345600, badEvents: 35, burnRates: [expect.objectContaining({ window: '30m' }), expect.objectContaining({ window: '6h' })] });
    expect(j.failure?.lowerBound).toBeGreaterThan(1);
    expect(j.message).toMatch(/significantly worse than stable \(Fisher one-sided p = /);
  });

  it.each([
    ['as good as stable', { rps: 4, bad: 0.0005 }, { rps: 16, bad: 0.0005 }],
    ['worse than stable but within the budget (burn below 1×)', { rps: 4, bad: 0.0008 }, { rps: 16, bad: 0.00001 }],
  ])('does not fail a canary %s', (_name, canary, stable) => {
    const j = run(analysis(), 7 * 3600, steady(canary, stable), 3);
    expect(j.verdict).toBe('pass');
  });
});

describe('judge: errors', () => {
  it.each<[string, Traffic, RegExp]>([
    ['a failed canary query', (role, r) => (role === 'canary' && r.window === '1h' ? { error: 'timeout after 5s' } : { bad: 0, total: 5000 }), /query canary\/availability\/1h failed: timeout after 5s/],
    ['a missing answer', (role, r) => (role === 'canary' && r.window === '5m' ? 'missing' : { bad: 0, total: 5000 }), /query canary\/availability\/5m got no answer/],
    ['a negative count', (role) => (role === 'canary' ? { good: 5, total: -1 } : { bad: 0, total: 5000 }), /invalid count/],
    ['a failed stable query while the canary burns (a shared incident cannot be ruled out)', (role) => (role === 'stable' ? { error: 'bad_data' } : { bad: 10, total: 40 }), /query stable\/availability\/.* failed: bad_data/],
  ])('%s is an error', (_name, traffic, message) => {
    const j = run(analysis(), 7 * 3600, traffic);
    expect([j.verdict, j.reason]).toEqual(['error', 'QueryError']);
    expect(j.message).toMatch(message);
  });

  it('lets a fail on strong evidence in one SLO stand over a query error in another', () => {
    const latency: SloSpec = { name: 'latency', builtin: 'latency', objective: 99, latencyThresholdSeconds: 0.25 };
    const j = run(analysis({ slos: [latency, AVAILABILITY] }), 60, (_role, r) => (r.slo === 'latency' ? { error: 'unreachable' } : { bad: 10, total: 40 }), 1, false);
    expect([j.verdict, j.reason]).toEqual(['fail', 'BudgetBurning']);
    expect(j.failure?.slo).toBe('availability');
    expect(j.slos.map((s) => s.verdict)).toEqual(['error', 'fail']);
    expect(j.message).toContain('[others: latency: error (QueryError)]');
  });

  it('reports an SLO the spec check refuses as an error naming the field', () => {
    const j = run(analysis({ slos: [{ name: 'lat', builtin: 'latency', objective: 99, latencyThresholdSeconds: 0.3 }] }), 7200, fixed({ bad: 0, total: 0 }));
    expect([j.verdict, j.reason]).toEqual(['error', 'QueryError']);
    expect(j.message).toContain('spec.rollout.analysis.slos[0].latencyThresholdSeconds');
  });
});

describe('judge: what status gets', () => {
  it('keeps status.lastAnalysis.slos to the API fields, with the spec windows as names', () => {
    const j = run(analysis(), 20 * 60, steady({ rps: 4, bad: 0.001 }));
    for (const s of j.slos) expect(Object.keys(s).sort()).toEqual(['badEvents', 'burnRates', 'message', 'name', 'requests', 'verdict']);
    expect(j.slos[0]?.burnRates.map((b) => b.window).sort()).toEqual(['1h', '30m', '5m', '6h']);
    expect(j.slos[0]?.requests).toBe(4800); // the longest measured window: 20m
    expect(JSON.parse(JSON.stringify(j))).toEqual(j);
  });
});
