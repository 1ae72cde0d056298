// The operator against the lab: the real API server, controller-manager and scheduler, the process
// kubelet running the real runtime on a model the project built, Prometheus and the gateway.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { stringify } from 'yaml';
import { labPorts } from '../e2e/lab/lab-config.ts';
import { labRequest } from '../e2e/lab/loadgen/lab-request.ts';
import { ensureTestModels } from '../runtime/test-models/build.ts';
import { OperatorProcess, operatorWritesSince } from './operator-process.ts';
import { createTestNamespace, deleteNamespace, kubectl, kubectlJson, repoRoot, waitUntil, type PodJson } from './lab-helpers.ts';

const gatewayUrl = `http://127.0.0.1:${labPorts.gateway}`;

interface Condition {
  type: string;
  status: string;
  reason?: string;
  observedGeneration?: number;
}
interface OnnxModelJson {
  metadata: { name: string; uid: string; generation: number };
  status?: { phase?: string; observedGeneration?: number; conditions?: Condition[]; stable?: { revision?: string; digest?: string } };
}
interface ChildJson {
  metadata: { name: string; labels?: Record<string, string>; ownerReferences?: { uid: string; controller?: boolean }[] };
}

function model(name: string, uri: string, digest: string, extra: Record<string, unknown> = {}): object {
  return {
    apiVersion: 'serving.onnxop.io/v1alpha1',
    kind: 'OnnxModel',
    metadata: { name },
    spec: { model: { uri, digest }, runtime: { replicas: 1 }, ...extra },
  };
}

const operator = new OperatorProcess('onnx-operator-int-test');
let ns = '';
let models: ReturnType<typeof ensureTestModels>;

beforeAll(async () => {
  await kubectl(['apply', '--server-side', '--force-conflicts', '-f', path.join(repoRoot, 'crds/onnxmodel.yaml')]);
  await kubectl(['wait', '--for=condition=Established', 'crd/onnxmodels.serving.onnxop.io', '--timeout=30s']);
  models = ensureTestModels();
  ns = await createTestNamespace('op-it');
  await operator.start();
});

afterAll(async () => {
  await operator.stop();
  if (ns) await deleteNamespace(ns);
});

async function readyModel(name: string): Promise<OnnxModelJson> {
  await kubectl(['-n', ns, 'wait', '--for=condition=Ready', `onnxmodel/${name}`, '--timeout=120s']);
  return kubectlJson<OnnxModelJson>(['-n', ns, 'get', 'onnxmodel', name]);
}

describe('operator', () => {
  test('a valid OnnxModel gets owned, labelled children and becomes Ready when its pods serve', async () => {
    const lr = models.logreg;
    // Its own host name, so no other model named iris on the same lab gateway can answer for it.
    await kubectl(['-n', ns, 'apply', '-f', '-'], stringify(model('iris', `file://${lr.path}`, lr.digest, {
      traffic: { gatewayAPI: { hostnames: [`iris.${ns}.lab`] } },
    })));
    const m = await readyModel('iris');
    expect(m.status?.phase).toBe('Stable');
    expect(m.status?.observedGeneration).toBe(m.metadata.generation);
    for (const c of m.status?.conditions ?? []) expect(c.observedGeneration).toBe(m.metadata.generation);
    const revision = m.status?.stable?.revision ?? '';
    expect(revision).toMatch(/^[a-f0-9]{10}$/);
    expect(m.status?.stable?.digest).toBe(lr.digest);

    for (const kind of ['deployments', 'services', 'httproutes']) {
      const children = (await kubectlJson<{ items: ChildJson[] }>(['-n', ns, 'get', kind, '-l', 'serving.onnxop.io/model=iris'])).items;
      expect(children.length).toBeGreaterThan(0);
      for (const child of children) {
        expect(child.metadata.ownerReferences).toEqual([expect.objectContaining({ uid: m.metadata.uid, controller: true })]);
      }
    }
    const table = await kubectl(['-n', ns, 'get', 'onnx']);
    expect(table.split('\n')[0]).toMatch(/NAME\s+READY\s+PHASE\s+STABLE\s+CANARY\s+WEIGHT\s+AGE/);
    expect(table).toMatch(new RegExp(`iris\\s+True\\s+Stable\\s+${revision}`));
  });

  test('the model answers v2 inference requests through the operator-owned HTTPRoute', async () => {
    const route = await kubectlJson<{ spec: { hostnames?: string[]; rules: { matches?: { path?: { value?: string } }[] }[] } }>(['-n', ns, 'get', 'httproute', 'iris']);
    // The route matches the model's own v2 paths, so several models share one gateway host.
    expect(route.spec.rules[0]?.matches?.[0]?.path?.value).toBe('/v2/models/iris');
    expect(route.spec.hostnames).toEqual([`iris.${ns}.lab`]);
    const headers: Record<string, string> = { 'content-type': 'application/json', host: `iris.${ns}.lab` };
    const body = JSON.stringify({ inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 4], data: [5.1, 3.5, 1.4, 0.2] }] });
    const res = await waitUntil('an inference answer through the gateway', async () => {
      const r = await labRequest(`${gatewayUrl}/v2/models/iris/infer`, { method: 'POST', headers, body });
      return r.status === 200 ? r : undefined;
    }, 60_000);
    expect(res.headers['x-onnxop-revision']).toBe((await readyModel('iris')).status?.stable?.revision);
    const answer = JSON.parse(res.body) as { model_name: string; outputs: { name: string }[] };
    expect(answer.model_name).toBe('iris');
    expect(answer.outputs.length).toBeGreaterThan(0);
  });

  test('a converged model costs zero writes per reconcile, and an operator restart costs none', async () => {
    await readyModel('iris');
    await sleep(3000); // let the last status write's watch event come back and be reconciled
    const reconcilesBefore = await operator.metric('onnxop_operator_reconcile_total{result="success"}');
    const since = new Date();
    // An unrelated change makes the operator reconcile the model again; nothing it owns changed.
    await kubectl(['-n', ns, 'annotate', 'onnxmodel', 'iris', `example.com/touched=${Date.now()}`, '--overwrite']);
    await waitUntil('the operator to reconcile the touched model', async () =>
      (await operator.metric('onnxop_operator_reconcile_total{result="success"}')) > reconcilesBefore ? true : undefined);
    await sleep(2000);
    expect(operatorWritesSince(since)).toEqual([]);

    await operator.stop();
    const restartedAt = new Date();
    await operator.start();
    await waitUntil('the restarted operator to reconcile', async () =>
      (await operator.metric('onnxop_operator_reconcile_total{result="success"}')) > 0 ? true : undefined);
    await sleep(3000);
    expect(operatorWritesSince(restartedAt)).toEqual([]);
  });

  test("a GPU model's pods land on the GPU node", async () => {
    const lr = models.logreg;
    await kubectl(['-n', ns, 'apply', '-f', '-'], stringify(model('iris-gpu', `file://${lr.path}`, lr.digest, {
      runtime: { replicas: 1, accelerator: 'gpu', sessionOptions: { cpuFallback: true } },
    })));
    await readyModel('iris-gpu');
    const pods = (await kubectlJson<{ items: PodJson[] }>(['-n', ns, 'get', 'pods', '-l', 'serving.onnxop.io/model=iris-gpu'])).items;
    expect(pods.length).toBe(1);
    expect(pods.map((p) => p.spec.nodeName)).toEqual(['lab-gpu-1']);
  });

  test('a new digest gets its own revision and the stable revision keeps serving until it is promoted', async () => {
    const before = await readyModel('iris');
    const oldRevision = before.status?.stable?.revision;
    const cls = models.classifier;
    await kubectl(['-n', ns, 'patch', 'onnxmodel', 'iris', '--type=merge', '-p', JSON.stringify({ spec: { model: { uri: `file://${cls.path}`, digest: cls.digest } } })]);
    const promoted = await waitUntil('the new revision to become stable', async () => {
      const m = await kubectlJson<OnnxModelJson>(['-n', ns, 'get', 'onnxmodel', 'iris']);
      return m.status?.stable?.digest === cls.digest && m.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ? m : undefined;
    }, 120_000);
    expect(promoted.status?.stable?.revision).not.toBe(oldRevision);
    await waitUntil('the old revision to be cleaned up', async () => {
      const deps = (await kubectlJson<{ items: ChildJson[] }>(['-n', ns, 'get', 'deployments', '-l', `serving.onnxop.io/revision=${oldRevision}`])).items;
      return deps.length === 0 ? true : undefined;
    }, 120_000);
  });

  test('deleting the OnnxModel garbage-collects every child', async () => {
    await kubectl(['-n', ns, 'delete', 'onnxmodel', 'iris', 'iris-gpu', '--wait=true', '--timeout=60s']);
    await waitUntil('every child to be gone', async () => {
      const left = await kubectl(['-n', ns, 'get', 'deployments,services,httproutes,pods', '-l', 'serving.onnxop.io/model', '-o', 'name']);
      return left.trim() === '' ? true : undefined;
    }, 120_000);
  });
});
