import { KubeletError } from './errors.ts';
import { formatImageRef, labPushName, labRepository, manifestReference, parseImageRef, repoDigest } from './image-ref.ts';

const digest = `sha256:${'a'.repeat(64)}`;

describe('parseImageRef (Docker normalization)', () => {
  const cases: [string, string][] = [
    ['nginx', 'docker.io/library/nginx:latest'],
    ['nginx:1.27', 'docker.io/library/nginx:1.27'],
    ['bitnami/redis', 'docker.io/bitnami/redis:latest'],
    ['index.docker.io/library/busybox:1', 'docker.io/library/busybox:1'],
    ['ghcr.io/onnx-operator/runtime:dev', 'ghcr.io/onnx-operator/runtime:dev'],
    [`ghcr.io/onnx-operator/runtime@${digest}`, `ghcr.io/onnx-operator/runtime@${digest}`],
    [`ghcr.io/onnx-operator/runtime:dev@${digest}`, `ghcr.io/onnx-operator/runtime:dev@${digest}`],
    ['127.0.0.1:17500/echo:v1', '127.0.0.1:17500/echo:v1'],
    ['localhost/x', 'localhost/x:latest'],
    ['lab.onnxop.io/echo:v2', 'lab.onnxop.io/echo:v2'],
  ];
  test.each(cases)('%s → %s', (input, want) => {
    expect(formatImageRef(parseImageRef(input))).toBe(want);
  });

  test.each(['', ' nginx', 'Nginx', 'ghcr.io/a/b@sha256:xyz', 'a/b:t@sha512:00', 'ghcr.io//x', 'x:bad tag'])('"%s" is refused with IMAGE_REF_INVALID', (bad) => {
    expect(() => parseImageRef(bad)).toThrow(KubeletError);
    try {
      parseImageRef(bad);
    } catch (err) {
      expect((err as KubeletError).code).toBe('IMAGE_REF_INVALID');
    }
  });
});

describe('where the lab pulls from and pushes to', () => {
  const registry = '127.0.0.1:17500';
  test('a digest wins over a tag; no tag means latest', () => {
    expect(manifestReference(parseImageRef(`a.io/b:t@${digest}`))).toBe(digest);
    expect(manifestReference(parseImageRef('a.io/b'))).toBe('latest');
  });
  test('every other registry is mirrored under its host name; the lab registry itself is not', () => {
    expect(labRepository(parseImageRef('ghcr.io/onnx-operator/runtime:dev'), registry)).toBe('ghcr.io/onnx-operator/runtime');
    expect(labRepository(parseImageRef('nginx'), registry)).toBe('docker.io/library/nginx');
    expect(labRepository(parseImageRef(`${registry}/echo:v1`), registry)).toBe('echo');
  });
  test('push names and repo digests', () => {
    expect(labPushName('lab.onnxop.io/echo:v2', registry)).toBe(`${registry}/lab.onnxop.io/echo:v2`);
    expect(() => labPushName(`a.io/b@${digest}`, registry)).toThrow(/push by tag/);
    expect(repoDigest(parseImageRef('ghcr.io/x/y:dev'), digest)).toBe(`ghcr.io/x/y@${digest}`);
  });
});
