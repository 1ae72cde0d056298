// The Prometheus adapter of the analysis: it answers the core's measurement requests with raw counts
// (good, total) from instant queries evaluated at one time, or with an error per request. It never
// judges: burn rates, bounds and verdicts are the pure judge's. Every answer is validated
// (response.ts) before it is returned; a failed query never throws, it becomes that request's error.
import { readFile, stat } from 'node:fs/promises';
import PQueue from 'p-queue';
import { Agent, request, type Dispatcher } from 'undici';
import type { DistributionAnswer, DistributionRequest, MeasurementAnswer, MeasurementRequest } from '../analysis/types.ts';
import type { OperatorMetrics } from '../metrics.ts';
import { parseQueryResponse, parseVectorResponse, quoteQuery, type QueryResult, type QueryValue } from './response.ts';

export interface PrometheusClientOptions {
  /** Base URL of the Prometheus HTTP API, e.g. http://prometheus.monitoring:9090 (a path prefix is kept). */
  url: string;
  /** Per query: connect, answer and body, all included. Also sent to Prometheus as its query timeout. */
  timeoutMs: number;
  /** Sent as `Authorization: Bearer …`; re-read when the file changes (rotation). Never logged. */
  bearerTokenFile?: string;
  /** PEM CA bundle that verifies Prometheus' TLS certificate (https://); re-read when it changes. */
  caFile?: string;
  /** Queries in flight at once, across all measure() calls of this client (default 8). */
  maxConcurrency?: number;
}

/** One query's outcome, for the operator's metrics and logs (never carries the token). */
export interface QueryEvent {
  query: string;
  durationSeconds: number;
  result: QueryResult;
  /** Set when result is not success. */
  error?: string;
}

export interface PrometheusClientDeps {
  /** Called once per query sent (or refused before sending); an exception in it is ignored. */
  onQuery?: (event: QueryEvent) => void;
  /** Monotonic milliseconds, for durations (default performance.now). */
  now?: () => number;
}

export interface PrometheusClient {
  /** One answer per request, in the order of the requests; per-query failures are error answers. */
  measure(requests: readonly MeasurementRequest[], at: Date): Promise<MeasurementAnswer[]>;
  /** The quality gates' vector queries: counts by each request's label, or an error answer. */
  distributions(requests: readonly DistributionRequest[], at: Date): Promise<DistributionAnswer[]>;
  /** Closes the connections. */
  close(): Promise<void>;
}

/** `detail`: what went wrong without naming the query, when the cause is not the query's (e.g. Prometheus unreachable). */
type Failure = { ok: false; result: QueryResult; error: string; detail?: string };
/** What one query came to: a validated count, or why not (from Prometheus' answer or from sending it). */
export type QueryOutcome = QueryValue | Failure;

/** Largest answer read: one sample is a few hundred bytes; an unaggregated query can be huge. */
export const MAX_RESPONSE_BYTES = 1024 * 1024;
const DEFAULT_MAX_CONCURRENCY = 8;

/** A file read again only when it changed (stat identity: inode, size, times), e.g. a rotated token. */
class WatchedFile {
  readonly #path: string;
  #key = '';
  #content: Buffer | undefined;

  constructor(path: string) {
    this.#path = path;
  }

  /** The content, and whether it differs from the last read. */
  async read(): Promise<{ content: Buffer; changed: boolean }> {
    const s = await stat(this.#path);
    const key = `${s.dev}:${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`;
    if (this.#content !== undefined && key === this.#key) return { content: this.#content, changed: false };
    const content = await readFile(this.#path);
    const changed = this.#content === undefined || !content.equals(this.#content);
    this.#key = key;
    this.#content = content;
    return { content, changed };
  }
}

const errorCode = (err: unknown): string => {
  const e = err as { code?: unknown; cause?: { code?: unknown; message?: unknown }; message?: unknown };
  const code = typeof e.code === 'string' ? e.code : typeof e.cause?.code === 'string' ? e.cause.code : undefined;
  const message = typeof e.cause?.message === 'string' && e.cause.message !== '' ? e.cause.message : typeof e.message === 'string' ? e.message : String(err);
  return code && !message.includes(code) ? `${code}: ${message}` : message;
};

/** The URL without credentials or query string, as messages show it. */
function displayUrl(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname.replace(/\/$/, '')}`;
}

export function createPrometheusClient(options: PrometheusClientOptions, deps: PrometheusClientDeps = {}): PrometheusClient {
  const base = new URL(options.url);
  if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new Error(`Prometheus URL ${options.url}: use http:// or https://`);
  if (base.username !== '' || base.password !== '') throw new Error('Prometheus URL: credentials in the URL are not supported; use a bearer token file');
  const endpoint = new URL('api/v1/query', base.href.endsWith('/') ? base.href : `${base.href}/`);
  endpoint.search = '';
  const where = displayUrl(base);
  const now = deps.now ?? (() => performance.now());
  const queue = new PQueue({ concurrency: Math.max(1, options.maxConcurrency ?? DEFAULT_MAX_CONCURRENCY) });
  const token = options.bearerTokenFile ? new WatchedFile(options.bearerTokenFile) : undefined;
  const ca = options.caFile ? new WatchedFile(options.caFile) : undefined;
  let agent: Agent | undefined = ca ? undefined : new Agent({ keepAliveTimeout: 30_000 });
  let closed = false;

  const notify = (event: QueryEvent): void => {
    try {
      deps.onQuery?.(event);
    } catch {
      // an observer must not change what the analysis sees
    }
  };

  /** Headers and dispatcher for this batch, or why no query can be sent (the token's content never appears). */
  async function prepare(): Promise<{ headers: Record<string, string>; dispatcher: Dispatcher } | Failure> {
    const headers: Record<string, string> = {
      accept: 'application/json',
      'content-type': 'application/x-www-form-urlencoded',
      'user-agent': 'onnx-operator',
    };
    if (token && options.bearerTokenFile) {
      let text: string;
      try {
        text = (await token.read()).content.toString('utf8').trim();
      } catch (err) {
        return { ok: false, result: 'credentials_error', error: `cannot read the Prometheus bearer token file ${options.bearerTokenFile}: ${errorCode(err)}` };
      }
      if (text === '' || /[\r\n]/.test(text)) {
        return { ok: false, result: 'credentials_error', error: `the Prometheus bearer token file ${options.bearerTokenFile} is ${text === '' ? 'empty' : 'not one line'}` };
      }
      headers.authorization = `Bearer ${text}`;
    }
    if (ca && options.caFile) {
      try {
        const { content, changed } = await ca.read();
        if (changed || !agent) {
          const old = agent;
          agent = new Agent({ keepAliveTimeout: 30_000, connect: { ca: content.toString('utf8') } });
          void old?.close().catch(() => undefined);
        }
      } catch (err) {
        return { ok: false, result: 'credentials_error', error: `cannot read the Prometheus CA file ${options.caFile}: ${errorCode(err)}` };
      }
    }
    if (!agent) throw new Error('unreachable: no dispatcher');
    return { headers, dispatcher: agent };
  }

  async function readCapped(body: Dispatcher.ResponseData['body']): Promise<string | undefined> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of body) {
      const b = chunk as Buffer;
      size += b.length;
      if (size > MAX_RESPONSE_BYTES) {
        body.destroy();
        return undefined;
      }
      chunks.push(b);
    }
    return Buffer.concat(chunks).toString('utf8');
  }

  async function query(q: string, at: Date, headers: Record<string, string>, dispatcher: Dispatcher): Promise<QueryOutcome> {
    return send(q, at, headers, dispatcher, (status, text) => parseQueryResponse(q, status, text));
  }

  /** Sends one instant query and parses the answer with `parse`; transport failures become errors naming the query. */
  async function send<T extends { ok: true } | Failure | Extract<QueryValue, { ok: false }>>(
    q: string,
    at: Date,
    headers: Record<string, string>,
    dispatcher: Dispatcher,
    parse: (status: number, text: string) => T,
  ): Promise<T | Failure> {
    const started = now();
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), options.timeoutMs);
    let outcome: T | Failure;
    try {
      const form = new URLSearchParams({ query: q, time: (at.getTime() / 1000).toFixed(3), timeout: `${options.timeoutMs}ms` });
      const res = await request(endpoint, { method: 'POST', headers, body: form.toString(), dispatcher, signal: controller.signal });
      const text = await readCapped(res.body);
      outcome =
        text === undefined
          ? { ok: false, result: 'invalid_response', error: `query ${quoteQuery(q)}: the answer is larger than ${MAX_RESPONSE_BYTES} bytes; it must return one sample (aggregate it with sum(...))` }
          : parse(res.statusCode, text);
    } catch (err) {
      const detail = controller.signal.aborted ? ` timed out after ${options.timeoutMs} ms (Prometheus at ${where})` : `: cannot reach Prometheus at ${where}: ${errorCode(err)}`;
      outcome = { ok: false, result: controller.signal.aborted ? 'timeout' : 'connection_error', error: `query ${quoteQuery(q)}${detail}`, detail };
    } finally {
      clearTimeout(timer);
    }
    const result: QueryResult = outcome.ok ? 'success' : outcome.result;
    notify({ query: q, durationSeconds: (now() - started) / 1000, result, ...(outcome.ok ? {} : { error: outcome.error }) });
    return outcome;
  }

  async function distributions(requests: readonly DistributionRequest[], at: Date): Promise<DistributionAnswer[]> {
    if (requests.length === 0) return [];
    const prepared = closed ? ({ ok: false, result: 'connection_error', error: 'the Prometheus client is closed' } as Failure) : await prepare();
    if ('ok' in prepared) {
      for (const r of requests) notify({ query: r.query, durationSeconds: 0, result: prepared.result, error: prepared.error });
      return requests.map((r) => ({ id: r.id, ok: false, error: `query ${quoteQuery(r.query)} not sent: ${prepared.error}` }));
    }
    return Promise.all(
      requests.map((r) =>
        queue.add(async (): Promise<DistributionAnswer> => {
          const v = await send(r.query, at, prepared.headers, prepared.dispatcher, (status, text) => parseVectorResponse(r.query, status, text, r.by));
          return v.ok ? { id: r.id, ok: true, counts: (v as { counts: Record<string, number> }).counts } : { id: r.id, ok: false, error: v.error };
        }),
      ),
    );
  }

  async function measure(requests: readonly MeasurementRequest[], at: Date): Promise<MeasurementAnswer[]> {
    if (requests.length === 0) return [];
    // One query per distinct PromQL text: requests often share one (e.g. a revision's total).
    const texts = [...new Set(requests.flatMap((r) => [r.goodQuery, r.totalQuery]))];
    const outcomes = new Map<string, QueryOutcome>();
    const prepared = closed ? ({ ok: false, result: 'connection_error', error: 'the Prometheus client is closed' } as Failure) : await prepare();
    if ('ok' in prepared) {
      for (const q of texts) {
        outcomes.set(q, { ...prepared, error: `query ${quoteQuery(q)} not sent: ${prepared.error}`, detail: ` not sent: ${prepared.error}` });
        notify({ query: q, durationSeconds: 0, result: prepared.result, error: prepared.error });
      }
    } else {
      await Promise.all(
        texts.map((q) =>
          queue.add(async () => {
            outcomes.set(q, await query(q, at, prepared.headers, prepared.dispatcher));
          }),
        ),
      );
    }
    return requests.map((r) => answerFor(r, outcomes.get(r.goodQuery), outcomes.get(r.totalQuery)));
  }

  return {
    measure,
    distributions,
    async close() {
      closed = true;
      await queue.onIdle();
      await agent?.close();
    },
  };
}

const missing: Failure = { ok: false, result: 'invalid_response', error: 'no answer' };

/** good/total of one request, or the error(s) of its queries; good above total is refused. */
export function answerFor(r: Pick<MeasurementRequest, 'id' | 'goodQuery' | 'totalQuery'>, good: QueryOutcome = missing, total: QueryOutcome = missing): MeasurementAnswer {
  if (!good.ok || !total.ok) {
    // Both failed for one cause that is not theirs (Prometheus unreachable, a timeout): said once.
    const detail = (o: QueryOutcome): string | undefined => ('detail' in o ? o.detail : undefined);
    const shared = detail(good);
    if (shared !== undefined && shared === detail(total) && r.goodQuery !== r.totalQuery) {
      return { id: r.id, ok: false, error: `queries ${quoteQuery(r.goodQuery)} and ${quoteQuery(r.totalQuery)}${shared}` };
    }
    const errors = [...new Set([good, total].flatMap((o) => (o.ok ? [] : [o.error])))];
    return { id: r.id, ok: false, error: errors.join('; ') };
  }
  if (good.value !== null && total.value !== null && good.value > total.value * (1 + 1e-9) + 1e-9) {
    return {
      id: r.id,
      ok: false,
      error: `good query ${quoteQuery(r.goodQuery)} returned ${good.value}, more than total query ${quoteQuery(r.totalQuery)} (${total.value}): the good query must count a subset of the total's events`,
    };
  }
  return { id: r.id, ok: true, good: good.value, total: total.value };
}

/** The observer that feeds onnxop_operator_prometheus_queries_total and _query_duration_seconds. */
export function queryMetricsObserver(metrics: Pick<OperatorMetrics, 'prometheusQueries' | 'prometheusQueryDuration'>): (event: QueryEvent) => void {
  return (event) => {
    metrics.prometheusQueries.inc({ result: event.result });
    if (event.result !== 'credentials_error') metrics.prometheusQueryDuration.observe(event.durationSeconds);
  };
}
