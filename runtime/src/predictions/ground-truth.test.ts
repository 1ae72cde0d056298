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

  test('generated ids: UUID-shaped, unique, found by feedback without being kept in a map; evicted like any other', () => {
    const metrics = createMetrics('m', 'r');
    const gt = new GroundTruth(3, { kind: 'classification', probabilities: 'p', label: undefined, binary: true }, metrics);
    const made = Array.from({ length: 4 }, (_, i) => gt.remember(undefined, values(i % 2), 1));
    for (const id of made) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(new Set(made).size).toBe(4);
    // The first went round the ring (slot 0 again for the fourth): evicted.
    expect(made[0]!.slice(-8)).toBe('00000000');
    expect(made[3]!.slice(-8)).toBe('00000000');
    expect(metrics.pendingEvicted.value).toBe(1);
    expect(() => gt.apply({ id: made[0], label: 0 })).toThrow(/not pending here/);
    expect(gt.apply({ id: made[1], label: 1 })).toEqual({ id: made[1], rows: 1, correct: 1 });
    expect(() => gt.apply({ id: made[1], label: 1 })).toThrow(/not pending here/);
    // An id with a valid slot suffix but other random digits is not that prediction.
    const forged = 'ffffffff-ffff-4fff-bfff-ffff' + made[2]!.slice(-8);
    expect(() => gt.apply({ id: forged, label: 0 })).toThrow(/not pending here/);
    expect(gt.size).toBe(2);
    expect(metrics.pendingPredictions.value).toBe(2);
  });

  test('a client id that equals a generated one replaces it; client ids of generated shape still go through the map', () => {
    const metrics = createMetrics('m', 'r');
    const gt = new GroundTruth(4, { kind: 'regression', output: 'y' }, metrics);
    const generated = gt.remember(undefined, values(1), 1);
    expect(gt.remember(generated, values(5), 1)).toBe(generated);
    expect(gt.size).toBe(1);
    expect(gt.apply({ id: generated, value: 5 })).toEqual({ id: generated, rows: 1, mean_absolute_error: 0 });
    const lookalike = '12345678-1234-4234-8234-123400000003';
    gt.remember(lookalike, values(2), 1);
    expect(gt.apply({ id: lookalike, value: 1 })).toEqual({ id: lookalike, rows: 1, mean_absolute_error: 1 });
    expect(gt.size).toBe(0);
  });

  test("nothing kept (max 0, or no prediction) still yields an id: the client's or a fresh UUID", () => {
    const metrics = createMetrics('m', 'r');
    const off = new GroundTruth(0, { kind: 'regression', output: 'y' }, metrics);
    expect(off.remember('mine', values(1), 1)).toBe('mine');
    expect(off.remember(undefined, values(1), 1)).toMatch(/^[0-9a-f-]{36}$/);
    expect(off.size).toBe(0);
    expect(() => new GroundTruth(-1, { kind: 'none' }, metrics)).toThrow(RangeError);
  });

  test('multi-row predictions are held up to a bound of rows: the oldest go first, one larger than the bound is never held', () => {
    const metrics = createMetrics('m', 'r');
    const gt = new GroundTruth(10, { kind: 'regression', output: 'y' }, metrics, 8);
    const a = gt.remember(undefined, new Float64Array(4), 4);
    const b = gt.remember(undefined, new Float64Array(4), 4);
    const single = gt.remember(undefined, values(1), 1);
    const c = gt.remember(undefined, new Float64Array(3), 3); // 11 rows > 8: a goes
    expect(gt.size).toBe(3);
    expect(metrics.pendingEvicted.value).toBe(1);
    expect(() => gt.apply({ id: a, value: [0, 0, 0, 0] })).toThrow(/not pending here/);
    expect(gt.apply({ id: b, value: [0, 0, 0, 0] }).rows).toBe(4);
    expect(gt.apply({ id: c, value: [0, 0, 0] }).rows).toBe(3);
    expect(gt.apply({ id: single, value: 0 }).rows).toBe(1);
    const huge = gt.remember('big', new Float64Array(9), 9);
    expect(huge).toBe('big');
    expect(gt.size).toBe(0);
    expect(metrics.pendingEvicted.value).toBe(2);
  });
});
