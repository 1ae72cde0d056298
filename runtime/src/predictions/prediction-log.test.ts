import { describe, expect, test } from '@jest/globals';
import type { HostTensor } from '../protocol/datatypes.ts';
import { feedbackLine, isoNow, predictionLine, type PredictionRecord } from './prediction-log.ts';

const features: HostTensor = { datatype: 'FP32', shape: [2, 5], data: Float32Array.from([0.5, 1, 2, 3, 4, 5, 6, 7, 8, NaN]) };
const ids: HostTensor = { datatype: 'INT64', shape: [2], data: new BigInt64Array([1n, 2n ** 60n]) };
const record: PredictionRecord = {
  id: 'req-"1"',
  time: '2026-11-22T08:00:00.000Z',
  model: 'm"odel',
  revision: 'r1',
  inputs: new Map([
    ['features', features],
    ['ids', ids],
  ]),
  outputs: [{ name: 'probability', tensor: { datatype: 'FP32', shape: [2, 1], data: Float32Array.from([0.25, 0.75]) } }],
};

describe('prediction log lines', () => {
  test('full, summary and no inputs; outputs always in full; one JSON object per line', () => {
    const plainOf = (t: HostTensor, n: number) => Array.from(t.data as ArrayLike<number | bigint>).slice(0, n).map((v) => (typeof v === 'bigint' ? (v <= 2n ** 53n ? Number(v) : v.toString()) : Number.isFinite(v) ? v : null));
    const full = predictionLine(record, 'full');
    expect(full.endsWith('}\n')).toBe(true);
    expect(full.indexOf('\n')).toBe(full.length - 1);
    expect(JSON.parse(full)).toEqual({
      id: 'req-"1"',
      time: '2026-11-22T08:00:00.000Z',
      model: 'm"odel',
      revision: 'r1',
      inputs: {
        features: { datatype: 'FP32', shape: [2, 5], data: plainOf(features, 10) },
        ids: { datatype: 'INT64', shape: [2], data: [1, '1152921504606846976'] },
      },
      outputs: { probability: { datatype: 'FP32', shape: [2, 1], data: [0.25, 0.75] } },
    });
    const summary = JSON.parse(predictionLine(record, 'summary')) as { inputs: Record<string, { head: unknown[]; data?: unknown }> };
    expect(summary.inputs.features!.head).toEqual(plainOf(features, 8));
    expect(summary.inputs.features!.data).toBeUndefined();
    const none = JSON.parse(predictionLine(record, 'none')) as Record<string, unknown>;
    expect(none).not.toHaveProperty('inputs');
    expect(none.outputs).toEqual({ probability: { datatype: 'FP32', shape: [2, 1], data: [0.25, 0.75] } });
    expect(JSON.parse(predictionLine({ ...record, inputs: new Map() }, 'summary'))).toHaveProperty('inputs', {});
  });

  test('isoNow is the current time in ISO 8601', () => {
    const before = Date.now();
    const t = Date.parse(isoNow());
    expect(isoNow()).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(t).toBeGreaterThanOrEqual(before);
    expect(t).toBeLessThanOrEqual(Date.now());
  });
});

describe('ground-truth records (the Kafka sink\'s feedback topic)', () => {
  const r = { time: '2026-11-22T08:00:00.000Z', model: 'm"1', revision: 'r1', matched: true };
  test('the truth as posted (scalar or one per row, numeric strings read as numbers), keyed by the prediction id', () => {
    expect(feedbackLine({ id: 'p-"1"', label: 2 }, 'classification', r)).toEqual({ id: 'p-"1"', line: '{"id":"p-\\"1\\"","time":"2026-11-22T08:00:00.000Z","model":"m\\"1","revision":"r1","label":2,"matched":true}' });
    expect(JSON.parse(feedbackLine({ id: 'a', values: ['1.5', 2] }, 'regression', { ...r, matched: false })?.line ?? '')).toEqual({ id: 'a', time: r.time, model: 'm"1', revision: 'r1', value: [1.5, 2], matched: false });
  });
  test('no record without an id or a finite truth', () => {
    expect(feedbackLine({ label: 1 }, 'classification', r)).toBeUndefined();
    expect(feedbackLine({ id: 'a', value: 1 }, 'classification', r)).toBeUndefined();
    expect(feedbackLine({ id: 'a', label: [1, 'x'] }, 'classification', r)).toBeUndefined();
    expect(feedbackLine({ id: 'a', label: [] }, 'classification', r)).toBeUndefined();
    expect(feedbackLine({ id: 'a', value: Infinity }, 'regression', r)).toBeUndefined();
  });
});
