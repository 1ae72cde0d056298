// What a user deploys, run by the lab: pods started by runc from the images built from the project's
// Dockerfile and pulled by digest from the lab registry. The runtime image serves a model through
// the gateway; the operator image, as a Deployment with in-cluster credentials, reconciles a model;
// a pod whose image is missing reports the failed pull; and the hardened pods really run as the
// non-root user with a read-only root filesystem (a write fails).
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import fs from 'node:fs';
import { stringify } from 'yaml';
import { labImageDigestsFile, labPaths, labPorts } from '../e2e/lab/lab-config.ts';
import { execInContainer } from '../e2e/lab/kubelet/runc-engine.ts';
import { labRequest } from '../e2e/lab/loadgen/lab-request.ts';
import { ensureTestModels } from '../runtime/test-models/build.ts';
import { applyCrd, createTestNamespace, deleteNamespace, kubectl, kubectlJson, listPods, waitUntil } from './lab-helpers.ts';
import { OperatorProcess } from './operator-process.ts';

const gatewayUrl = `http://127.0.0.1:${labPorts.gateway}`;
const digests = JSON.parse(fs.readFileSync(labImageDigestsFile, 'utf8')) as { registry: string; refs: Record<string, string> };
// What the global set-up gave this run's operators (another run on the shared lab may have pushed a newer one since).
const runtimeRef = process.env['RUNTIME_IMAGE'] ?? digests.refs['runtime']!;
const operatorRef = digests.refs['operator']!;

interface PodStatusJson {
  metadata: { name: string; uid: string };
  status: { phase?: string; containerStatuses?: { name: string; image: string; imageID: string; containerID?: string; ready: boolean; state: { waiting?: { reason: string; message?: string } } }[] };
}

let ns = '';
// Its own instance: operators of other suites on the shared lab leave its models alone.
const instance = 'images-test';
const operator = new OperatorProcess('onnx-operator-images-test', () => [`--instance-id=${instance}`]);
let models: ReturnType<typeof ensureTestModels>;

beforeAll(async () => {
  await applyCrd();
  models = ensureTestModels();
  ns = await createTestNamespace('images');
  await operator.start();
});

afterAll(async () => {
  await operator.stop();
  await kubectl(['delete', 'clusterrolebinding', `onnx-operator-${ns}`, '--ignore-not-found']).catch(() => undefined);
  if (ns) await deleteNamespace(ns);
});

function onnxModel(name: string, labels: Record<string, string> = {}): string {
  const lr = models.logreg;
  return stringify({
    apiVersion: 'serving.onnxop.io/v1alpha1',
    kind: 'OnnxModel',
    metadata: { name, labels },
    spec: { model: { uri: `file://${lr.path}`, digest: lr.digest, name }, runtime: { replicas: 1 }, traffic: { gatewayAPI: { hostnames: [`${name}.${ns}.lab`] } } },
  });
}

async function infer(name: string): Promise<{ status: number; body: string }> {
  const body = JSON.stringify({ inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 4], data: [5.1, 3.5, 1.4, 0.2] }] });
  return waitUntil(`${name} answering through the gateway`, async () => {
    const r = await labRequest(`${gatewayUrl}/v2/models/${name}/infer`, { method: 'POST', headers: { 'content-type': 'application/json', host: `${name}.${ns}.lab` }, body });
    return r.status === 200 ? r : undefined;
  }, 90_000);
}

const sh = (uid: string, container: string, script: string) => execInContainer(labPaths.kubelet, uid, container, ['sh', '-c', script]);

/** The hardened container really is: uid/gid 65532, a root filesystem that refuses writes, /tmp writable. */
async function expectHardened(uid: string, container: string): Promise<void> {
  const id = await sh(uid, container, 'id -u; id -g');
  expect(id.ok).toBe(true);
  expect(id.stdout.trim().split('\n')).toEqual(['65532', '65532']);
  const write = await sh(uid, container, 'echo x > /written-by-test');
  expect(write.ok).toBe(false);
  expect(write.detail).toMatch(/Read-only file system/);
  expect((await sh(uid, container, 'echo x > /tmp/written-by-test && cat /tmp/written-by-test')).stdout.trim()).toBe('x');
  // No capabilities, no_new_privs, a seccomp filter (RuntimeDefault).
  expect((await sh(uid, container, "grep -q '^CapEff:\\s*0000000000000000$' /proc/self/status && grep -q '^NoNewPrivs:\\s*1$' /proc/self/status && grep -q '^Seccomp:\\s*2$' /proc/self/status")).ok).toBe(true);
}

describe('images in the lab', () => {
  test('the runtime image serves a model through the gateway, pulled by digest, as the non-root user on a read-only root', async () => {
    await kubectl(['-n', ns, 'apply', '-f', '-'], onnxModel('iris', { 'serving.onnxop.io/controller-instance': instance }));
    await kubectl(['-n', ns, 'wait', '--for=condition=Ready', 'onnxmodel/iris', '--timeout=180s']);
    const res = await infer('iris');
    expect((JSON.parse(res.body) as { model_name: string }).model_name).toBe('iris');
    const [pod] = (await kubectlJson<{ items: PodStatusJson[] }>(['-n', ns, 'get', 'pods', '-l', 'serving.onnxop.io/model=iris'])).items;
    const status = pod!.status.containerStatuses!.find((c) => c.name === 'runtime')!;
    expect(status.image).toBe(runtimeRef);
    expect(status.imageID).toBe(runtimeRef);
    expect(status.containerID).toMatch(/^runc:\/\/olab-/);
    await expectHardened(pod!.metadata.uid, 'runtime');
  });

  test('the operator image, deployed with in-cluster credentials, reconciles a model to Ready', async () => {
    const podInstance = `img-${ns}`;
    await kubectl(['-n', ns, 'apply', '-f', '-'], [
      stringify({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'onnx-operator' } }),
      stringify({
        apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: `onnx-operator-${ns}` },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
        subjects: [{ kind: 'ServiceAccount', name: 'onnx-operator', namespace: ns }],
      }),
      stringify({
        apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'onnx-operator' },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: 'onnx-operator' } },
          template: {
            metadata: { labels: { app: 'onnx-operator' } },
            spec: {
              serviceAccountName: 'onnx-operator',
              securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
              volumes: [{ name: 'tmp', emptyDir: {} }],
              containers: [{
                name: 'operator',
                image: operatorRef,
                args: ['run', `--instance-id=${podInstance}`, `--leader-election-namespace=${ns}`, '--default-gateway=lab-system/lab', '--http-port=8080', `--runtime-image=${runtimeRef}`],
                ports: [{ name: 'http', containerPort: 8080 }],
                readinessProbe: { httpGet: { path: '/readyz', port: 'http' }, periodSeconds: 2 },
                securityContext: { readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
                volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
              }],
            },
          },
        },
      }),
    ].join('---\n'));
    await kubectl(['-n', ns, 'wait', '--for=condition=Available', 'deployment/onnx-operator', '--timeout=180s']);
    await kubectl(['-n', ns, 'apply', '-f', '-'], onnxModel('by-pod', { 'serving.onnxop.io/controller-instance': podInstance }));
    await kubectl(['-n', ns, 'wait', '--for=condition=Ready', 'onnxmodel/by-pod', '--timeout=180s']);
    await infer('by-pod');
    const [op] = await listPods(ns, 'app=onnx-operator');
    const opPod = await kubectlJson<PodStatusJson>(['-n', ns, 'get', 'pod', op!.metadata.name]);
    expect(opPod.status.containerStatuses?.[0]?.imageID).toBe(operatorRef);
    await expectHardened(opPod.metadata.uid, 'operator');
  });

  test('a pod whose image is not in the registry reports the failed pull: ErrImagePull, then ImagePullBackOff', async () => {
    const missing = `ghcr.io/onnx-operator/runtime@sha256:${'0'.repeat(64)}`;
    await kubectl(['-n', ns, 'run', 'missing', `--image=${missing}`, '--restart=Never']);
    const seen = new Set<string>();
    const last = await waitUntil('ImagePullBackOff after ErrImagePull', async () => {
      const p = await kubectlJson<PodStatusJson>(['-n', ns, 'get', 'pod', 'missing']);
      const w = p.status.containerStatuses?.[0]?.state.waiting;
      if (w) seen.add(w.reason);
      return w?.reason === 'ImagePullBackOff' ? w : undefined;
    }, 60_000, 200);
    expect(seen.has('ErrImagePull') || seen.has('ImagePullBackOff')).toBe(true);
    expect(last.message).toMatch(/manifest sha256:0{64} not found in repository ghcr\.io\/onnx-operator\/runtime of the lab registry/);
  });
});
