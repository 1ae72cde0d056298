import { computeRevision } from './revision.ts';
import { childName } from './names.ts';
import { DIGEST_B, config, makeModel } from './test-fixtures.ts';

describe('computeRevision', () => {
  const base = makeModel();
  const rev = computeRevision(base, config);

  it('is 10 lowercase hex characters and stable across calls and key order', () => {
    expect(rev).toMatch(/^[0-9a-f]{10}$/);
    expect(computeRevision(makeModel(), config)).toBe(rev);
    // Known value: changing it silently would roll every model in every cluster.
    expect(computeRevision(makeModel({ runtime: { sessionOptions: { graphOptimizationLevel: 'all', intraOpThreads: 0 } } }), config)).toBe(rev);
  });

  it.each([
    ['digest', { model: { uri: 'https://models.example.com/iris.onnx', digest: DIGEST_B } }],
    ['uri', { model: { uri: 'https://models.example.com/other.onnx', digest: makeModel().spec.model.digest } }],
    ['image', { runtime: { image: 'example.com/runtime:2' } }],
    ['resources', { runtime: { resources: { limits: { cpu: '2' } } } }],
    ['accelerator', { runtime: { accelerator: 'gpu' } }],
    ['session options', { runtime: { sessionOptions: { intraOpThreads: 4 } } }],
    ['batching', { runtime: { batching: { maxBatchSize: 4 } } }],
    ['env', { runtime: { env: [{ name: 'A', value: 'b' }] } }],
    ['port', { runtime: { port: 9000 } }],
    ['node selector', { runtime: { nodeSelector: { zone: 'a' } } }],
  ])('changes with %s', (_what, spec) => {
    expect(computeRevision(makeModel(spec), config)).not.toBe(rev);
  });

  it.each([
    ['replicas', { runtime: { replicas: 5 } }],
    ['autoscaling', { runtime: { autoscaling: { maxReplicas: 4, targetCPUUtilization: 60 } } }],
    ['traffic', { traffic: { provider: 'none' } }],
    ['rollout', { rollout: { steps: [{ weight: 10 }], progressDeadline: '1h' } }],
    ['signature', { signature: { mode: 'Audit', authorities: [{ key: { secretRef: { name: 'k' } } }] } }],
  ])('does not change with %s', (_what, spec) => {
    expect(computeRevision(makeModel(spec), config)).toBe(rev);
  });

  it('follows the operator default image when spec.runtime.image is unset', () => {
    expect(computeRevision(base, { ...config, defaultRuntimeImage: 'example.com/runtime:9' })).not.toBe(rev);
  });
});

describe('childName', () => {
  it('keeps short names readable and long ones unique within 63 characters', () => {
    expect(childName('iris', 'abcdef0123')).toBe('iris-abcdef0123');
    const a = childName('a'.repeat(60), 'abcdef0123');
    const b = childName(`${'a'.repeat(59)}b`, 'abcdef0123');
    expect(a.length).toBeLessThanOrEqual(63);
    expect(a).toMatch(/-abcdef0123$/);
    expect(a).not.toBe(b);
    expect(childName('x'.repeat(70), '')).toHaveLength(63);
  });
});
