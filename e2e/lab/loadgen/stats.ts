// Pure: per-request outcomes → per-group counts and latency percentiles, and a text table.

export type Outcome = 'ok' | 'clientError' | 'serverError' | 'networkError';

export interface Sample {
  group: string;
  /** HTTP status, or undefined when no response arrived. */
  status?: number;
  /** Only for answered requests. */
  latencyMs?: number;
  timedOut?: boolean;
  /** Sent with the poison body (RunLoadOptions.poisonRatio). */
  poison?: boolean;
}

export interface LatencySummary {
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

export interface GroupStats {
  count: number;
  /** Of count, requests sent with the poison body. */
  poisoned: number;
  ok: number;
  clientError: number;
  serverError: number;
  networkError: number;
  timeouts: number;
  statusCodes: Record<string, number>;
  latencyMs: LatencySummary;
}

/** Group for responses without the header and for requests that got no response. */
export const noGroup = '(none)';

export function classify(status: number | undefined): Outcome {
  if (status === undefined) return 'networkError';
  if (status >= 500) return 'serverError';
  if (status >= 400) return 'clientError';
  return 'ok';
}

/** Nearest-rank percentile of ascending `sorted` (p in (0, 100]); 0 for no data. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] ?? 0;
}

export function summarizeLatencies(values: readonly number[]): LatencySummary {
  const sorted = [...values].sort((a, b) => a - b);
  const round = (n: number): number => Math.round(n * 1000) / 1000;
  const sum = sorted.reduce((a, b) => a + b, 0);
  return {
    p50: round(percentile(sorted, 50)),
    p90: round(percentile(sorted, 90)),
    p99: round(percentile(sorted, 99)),
    max: round(sorted[sorted.length - 1] ?? 0),
    mean: round(sorted.length ? sum / sorted.length : 0),
  };
}

function statsOf(samples: readonly Sample[]): GroupStats {
  const s: GroupStats = {
    count: 0,
    poisoned: 0,
    ok: 0,
    clientError: 0,
    serverError: 0,
    networkError: 0,
    timeouts: 0,
    statusCodes: {},
    latencyMs: summarizeLatencies([]),
  };
  const lat: number[] = [];
  for (const x of samples) {
    s.count += 1;
    if (x.poison) s.poisoned += 1;
    s[classify(x.status)] += 1;
    if (x.timedOut) s.timeouts += 1;
    if (x.status !== undefined) s.statusCodes[x.status] = (s.statusCodes[x.status] ?? 0) + 1;
    if (x.latencyMs !== undefined) lat.push(x.latencyMs);
  }
  s.latencyMs = summarizeLatencies(lat);
  return s;
}

export function aggregate(samples: readonly Sample[]): {
  byGroup: Record<string, GroupStats>;
  total: GroupStats;
} {
  const groups = new Map<string, Sample[]>();
  for (const x of samples) {
    const list = groups.get(x.group) ?? [];
    list.push(x);
    groups.set(x.group, list);
  }
  const byGroup: Record<string, GroupStats> = {};
  for (const k of [...groups.keys()].sort()) byGroup[k] = statsOf(groups.get(k) ?? []);
  return { byGroup, total: statsOf(samples) };
}

/** "200:980 500:20": answered requests by status code, in code order. */
export function formatStatusCodes(codes: Record<string, number>): string {
  const entries = Object.entries(codes).sort(([a], [b]) => Number(a) - Number(b));
  return entries.length ? entries.map(([code, n]) => `${code}:${n}`).join(' ') : '-';
}

/** One row per group and a total row; a `poison` column when any request was poisoned. */
export function formatTable(
  result: { byGroup: Record<string, GroupStats>; total: GroupStats },
  groupHeader: string,
): string {
  const poison = result.total.poisoned > 0;
  const head = [
    groupHeader,
    'count',
    ...(poison ? ['poison'] : []),
    'ok',
    '4xx',
    '5xx',
    'net',
    'p50 ms',
    'p90 ms',
    'p99 ms',
    'max ms',
    'status codes',
  ];
  const row = (name: string, s: GroupStats): string[] => [
    name,
    String(s.count),
    ...(poison ? [String(s.poisoned)] : []),
    String(s.ok),
    String(s.clientError),
    String(s.serverError),
    String(s.networkError),
    s.latencyMs.p50.toFixed(1),
    s.latencyMs.p90.toFixed(1),
    s.latencyMs.p99.toFixed(1),
    s.latencyMs.max.toFixed(1),
    formatStatusCodes(s.statusCodes),
  ];
  const rows = [
    head,
    ...Object.entries(result.byGroup).map(([k, s]) => row(k, s)),
    row('total', result.total),
  ];
  const widths = head.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows
    .map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  '))
    .join('\n');
}
