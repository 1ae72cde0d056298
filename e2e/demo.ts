// `npm run demo`: the main job on the embedded lab. Brings the lab up, installs the CRD, starts the
// operator, deploys a model the project builds itself, rolls a new revision out in traffic steps
// judged by SLOs in Prometheus while load runs through the gateway, then rolls out a faulty model
// (a real one: it fails at run time on a share of the inputs) and watches the operator roll it back,
// then a silent regression (a classifier exported with two features swapped: every answer a 200)
// that the predictions gate rolls back, showing what an on-call engineer would see.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { stringify } from 'yaml';
import { labPaths, labPorts, repoRoot } from './lab/lab-config.ts';
import { labImageDigests, up } from './lab/lab.ts';
import { labRequest } from './lab/loadgen/lab-request.ts';
import { startLoad } from './lab/loadgen/run-load.ts';
import { runningPid, startDaemon } from './lab/processes.ts';
import { CLASSIFIER_MIXED_ROWS, ensureTestModels } from '../runtime/test-models/build.ts';

const ns = 'demo';
const say = (msg: string): void => void process.stdout.write(`\n\x1b[1m== ${msg}\x1b[0m\n`);
const kubectl = (...args: string[]): string =>
  execFileSync(path.join(labPaths.bin, 'kubectl'), args, { encoding: 'utf8', stdio: ['pipe', 'pipe', 'inherit'] });
const kubectlIn = (input: string, ...args: string[]): string =>
  execFileSync(path.join(labPaths.bin, 'kubectl'), args, { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'inherit'] });
const show = (...args: string[]): void => void process.stdout.write(kubectl(...args));

// Steps and SLOs of seconds so the demo takes a couple of minutes; the lab's Prometheus scrapes
// every 2 s. A 10% budget at 2× is a line at 20% failed requests (docs/analysis.md).
const rollout = {
  steps: [
    { weight: 20, pause: '15s' },
    { weight: 50, pause: '15s' },
  ],
  analysis: {
    interval: '5s',
    slos: [{ name: 'availability', builtin: 'availability', objective: 90 }],
    burnRateWindows: [{ short: '10s', long: '1m', threshold: 2 }],
    minRequests: 20,
  },
  scaleDownDelay: '10s',
};

function model(uri: string, digest: string, quality?: Record<string, unknown>): string {
  return stringify({
    apiVersion: 'serving.onnxop.io/v1alpha1',
    kind: 'OnnxModel',
    metadata: { name: 'iris', namespace: ns },
    spec: { model: { uri, digest }, runtime: { replicas: 2 }, rollout: quality ? { ...rollout, analysis: { ...rollout.analysis, quality } } : rollout },
  });
}

interface DemoStatus {
  phase?: string;
  stable?: { digest?: string };
  canary?: { revision?: string };
  rollout?: { state?: string; step?: number; weight?: number };
  lastAnalysis?: { revision?: string; verdict?: string; message?: string };
  lastRollback?: { reason?: string; message?: string };
}
const statusOf = (): DemoStatus => (JSON.parse(kubectl('-n', ns, 'get', 'onnxmodel', 'iris', '-o', 'json')) as { status?: DemoStatus }).status ?? {};

/** Prints `kubectl get onnx` each time the phase, step or weight changes, until `done` holds. */
async function follow(done: (s: DemoStatus) => boolean, timeoutS: number): Promise<DemoStatus> {
  let last = '';
  for (let i = 0; i < timeoutS; i++) {
    const s = statusOf();
    const key = `${s.phase}/${s.rollout?.state}/${s.rollout?.step}/${s.rollout?.weight}`;
    if (key !== last) {
      last = key;
      show('-n', ns, 'get', 'onnx');
      if (s.lastAnalysis?.message && s.rollout && s.lastAnalysis.revision === s.canary?.revision) process.stdout.write(`  last analysis: ${s.lastAnalysis.verdict}: ${s.lastAnalysis.message.slice(0, 240)}\n`);
    }
    if (done(s)) return s;
    await sleep(1000);
  }
  throw new Error(`demo: the rollout did not end within ${timeoutS} s; see ${labPaths.logs}/operator.log`);
}

/** Load through the gateway in the background: `rate` req/s, a share of them poisoned (bounded). */
function backgroundLoad(rate: number, poisonRatio: number, rows: readonly (readonly number[])[] = [[5.1, 3.5, 1.4, 0.2]]): { stop: () => Promise<string> } {
  const body = JSON.stringify({ inputs: [{ name: 'features', datatype: 'FP32', shape: [rows.length, 4], data: rows.flat() }] });
  const load = startLoad({
    url: `http://127.0.0.1:${labPorts.gateway}/v2/models/iris/infer`,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
    rate,
    maxRequests: 20_000,
    durationMs: 600_000,
    timeoutMs: 5000,
    groupByHeader: 'x-onnxop-revision',
    ...(poisonRatio > 0 ? { poisonRatio } : {}),
  });
  return {
    stop: async () => {
      const r = await load.stop();
      return Object.entries(r.byGroup)
        .map(([rev, g]) => `  revision ${rev}: ${g.count} requests, ${g.ok} ok, ${g.serverError} server errors`)
        .join('\n');
    },
  };
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
  say('1/8 lab: a real control plane, a kubelet running pods from images, Prometheus and gateway on this machine');
  const labStarted = Date.now();
  await up((msg) => process.stdout.write(`[lab] ${msg}\n`));
  process.stdout.write(`lab ready in ${((Date.now() - labStarted) / 1000).toFixed(0)} s\n`);
  show('get', 'nodes', '-o', 'wide');
  // Model pods run the runtime image the lab built from the Dockerfile, pinned by digest.
  const runtimeImage = labImageDigests()?.refs['runtime'];
  if (runtimeImage) process.stdout.write(`runtime image: ${runtimeImage}\n`);

  say('2/8 the OnnxModel CRD and the operator');
  kubectl('apply', '--server-side', '--force-conflicts', '-f', path.join(repoRoot, 'crds/onnxmodel.yaml'));
  kubectl('wait', '--for=condition=Established', 'crd/onnxmodels.serving.onnxop.io', '--timeout=30s');
  const pid = startDaemon({
    name: 'operator',
    command: process.execPath,
    args: [
      path.join(repoRoot, 'operator/src/main.ts'), 'run',
      '--kubeconfig', labPaths.operatorKubeconfig,
      '--http-host', '127.0.0.1', '--http-port', String(labPorts.operator),
      '--leader-election-namespace', 'default', '--default-gateway', 'lab-system/lab',
      '--prometheus-url', `http://127.0.0.1:${labPorts.prometheus}`, '--prometheus-scrape-interval', '2s',
      ...(runtimeImage ? ['--runtime-image', runtimeImage] : []),
    ],
    cwd: repoRoot,
  });
  process.stdout.write(`operator running (pid ${pid}), metrics on http://127.0.0.1:${labPorts.operator}/metrics, log ${labPaths.logs}/operator.log\n`);

  say('3/8 deploy a model the project built (logistic regression), pinned by its sha256');
  const models = ensureTestModels();
  // A clean start: an earlier demo's model would otherwise roll back from where it ended.
  kubectl('delete', 'namespace', ns, '--ignore-not-found', '--wait=true', '--timeout=120s');
  kubectlIn(stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } }), 'apply', '-f', '-');
  process.stdout.write(kubectlIn(model(`file://${models.logreg.path}`, models.logreg.digest), 'apply', '-f', '-'));
  kubectl('-n', ns, 'wait', '--for=condition=Ready', 'onnxmodel/iris', '--timeout=180s');
  show('-n', ns, 'get', 'onnx,deployments,services,httproutes,pods', '-o', 'wide');
  process.stdout.write(`inference through the gateway: ${await infer()}\n`);

  say('4/8 roll out a new digest (a classifier) in steps of 20% and 50%, judged by Prometheus, under 30 req/s');
  let traffic = backgroundLoad(30, 0);
  kubectlIn(model(`file://${models.classifier.path}`, models.classifier.digest), 'apply', '-f', '-');
  await follow((s) => s.phase === 'Stable' && s.stable?.digest === models.classifier.digest, 240);
  await waitForStableDigest(models.classifier.digest);
  process.stdout.write(`${await traffic.stop()}\n`);
  process.stdout.write(`inference through the gateway: ${await infer()}\n`);

  say('5/8 roll out a faulty model: it fails at run time on 30% of the inputs; the operator rolls it back by itself');
  traffic = backgroundLoad(30, 0.3);
  kubectlIn(model(`file://${models.logreg_faulty.path}`, models.logreg_faulty.digest), 'apply', '-f', '-');
  const rolled = await follow((s) => s.phase === 'RolledBack', 240);
  process.stdout.write(`${await traffic.stop()}\n`);
  process.stdout.write(`rolled back (${rolled.lastRollback?.reason}): ${rolled.lastRollback?.message ?? ''}\n`);
  process.stdout.write(`stable digest is still ${rolled.stable?.digest}\n`);

  say('6/8 a silent regression: the classifier exported with two input features swapped answers 200 to everything; the predictions gate compares what it predicts with stable and rolls it back');
  traffic = backgroundLoad(20, 0, CLASSIFIER_MIXED_ROWS);
  kubectlIn(model(`file://${models.classifier_swapped.path}`, models.classifier_swapped.digest, { predictions: { maxPSI: 0.2, minSamples: 100 } }), 'apply', '-f', '-');
  const silent = await follow((s) => s.phase === 'RolledBack' && s.lastRollback?.message?.includes('predict') === true, 240);
  process.stdout.write(`${await traffic.stop()}\n`);
  process.stdout.write(`rolled back (${silent.lastRollback?.reason}): ${silent.lastRollback?.message ?? ''}\n`);

  say('7/8 status an on-call engineer reads');
  const status = JSON.parse(kubectl('-n', ns, 'get', 'onnxmodel', 'iris', '-o', 'json')) as { status: { conditions?: { type: string; status: string; reason?: string; message?: string }[] } };
  for (const c of status.status.conditions ?? []) process.stdout.write(`  ${c.type.padEnd(16)} ${c.status.padEnd(6)} ${(c.reason ?? '').padEnd(22)} ${c.message ?? ''}\n`);
  show('-n', ns, 'get', 'events', '--field-selector', 'involvedObject.kind=OnnxModel', '--sort-by=.metadata.creationTimestamp');

  say('8/8 Prometheus scrapes the model pods: requests by revision and outcome');
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
