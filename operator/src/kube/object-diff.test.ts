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

describe('isSubset compares resource quantities by value', () => {
  const container = (resources: unknown) => ({ spec: { template: { spec: { containers: [{ name: 'runtime', resources }] } } } });
  test.each([
    // what the API server returns for what the operator wrote
    [{ limits: { cpu: '1000m', memory: '1024Mi' } }, { limits: { cpu: '1', memory: '1Gi' } }, true],
    [{ limits: { 'nvidia.com/gpu': 1 } }, { limits: { 'nvidia.com/gpu': '1' } }, true],
    [{ requests: { cpu: '0.5', memory: '1e9' } }, { requests: { cpu: '500m', memory: '1G' } }, true],
    [{ requests: { cpu: 2 } }, { requests: { cpu: '2' } }, true],
    // real differences stay differences
    [{ limits: { cpu: '1000m' } }, { limits: { cpu: '2' } }, false],
    [{ limits: { memory: '1024Mi' } }, { limits: { memory: '1G' } }, false],
    [{ limits: { cpu: '1' } }, { limits: {} }, false],
    [{ limits: { cpu: '1' } }, { requests: { cpu: '1' } }, false],
  ])('%j ⊆ %j is %s', (desired, observed, want) => {
    expect(isSubset(container(desired), container(observed))).toBe(want);
  });

  test('other quantity fields: overhead, emptyDir sizeLimit, autoscaling targets', () => {
    expect(isSubset({ spec: { overhead: { cpu: '100m' } } }, { spec: { overhead: { cpu: '0.1' } } })).toBe(true);
    expect(isSubset({ volumes: [{ name: 'tmp', emptyDir: { sizeLimit: '1024Mi' } }] }, { volumes: [{ name: 'tmp', emptyDir: { sizeLimit: '1Gi' } }] })).toBe(true);
    const target = (averageValue: string) => ({ metrics: [{ type: 'Pods', pods: { target: { type: 'AverageValue', averageValue } } }] });
    expect(isSubset(target('1.5'), target('1500m'))).toBe(true);
    expect(isSubset(target('1.5'), target('2'))).toBe(false);
  });

  test('strings elsewhere are compared as written', () => {
    expect(isSubset({ metadata: { labels: { size: '1000m' } } }, { metadata: { labels: { size: '1' } } })).toBe(false);
    expect(isSubset({ env: [{ name: 'LIMIT', value: '1Gi' }] }, { env: [{ name: 'LIMIT', value: '1024Mi' }] })).toBe(false);
    expect(isSubset({ limits: { cpu: '1000m' } }, { limits: { cpu: '1' } })).toBe(false); // not under resources
    expect(isSubset({ ports: [{ containerPort: 8080 }] }, { ports: [{ containerPort: '8080' }] })).toBe(false);
  });

  test('deepEqual (statuses) stays exact', () => {
    expect(deepEqual({ resources: { limits: { cpu: '1000m' } } }, { resources: { limits: { cpu: '1' } } })).toBe(false);
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
