import { describe, expect, test } from '@jest/globals';
import { deepEqual, isSubset, manifestHash } from './object-diff.ts';

describe('isSubset', () => {
  test.each([
    [{ a: 1 }, { a: 1, b: 2 }, true],
    [{ a: 1, b: 2 }, { a: 1 }, false],
    [{ a: { b: [1, { c: 'x' }] } }, { a: { b: [1, { c: 'x', d: 'defaulted' }] } }, true],
    [{ a: [1, 2] }, { a: [1, 2, 3] }, false],
    [{ a: '1' }, { a: 1 }, false],
    [{ a: null }, { a: null }, true],
    [{ a: 1 }, undefined, false],
  ])('%j ⊆ %j is %s', (d, o, want) => {
    expect(isSubset(d, o)).toBe(want);
  });
});

describe('manifestHash', () => {
  test('ignores key order and sees value changes', () => {
    expect(manifestHash({ a: 1, b: { c: 2, d: 3 } })).toBe(manifestHash({ b: { d: 3, c: 2 }, a: 1 }));
    expect(manifestHash({ a: 1 })).not.toBe(manifestHash({ a: 2 }));
    expect(manifestHash({ a: [1, 2] })).not.toBe(manifestHash({ a: [2, 1] }));
  });
  test('deepEqual is symmetric containment', () => {
    expect(deepEqual({ a: [1, { b: 2 }] }, { a: [1, { b: 2 }] })).toBe(true);
    expect(deepEqual({ a: 1 }, { a: 1, b: undefined })).toBe(true);
    expect(deepEqual({ a: 1 }, { a: 1, b: 2 })).toBe(false);
  });
});

describe('isNewer (resource versions)', () => {
  test.each([
    ['12', '11', true],
    ['11', '12', false],
    ['12', '12', false],
    ['100000000000000000001', '99', true],
    ['abc', '12', true],
    [undefined, '12', true],
  ])('%s newer than %s: %s', async (incoming, cached, want) => {
    const { isNewer } = await import('./informer.ts');
    expect(isNewer(incoming, cached)).toBe(want);
  });
});
