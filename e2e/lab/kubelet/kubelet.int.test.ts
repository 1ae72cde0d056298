// Kubelet-specific checks against the running lab: node registration and leases, pod networking,
// readiness, GPU placement, crash-loop restarts and clean deletion (containers and netns gone).
import { execFileSync } from 'node:child_process';
import { createTestNamespace, deleteNamespace, kubectl, kubectlJson, waitUntil } from '../../../test/lab-helpers.ts';
import { gpuNode, labNodes } from '../lab-config.ts';
import { sandboxNames } from './netns.ts';

interface Pod {
  metadata: { name: string; uid: string };
  spec: { nodeName?: string };
  status: { phase?: string; podIP?: string; conditions?: { type: string; status: string }[]; containerStatuses?: { restartCount: number; state: Record<string, unknown> }[] };
}

const netnsList = (): string => execFileSync('/usr/sbin/ip', ['netns', 'list'], { encoding: 'utf8' });

let ns = '';
beforeAll(async () => {
  ns = await createTestNamespace('kubelet');
});
afterAll(async () => {
  if (ns) await deleteNamespace(ns);
});

test('every lab node is registered, Ready, labelled, and renews its lease', async () => {
  const nodes = await kubectlJson<{ items: { metadata: { name: string; labels: Record<string, string> }; spec: { podCIDR: string; taints?: { key: string; effect: string }[] }; status: { conditions: { type: string; status: string }[]; capacity: Record<string, string> } }[] }>(['get', 'nodes']);
  for (const want of labNodes) {
    const n = nodes.items.find((x) => x.metadata.name === want.name);
    expect(n).toBeDefined();
    expect(n!.status.conditions.find((c) => c.type === 'Ready')?.status).toBe('True');
    expect(n!.metadata.labels['kubernetes.io/hostname']).toBe(want.name);
    expect(n!.spec.podCIDR).toBe(want.podCIDR);
    if (want.gpu) {
      expect(n!.status.capacity[gpuNode.resource]).toBe(gpuNode.count);
      expect(n!.spec.taints?.some((t) => t.key === gpuNode.taint.key && t.effect === 'NoSchedule')).toBe(true);
    }
    const lease = await kubectlJson<{ spec: { renewTime: string } }>(['-n', 'kube-node-lease', 'get', 'lease', want.name]);
    expect(Date.now() - Date.parse(lease.spec.renewTime)).toBeLessThan(30_000);
  }
});

test('a Deployment with a readiness probe becomes Available on distinct, reachable pod IPs; deletion cleans up', async () => {
  await kubectl(['apply', '-n', ns, '-f', '-'], JSON.stringify({
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'echo' },
    spec: {
      replicas: 2, selector: { matchLabels: { app: 'echo' } },
      template: {
        metadata: { labels: { app: 'echo' } },
        spec: { containers: [{ name: 'echo', image: 'lab.onnxop.io/echo:v1', ports: [{ containerPort: 8080 }], readinessProbe: { httpGet: { path: '/healthz', port: 8080 }, periodSeconds: 1 } }] },
      },
    },
  }));
  await kubectl(['-n', ns, 'wait', '--for=condition=Available', 'deployment/echo', '--timeout=60s']);
  const pods = (await kubectlJson<{ items: Pod[] }>(['-n', ns, 'get', 'pods', '-l', 'app=echo'])).items;
  expect(pods).toHaveLength(2);
  const ips = pods.map((p) => p.status.podIP!);
  expect(new Set(ips).size).toBe(2);
  for (const ip of ips) {
    expect(ip).toMatch(/^10\.244\.\d+\.\d+$/);
    const res = await fetch(`http://${ip}:8080/`);
    expect(res.status).toBe(200);
  }
  const names = pods.map((p) => sandboxNames(p.metadata.uid).netns);
  for (const n of names) expect(netnsList()).toContain(n);
  await kubectl(['-n', ns, 'delete', 'deployment', 'echo', '--wait=true']);
  await waitUntil('echo pods gone', async () => ((await kubectl(['-n', ns, 'get', 'pods', '-l', 'app=echo', '-o', 'name'])).trim() === '' ? true : undefined), 60_000);
  for (const n of names) expect(netnsList()).not.toContain(n);
});

test('a GPU pod with the toleration lands on the GPU node and runs', async () => {
  await kubectl(['apply', '-n', ns, '-f', '-'], JSON.stringify({
    apiVersion: 'v1', kind: 'Pod', metadata: { name: 'gpu' },
    spec: {
      tolerations: [{ key: gpuNode.taint.key, operator: 'Exists', effect: 'NoSchedule' }],
      containers: [{ name: 'echo', image: 'lab.onnxop.io/echo:v1', resources: { limits: { [gpuNode.resource]: '1' } } }],
    },
  }));
  const pod = await waitUntil('gpu pod Running', async () => {
    const p = await kubectlJson<Pod>(['-n', ns, 'get', 'pod', 'gpu']);
    return p.status.phase === 'Running' ? p : undefined;
  });
  expect(pod.spec.nodeName).toBe(labNodes.find((n) => n.gpu)!.name);
  await kubectl(['-n', ns, 'delete', 'pod', 'gpu', '--wait=true']);
});

test('a crashing container is restarted with back-off (restartCount rises, CrashLoopBackOff)', async () => {
  await kubectl(['apply', '-n', ns, '-f', '-'], JSON.stringify({
    apiVersion: 'v1', kind: 'Pod', metadata: { name: 'crash' },
    spec: { containers: [{ name: 'crash', image: 'lab.onnxop.io/crash:v1' }] },
  }));
  const pod = await waitUntil('crash pod restarted twice', async () => {
    const p = await kubectlJson<Pod>(['-n', ns, 'get', 'pod', 'crash']);
    return (p.status.containerStatuses?.[0]?.restartCount ?? 0) >= 2 ? p : undefined;
  }, 30_000);
  expect(pod.status.phase).toBe('Running');
  await kubectl(['-n', ns, 'delete', 'pod', 'crash', '--wait=true']);
});

test('an image the lab registry does not have fails like a pull', async () => {
  await kubectl(['apply', '-n', ns, '-f', '-'], JSON.stringify({
    apiVersion: 'v1', kind: 'Pod', metadata: { name: 'nopull' },
    spec: { containers: [{ name: 'x', image: 'example.invalid/nope:v1' }] },
  }));
  const reason = await waitUntil('ImagePullBackOff', async () => {
    const p = await kubectlJson<Pod>(['-n', ns, 'get', 'pod', 'nopull']);
    const r = (p.status.containerStatuses?.[0]?.state.waiting as { reason?: string } | undefined)?.reason;
    return r === 'ImagePullBackOff' ? r : undefined;
  }, 20_000);
  expect(reason).toBe('ImagePullBackOff');
  await kubectl(['-n', ns, 'delete', 'pod', 'nopull', '--wait=true']);
});
