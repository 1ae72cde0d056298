// Validation of Prometheus' instant-query answers (`/api/v1/query`), as pure functions of the HTTP
// status and body. Nothing Prometheus says enters the analysis core unchecked: an answer is one
// finite, non-negative number, or null when the query matched nothing, or an error that names the
// query and says what was wrong.

/** How one query ended, the `result` label of onnxop_operator_prometheus_queries_total. */
export type QueryResult = 'success' | 'http_error' | 'invalid_response' | 'timeout' | 'connection_error' | 'credentials_error';
export const QUERY_RESULTS: readonly QueryResult[] = ['success', 'http_error', 'invalid_response', 'timeout', 'connection_error', 'credentials_error'];

/** What one query answered: a count (null: no sample), or why there is none. */
export type QueryValue = { ok: true; value: number | null } | { ok: false; result: 'http_error' | 'invalid_response'; error: string };

const MAX_QUERY_IN_MESSAGE = 500;
const MAX_BODY_IN_MESSAGE = 200;

/** The query as error messages show it: in backquotes, shortened past 500 characters. */
export function quoteQuery(query: string): string {
  const q = query.length > MAX_QUERY_IN_MESSAGE ? `${query.slice(0, MAX_QUERY_IN_MESSAGE)}…` : query;
  return `\`${q}\``;
}

function snippet(body: string): string {
  const flat = body.replace(/\s+/g, ' ').trim();
  return flat.length > MAX_BODY_IN_MESSAGE ? `${flat.slice(0, MAX_BODY_IN_MESSAGE)}…` : flat;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const NUMBER = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;

/**
 * A sample value as Prometheus writes it (`"12"`, `"1.5e+06"`, `"NaN"`, `"+Inf"`): a count must be
 * a finite number ≥ 0. Returns the number or what is wrong with it.
 */
export function parseSampleValue(raw: unknown): number | string {
  if (typeof raw !== 'string') return `a sample value of type ${raw === null ? 'null' : typeof raw} (Prometheus writes values as strings)`;
  if (raw === 'NaN') return 'NaN (a division by zero or an empty ratio; the query must return a count)';
  if (/^[-+]?Inf$/.test(raw)) return `${raw} (a division by zero; the query must return a count)`;
  if (!NUMBER.test(raw)) return `the value ${JSON.stringify(raw.slice(0, 40))}, which is not a number`;
  const n = Number(raw);
  if (!Number.isFinite(n)) return `${raw}, which is not finite`;
  if (n < 0) return `${raw}, a negative count (a counter reset the query does not handle, or a query that is not a count)`;
  return n === 0 ? 0 : n; // -0 → 0
}

/** `[<unix seconds>, "<value>"]`, the shape of a scalar and of a vector sample's `value`. */
function samplePair(v: unknown): { value: unknown } | string {
  if (!Array.isArray(v) || v.length !== 2) return 'a sample that is not a [time, value] pair';
  if (typeof v[0] !== 'number' || !Number.isFinite(v[0])) return 'a sample without a numeric timestamp';
  return { value: v[1] };
}

function labelsOf(metric: unknown): string {
  if (!isObject(metric)) return '{}';
  return `{${Object.entries(metric)
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(', ')}}`;
}


/**
 * Turns one answer of `/api/v1/query` into a count: status `success`, and `resultType` vector with 0
 * samples (null) or 1 sample, or scalar. Several series, another result type, NaN, ±Inf, a negative
 * value, a body that is not JSON or not Prometheus' envelope, and HTTP errors (with Prometheus' own
 * `errorType` and `error` text) are errors naming the query.
 */
type Envelope = { ok: true; data: Record<string, unknown> } | Extract<QueryValue, { ok: false }>;

/** Prometheus' answer envelope: JSON, status `success`, a data object; else an error naming the query. */
function parseEnvelope(query: string, httpStatus: number, body: string): Envelope {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    if (httpStatus < 200 || httpStatus > 299) {
      return { ok: false, result: 'http_error', error: `query ${quoteQuery(query)} failed: Prometheus answered HTTP ${httpStatus}${body.trim() ? `: ${snippet(body)}` : ''}` };
    }
    return invalidOf(query, `Prometheus answered HTTP ${httpStatus} with a body that is not JSON: ${snippet(body) || '(empty)'}`);
  }
  if (!isObject(parsed)) return invalidOf(query, `Prometheus answered HTTP ${httpStatus} with JSON that is not an object: ${snippet(body)}`);
  if (parsed.status === 'error' || httpStatus < 200 || httpStatus > 299) {
    const errorType = typeof parsed.errorType === 'string' ? ` ${parsed.errorType}` : '';
    const text = typeof parsed.error === 'string' ? parsed.error : snippet(body);
    return { ok: false, result: 'http_error', error: `query ${quoteQuery(query)} failed: Prometheus answered HTTP ${httpStatus}${errorType}: ${text}` };
  }
  if (parsed.status !== 'success') return invalidOf(query, `the answer's status is ${JSON.stringify(parsed.status)}, not "success"`);
  const data = parsed.data;
  if (!isObject(data)) return invalidOf(query, 'the answer has no data object');
  return { ok: true, data };
}

const invalidOf = (query: string, what: string): Extract<QueryValue, { ok: false }> => ({ ok: false, result: 'invalid_response', error: `query ${quoteQuery(query)}: ${what}` });

/** The most series a quality-gate query may return (classes 0–31 and other, or histogram buckets). */
export const MAX_VECTOR_SERIES = 256;

export type VectorValue = { ok: true; counts: Record<string, number> } | Extract<QueryValue, { ok: false }>;

/**
 * Turns an answer of `/api/v1/query` for a `sum by (<by>) (...)` query into counts keyed by the
 * label: a vector (empty = no counts), each sample carrying that label once and a finite, non-negative
 * value. Anything else is an error naming the query.
 */
export function parseVectorResponse(query: string, httpStatus: number, body: string, by: string): VectorValue {
  const envelope = parseEnvelope(query, httpStatus, body);
  if (!envelope.ok) return envelope;
  const { resultType, result } = envelope.data;
  if (resultType !== 'vector') return invalidOf(query, `returned ${typeof resultType === 'string' ? `a ${resultType}` : 'no resultType'}; an instant vector by ${by} was expected`);
  if (!Array.isArray(result)) return invalidOf(query, 'returned a vector whose result is not a list');
  if (result.length > MAX_VECTOR_SERIES) return invalidOf(query, `returned ${result.length} series; at most ${MAX_VECTOR_SERIES} were expected`);
  const counts: Record<string, number> = {};
  for (const sample of result as unknown[]) {
    if (!isObject(sample) || !isObject(sample.metric)) return invalidOf(query, 'returned a vector sample that is not an object with labels');
    const key = sample.metric[by];
    if (typeof key !== 'string') return invalidOf(query, `returned a series without the label ${by} (${labelsOf(sample.metric)})`);
    if (key in counts) return invalidOf(query, `returned two series with ${by}=${JSON.stringify(key)}`);
    const pair = samplePair(sample.value);
    if (typeof pair === 'string') return invalidOf(query, `returned ${pair}`);
    const v = parseSampleValue(pair.value);
    if (typeof v !== 'number') return invalidOf(query, `returned ${v} for ${by}=${JSON.stringify(key)}`);
    counts[key] = v;
  }
  return { ok: true, counts };
}

export function parseQueryResponse(query: string, httpStatus: number, body: string): QueryValue {
  const envelope = parseEnvelope(query, httpStatus, body);
  if (!envelope.ok) return envelope;
  const { data } = envelope;
  const { resultType, result } = data;
  if (resultType === 'scalar') {
    const pair = samplePair(result);
    if (typeof pair === 'string') return invalidOf(query, `returned a scalar with ${pair}`);
    return valueOf(query, pair.value);
  }
  if (resultType !== 'vector') {
    const what = typeof resultType === 'string' ? `a ${resultType}` : 'no resultType';
    return invalidOf(query, `returned ${what}; an instant vector of one sample or a scalar was expected (a range selector such as [5m] needs a function like increase() around it)`);
  }
  if (!Array.isArray(result)) return invalidOf(query, 'returned a vector whose result is not a list');
  if (result.length === 0) return { ok: true, value: null };
  if (result.length > 1) {
    const shown = result.slice(0, 3).map((s: unknown) => labelsOf(isObject(s) ? s.metric : undefined));
    const more = result.length > 3 ? ` and ${result.length - 3} more` : '';
    return invalidOf(query, `returned ${result.length} series (${shown.join(', ')}${more}); it must return one, e.g. aggregate it with sum(...)`);
  }
  const sample: unknown = result[0];
  if (!isObject(sample)) return invalidOf(query, 'returned a vector sample that is not an object');
  if (sample.histogram !== undefined && sample.value === undefined) return invalidOf(query, 'returned a native histogram sample; a number was expected (use histogram_count() or a classic bucket)');
  const pair = samplePair(sample.value);
  if (typeof pair === 'string') return invalidOf(query, `returned ${pair}`);
  return valueOf(query, pair.value);
}

function valueOf(query: string, raw: unknown): QueryValue {
  const v = parseSampleValue(raw);
  return typeof v === 'number' ? { ok: true, value: v } : invalidOf(query, `returned ${v}`);
}
