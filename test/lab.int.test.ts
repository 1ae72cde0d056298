// The lab itself, end to end: real API server, controller-manager and scheduler, the lab kubelet
// (pods from images, run by runc), Prometheus and the gateway. Every check goes through the real components.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { stringify } from 'yaml';
import {
  createTestNamespace,
  deleteNamespace,
  isPodReady,
  kubectl,
  kubectlJson,
  listPods,
  waitUntil,
  type PodJson,
} from './lab-helpers.ts';
import { runLoad } from '../e2e/lab/loadgen/run-load.ts';
import { labRequest } from '../e2e/lab/loadgen/lab-request.ts';
import { labPaths, labPorts } from '../e2e/lab/lab-config.ts';

const prometheusUrl = `http://127.0.0.1:${labPorts.prometheus}`;
const gatewayUrl = `http://127.0.0.1:${labPorts.gateway}`;

function echoDeployment(name: string, image: string, replicas: number, extra: { env?: object[] } = {}): object {
  const labels = { app: name };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, labels },
    spec: {
      replicas,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels, annotations: { 'prometheus.io/scrape': 'true', 'prometheus.io/port': '8080' } },
        spec: {
          terminationGracePeriodSeconds: 5,
          containers: [
            {
              name: 'echo',
              image,
              ports: [{ name: 'http', containerPort: 8080 }],
              env: [{ name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }, ...(extra.env ?? [])],
              readinessProbe: { httpGet: { path: '/healthz', port: 8080 }, periodSeconds: 1 },
            },
          ],
        },
      },
    },
  };
}

function service(name: string): object {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name },
    spec: { selector: { app: name }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
  };
}

const yamlDocs = (...docs: object[]): string => docs.map((d) => stringify(d)).join('---\n');

async function readyPods(ns: string, app: string, count: number): Promise<PodJson[]> {
  return waitUntil(`${count} ready pods of ${app}`, async () => {
    const pods = (await listPods(ns, `app=${app}`)).filter((p) => !p.metadata.deletionTimestamp);
    return pods.length === count && pods.every(isPodReady) ? pods : undefined;
  }, 90_000);
}

/** The pid of the pod's first container (runc://<id>), from runc's state. */
function pidOf(pod: PodJson): number {
  const id = pod.status.containerStatuses?.[0]?.containerID ?? '';
  if (!id.startsWith('runc://')) throw new Error(`pod ${pod.metadata.name} has no runc containerID (${id})`);
  const state = JSON.parse(execFileSync('runc', ['--root', path.join(labPaths.kubelet, 'runc'), 'state', id.slice('runc://'.length)], { encoding: 'utf8' })) as { pid: number };
  return state.pid;
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

let ns = '';
beforeAll(async () => {
  ns = await createTestNamespace('lab-it');
});
afterAll(async () => {
  if (ns) await deleteNamespace(ns);
});

describe('lab', () => {
  test('kubectl get nodes lists 3 Ready nodes, one of them a tainted GPU node', async () => {
    const out = await kubectl(['get', 'nodes', '--no-headers']);
    const rows = out.trim().split('\n').map((l) => l.split(/\s+/));
    expect(rows.map((r) => [r[0], r[1]]).sort()).toEqual([
      ['lab-cpu-1', 'Ready'],
      ['lab-cpu-2', 'Ready'],
      ['lab-gpu-1', 'Ready'],
    ]);
    const gpu = await kubectlJson<{ status: { capacity: Record<string, string> }; spec: { taints?: { key: string; effect: string }[] } }>(['get', 'node', 'lab-gpu-1']);
    expect(gpu.status.capacity['nvidia.com/gpu']).toBe('2');
    expect(gpu.spec.taints).toEqual(expect.arrayContaining([expect.objectContaining({ key: 'nvidia.com/gpu', effect: 'NoSchedule' })]));
  });

  let echoPods: PodJson[] = [];
  test('a 2-replica Deployment becomes Available with Running pods on distinct pod IPs', async () => {
    await kubectl(['-n', ns, 'apply', '-f', '-'], yamlDocs(echoDeployment('echo', 'lab.onnxop.io/echo:v1', 2), service('echo')));
    await kubectl(['-n', ns, 'wait', '--for=condition=Available', 'deployment/echo', '--timeout=90s']);
    echoPods = await readyPods(ns, 'echo', 2);
    expect(echoPods.map((p) => p.status.phase)).toEqual(['Running', 'Running']);
    const ips = echoPods.map((p) => p.status.podIP ?? '');
    expect(new Set(ips).size).toBe(2);
    for (const ip of ips) expect(ip).toMatch(/^10\.244\.\d+\.\d+$/);
  });

  test("the Service's EndpointSlice lists both pods as ready", async () => {
    const ips = echoPods.map((p) => p.status.podIP).sort();
    const listed = await waitUntil('EndpointSlice of service echo with both pods', async () => {
      const slices = await kubectlJson<{ items: { endpoints?: { addresses: string[]; conditions?: { ready?: boolean } }[] }[] }>([
        '-n', ns, 'get', 'endpointslices', '-l', 'kubernetes.io/service-name=echo',
      ]);
      const ready = slices.items.flatMap((s) => s.endpoints ?? []).filter((e) => e.conditions?.ready).flatMap((e) => e.addresses).sort();
      return ready.length === 2 ? ready : undefined;
    });
    expect(listed).toEqual(ips);
  });

  test('Prometheus discovers the pods through the API server and reports their targets up', async () => {
    const ips = echoPods.map((p) => `${p.status.podIP}:8080`).sort();
    const up = await waitUntil('Prometheus targets up for both echo pods', async () => {
      const res = await fetch(`${prometheusUrl}/api/v1/query?query=${encodeURIComponent(`up{namespace="${ns}",app="echo"}`)}`);
      const body = (await res.json()) as { data: { result: { metric: { instance: string }; value: [number, string] }[] } };
      const upTargets = body.data.result.filter((r) => r.value[1] === '1').map((r) => r.metric.instance).sort();
      return upTargets.length === 2 ? upTargets : undefined;
    }, 60_000, 1000);
    expect(up).toEqual(ips);
  });

  test('requests through the gateway reach both pods', async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 40; i++) {
      const res = await labRequest(`${gatewayUrl}/hello`, { headers: { host: `echo.${ns}.svc` } });
      expect(res.status).toBe(200);
      seen.add(String(res.headers['x-lab-pod'] ?? ''));
    }
    expect([...seen].sort()).toEqual(echoPods.map((p) => p.metadata.name).sort());
  });

  test('a weighted HTTPRoute splits 1,000 requests within ±5 points of its weights', async () => {
    await kubectl(['-n', ns, 'apply', '-f', '-'], yamlDocs(echoDeployment('echo-v2', 'lab.onnxop.io/echo:v2', 1), service('echo-v2')));
    await readyPods(ns, 'echo-v2', 1);
    const host = `split.${ns}.lab`;
    const route = {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'HTTPRoute',
      metadata: { name: 'split' },
      spec: {
        parentRefs: [{ name: 'lab', namespace: 'lab-system' }],
        hostnames: [host],
        rules: [{ backendRefs: [{ name: 'echo', port: 80, weight: 80 }, { name: 'echo-v2', port: 80, weight: 20 }] }],
      },
    };
    await kubectl(['-n', ns, 'apply', '-f', '-'], yamlDocs(route));
    // The route is live once the gateway answers for its host from both backends' endpoints.
    await waitUntil('the gateway to serve the HTTPRoute', async () => {
      const res = await labRequest(`${gatewayUrl}/`, { headers: { host } });
      return res.status === 200 ? true : undefined;
    });
    const result = await runLoad({ url: `${gatewayUrl}/`, headers: { host }, maxRequests: 1000, concurrency: 16, durationMs: 60_000, groupByHeader: 'x-lab-backend' });
    const v1 = result.byGroup[`${ns}/echo`]?.ok ?? 0;
    const v2 = result.byGroup[`${ns}/echo-v2`]?.ok ?? 0;
    expect(v1 + v2).toBe(1000);
    expect(Math.abs(v1 / 10 - 80)).toBeLessThanOrEqual(5);
    expect(Math.abs(v2 / 10 - 20)).toBeLessThanOrEqual(5);
  });

  test('a pod requesting nvidia.com/gpu with the toleration lands on the GPU node; without it, never', async () => {
    const gpuPod = (name: string, tolerate: boolean): object => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, labels: { app: name } },
      spec: {
        terminationGracePeriodSeconds: 2,
        containers: [{ name: 'echo', image: 'lab.onnxop.io/echo:v1', resources: { limits: { 'nvidia.com/gpu': '1' } } }],
        tolerations: tolerate ? [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }] : [],
      },
    });
    await kubectl(['-n', ns, 'apply', '-f', '-'], yamlDocs(gpuPod('gpu-tolerated', true), gpuPod('gpu-untolerated', false)));
    await kubectl(['-n', ns, 'wait', '--for=condition=Ready', 'pod/gpu-tolerated', '--timeout=60s']);
    const tolerated = await kubectlJson<PodJson>(['-n', ns, 'get', 'pod', 'gpu-tolerated']);
    expect(tolerated.spec.nodeName).toBe('lab-gpu-1');
    const untolerated = await waitUntil('the scheduler to report gpu-untolerated unschedulable', async () => {
      const pod = await kubectlJson<PodJson>(['-n', ns, 'get', 'pod', 'gpu-untolerated']);
      return pod.status.conditions?.find((c) => c.type === 'PodScheduled' && c.reason === 'Unschedulable') ? pod : undefined;
    });
    expect(untolerated.spec.nodeName).toBeUndefined();
    // Pods without the toleration (and no GPU request) spread over the CPU nodes only.
    await kubectl(['-n', ns, 'apply', '-f', '-'], yamlDocs(echoDeployment('spread', 'lab.onnxop.io/echo:v1', 4)));
    const spread = await readyPods(ns, 'spread', 4);
    expect(spread.map((p) => p.spec.nodeName).filter((n) => n === 'lab-gpu-1')).toEqual([]);
  });

  test('deleting a Deployment garbage-collects its pods and ends their processes', async () => {
    const pods = await readyPods(ns, 'spread', 4);
    const pids = pods.map(pidOf);
    for (const pid of pids) expect(processExists(pid)).toBe(true);
    await kubectl(['-n', ns, 'delete', 'deployment', 'spread', '--wait=false']);
    await waitUntil('the spread pods to be gone', async () => ((await listPods(ns, 'app=spread')).length === 0 ? true : undefined), 90_000);
    expect(pids.filter(processExists)).toEqual([]);
  });

  test('a crashing container is restarted and its restartCount rises', async () => {
    const crash = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'crasher' },
      spec: { restartPolicy: 'Always', terminationGracePeriodSeconds: 1, containers: [{ name: 'crash', image: 'lab.onnxop.io/crash:v1' }] },
    };
    await kubectl(['-n', ns, 'apply', '-f', '-'], yamlDocs(crash));
    const counts = await waitUntil('restartCount of crasher to reach 2', async () => {
      const pod = await kubectlJson<PodJson>(['-n', ns, 'get', 'pod', 'crasher']);
      const status = pod.status.containerStatuses?.[0];
      return status && status.restartCount >= 2 ? status : undefined;
    }, 90_000);
    expect(counts.restartCount).toBeGreaterThanOrEqual(2);
  });

  test('an image missing from the lab image map fails like an image pull', async () => {
    await kubectl(['-n', ns, 'run', 'badimage', '--image=lab.onnxop.io/does-not-exist:v1', '--restart=Never']);
    const reason = await waitUntil('badimage to report an image pull failure', async () => {
      const pod = await kubectlJson<PodJson>(['-n', ns, 'get', 'pod', 'badimage']);
      const waiting = pod.status.containerStatuses?.[0]?.state?.waiting as { reason?: string } | undefined;
      return waiting?.reason === 'ErrImagePull' || waiting?.reason === 'ImagePullBackOff' ? waiting.reason : undefined;
    });
    expect(['ErrImagePull', 'ImagePullBackOff']).toContain(reason);
  });
});
