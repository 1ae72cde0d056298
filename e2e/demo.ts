// `npm run demo`: the main job on the embedded lab. Brings the lab up, installs the CRD, starts the
// operator, deploys a model the project builds itself, rolls out a new revision of it, sends
// inference requests through the gateway and shows what an on-call engineer would see.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { stringify } from 'yaml';
import { labPaths, labPorts, repoRoot } from './lab/lab-config.ts';
import { up } from './lab/lab.ts';
import { labRequest } from './lab/loadgen/lab-request.ts';
import { runningPid, startDaemon } from './lab/processes.ts';
import { ensureTestModels } from '../runtime/test-models/build.ts';

const ns = 'demo';
const say = (msg: string): void => void process.stdout.write(`\n\x1b[1m== ${msg}\x1b[0m\n`);
const kubectl = (...args: string[]): string =>
  execFileSync(path.join(labPaths.bin, 'kubectl'), args, { encoding: 'utf8', stdio: ['pipe', 'pipe', 'inherit'] });
const kubectlIn = (input: string, ...args: string[]): string =>
  execFileSync(path.join(labPaths.bin, 'kubectl'), args, { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'inherit'] });
const show = (...args: string[]): void => void process.stdout.write(kubectl(...args));

function model(uri: string, digest: string): string {
  return stringify({
    apiVersion: 'serving.onnxop.io/v1alpha1',
    kind: 'OnnxModel',
    metadata: { name: 'iris', namespace: ns },
    spec: { model: { uri, digest }, runtime: { replicas: 2 } },
  });
}

async function infer(): Promise<string> {
  const body = JSON.stringify({ inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 4], data: [5.1, 3.5, 1.4, 0.2] }] });
  for (let i = 0; i < 60; i++) {
    const res = await labRequest(`http://127.0.0.1:${labPorts.gateway}/v2/models/iris/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    if (res.status === 200) return `${String(res.headers['x-onnxop-revision'])} via ${String(res.headers['x-lab-endpoint'])}: ${res.body}`;
    await sleep(1000);
  }
  throw new Error('demo: the model did not answer through the gateway within 60 s; see .lab/logs/');
}

async function waitForStableDigest(digest: string): Promise<void> {
  for (let i = 0; i < 120; i++) {
    const m = JSON.parse(kubectl('-n', ns, 'get', 'onnxmodel', 'iris', '-o', 'json')) as { status?: { stable?: { digest?: string }; phase?: string } };
    if (m.status?.stable?.digest === digest && m.status.phase === 'Stable') return;
    await sleep(1000);
  }
  throw new Error(`demo: revision with digest ${digest} did not become stable within 120 s; see .lab/logs/operator.log`);
}

async function main(): Promise<void> {
  say('1/6 lab: a real control plane, process kubelet, Prometheus and gateway on this machine');
  await up((msg) => process.stdout.write(`[lab] ${msg}\n`));
  show('get', 'nodes', '-o', 'wide');

  say('2/6 the OnnxModel CRD and the operator');
  kubectl('apply', '--server-side', '--force-conflicts', '-f', path.join(repoRoot, 'crds/onnxmodel.yaml'));
  kubectl('wait', '--for=condition=Established', 'crd/onnxmodels.serving.onnxop.io', '--timeout=30s');
  const pid = startDaemon({
    name: 'operator',
    command: process.execPath,
    args: [path.join(repoRoot, 'operator/src/main.ts'), 'run', '--kubeconfig', labPaths.operatorKubeconfig, '--http-host', '127.0.0.1', '--http-port', String(labPorts.operator), '--leader-election-namespace', 'default', '--default-gateway', 'lab-system/lab'],
    cwd: repoRoot,
  });
  process.stdout.write(`operator running (pid ${pid}), metrics on http://127.0.0.1:${labPorts.operator}/metrics, log ${labPaths.logs}/operator.log\n`);

  say('3/6 deploy a model the project built (logistic regression), pinned by its sha256');
  const models = ensureTestModels();
  kubectlIn(stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } }), 'apply', '-f', '-');
  process.stdout.write(kubectlIn(model(`file://${models.logreg.path}`, models.logreg.digest), 'apply', '-f', '-'));
  kubectl('-n', ns, 'wait', '--for=condition=Ready', 'onnxmodel/iris', '--timeout=180s');
  show('-n', ns, 'get', 'onnx,deployments,services,httproutes,pods', '-o', 'wide');
  process.stdout.write(`inference through the gateway: ${await infer()}\n`);

  say('4/6 roll out a new digest (a classifier): a new revision, promoted when its pods serve');
  kubectlIn(model(`file://${models.classifier.path}`, models.classifier.digest), 'apply', '-f', '-');
  await waitForStableDigest(models.classifier.digest);
  show('-n', ns, 'get', 'onnx');
  process.stdout.write(`inference through the gateway: ${await infer()}\n`);

  say('5/6 status an on-call engineer reads');
  const status = JSON.parse(kubectl('-n', ns, 'get', 'onnxmodel', 'iris', '-o', 'json')) as { status: { conditions?: { type: string; status: string; reason?: string; message?: string }[] } };
  for (const c of status.status.conditions ?? []) process.stdout.write(`  ${c.type.padEnd(16)} ${c.status.padEnd(6)} ${(c.reason ?? '').padEnd(22)} ${c.message ?? ''}\n`);
  show('-n', ns, 'get', 'events', '--field-selector', 'involvedObject.kind=OnnxModel', '--sort-by=.metadata.creationTimestamp');

  say('6/6 Prometheus scrapes the model pods: requests by revision and outcome');
  const stable = (JSON.parse(kubectl('-n', ns, 'get', 'onnxmodel', 'iris', '-o', 'json')) as { status: { stable: { revision: string } } }).status.stable.revision;
  const q = encodeURIComponent(`sum by (revision, outcome) (onnxop_requests_total{namespace="${ns}"})`);
  let rows: { metric: Record<string, string>; value: [number, string] }[] = [];
  // Wait until a scrape (every 2 s) has seen the request the new revision answered above.
  const seen = (): boolean => rows.some((r) => r.metric.revision === stable && r.metric.outcome === 'success' && Number(r.value[1]) >= 1);
  for (let i = 0; i < 30 && !seen(); i++) {
    if (i > 0) await sleep(1000);
    rows = ((await (await fetch(`http://127.0.0.1:${labPorts.prometheus}/api/v1/query?query=${q}`)).json()) as { data: { result: typeof rows } }).data.result;
  }
  for (const r of rows) process.stdout.write(`  revision=${r.metric.revision} outcome=${(r.metric.outcome ?? '').padEnd(13)} requests=${r.value[1]}\n`);
  process.stdout.write(`\nThe lab keeps running: 'source .lab/env' to use kubectl, 'npm run lab -- down' to stop everything.\n`);
  if (runningPid('operator') === undefined) throw new Error('demo: the operator exited; see .lab/logs/operator.log');
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
