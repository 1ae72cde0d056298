import type { V1Volume } from '@kubernetes/client-node';
import { tokenKey, volumeFiles, volumeReferences, type VolumeSources } from './volumes.ts';
import type { Pod } from './types.ts';

const pod: Pod = {
  metadata: { name: 'web-0', namespace: 'shop', uid: 'u-1', labels: { app: 'web', tier: 'front' } },
  spec: {
    containers: [{ name: 'c', image: 'i', volumeMounts: [{ name: 'cfg', mountPath: '/etc/cfg' }, { name: 'api', mountPath: '/var/run/secrets/kubernetes.io/serviceaccount' }] }],
    volumes: [
      { name: 'cfg', configMap: { name: 'settings' } },
      { name: 'unmounted', secret: { secretName: 'other' } },
      {
        name: 'api',
        projected: {
          defaultMode: 420,
          sources: [
            { serviceAccountToken: { path: 'token', expirationSeconds: 3607 } },
            { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
            { downwardAPI: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } },
          ],
        },
      },
    ],
  },
};
const b = (s: string): Buffer => Buffer.from(s);
const sources: VolumeSources = {
  configMaps: { settings: { 'a.yaml': b('a: 1'), 'b.txt': b('b') }, 'kube-root-ca.crt': { 'ca.crt': b('PEM') } },
  secrets: { creds: { user: b('u'), pass: b('p') } },
  tokens: { [tokenKey({ audience: '', expirationSeconds: 3607 })]: 'jwt' },
};
const files = (v: V1Volume): [string, string, string][] => volumeFiles(v, pod, sources).map((f) => [f.path, f.content.toString(), f.mode.toString(8)]);

describe('volumeReferences', () => {
  test('only the volumes the container mounts, with the tokens they need', () => {
    expect(volumeReferences(pod, pod.spec.containers[0]!)).toEqual({ configMaps: ['settings', 'kube-root-ca.crt'], secrets: [], tokens: [{ audience: '', expirationSeconds: 3607 }] });
  });
});

describe('volumeFiles', () => {
  test('a configMap: every key, or the items asked for, with modes', () => {
    expect(files({ name: 'v', configMap: { name: 'settings' } })).toEqual([['a.yaml', 'a: 1', '644'], ['b.txt', 'b', '644']]);
    expect(files({ name: 'v', configMap: { name: 'settings', defaultMode: 0o400, items: [{ key: 'b.txt', path: 'sub/b', mode: 0o440 }] } })).toEqual([['sub/b', 'b', '440']]);
  });
  test('a secret, decoded', () => {
    expect(files({ name: 'v', secret: { secretName: 'creds' } })).toEqual([['user', 'u', '644'], ['pass', 'p', '644']]);
  });
  test("kube-api-access: the token (owner-only), the cluster CA and the pod's namespace", () => {
    expect(files(pod.spec.volumes![2]!)).toEqual([['token', 'jwt', '600'], ['ca.crt', 'PEM', '644'], ['namespace', 'shop', '644']]);
  });
  test('downwardAPI labels', () => {
    expect(files({ name: 'v', downwardAPI: { items: [{ path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } }, { path: 'app', fieldRef: { fieldPath: "metadata.labels['app']" } }] } })).toEqual([
      ['labels', 'app="web"\ntier="front"', '644'],
      ['app', 'web', '644'],
    ]);
  });
  test('missing sources fail unless optional; bad paths and unsupported volumes are refused with the fix', () => {
    expect(() => files({ name: 'v', configMap: { name: 'nope' } })).toThrow(/configmap "nope" not found; create it or mark the volume optional/);
    expect(files({ name: 'v', configMap: { name: 'nope', optional: true } })).toEqual([]);
    expect(() => files({ name: 'v', configMap: { name: 'settings', items: [{ key: 'zzz', path: 'z' }] } })).toThrow(/has no key "zzz"/);
    expect(() => files({ name: 'v', configMap: { name: 'settings', items: [{ key: 'b.txt', path: '../escape' }] } })).toThrow(/stay inside the volume/);
    expect(() => files({ name: 'v', persistentVolumeClaim: { claimName: 'c' } })).toThrow(/only emptyDir, configMap, secret, downwardAPI and projected/);
  });
});
