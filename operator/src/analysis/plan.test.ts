import { LATENCY_BUCKETS } from '../../../lib/contract/index.ts';
import type { SloSpec } from '../api/types.ts';
import { formatDuration, planMeasurements, validateAnalysis, type PlanInput } from './plan.ts';
import { leSpellings, promString, substitute, unknownPlaceholders } from './promql.ts';
import { analysisSpec } from './test-fixtures.ts';

const NOW = new Date('2026-03-01T12:00:00Z');
const ago = (seconds: number) => new Date(NOW.getTime() - seconds * 1000).toISOString();

const analysis = analysisSpec;

const plan = (over: Partial<PlanInput> = {}) =>
  planMeasurements({ analysis: analysis(), namespace: 'ml', servedModelName: 'fraud', canary: { revision: 'c1', since: ago(7 * 3600) }, now: NOW, scrapeIntervalSeconds: 15, ...over });

describe('formatDuration', () => {
  it.each([
    [3_723_000, '1h2m3s'],
    [3_600_000, '1h'],
    [90_000, '1m30s'],
    [1500, '1s500ms'],
    [0, '0s'],
  ])('%p ms → %p', (ms, s) => expect(formatDuration(ms)).toBe(s));
});

describe('planMeasurements: requests', () => {
  it('asks one query pair per SLO × window × role, over the same windows for stable', () => {
    const p = plan({ stable: { revision: 's0' } });
    expect(p.problems).toEqual([]);
    expect(p.waiting).toEqual([]);
    expect(p.requests.map((r) => r.id)).toEqual([
      'canary/availability/5m',
      'canary/availability/30m',
      'canary/availability/1h',
      'canary/availability/6h',
      'stable/availability/5m',
      'stable/availability/30m',
      'stable/availability/1h',
      'stable/availability/6h',
    ]);
    expect(new Set(p.requests.map((r) => r.id)).size).toBe(p.requests.length);
    expect(p.requests[0]).toMatchObject({ role: 'canary', revision: 'c1', slo: 'availability', window: '5m', windowSeconds: 300, specWindows: ['5m'] });
  });

  it.each([
    ['compareWithStable off', { analysis: analysis({ compareWithStable: false }), stable: { revision: 's0' } }],
    ['no stable revision (first rollout)', {}],
    ['stable is the canary', { stable: { revision: 'c1' } }],
  ])('queries only the canary with %s', (_name, over) => {
    expect(plan(over).requests.every((r) => r.role === 'canary')).toBe(true);
  });

  it('builds availability from the contract: bad = server errors, timeouts, rejections; client errors excluded', () => {
    const r = plan().requests[0];
    expect(r?.totalQuery).toBe('sum(increase(onnxop_requests_total{namespace="ml",model="fraud",revision="c1",outcome!~"client_error"}[5m]))');
    expect(r?.goodQuery).toBe('sum(increase(onnxop_requests_total{namespace="ml",model="fraud",revision="c1",outcome!~"client_error|server_error|timeout|rejected"}[5m]))');
  });

  it('builds latency from the histogram: good = successful requests within the bucket bound, matching both le spellings', () => {
    const slos: SloSpec[] = [{ name: 'latency', builtin: 'latency', objective: 99, latencyThresholdSeconds: 1 }];
    const r = plan({ analysis: analysis({ slos }) }).requests[0];
    expect(r?.totalQuery).toBe('sum(increase(onnxop_request_duration_seconds_count{namespace="ml",model="fraud",revision="c1",outcome="success"}[5m]))');
    expect(r?.goodQuery).toBe('sum(increase(onnxop_request_duration_seconds_bucket{namespace="ml",model="fraud",revision="c1",outcome="success",le=~"1|1\\\\.0"}[5m]))');
    expect(leSpellings(0.25)).toEqual(['0.25']);
    expect(leSpellings(30)).toEqual(['30', '30.0']);
  });

  it('escapes label values for PromQL', () => {
    expect(promString('a"b\\c\nd')).toBe('"a\\"b\\\\c\\nd"');
    const r = plan({ namespace: 'x"}) or vector(1) #' }).requests[0];
    expect(r?.totalQuery).toContain('namespace="x\\"}) or vector(1) #"');
  });

  it('substitutes {{revision}}, {{namespace}} and {{window}} in custom queries, per role', () => {
    const slos: SloSpec[] = [
      {
        name: 'approved',
        objective: 95,
        custom: {
          goodQuery: 'sum(increase(approvals_total{ns="{{namespace}}",rev="{{revision}}",ok="true"}[{{window}}]))',
          totalQuery: 'sum(increase(approvals_total{ns="{{ namespace }}",rev="{{revision}}"}[{{window}}]))',
        },
      },
    ];
    const p = plan({ analysis: analysis({ slos }), stable: { revision: 's0' }, canary: { revision: 'c1', since: ago(600) } });
    const byId = new Map(p.requests.map((r) => [r.id, r]));
    expect(byId.get('canary/approved/5m')?.goodQuery).toBe('sum(increase(approvals_total{ns="ml",rev="c1",ok="true"}[5m]))');
    expect(byId.get('stable/approved/10m')?.totalQuery).toBe('sum(increase(approvals_total{ns="ml",rev="s0"}[10m]))');
    expect(substitute('{{revision}}', { revision: 'a"b', namespace: 'n', window: '1m' })).toBe('a\\"b');
  });
});

describe('planMeasurements: young canaries', () => {
  it('caps windows at the canary age and queries a capped window once for all the spec windows it stands for', () => {
    const p = plan({ canary: { revision: 'c1', since: ago(20 * 60 + 7.9) }, stable: { revision: 's0' } });
    const canary = p.requests.filter((r) => r.role === 'canary');
    expect(canary.map((r) => [r.window, r.windowSeconds, r.specWindows])).toEqual([
      ['5m', 300, ['5m']],
      ['20m7s', 1207, ['1h', '30m', '6h']],
    ]);
    expect(p.requests.filter((r) => r.role === 'stable').map((r) => r.window)).toEqual(['5m', '20m7s']);
    expect(canary[1]?.totalQuery).toContain('[20m7s]');
  });

  it.each([
    ['younger than two scrapes', 29, 0],
    ['exactly two scrapes', 30, 1],
  ])('%s: %p s old → %p distinct windows', (_name, age, windows) => {
    const p = plan({ canary: { revision: 'c1', since: ago(age) } });
    expect(p.requests).toHaveLength(windows);
    expect(p.waiting).toHaveLength(windows === 0 ? 4 : 0);
    if (windows === 0) expect(p.waiting[0]).toEqual({ slo: 'availability', window: '5m', canaryAgeSeconds: 29, neededSeconds: 30 });
    else expect(p.requests[0]).toMatchObject({ window: '30s', specWindows: ['5m', '1h', '30m', '6h'] });
  });

  it('treats a since in the future (clock skew) as age 0 and an unparseable since as a problem', () => {
    expect(plan({ canary: { revision: 'c1', since: new Date(NOW.getTime() + 60_000) } }).requests).toEqual([]);
    expect(plan({ canary: { revision: 'c1', since: 'yesterday' } }).problems[0]?.field).toBe('status.canary.since');
  });
});

describe('validateAnalysis', () => {
  it('accepts the defaults at a 15s scrape interval', () => {
    expect(validateAnalysis(analysis(), 15)).toEqual([]);
  });

  it.each([
    ['interval shorter than two scrapes', analysis({ interval: '20s' }), 15, 'spec.rollout.analysis.interval', /shorter than two Prometheus scrapes \(2 × 15s = 30s\).*at least 30s/],
    ['a short window under two scrapes', analysis({ burnRateWindows: [{ short: '30s', long: '5m', threshold: 10 }] }), 30, 'spec.rollout.analysis.burnRateWindows[0].short', /at least 1m/],
    ['a malformed window', analysis({ burnRateWindows: [{ short: '5 minutes', long: '5m', threshold: 10 }] }), 15, 'spec.rollout.analysis.burnRateWindows[0].short', /must be a duration/],
    [
      'a latency threshold between buckets',
      analysis({ slos: [{ name: 'a', builtin: 'availability', objective: 99 }, { name: 'lat', builtin: 'latency', objective: 99, latencyThresholdSeconds: 0.3 }] }),
      15,
      'spec.rollout.analysis.slos[1].latencyThresholdSeconds',
      new RegExp(`bucket bounds \\(seconds\\): ${LATENCY_BUCKETS.join(', ').replace(/\./g, '\\.')} \\(got 0\\.3\\)`),
    ],
    ['latency without a threshold', analysis({ slos: [{ name: 'lat', builtin: 'latency', objective: 99 }] }), 15, 'spec.rollout.analysis.slos[0].latencyThresholdSeconds', /required/],
    [
      'an unknown placeholder',
      analysis({ slos: [{ name: 'c', objective: 99, custom: { goodQuery: 'sum(x{rev="{{revision}}"}[{{window}}])', totalQuery: 'sum(y{model="{{model}}"}[{{ range }}])' } }] }),
      15,
      'spec.rollout.analysis.slos[0].custom.totalQuery',
      /unknown placeholders \{\{model\}\}, \{\{range\}\}; the known ones are \{\{revision\}\}, \{\{namespace\}\}, \{\{window\}\}/,
    ],
    ['neither builtin nor custom', analysis({ slos: [{ name: 'x', objective: 99 }] }), 15, 'spec.rollout.analysis.slos[0]', /exactly one of builtin/],
  ])('refuses %s, naming the field and the fix', (_name, spec, scrape, field, message) => {
    const issues = validateAnalysis(spec, scrape);
    expect(issues.map((i) => i.field)).toEqual([field]);
    expect(issues[0]?.message).toMatch(message);
    expect(issues[0]?.message.startsWith(field)).toBe(true);
  });

  it('accepts every bucket bound as a latency threshold', () => {
    for (const b of LATENCY_BUCKETS) expect(validateAnalysis(analysis({ slos: [{ name: 'l', builtin: 'latency', objective: 99, latencyThresholdSeconds: b }] }), 15)).toEqual([]);
  });

  it('does not plan an SLO the spec check refuses, and says why', () => {
    const p = plan({ analysis: analysis({ slos: [{ name: 'lat', builtin: 'latency', objective: 99, latencyThresholdSeconds: 0.3 }] }) });
    expect(p.requests).toEqual([]);
    expect(p.problems).toMatchObject([{ slo: 'lat', field: 'spec.rollout.analysis.slos[0].latencyThresholdSeconds' }]);
  });

  it('refuses a scrape interval that is not a positive number', () => {
    expect(() => validateAnalysis(analysis(), 0)).toThrow(RangeError);
    expect(() => plan({ scrapeIntervalSeconds: Number.NaN })).toThrow(RangeError);
  });

  it('lists unknown placeholders only', () => {
    expect(unknownPlaceholders('{{revision}} {{namespace}} {{window}}')).toEqual([]);
    expect(unknownPlaceholders('{{Revision}} {{}}')).toEqual(['Revision', '']);
  });
});
