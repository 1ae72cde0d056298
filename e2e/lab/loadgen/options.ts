// Pure: validation of runLoad options and the CLI's flags. Every load is bounded in count and in
// time, and may only target loopback or the lab's pod network.
import { parseArgs } from 'node:util';
import { inAnyCidr, loopbackCidr } from '../gateway/address-guard.ts';
import { labNetwork } from '../lab-config.ts';
import { poisonInferBody } from './poison.ts';
import type { Sample } from './stats.ts';

export class LoadgenError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LoadgenError';
    this.code = code;
  }
}

export const allowedTargets = [loopbackCidr, labNetwork.podNetwork] as const;

export const limits = {
  maxRequests: 1_000_000,
  durationMs: 30 * 60_000,
  rate: 10_000,
  concurrency: 1_000,
  timeoutMs: 10 * 60_000,
} as const;

export interface RunLoadOptions {
  url: string;
  method?: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
  /** Open loop: requests per second, sent on schedule whatever the latency. */
  rate?: number;
  /** Closed loop: this many workers, each sending its next request when the previous answered. */
  concurrency?: number;
  /** Hard bound on requests sent. */
  maxRequests: number;
  /** Hard bound on the sending phase; in-flight requests then get up to timeoutMs to finish. */
  durationMs: number;
  /** Per request, end to end. Default 10 s. */
  timeoutMs?: number;
  /** Response header whose value groups the results. Default x-lab-backend. */
  groupByHeader?: string;
  /** Open loop only: above this many requests in flight, scheduled requests are dropped (and counted). */
  maxInFlight?: number;
  /**
   * Share of requests in [0, 1] sent with poisonBody instead of body: exactly floor(n·ratio) of
   * the first n sent, spread evenly (poison.ts). 0 or unset: none.
   */
  poisonRatio?: number;
  /**
   * The body of a poisoned request. Default: `body`, a v2 JSON inference request, with feature 0
   * of every row of its first input set to POISON_VALUE (1000), which the lab's logreg_faulty model
   * fails on.
   */
  poisonBody?: string | Uint8Array;
  /**
   * Draw the poisoned requests at random from this seed (isPoisonedSeeded: the share in expectation)
   * instead of spreading them evenly; for targets that round-robin over several endpoints.
   */
  poisonSeed?: number;
  signal?: AbortSignal;
  /**
   * Called with each request's outcome as it completes, and the wall-clock time (Date.now()) it
   * completed at: for timelines of what clients saw (the result only has totals).
   */
  onSample?: (sample: Sample, atMs: number) => void;
}

export interface ValidatedOptions {
  url: URL;
  method: string;
  headers: Record<string, string>;
  body: Uint8Array | undefined;
  mode: { kind: 'open'; rate: number } | { kind: 'closed'; concurrency: number };
  maxRequests: number;
  durationMs: number;
  timeoutMs: number;
  groupByHeader: string;
  maxInFlight: number;
  /** Undefined when no request is poisoned. */
  poison: { ratio: number; body: Uint8Array; seed?: number } | undefined;
}

function bounded(field: string, value: number | undefined, max: number, integer: boolean): number {
  if (
    value === undefined ||
    !Number.isFinite(value) ||
    value <= 0 ||
    value > max ||
    (integer && !Number.isInteger(value))
  ) {
    throw new LoadgenError(
      'InvalidOption',
      `${field} must be ${integer ? 'an integer' : 'a number'} in (0, ${max}] (got ${String(value)})`,
    );
  }
  return value;
}

/** Refuses anything but an http:// URL whose host is an IPv4 literal in loopback or the pod network. */
export function validateTarget(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch (err) {
    throw new LoadgenError('InvalidUrl', `url "${raw}" is not a URL; use e.g. http://127.0.0.1:17081/`, {
      cause: err,
    });
  }
  if (url.protocol !== 'http:')
    throw new LoadgenError('InvalidUrl', `url must use http:// (got ${url.protocol})`);
  if (!inAnyCidr(url.hostname, allowedTargets)) {
    throw new LoadgenError(
      'UrlNotAllowed',
      `url host "${url.hostname}" is outside ${allowedTargets.join(' and ')}; the load generator only targets the lab (use 127.0.0.1 and a Host header to pick a route)`,
    );
  }
  return url;
}

export function validateOptions(o: RunLoadOptions): ValidatedOptions {
  const url = validateTarget(o.url);
  if (o.rate !== undefined && o.concurrency !== undefined) {
    throw new LoadgenError(
      'InvalidOption',
      'set either rate (open loop) or concurrency (closed loop), not both',
    );
  }
  const mode: ValidatedOptions['mode'] =
    o.rate !== undefined
      ? { kind: 'open', rate: bounded('rate', o.rate, limits.rate, false) }
      : { kind: 'closed', concurrency: bounded('concurrency', o.concurrency ?? 1, limits.concurrency, true) };
  const method = (o.method ?? (o.body !== undefined ? 'POST' : 'GET')).toUpperCase();
  if (!/^[A-Z]+$/.test(method))
    throw new LoadgenError('InvalidOption', `method "${method}" is not an HTTP method`);
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(o.headers ?? {})) headers[k.toLowerCase()] = v;
  return {
    url,
    method,
    headers,
    body: typeof o.body === 'string' ? new TextEncoder().encode(o.body) : o.body,
    mode,
    maxRequests: bounded('maxRequests', o.maxRequests, limits.maxRequests, true),
    durationMs: bounded('durationMs', o.durationMs, limits.durationMs, false),
    timeoutMs: bounded('timeoutMs', o.timeoutMs ?? 10_000, limits.timeoutMs, false),
    groupByHeader: (o.groupByHeader ?? 'x-lab-backend').toLowerCase(),
    maxInFlight: bounded('maxInFlight', o.maxInFlight ?? 1_000, 100_000, true),
    poison: validatePoison(o),
  };
}

function validatePoison(o: RunLoadOptions): ValidatedOptions['poison'] {
  const ratio = o.poisonRatio ?? 0;
  if (!Number.isFinite(ratio) || ratio < 0 || ratio > 1) {
    throw new LoadgenError(
      'InvalidOption',
      `poisonRatio must be a number in [0, 1] (got ${String(o.poisonRatio)})`,
    );
  }
  if (o.poisonSeed !== undefined && !Number.isSafeInteger(o.poisonSeed)) {
    throw new LoadgenError(
      'InvalidOption',
      `poisonSeed must be a whole number (got ${String(o.poisonSeed)})`,
    );
  }
  if (ratio === 0) return undefined;
  const seed = o.poisonSeed !== undefined ? { seed: o.poisonSeed } : {};
  if (o.poisonBody !== undefined) {
    return {
      ratio,
      body: typeof o.poisonBody === 'string' ? new TextEncoder().encode(o.poisonBody) : o.poisonBody,
      ...seed,
    };
  }
  if (o.body === undefined) {
    throw new LoadgenError(
      'InvalidOption',
      'poisonRatio needs a poisonBody, or a body (a v2 JSON inference request) to derive it from',
    );
  }
  try {
    return { ratio, body: poisonInferBody(o.body), ...seed };
  } catch (err) {
    throw new LoadgenError(
      'InvalidOption',
      `${(err as Error).message}; pass poisonBody (--poison-body) instead`,
      { cause: err },
    );
  }
}

/** "500ms", "10s", "2m" → milliseconds. A bare number is refused: its unit would be a guess. */
export function parseDuration(flag: string, text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(text.trim());
  if (!m) throw new LoadgenError('InvalidFlag', `--${flag} "${text}" needs a unit: e.g. 500ms, 10s, 2m`);
  const n = Number(m[1]);
  return m[2] === 'ms' ? n : m[2] === 's' ? n * 1000 : n * 60_000;
}

export interface CliOptions {
  load: RunLoadOptions;
  json: boolean;
}

export const usage = `usage: node e2e/lab/loadgen/main.ts --url http://127.0.0.1:17081/path [--header 'host: m.ns.svc']...
  [--method GET] [--body TEXT] (--rate N/s | --concurrency N) [--requests 1000] [--duration 10s]
  [--timeout 10s] [--group-by x-lab-backend] [--poison-ratio 0.02|2% [--poison-body TEXT]] [--json]
  --poison-ratio sends that exact share of requests (evenly spread) with --poison-body, by default
  --body with feature 0 of every row set to 1000 (the lab's logreg_faulty model fails on those rows).`;

export function parseCli(argv: readonly string[]): CliOptions {
  let values: Record<string, string | string[] | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        url: { type: 'string' },
        method: { type: 'string' },
        header: { type: 'string', multiple: true, short: 'H' },
        body: { type: 'string' },
        rate: { type: 'string' },
        concurrency: { type: 'string', short: 'c' },
        requests: { type: 'string', short: 'n' },
        duration: { type: 'string', short: 'd' },
        timeout: { type: 'string' },
        'group-by': { type: 'string' },
        'poison-ratio': { type: 'string' },
        'poison-body': { type: 'string' },
        json: { type: 'boolean' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    throw new LoadgenError('InvalidFlag', `${(err as Error).message}\n${usage}`, { cause: err });
  }
  const str = (k: string): string | undefined => values[k] as string | undefined;
  const url = str('url');
  if (!url) throw new LoadgenError('InvalidFlag', `--url is required\n${usage}`);
  const headers: Record<string, string> = {};
  for (const h of (values.header as string[] | undefined) ?? []) {
    const i = h.indexOf(':');
    if (i <= 0) throw new LoadgenError('InvalidFlag', `--header "${h}" must look like "name: value"`);
    headers[h.slice(0, i).trim().toLowerCase()] = h.slice(i + 1).trim();
  }
  const num = (k: string): number | undefined => {
    const v = str(k);
    if (v === undefined) return undefined;
    const n = Number(v.replace(/\/s$/, ''));
    if (!Number.isFinite(n)) throw new LoadgenError('InvalidFlag', `--${k} "${v}" is not a number`);
    return n;
  };
  const load: RunLoadOptions = {
    url,
    headers,
    maxRequests: num('requests') ?? 1000,
    durationMs: parseDuration('duration', str('duration') ?? '10s'),
    timeoutMs: parseDuration('timeout', str('timeout') ?? '10s'),
  };
  const method = str('method');
  if (method) load.method = method;
  const body = str('body');
  if (body !== undefined) load.body = body;
  const rate = num('rate');
  if (rate !== undefined) load.rate = rate;
  const concurrency = num('concurrency');
  if (concurrency !== undefined) load.concurrency = concurrency;
  const groupBy = str('group-by');
  if (groupBy) load.groupByHeader = groupBy;
  const poisonRatio = str('poison-ratio');
  if (poisonRatio !== undefined) {
    const text = poisonRatio.trim();
    const percent = text.endsWith('%');
    const digits = percent ? text.slice(0, -1).trim() : text;
    const n = Number(digits);
    if (digits === '' || !Number.isFinite(n)) {
      throw new LoadgenError(
        'InvalidFlag',
        `--poison-ratio "${poisonRatio}" is not a number (e.g. 0.02 or 2%)`,
      );
    }
    load.poisonRatio = percent ? n / 100 : n;
  }
  const poisonBody = str('poison-body');
  if (poisonBody !== undefined) load.poisonBody = poisonBody;
  validateOptions(load); // fail before any request is sent
  return { load, json: values.json === true };
}
