// The runc engine on its own, against real parts: the lab's echo and crash images (built or reused
// by e2e/lab/image-build), a docker-registry of this test's own on a free loopback port, a network
// namespace this test makes on the lab bridge and removes, runc, and the lab API server for the
// ConfigMap and the service-account token (bound to a real Pod object that no node runs). No lab
// kubelet is involved.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { V1Container } from '@kubernetes/client-node';
import { createTestNamespace, deleteNamespace, kubectl, waitUntil } from '../../../test/lab-helpers.ts';
import { freePort } from '../../../test/operator-process.ts';
import { buildImages } from '../image-build/build.ts';
import { labNetwork, labPaths, labPorts } from '../lab-config.ts';
import { registrySpec } from '../registry.ts';
import type { PreparedContainer, StartedContainer } from './engine.ts';
import { waitingReason } from './engine.ts';
import { ImageStore } from './image-store.ts';
import { KubeApi } from './kube-api.ts';
import { createSandbox, deleteSandbox, sandboxNames } from './netns.ts';
import { RuncEngine } from './runc-engine.ts';
import type { Pod } from './types.ts';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'runc-engine-it-'));
const podIP = '10.244.250.17';
let uid = '';
let names = sandboxNames('0');
let registry: ChildProcess | undefined;
let registryAddr = '';
let engine: RuncEngine;
let ns = '';
let echoImage = '';
const running: { prepared: PreparedContainer; started: StartedContainer }[] = [];

beforeAll(async () => {
  const port = await freePort();
  registryAddr = `127.0.0.1:${port}`;
  const spec = registrySpec({ name: 'it-registry', listen: registryAddr, dataDir: path.join(work, 'registry'), configFile: path.join(work, 'registry.yml') });
  registry = spawn(spec.command, spec.args, { stdio: 'ignore' });
  await waitUntil('the test registry', async () => ((await fetch(`http://${registryAddr}/v2/`)).ok ? true : undefined), 30_000);
  const built = await buildImages({ only: ['echo', 'crash'], registry: registryAddr, log: () => undefined });
  echoImage = built.find((b) => b.name === 'echo')!.ref!;
  ns = await createTestNamespace('runc-engine');
  await kubectl(['-n', ns, 'create', 'configmap', 'settings', '--from-literal=greeting=hello']);
  // The Pod object the token is bound to: unschedulable, so only this test runs its containers.
  await kubectl(['-n', ns, 'apply', '-f', '-'], JSON.stringify({
    apiVersion: 'v1', kind: 'Pod', metadata: { name: 'engine-it' },
    spec: { nodeSelector: { 'onnxop.io/no-such-node': 'true' }, containers: [{ name: 'echo', image: 'lab.onnxop.io/echo:v1' }] },
  }));
  uid = (await kubectl(['-n', ns, 'get', 'pod', 'engine-it', '-o', 'jsonpath={.metadata.uid}'])).trim();
  names = sandboxNames(uid);
  await createSandbox(names, podIP);
  engine = new RuncEngine({
    stateDir: path.join(work, 'state'),
    images: new ImageStore(path.join(work, 'images'), registryAddr),
    apiServer: { host: labNetwork.bridgeAddress, port: labPorts.apiserver },
    api: new KubeApi(labPaths.kubeconfig),
  });
});

afterAll(async () => {
  for (const r of running) {
    await r.started.kill('SIGKILL');
    await r.started.exited;
    await r.prepared.release();
  }
  await engine?.releasePod(uid);
  await deleteSandbox(names).catch(() => undefined);
  registry?.kill('SIGTERM');
  if (ns) await deleteNamespace(ns);
  fs.rmSync(work, { recursive: true, force: true });
});

function pod(container: V1Container, extra: Partial<Pod['spec']> = {}): Pod {
  return {
    metadata: { name: 'engine-it', namespace: ns, uid },
    spec: { containers: [container], serviceAccountName: 'default', ...extra },
  };
}

const hardened: V1Container['securityContext'] = {
  runAsNonRoot: true,
  readOnlyRootFilesystem: true,
  allowPrivilegeEscalation: false,
  capabilities: { drop: ['ALL'] },
  seccompProfile: { type: 'RuntimeDefault' },
};

async function start(p: Pod): Promise<{ prepared: PreparedContainer; started: StartedContainer; log: string }> {
  const prepared = await engine.prepare({ pod: p, container: p.spec.containers[0]!, netns: names.netns, podIP, resolveEnv: (base) => Promise.resolve({ ...base, ...Object.fromEntries((p.spec.containers[0]!.env ?? []).map((e) => [e.name, e.value ?? ''])) }) });
  const log = path.join(work, 'logs', `${p.spec.containers[0]!.name}.log`);
  const started = await prepared.start(log);
  running.push({ prepared, started });
  return { prepared, started, log };
}

test('the echo image serves in the pod network as the non-root user, with a read-only root, no capabilities and seccomp', async () => {
  const p = pod(
    { name: 'echo', image: echoImage, securityContext: hardened, env: [{ name: 'POD_NAME', value: 'engine-it' }], volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }, { name: 'cfg', mountPath: '/etc/cfg' }, { name: 'api', mountPath: '/var/run/secrets/kubernetes.io/serviceaccount' }], resources: { limits: { memory: '256Mi', cpu: '1' } } },
    {
      securityContext: { fsGroup: 65532 },
      volumes: [
        { name: 'tmp', emptyDir: {} },
        { name: 'cfg', configMap: { name: 'settings' } },
        { name: 'api', projected: { sources: [{ serviceAccountToken: { path: 'token', expirationSeconds: 3607 } }, { downwardAPI: { items: [{ path: 'namespace', fieldRef: { fieldPath: 'metadata.namespace' } }] } }] } },
      ],
    },
  );
  const { prepared, started } = await start(p);
  expect(started.containerID).toMatch(/^runc:\/\/olab-/);
  expect(prepared.imageID).toMatch(/^lab\.onnxop\.io\/echo@sha256:[a-f0-9]{64}$/);
  const body = await waitUntil('echo answering on the pod IP', async () => {
    const res = await fetch(`http://${podIP}:8080/hello`, { signal: AbortSignal.timeout(2000) });
    return res.ok ? ((await res.json()) as { pod: string }) : undefined;
  }, 30_000);
  expect(body.pod).toBe('engine-it');

  const sh = (script: string) => prepared.exec(['sh', '-c', script], 10_000);
  expect(await sh('test "$(id -u):$(id -g)" = 65532:65532')).toEqual({ ok: true, detail: '' });
  const write = await sh('echo x > /app-write-test');
  expect(write.ok).toBe(false);
  expect(write.detail).toMatch(/Read-only file system/);
  expect((await sh('echo x > /tmp/ok && test "$(cat /tmp/ok)" = x')).ok).toBe(true);
  expect((await sh('test "$(cat /etc/cfg/greeting)" = hello')).ok).toBe(true);
  expect((await sh(`test "$(cat /var/run/secrets/kubernetes.io/serviceaccount/namespace)" = ${ns} && test -s /var/run/secrets/kubernetes.io/serviceaccount/token`)).ok).toBe(true);
  // No capabilities: CapEff is all zero; no_new_privs and seccomp filtering are on.
  expect((await sh("grep -q '^CapEff:\\s*0000000000000000$' /proc/self/status && grep -q '^NoNewPrivs:\\s*1$' /proc/self/status && grep -q '^Seccomp:\\s*2$' /proc/self/status")).ok).toBe(true);
  // The memory limit is the container's cgroup's.
  const id = started.containerID.slice('runc://'.length);
  expect(fs.readFileSync(`/sys/fs/cgroup/memory/onnxop-lab/${id}/memory.limit_in_bytes`, 'utf8').trim()).toBe(String(256 * 1024 * 1024));

  expect(await started.kill('SIGTERM')).toBe(true);
  const exit = await started.exited;
  expect(exit.exitCode).toBe(0);
  expect(exit.startError).toBeUndefined();
  await prepared.release();
  expect(fs.existsSync(`/sys/fs/cgroup/memory/onnxop-lab/${id}`)).toBe(false);
});

test('the crash image exits with its code; a missing binary is a start error', async () => {
  // By tag this time: the registry resolves it to the digest the kubelet reports.
  const { started, prepared } = await start(pod({ name: 'crash', image: 'lab.onnxop.io/crash:v1', env: [{ name: 'CRASH_EXIT_CODE', value: '3' }] }));
  expect((await started.exited).exitCode).toBe(3);
  expect(prepared.imageID).toMatch(/^lab\.onnxop\.io\/crash@sha256:/);
  const broken = await start(pod({ name: 'broken', image: echoImage, command: ['/no/such/binary'] }));
  const exit = await broken.started.exited;
  expect(exit.startError).toMatch(/no\/such\/binary/);
});

test('an image the registry does not have fails like a pull (ErrImagePull), naming the repository', async () => {
  let caught: unknown;
  try {
    await engine.prepare({ pod: pod({ name: 'x', image: 'ghcr.io/onnx-operator/does-not-exist:v1' }), container: { name: 'x', image: 'ghcr.io/onnx-operator/does-not-exist:v1' }, netns: names.netns, podIP, resolveEnv: (b) => Promise.resolve(b) });
  } catch (err) {
    caught = err;
  }
  expect(waitingReason(caught)).toBe('ErrImagePull');
  expect(String(caught)).toMatch(/tag "v1" not found in repository ghcr.io\/onnx-operator\/does-not-exist of the lab registry/);
  expect(waitingReason(await engine.prepare({ pod: pod({ name: 'y', image: 'Bad Name' }), container: { name: 'y', image: 'Bad Name' }, netns: names.netns, podIP, resolveEnv: (b) => Promise.resolve(b) }).catch((e: unknown) => e))).toBe('InvalidImageName');
});
