import type { V1Container } from '@kubernetes/client-node';
import { envReferences, expand, resolveEnv, type EnvContext, type EnvSources } from './container-spec.ts';
import { KubeletError } from './errors.ts';
import type { Pod } from './types.ts';

describe('expand ($(VAR), Kubernetes semantics)', () => {
  const vars: Record<string, string> = { A: 'alpha', B: 'beta', EMPTY: '' };
  const cases: [string, string][] = [
    ['$(A)', 'alpha'],
    ['x-$(A)-$(B)-y', 'x-alpha-beta-y'],
    ['$(UNKNOWN)', '$(UNKNOWN)'],
    ['$$(A)', '$(A)'],
    ['$$$(A)', '$alpha'],
    ['$(EMPTY)z', 'z'],
    ['$A', '$A'],
    ['a$', 'a$'],
    ['$(A', '$(A'],
    ['$$', '$'],
    ['no vars', 'no vars'],
  ];
  test.each(cases)('%s → %s', (input, want) => {
    expect(expand(input, (n) => vars[n])).toBe(want);
  });
});

const pod: Pod = {
  metadata: { name: 'web-0', namespace: 'shop', uid: 'uid-1', labels: { app: 'web' }, annotations: { 'x/y': 'z' } },
  spec: {
    nodeName: 'lab-cpu-1',
    serviceAccountName: 'sa',
    containers: [{ name: 'main', image: 'img', resources: { limits: { cpu: '1500m', memory: '256Mi' }, requests: { cpu: '250m' } } }, { name: 'side', image: 'img' }],
  },
};
const ctx: EnvContext = { pod, podIP: '10.244.1.7', hostIP: '10.244.0.11', nodeAllocatable: { cpu: '4', memory: '8Gi' }, base: { HOSTNAME: 'web-0', PATH: '/bin' } };
const sources: EnvSources = { configMaps: { cfg: { MODE: 'fast', LEVEL: '3' } }, secrets: { creds: { TOKEN: 's3cret' } } };

describe('resolveEnv', () => {
  test('values, downward API, resources, config refs, envFrom and ordered expansion', () => {
    const c: V1Container = {
      name: 'main',
      image: 'img',
      resources: pod.spec.containers[0]!.resources!,
      envFrom: [{ configMapRef: { name: 'cfg' }, prefix: 'CFG_' }, { secretRef: { name: 'creds' } }],
      env: [
        { name: 'POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
        { name: 'NS', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
        { name: 'UID', valueFrom: { fieldRef: { fieldPath: 'metadata.uid' } } },
        { name: 'APP', valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } },
        { name: 'ANN', valueFrom: { fieldRef: { fieldPath: "metadata.annotations['x/y']" } } },
        { name: 'NODE', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
        { name: 'SA', valueFrom: { fieldRef: { fieldPath: 'spec.serviceAccountName' } } },
        { name: 'IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
        { name: 'HOST', valueFrom: { fieldRef: { fieldPath: 'status.hostIP' } } },
        { name: 'CPU', valueFrom: { resourceFieldRef: { resource: 'limits.cpu' } } },
        { name: 'CPU_M', valueFrom: { resourceFieldRef: { resource: 'limits.cpu', divisor: '1m' } } },
        { name: 'MEM_MI', valueFrom: { resourceFieldRef: { resource: 'limits.memory', divisor: '1Mi' } } },
        { name: 'REQ_CPU_M', valueFrom: { resourceFieldRef: { resource: 'requests.cpu', divisor: '1m' } } },
        { name: 'SIDE_MEM', valueFrom: { resourceFieldRef: { containerName: 'side', resource: 'limits.memory' } } },
        { name: 'MODE', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'MODE' } } },
        { name: 'OPT', valueFrom: { configMapKeyRef: { name: 'missing', key: 'x', optional: true } } },
        { name: 'URL', value: 'http://$(IP):8080/$(POD)/$(LATER)' },
        { name: 'LATER', value: 'l' },
      ],
    };
    const env = resolveEnv(c, ctx, sources);
    expect(env).toMatchObject({
      HOSTNAME: 'web-0', PATH: '/bin', CFG_MODE: 'fast', CFG_LEVEL: '3', TOKEN: 's3cret',
      POD: 'web-0', NS: 'shop', UID: 'uid-1', APP: 'web', ANN: 'z', NODE: 'lab-cpu-1', SA: 'sa',
      IP: '10.244.1.7', HOST: '10.244.0.11', CPU: '2', CPU_M: '1500', MEM_MI: '256', REQ_CPU_M: '250',
      SIDE_MEM: String(8 * 2 ** 30), MODE: 'fast', URL: 'http://10.244.1.7:8080/web-0/$(LATER)', LATER: 'l',
    });
    expect(env.OPT).toBeUndefined();
  });

  test('a missing ConfigMap that is not optional is a CONFIG_REF_NOT_FOUND error naming it', () => {
    const c: V1Container = { name: 'main', env: [{ name: 'X', valueFrom: { configMapKeyRef: { name: 'nope', key: 'k' } } }] };
    expect(() => resolveEnv(c, ctx, { configMaps: { nope: undefined }, secrets: {} })).toThrow(expect.objectContaining({ code: 'CONFIG_REF_NOT_FOUND', message: expect.stringContaining('"nope"') }));
  });

  test('a missing key names the key and the object', () => {
    const c: V1Container = { name: 'main', env: [{ name: 'X', valueFrom: { secretKeyRef: { name: 'creds', key: 'NOPE' } } }] };
    expect(() => resolveEnv(c, ctx, sources)).toThrow(/couldn't find key NOPE in Secret shop\/creds/);
  });

  test('an unsupported fieldPath is ENV_INVALID', () => {
    const c: V1Container = { name: 'main', env: [{ name: 'X', valueFrom: { fieldRef: { fieldPath: 'spec.bogus' } } }] };
    let err: unknown;
    try { resolveEnv(c, ctx, sources); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(KubeletError);
    expect((err as KubeletError).code).toBe('ENV_INVALID');
  });

  test('envReferences lists what to fetch', () => {
    const c: V1Container = { name: 'm', envFrom: [{ configMapRef: { name: 'a' } }, { secretRef: { name: 's' } }], env: [{ name: 'X', valueFrom: { configMapKeyRef: { name: 'b', key: 'k' } } }] };
    expect(envReferences(c)).toEqual({ configMaps: ['a', 'b'], secrets: ['s'] });
  });
});
