import { containerId, fileUriMounts, podEtcFiles } from './runc-engine.ts';
import type { Pod } from './types.ts';

describe('runc engine, pure parts', () => {
  test('container IDs are per pod and container, and recognisable', () => {
    expect(containerId('0a1b2c3d-4e5f-6789-abcd-ef0123456789', 'runtime')).toBe('olab-0a1b2c3d4e5f-runtime');
  });

  test("file:/// URIs in the environment are bound read-only at their own path (the lab's stand-in for a file baked into the image)", () => {
    const present = new Set(['/work/models/logreg.onnx', '/tmp/x/dir']);
    const mounts = fileUriMounts(
      {
        ONNXOP_MODEL_URI: 'file:///work/models/logreg.onnx',
        BUNDLE: 'file:///work/models/logreg.onnx',
        DIR: 'file:///tmp/x/dir/',
        GONE: 'file:///nowhere/model.onnx',
        SYSTEM: 'file:///etc/passwd',
        HTTP: 'https://example.com/m.onnx',
        PLAIN: '/work/models/logreg.onnx',
      },
      (p) => present.has(p) || p === '/etc/passwd',
    );
    expect(mounts).toEqual([
      { destination: '/work/models/logreg.onnx', type: 'bind', source: '/work/models/logreg.onnx', options: ['rbind', 'rprivate', 'ro'] },
      { destination: '/tmp/x/dir', type: 'bind', source: '/tmp/x/dir', options: ['rbind', 'rprivate', 'ro'] },
    ]);
  });

  test('plain absolute paths are bound only below the given roots', () => {
    const present = new Set(['/tmp/it/baseline.json', '/work/repo/x.json', '/opt/other.json']);
    const mounts = fileUriMounts({ A: '/tmp/it/baseline.json', B: '/opt/other.json', C: '/work/repo/x.json', PATH: '/usr/bin:/bin', D: '/tmp/it/missing' }, (p) => present.has(p), ['/tmp', '/work/repo']);
    expect(mounts.map((m) => m.destination)).toEqual(['/tmp/it/baseline.json', '/work/repo/x.json']);
  });

  test('/etc files: the pod IP under its hostname, the cluster search path', () => {
    const pod: Pod = { metadata: { name: 'web-0', namespace: 'shop', uid: 'u' }, spec: { containers: [] } };
    const files = podEtcFiles(pod, '10.244.1.9');
    expect(files.hosts).toContain('10.244.1.9\tweb-0\n');
    expect(files.hostname).toBe('web-0\n');
    expect(files['resolv.conf']).toContain('search shop.svc.cluster.local svc.cluster.local cluster.local');
  });
});
