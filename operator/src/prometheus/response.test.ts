import { describe, expect, it, test } from '@jest/globals';
import { createMetrics } from '../metrics.ts';
import { answerFor, queryMetricsObserver, type QueryOutcome } from './client.ts';
import { parseQueryResponse, parseSampleValue, parseVectorResponse, quoteQuery } from './response.ts';

const Q = 'sum(increase(onnxop_requests_total{revision="abc"}[5m]))';
const ok = (result: unknown, resultType = 'vector') => JSON.stringify({ status: 'success', data: { resultType, result } });
const sample = (value: string, metric: Record<string, string> = {}) => ({ metric, value: [1767225600.123, value] });

describe('parseQueryResponse: a Prometheus answer becomes one count, null, or an error naming the query', () => {
  test.each<[string, number, string, number | null]>([
    ['one vector sample', 200, ok([sample('42')]), 42],
    ['a fractional count (increase() extrapolates)', 200, ok([sample('12.5')]), 12.5],
    ['exponent notation', 200, ok([sample('1.5e+06')]), 1_500_000],
    ['zero', 200, ok([sample('0')]), 0],
    ['negative zero is zero', 200, ok([sample('-0')]), 0],
    ['the sample keeps its labels', 200, ok([sample('7', { revision: 'abc' })]), 7],
    ['an empty vector is no data', 200, ok([]), null],
    ['a scalar', 200, ok([1767225600, '3'], 'scalar'), 3],
    ['warnings do not change the value', 200, JSON.stringify({ status: 'success', data: { resultType: 'vector', result: [sample('5')] }, warnings: ['PromQL info: …'] }), 5],
  ])('%s', (_name, status, body, value) => {
    expect(parseQueryResponse(Q, status, body)).toEqual({ ok: true, value });
  });

  test.each<[string, number, string, string, RegExp]>([
    ['several series', 200, ok([sample('1', { pod: 'a' }), sample('2', { pod: 'b' })]), 'invalid_response', /returned 2 series \(\{pod="a"\}, \{pod="b"\}\); it must return one, e.g. aggregate it with sum\(\.\.\.\)/],
    ['many series are listed in part', 200, ok([1, 2, 3, 4, 5].map((i) => sample('1', { i: String(i) }))), 'invalid_response', /returned 5 series \(\{i="1"\}, \{i="2"\}, \{i="3"\} and 2 more\)/],
    ['a matrix', 200, ok([{ metric: {}, values: [[1, '1']] }], 'matrix'), 'invalid_response', /returned a matrix; an instant vector of one sample or a scalar was expected/],
    ['a string', 200, ok([1, 'foo'], 'string'), 'invalid_response', /returned a string;/],
    ['no resultType', 200, JSON.stringify({ status: 'success', data: { result: [] } }), 'invalid_response', /returned no resultType/],
    ['NaN', 200, ok([sample('NaN')]), 'invalid_response', /returned NaN/],
    ['+Inf', 200, ok([sample('+Inf')]), 'invalid_response', /returned \+Inf \(a division by zero/],
    ['-Inf', 200, ok([sample('-Inf')]), 'invalid_response', /returned -Inf/],
    ['a negative count', 200, ok([sample('-3')]), 'invalid_response', /returned -3, a negative count/],
    ['a value that is not a number', 200, ok([sample('12abc')]), 'invalid_response', /the value "12abc", which is not a number/],
    ['an empty value', 200, ok([sample('')]), 'invalid_response', /the value "", which is not a number/],
    ['a value written as a JSON number', 200, ok([{ metric: {}, value: [1, 5] }]), 'invalid_response', /a sample value of type number/],
    ['a sample without a timestamp', 200, ok([{ metric: {}, value: ['x', '5'] }]), 'invalid_response', /a sample without a numeric timestamp/],
    ['a sample that is not a pair', 200, ok([{ metric: {}, value: ['5'] }]), 'invalid_response', /not a \[time, value\] pair/],
    ['a native histogram sample', 200, ok([{ metric: {}, histogram: [1, { count: '3' }] }]), 'invalid_response', /native histogram/],
    ['a scalar that is not a pair', 200, ok('3', 'scalar'), 'invalid_response', /returned a scalar with a sample that is not a \[time, value\] pair/],
    ['a vector result that is not a list', 200, ok({}, 'vector'), 'invalid_response', /whose result is not a list/],
    ['malformed JSON', 200, '{"status":"success","data":', 'invalid_response', /Prometheus answered HTTP 200 with a body that is not JSON: \{"status":"success","data":/],
    ['an empty body', 200, '', 'invalid_response', /not JSON: \(empty\)/],
    ['JSON that is not an object', 200, '[1,2]', 'invalid_response', /JSON that is not an object/],
    ['an unknown status', 200, JSON.stringify({ status: 'partial', data: {} }), 'invalid_response', /status is "partial", not "success"/],
    ['no data', 200, JSON.stringify({ status: 'success' }), 'invalid_response', /no data object/],
    ['a syntax error (Prometheus 400 bad_data)', 400, JSON.stringify({ status: 'error', errorType: 'bad_data', error: 'invalid parameter "query": 1:14: parse error: unclosed left parenthesis' }), 'http_error', /failed: Prometheus answered HTTP 400 bad_data: invalid parameter "query": 1:14: parse error: unclosed left parenthesis/],
    ['an execution error (422)', 422, JSON.stringify({ status: 'error', errorType: 'execution', error: 'many-to-many matching not allowed' }), 'http_error', /HTTP 422 execution: many-to-many matching not allowed/],
    ['Prometheus overloaded (503)', 503, JSON.stringify({ status: 'error', errorType: 'timeout', error: 'query timed out in expression evaluation' }), 'http_error', /HTTP 503 timeout: query timed out/],
    ['a proxy error page', 502, '<html><body>Bad Gateway</body></html>', 'http_error', /HTTP 502: <html><body>Bad Gateway<\/body><\/html>/],
    ['an auth proxy refusal', 401, 'Unauthorized\n', 'http_error', /HTTP 401: Unauthorized$/],
    ['an HTTP error with JSON that is not Prometheus\'', 500, '{"message":"boom"}', 'http_error', /HTTP 500: \{"message":"boom"\}/],
    ['status error with HTTP 200', 200, JSON.stringify({ status: 'error', error: 'odd' }), 'http_error', /HTTP 200: odd/],
  ])('%s', (_name, status, body, result, message) => {
    const v = parseQueryResponse(Q, status, body);
    expect(v.ok).toBe(false);
    if (v.ok) return;
    expect(v.result).toBe(result);
    expect(v.error).toMatch(message);
    expect(v.error).toContain(`query \`${Q}\``);
  });

  test('a long body is shortened in the message', () => {
    const v = parseQueryResponse(Q, 500, 'x'.repeat(5000));
    expect(v).toEqual({ ok: false, result: 'http_error', error: `query \`${Q}\` failed: Prometheus answered HTTP 500: ${'x'.repeat(200)}…` });
  });
  test('a long query is shortened in the message', () => {
    expect(quoteQuery('a'.repeat(600))).toBe(`\`${'a'.repeat(500)}…\``);
  });
  test('parseSampleValue accepts what Prometheus writes for finite numbers', () => {
    expect(['1', '+1', '0.5', '.5', '5.', '1e3', '1E-3'].map(parseSampleValue)).toEqual([1, 1, 0.5, 0.5, 5, 1000, 0.001]);
    expect(typeof parseSampleValue('1e999')).toBe('string');
  });
});

describe('answerFor: one answer per request from its two queries', () => {
  const r = { id: 'm1', goodQuery: 'good', totalQuery: 'total' };
  test.each<[string, QueryOutcome, QueryOutcome, unknown]>([
    ['both counts', { ok: true, value: 95 }, { ok: true, value: 100 }, { id: 'm1', ok: true, good: 95, total: 100 }],
    ['no data on both', { ok: true, value: null }, { ok: true, value: null }, { id: 'm1', ok: true, good: null, total: null }],
    ['no good events yet', { ok: true, value: null }, { ok: true, value: 4 }, { id: 'm1', ok: true, good: null, total: 4 }],
    ['good equal to total', { ok: true, value: 4 }, { ok: true, value: 4 }, { id: 'm1', ok: true, good: 4, total: 4 }],
    ['one failed query', { ok: false, result: 'http_error', error: 'query `good` failed: x' }, { ok: true, value: 4 }, { id: 'm1', ok: false, error: 'query `good` failed: x' }],
    ['both failed alike', { ok: false, result: 'timeout', error: 'e' }, { ok: false, result: 'timeout', error: 'e' }, { id: 'm1', ok: false, error: 'e' }],
    ['both failed differently', { ok: false, result: 'timeout', error: 'e1' }, { ok: false, result: 'http_error', error: 'e2' }, { id: 'm1', ok: false, error: 'e1; e2' }],
    [
      'both failed for one cause that is not theirs: said once',
      { ok: false, result: 'timeout', error: 'query `good` timed out after 5 ms', detail: ' timed out after 5 ms' },
      { ok: false, result: 'timeout', error: 'query `total` timed out after 5 ms', detail: ' timed out after 5 ms' },
      { id: 'm1', ok: false, error: 'queries `good` and `total` timed out after 5 ms' },
    ],
  ])('%s', (_name, good, total, answer) => {
    expect(answerFor(r, good, total)).toEqual(answer);
  });
  test('good above total is an error naming both queries', () => {
    const a = answerFor(r, { ok: true, value: 11 }, { ok: true, value: 10 });
    expect(a).toEqual({ id: 'm1', ok: false, error: expect.stringMatching(/good query `good` returned 11, more than total query `total` \(10\)/) });
  });
});

describe('queryMetricsObserver: the hook feeds the operator metrics', () => {
  test('counts every query by result and times those sent', async () => {
    const m = createMetrics();
    const observe = queryMetricsObserver(m);
    observe({ query: 'q', durationSeconds: 0.02, result: 'success' });
    observe({ query: 'q', durationSeconds: 5, result: 'timeout', error: 'query `q` timed out' });
    observe({ query: 'q', durationSeconds: 0, result: 'credentials_error', error: 'not sent' });
    const text = await m.registry.metrics();
    for (const [result, n] of [['success', 1], ['timeout', 1], ['credentials_error', 1], ['http_error', 0], ['invalid_response', 0], ['connection_error', 0]] as const) {
      expect(text).toContain(`onnxop_operator_prometheus_queries_total{result="${result}"} ${n}`);
    }
    expect(text).toContain('onnxop_operator_prometheus_query_duration_seconds_count 2');
  });
});

describe('parseVectorResponse', () => {
  const q = 'sum by (class) (increase(onnxop_predicted_class_total[5m]))';
  const vector = (result: unknown[]) => JSON.stringify({ status: 'success', data: { resultType: 'vector', result } });
  it('counts by the label; an empty vector is no counts', () => {
    expect(parseVectorResponse(q, 200, vector([{ metric: { class: '0' }, value: [1, '12'] }, { metric: { class: '1' }, value: [1, '3.5'] }]), 'class')).toEqual({ ok: true, counts: { '0': 12, '1': 3.5 } });
    expect(parseVectorResponse(q, 200, vector([]), 'class')).toEqual({ ok: true, counts: {} });
  });
  it.each([
    ['a series without the label', vector([{ metric: { le: '1' }, value: [1, '1'] }]), /without the label class/],
    ['the label twice', vector([{ metric: { class: '0' }, value: [1, '1'] }, { metric: { class: '0' }, value: [1, '2'] }]), /two series with class="0"/],
    ['a negative count', vector([{ metric: { class: '0' }, value: [1, '-1'] }]), /returned/],
    ['a matrix', JSON.stringify({ status: 'success', data: { resultType: 'matrix', result: [] } }), /a matrix; an instant vector by class/],
    ['too many series', vector(Array.from({ length: 300 }, (_, i) => ({ metric: { class: String(i) }, value: [1, '1'] }))), /300 series/],
    ['an HTTP error', '{"status":"error","errorType":"bad_data","error":"parse error"}', /HTTP 400 bad_data: parse error/],
  ])('refuses %s, naming the query', (_name, body, message) => {
    const r = parseVectorResponse(q, body.includes('"error"') ? 400 : 200, body, 'class');
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error).toMatch(message);
      expect(r.error).toContain('onnxop_predicted_class_total');
    }
  });
});
