// Pure tests of the same-input comparison: classes, float noise, shapes, the stable answer's
// decoding (JSON and binary), which side a failure blames, and the proxy rule.
import { describe, expect, test } from '@jest/globals';
import { SHADOW_FLOAT_NOISE } from '../../../lib/contract/index.ts';
import type { HostTensor } from '../protocol/datatypes.ts';
import type { TaskPlan } from '../model-health/model-health.ts';
import { compareOutputs, predictedClasses } from './compare.ts';
import { compareTarget } from './compare-client.ts';
import { decodeInferResponse } from './response.ts';
import { shadowOutcome } from './shadow-server.ts';

const f32 = (shape: number[], values: number[]): HostTensor => ({ datatype: 'FP32', shape, data: Float32Array.from(values) });
const i64 = (values: number[]): HostTensor => ({ datatype: 'INT64', shape: [values.length], data: BigInt64Array.from(values.map(BigInt)) });
const labelled: TaskPlan = { kind: 'classification', probabilities: 'probabilities', label: 'label', binary: false };
const probsOnly: TaskPlan = { kind: 'classification', probabilities: 'probabilities', label: undefined, binary: false };
const binary: TaskPlan = { kind: 'classification', probabilities: 'probability', label: undefined, binary: true };
const regression: TaskPlan = { kind: 'regression', output: 'value' };

describe('compareOutputs', () => {
  test('classifiers agree row by row on the label output', () => {
    const r = compareOutputs(labelled, new Map([['label', i64([0, 1, 2, 2])]]), new Map([['label', i64([0, 2, 2, 1])]]), 4);
    expect(r).toEqual({ ok: true, comparison: { rows: 4, agree: 2, disagree: 2, differences: [] } });
  });

  test('without a label output the argmax of the probabilities is the class; one probability is ≥ 0.5', () => {
    const c = new Map([['probabilities', f32([2, 3], [0.1, 0.7, 0.2, 0.5, 0.3, 0.2])]]);
    const s = new Map([['probabilities', f32([2, 3], [0.2, 0.6, 0.2, 0.1, 0.1, 0.8])]]);
    expect(compareOutputs(probsOnly, c, s, 2)).toMatchObject({ ok: true, comparison: { agree: 1, disagree: 1 } });
    const p = (v: number[]) => new Map([['probability', f32([v.length, 1], v)]]);
    expect(predictedClasses(binary as Extract<TaskPlan, { kind: 'classification' }>, p([0.49, 0.5, 0.9]), 3)).toEqual([0, 1, 1]);
    expect(compareOutputs(binary, p([0.49, 0.51]), p([0.51, 0.9]), 2)).toMatchObject({ ok: true, comparison: { agree: 1, disagree: 1 } });
  });

  test('regressors agree within float noise and record each row\'s largest difference', () => {
    const s = f32([3, 2], [1, 2, 100, -3, 0, 0]);
    const tiny = SHADOW_FLOAT_NOISE.relative * 100 * 0.5; // within noise for the value 100
    const c = f32([3, 2], [1, 2, 100 + tiny, -3, 0.01, 0]);
    const r = compareOutputs(regression, new Map([['value', c]]), new Map([['value', s]]), 3);
    if (!r.ok) throw new Error(r.reason);
    expect([r.comparison.agree, r.comparison.disagree]).toEqual([2, 1]);
    expect(r.comparison.differences[0]).toBe(0);
    expect(r.comparison.differences[1]).toBeCloseTo(tiny, 4); // FP32 at 100: steps of ~8e-6
    expect(r.comparison.differences[2]).toBeCloseTo(0.01, 6);
  });

  test('NaN on one side disagrees, on both sides agrees', () => {
    const r = compareOutputs(regression, new Map([['value', f32([2, 1], [Number.NaN, Number.NaN])]]), new Map([['value', f32([2, 1], [Number.NaN, 1])]]), 2);
    expect(r).toMatchObject({ ok: true, comparison: { agree: 1, disagree: 1 } });
  });

  test('a missing or differently shaped output names the side at fault', () => {
    expect(compareOutputs(labelled, new Map(), new Map([['label', i64([0])]]), 1)).toEqual({ ok: false, reason: 'canary: no output "label"' });
    expect(compareOutputs(labelled, new Map([['label', i64([0])]]), new Map(), 1)).toEqual({ ok: false, reason: 'stable: no output "label"' });
    const r = compareOutputs(regression, new Map([['value', f32([2, 1], [1, 2])]]), new Map([['value', f32([1, 1], [1])]]), 2);
    expect(r.ok).toBe(false);
    expect(compareOutputs({ kind: 'none' }, new Map(), new Map(), 1).ok).toBe(false);
  });
});

describe('decodeInferResponse', () => {
  test('JSON outputs', () => {
    const body = Buffer.from(JSON.stringify({ outputs: [{ name: 'label', datatype: 'INT64', shape: [2], data: [2, 0] }, { name: 'p', datatype: 'FP32', shape: [2, 1], data: [0.25, 0.5] }] }));
    const d = decodeInferResponse(body, undefined);
    if (!d.ok) throw new Error(d.reason);
    expect(Array.from(d.outputs.get('label')?.data as BigInt64Array)).toEqual([2n, 0n]);
    expect(Array.from(d.outputs.get('p')?.data as Float32Array)).toEqual([0.25, 0.5]);
  });

  test('binary outputs after the JSON part, in output order', () => {
    const head = Buffer.from(JSON.stringify({ outputs: [{ name: 'a', datatype: 'FP32', shape: [2], parameters: { binary_data_size: 8 } }, { name: 'b', datatype: 'INT64', shape: [1], parameters: { binary_data_size: 8 } }] }));
    const body = Buffer.concat([head, Buffer.from(Float32Array.from([1.5, -2]).buffer), Buffer.from(BigInt64Array.from([7n]).buffer)]);
    const d = decodeInferResponse(body, head.length);
    if (!d.ok) throw new Error(d.reason);
    expect(Array.from(d.outputs.get('a')?.data as Float32Array)).toEqual([1.5, -2]);
    expect(Array.from(d.outputs.get('b')?.data as BigInt64Array)).toEqual([7n]);
  });

  test('what does not decode is a reason, never a throw', () => {
    expect(decodeInferResponse(Buffer.from('not json'), undefined).ok).toBe(false);
    expect(decodeInferResponse(Buffer.from('{"outputs":[{"name":"a","datatype":"BYTES","shape":[1],"data":["x"]}]}'), undefined).ok).toBe(false);
    expect(decodeInferResponse(Buffer.from('{"outputs":[{"name":"a","datatype":"FP32","shape":[3],"data":[1]}]}'), undefined).ok).toBe(false);
    expect(decodeInferResponse(Buffer.from('{"outputs":[{"name":"a","datatype":"FP32","shape":[4],"parameters":{"binary_data_size":16}}]}'), 60).ok).toBe(false);
    expect(decodeInferResponse(Buffer.from('{}'), 99).ok).toBe(false);
  });
});

describe('shadowOutcome: which side a failure is counted against', () => {
  const stable = (status: number) => ({ ok: true as const, answer: { status, revision: 's', jsonLength: undefined, body: Buffer.alloc(0) } });
  test.each([
    [200, stable(200), 'agree'],
    [500, stable(200), 'canary_error'],
    [429, stable(200), 'canary_error'],
    [400, stable(200), 'canary_error'],
    [200, stable(500), 'stable_error'],
    [200, { ok: false as const, reason: 'ECONNREFUSED' }, 'stable_error'],
    [400, stable(400), 'skipped'],
  ] as const)('canary %s, stable %j → %s', (canary, s, outcome) => {
    expect(shadowOutcome(canary, s)).toBe(outcome);
  });
});

describe('compareTarget', () => {
  test('HTTP_PROXY applies unless NO_PROXY names the host or a parent domain', () => {
    expect(compareTarget('http://m.ns.svc:8082', { HTTP_PROXY: 'http://10.0.0.1:3128' }).proxy?.host).toBe('10.0.0.1:3128');
    expect(compareTarget('http://m.ns.svc:8082', { http_proxy: 'http://p:1', NO_PROXY: 'svc' }).proxy).toBeUndefined();
    expect(compareTarget('http://m.ns.svc:8082', { HTTP_PROXY: 'http://p:1', NO_PROXY: '.ns.svc' }).proxy).toBeUndefined();
    expect(compareTarget('http://m.ns.svc:8082', {}).proxy).toBeUndefined();
  });
});
