import { describe, expect, test } from '@jest/globals';
import { createMetrics } from '../metrics/metrics.ts';
import { GroundTruth } from './ground-truth.ts';

const values = (...v: number[]) => Float64Array.from(v);

describe('pending predictions for delayed ground truth (typed-array ring)', () => {
  test('keeps the last max predictions, evicts the oldest and counts it, consumes ids once', () => {
    const metrics = createMetrics('m', 'r');
    const gt = new GroundTruth(3, { kind: 'classification', probabilities: 'p', label: undefined, binary: true }, metrics);
    for (let i = 0; i < 5; i++) gt.remember(`p${i}`, values(i % 2), 1);
    expect(gt.size).toBe(3);
    expect(metrics.pendingEvicted.value).toBe(2);
    expect(metrics.pendingPredictions.value).toBe(3);
    expect(() => gt.apply({ id: 'p0', label: 0 })).toThrow(/not pending here/);
    expect(gt.apply({ id: 'p4', label: 0 })).toEqual({ id: 'p4', rows: 1, correct: 1 });
    expect(gt.apply({ id: 'p3', label: 0 })).toEqual({ id: 'p3', rows: 1, correct: 0 });
    expect(() => gt.apply({ id: 'p3', label: 1 })).toThrow(/not pending here/);
    expect(gt.size).toBe(1);
    // The ring comes round to p2 (the oldest) first: evicted; then the consumed slots are reused
    // without an eviction.
    gt.remember('q0', values(1), 1);
    expect(metrics.pendingEvicted.value).toBe(3);
    expect(() => gt.apply({ id: 'p2', label: 0 })).toThrow(/not pending here/);
    gt.remember('q1', values(1), 1);
    gt.remember('q2', values(1), 1);
    expect(metrics.pendingEvicted.value).toBe(3);
    expect(gt.apply({ id: 'q0', label: 1 }).correct).toBe(1);
    expect(gt.size).toBe(2);
  });

  test('multi-row predictions keep every row (a copy: the caller reuses its buffer); a repeated id replaces the older prediction', () => {
    const metrics = createMetrics('m', 'r');
    const gt = new GroundTruth(4, { kind: 'regression', output: 'y' }, metrics);
    const scratch = values(1.5, 2.5, 3.5, 99);
    gt.remember('a', scratch, 3);
    scratch.fill(0);
    expect(gt.apply({ id: 'a', value: [1, 2, 4] })).toEqual({ id: 'a', rows: 3, mean_absolute_error: 0.5 });
    gt.remember('b', values(1), 1);
    gt.remember('b', values(2), 1);
    expect(gt.size).toBe(1);
    expect(() => gt.apply({ id: 'b', value: [1, 2] })).toThrow(/has 2 entries but prediction b has 1 rows/);
    expect(gt.apply({ id: 'b', value: 2 })).toEqual({ id: 'b', rows: 1, mean_absolute_error: 0 });
    expect(metrics.pendingEvicted.value).toBe(0);
  });
});
