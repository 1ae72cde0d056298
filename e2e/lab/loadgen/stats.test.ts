import {
  aggregate,
  classify,
  formatStatusCodes,
  formatTable,
  noGroup,
  percentile,
  summarizeLatencies,
} from './stats.ts';

describe('percentile (nearest rank)', () => {
  const hundred = Array.from({ length: 100 }, (_, i) => i + 1);
  it.each([
    [hundred, 50, 50],
    [hundred, 90, 90],
    [hundred, 99, 99],
    [hundred, 100, 100],
    [[7], 50, 7],
    [[1, 2], 50, 1],
    [[1, 2], 51, 2],
    [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 99, 10],
    [[], 50, 0],
  ])('%j p%d = %d', (values, p, want) => expect(percentile(values, p)).toBe(want));

  it('summarizes unsorted input', () => {
    expect(summarizeLatencies([5, 1, 4, 2, 3])).toEqual({ p50: 3, p90: 5, p99: 5, max: 5, mean: 3 });
  });
});

describe('classify', () => {
  it.each([
    [200, 'ok'],
    [304, 'ok'],
    [404, 'clientError'],
    [429, 'clientError'],
    [500, 'serverError'],
    [503, 'serverError'],
    [undefined, 'networkError'],
  ])('%s → %s', (status, want) => expect(classify(status)).toBe(want));
});

describe('aggregate', () => {
  const samples = [
    { group: 'ns/a', status: 200, latencyMs: 10 },
    { group: 'ns/a', status: 200, latencyMs: 30 },
    { group: 'ns/a', status: 503, latencyMs: 1 },
    { group: 'ns/b', status: 404, latencyMs: 2 },
    { group: noGroup, timedOut: true },
    { group: noGroup },
  ];
  const got = aggregate(samples);
  it('counts outcomes per group and in total', () => {
    expect(got.byGroup['ns/a']).toMatchObject({
      count: 3,
      ok: 2,
      serverError: 1,
      statusCodes: { 200: 2, 503: 1 },
    });
    expect(got.byGroup['ns/b']).toMatchObject({ count: 1, clientError: 1 });
    expect(got.byGroup[noGroup]).toMatchObject({ count: 2, networkError: 2, timeouts: 1 });
    expect(got.total).toMatchObject({
      count: 6,
      ok: 2,
      clientError: 1,
      serverError: 1,
      networkError: 2,
      timeouts: 1,
    });
  });
  it('takes latency only from answered requests', () => {
    expect(got.byGroup['ns/a']?.latencyMs).toEqual({ p50: 10, p90: 30, p99: 30, max: 30, mean: 13.667 });
    expect(got.byGroup[noGroup]?.latencyMs.max).toBe(0);
    expect(got.total.latencyMs.max).toBe(30);
  });
  it('formats an aligned table with a total row and the status codes', () => {
    const lines = formatTable(got, 'x-lab-backend').split('\n');
    expect(lines[0]).toMatch(/^x-lab-backend\s+count\s+ok\s+4xx\s+5xx\s+net\s+p50 ms.*status codes$/);
    expect(lines.at(-1)).toMatch(/^total\s+6\s+2\s+1\s+1\s+2\s.*200:2 404:1 503:1$/);
    expect(lines.find((l) => l.startsWith(noGroup))).toMatch(/\s-$/);
    expect(new Set(lines.map((l) => l.length)).size).toBe(1);
  });
});

describe('poisoned requests', () => {
  const samples = [
    { group: 'stable', status: 200, latencyMs: 1 },
    { group: 'stable', status: 200, latencyMs: 1, poison: true },
    { group: 'canary', status: 200, latencyMs: 1 },
    { group: 'canary', status: 500, latencyMs: 1, poison: true },
    { group: 'canary', status: 500, latencyMs: 1, poison: true },
  ];
  const got = aggregate(samples);
  it('are counted per group and in total', () => {
    expect(got.byGroup.stable).toMatchObject({ count: 2, poisoned: 1, ok: 2 });
    expect(got.byGroup.canary).toMatchObject({
      count: 3,
      poisoned: 2,
      serverError: 2,
      statusCodes: { 200: 1, 500: 2 },
    });
    expect(got.total).toMatchObject({ count: 5, poisoned: 3 });
    expect(aggregate(samples.filter((s) => !s.poison)).total.poisoned).toBe(0);
  });
  it('get a poison column, only when there are any', () => {
    const lines = formatTable(got, 'x-onnxop-revision').split('\n');
    expect(lines[0]).toMatch(/^x-onnxop-revision\s+count\s+poison\s+ok\s+4xx\s+5xx/);
    expect(lines[1]).toMatch(/^canary\s+3\s+2\s+1\s+0\s+2\s.*200:1 500:2$/);
    expect(lines.at(-1)).toMatch(/^total\s+5\s+3\s+3\s+0\s+2\s/);
    expect(formatTable(aggregate(samples.filter((s) => !s.poison)), 'x').split('\n')[0]).not.toMatch(
      /poison/,
    );
  });
  it('status codes read in code order', () => {
    expect(formatStatusCodes({ 500: 2, 200: 98, 429: 1 })).toBe('200:98 429:1 500:2');
    expect(formatStatusCodes({})).toBe('-');
  });
});
