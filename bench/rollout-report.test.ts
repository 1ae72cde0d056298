import { describe, expect, it } from '@jest/globals';
import {
  benchAnalysis,
  classLimits,
  CLASSES,
  corpus,
  cost,
  limitFor,
  replayExpected,
  seeded,
  spread,
  summarize,
  table,
  targets,
  type RunResult,
} from './rollout-report.ts';

describe('the corpus', () => {
  it('is the same for a seed, different for another, and at least 30 runs with the outage runs last', () => {
    const a = corpus(7, false);
    expect(corpus(7, false)).toEqual(a);
    expect(corpus(8, false).map((r) => r.name)).not.toEqual(a.map((r) => r.name));
    expect(a.length).toBeGreaterThanOrEqual(30);
    expect(new Set(a.map((r) => r.name)).size).toBe(a.length);
    const firstOutage = a.findIndex((r) => r.cls.outage);
    expect(a.slice(firstOutage).every((r) => r.cls.outage)).toBe(true);
    for (const r of a) expect(r.name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
  });

  it('--quick is a handful of runs, and --only keeps the named classes', () => {
    expect(corpus(1, true).length).toBeLessThanOrEqual(8);
    expect(new Set(corpus(1, false, ['e5', 'l10']).map((r) => r.cls.tag))).toEqual(new Set(['e5', 'l10']));
  });

  it('draws numbers in [0, 1) from the seed', () => {
    const xs = Array.from({ length: 200 }, (_, i) => seeded(3, String(i)));
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
    expect(seeded(3, 'x')).toBe(seeded(3, 'x'));
  });

  it('uses an analysis the operator accepts at a 2 s scrape interval', () => {
    const a = benchAnalysis();
    expect(a.interval).toBe('10s');
    expect(a.slos.map((s) => s.name)).toEqual(['availability', 'latency']);
    expect(a.compareWithStable).toBe(true);
  });
});

describe('limits', () => {
  it('converts requestsToDecide to seconds at the canary rate (20 req/s × 20%)', () => {
    // docs/analysis.md's table: 5% against 14.4× at 99.9% fails after 64 requests.
    expect(limitFor('availability', 0.05, 99.9, 14.4)).toMatchObject({
      decision: 'fail',
      requests: 64,
      seconds: 16,
    });
    expect(limitFor('availability', 0, 99.9, 14.4)).toMatchObject({ decision: 'pass', requests: 207 });
  });

  it('takes the fastest fail over both lines as the reference, or the slowest pass when nothing fails', () => {
    const failing = classLimits({ availability: 0.02, latency: 0.002 });
    expect(failing.line.find((l) => l.slo === 'availability')?.decision).toBe('fail');
    expect(failing.reference).toMatchObject({ slo: 'availability', decision: 'fail' });
    expect(failing.reference?.line).toBeCloseTo(0.001, 12);
    const healthy = classLimits({ availability: 0, latency: 0.003 });
    expect(healthy.reference?.decision).toBe('pass');
    expect(healthy.reference?.requests).toBe(Math.max(...healthy.line.map((l) => l.requests)));
    // Below the line but above budget: the SLO's line would pass it; only the budget line fails it.
    const mild = classLimits({ availability: 0.005, latency: 0.002 });
    expect(mild.line.find((l) => l.slo === 'availability')?.decision).toBe('pass');
    expect(mild.reference).toMatchObject({ slo: 'availability', decision: 'fail' });
    expect(mild.reference?.line).toBeCloseTo(0.001, 12);
  });

  it('replays the judge on expected counts: gross faults fail early, a clean canary passes later, no data never passes', () => {
    const bad = replayExpected({
      canary: { availability: 0.05, latency: 0.002 },
      stable: { availability: 0, latency: 0.002 },
      maxSeconds: 300,
    });
    expect(bad.verdict).toBe('fail');
    expect(bad.seconds).toBeLessThanOrEqual(30);
    const ok = replayExpected({
      canary: { availability: 0, latency: 0.002 },
      stable: { availability: 0, latency: 0.002 },
      maxSeconds: 600,
    });
    expect(ok.verdict).toBe('pass');
    expect(ok.seconds).toBeGreaterThan(bad.seconds);
    expect(replayExpected({ canary: {}, stable: {}, rate: 0, maxSeconds: 300 }).verdict).toBe('none');
  });
});

describe('summaries and targets', () => {
  const run = (o: Partial<RunResult>): RunResult => ({
    name: 'x',
    cls: 'errors 5%',
    outcome: 'rolledBack',
    ...o,
  });
  const cls = (id: string) => {
    const c = CLASSES.find((x) => x.id === id);
    if (!c) throw new Error(id);
    return c;
  };

  it('median and p90 by nearest rank, ignoring missing values', () => {
    expect(spread([10, undefined, 30, 20, 40])).toEqual({ n: 4, median: 20, p90: 40 });
    expect(spread([])).toEqual({ n: 0 });
  });

  it('counts outcomes and divides the median time by the limit', () => {
    const s = summarize(
      cls('errors 5%'),
      [
        run({ faultToStable: 20 }),
        run({ faultToStable: 30 }),
        run({ faultToStable: 40 }),
        run({ outcome: 'promoted', faultToPromoted: 70 }),
      ],
      300,
    );
    expect(s).toMatchObject({
      runs: 4,
      rolledBack: 3,
      promoted: 1,
      faultToStable: { n: 3, median: 30, p90: 40 },
    });
    expect(s.canaryBadRatio.availability).toBe(0.05);
    expect(s.limits.reference?.decision).toBe('fail');
    expect(s.timeOverLimit).toBeCloseTo(30 / (s.limits.reference?.seconds ?? NaN), 1);
  });

  it('takes latency ratios from the runs, the characterized models without counts, and counts rollbacks by SLO', () => {
    const steady = { logreg: 0.01, logreg_faulty: 0.01, logreg_slow: 1 };
    const slow = summarize(
      cls('latency 10x'),
      [run({ cls: 'latency 10x', faultToStable: 10, lastRollback: { slo: 'latency' } })],
      300,
      steady,
    );
    expect(slow.canaryBadRatio).toEqual({ availability: 0, latency: 1 });
    expect(slow.limits.reference?.slo).toBe('latency');
    const counted = summarize(
      cls('latency 2x'),
      [
        run({
          cls: 'latency 2x',
          canaryCounts: { latency: { requests: 100, bad: 4 } },
          stableCounts: { latency: { requests: 400, bad: 2 } },
        }),
        run({
          cls: 'latency 2x',
          canaryCounts: { latency: { requests: 100, bad: 6 } },
          stableCounts: { latency: { requests: 400, bad: 2 } },
        }),
      ],
      300,
      { ...steady, logreg_slow2x: 0.15 },
    );
    expect(counted.canaryBadRatio.latency).toBe(0.04); // the median by nearest rank
    expect(counted.stableBadRatio.latency).toBe(0.005);
    const errors = summarize(
      cls('errors 1%'),
      [
        run({ cls: 'errors 1%', lastRollback: { slo: 'availability' } }),
        run({ cls: 'errors 1%', lastRollback: { slo: 'latency' } }),
      ],
      300,
      steady,
    );
    expect(errors.rolledBackBySlo).toEqual({ availability: 1, latency: 1 });
    expect(table([errors])).toContain('| 2 (1 on latency) |');
    // No bad ratio for an outage: its fault is Prometheus, not the canary.
    expect(
      summarize(cls('prometheus outage'), [run({ cls: 'prometheus outage' })], 300, steady).limits.reference,
    ).toBeUndefined();
  });

  it('judges the targets: a healthy rollback, a promoted 2% regression and a promotion without data are not met', () => {
    const summaries = [
      summarize(
        cls('healthy'),
        [
          run({ cls: 'healthy', outcome: 'promoted', faultToPromoted: 150 }),
          run({ cls: 'healthy', outcome: 'rolledBack' }),
        ],
        300,
      ),
      summarize(cls('errors 2%'), [run({ cls: 'errors 2%', outcome: 'promoted' })], 300),
      summarize(cls('errors 5%'), [run({ faultToStable: 30 })], 300),
      summarize(cls('latency 10x'), [run({ cls: 'latency 10x', faultToStable: 50 })], 300),
      summarize(cls('no data'), [run({ cls: 'no data', outcome: 'promoted' })], 300),
    ];
    const met = Object.fromEntries(targets(summaries).map((t) => [t.target, t.met]));
    expect(met).toEqual({
      '0 false rollbacks of healthy canaries': false,
      'every errors 2% regression rolled back before promotion': false,
      'every errors 5% regression rolled back before promotion': true,
      'every latency 10x regression rolled back before promotion': true,
      'median fault → stable ≤ 45 s for errors 5%': true,
      'median fault → stable ≤ 45 s for latency 10x': false,
      '0 promotions without data': false,
    });
  });

  it('checks the query bound: at most 2 queries per measurement request, one look per model per interval', () => {
    const ok = cost({
      models: 100,
      seconds: 60,
      queries: 9600,
      measurements: 600,
      cpuSeconds: 12,
      intervalSeconds: 10,
      requestsPerLook: 8,
      inFlight: 4,
    });
    expect(ok).toMatchObject({
      prometheusQueriesPerSecond: 160,
      queriesPerMeasurement: 16,
      queryBoundPerMeasurement: 16,
      measurementsPerModelPerInterval: 1,
      withinBound: true,
      operatorCpuCores: 0.2,
    });
    expect(
      cost({
        models: 100,
        seconds: 60,
        queries: 9600,
        measurements: 1200,
        cpuSeconds: 12,
        intervalSeconds: 10,
        requestsPerLook: 8,
        inFlight: 4,
      }).withinBound,
    ).toBe(false);
    // A measurement whose queries were counted before its verdict: within the slack.
    const edge = {
      models: 100,
      seconds: 60,
      queries: 9619,
      measurements: 600,
      cpuSeconds: 12,
      intervalSeconds: 10,
      requestsPerLook: 8,
    };
    expect(cost({ ...edge, inFlight: 4 }).withinBound).toBe(true);
    expect(cost({ ...edge, inFlight: 0 }).withinBound).toBe(false);
  });
});
