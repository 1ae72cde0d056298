// Captures the test inputs of the Argo CD health check and actions from real lab runs: OnnxModels
// driven through each phase by a real operator process (its own --instance-id, its own Prometheus),
// the real runtime serving the project's test models, load through the lab gateway. Every change
// of the namespace's OnnxModels is watched, and the first object that matches a capture's predicate
// is written to argocd/resource_customizations/serving.onnxop.io/OnnxModel/testdata/<name>.yaml
// (uid, resourceVersion and managedFields stripped). Manual actions are run through Argo CD's own
// engine with the argocd-cm snippet (the merge patch Argo CD's API server would send), so the
// operator is seen to act on them; each expected action output is written next to the inputs.
//
//   source .lab/env && node argocd/capture-testdata.ts [--only name,name] [--concurrency 4]
//
// health_test.yaml and action_test.yaml hold the expectations; they are written by hand, so after a
// new capture compare them (revisions and numbers change from run to run).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { KubeConfig } from '@kubernetes/client-node';
import pino from 'pino';
import { stringify } from 'yaml';
import { BenchPrometheus } from '../bench/rollout-lab.ts';
import { labPaths, labPorts } from '../e2e/lab/lab-config.ts';
import { startLoad } from '../e2e/lab/loadgen/run-load.ts';
import { ANNOTATION_ACTION, LABEL_CONTROLLER_INSTANCE, type ActionVerb } from '../operator/src/api/constants.ts';
import type { OnnxModelStatus } from '../operator/src/api/types.ts';
import { Informer } from '../operator/src/kube/informer.ts';
import type { KubeObject } from '../operator/src/kube/object-meta.ts';
import { resources } from '../operator/src/kube/resources.ts';
import { RestKubeClient } from '../operator/src/kube/rest-client.ts';
import { ensureTestModels, type TestModel } from '../runtime/test-models/build.ts';
import { applyCrd, createTestNamespace, deleteNamespace, kubectl, kubectlJson } from '../test/lab-helpers.ts';
import { OperatorProcess } from '../test/operator-process.ts';
import { CUSTOMIZATION_DIR, repoRoot } from './generate.ts';
import { luaEngine, runEngineAction } from './lua-engine.ts';

/** The operator started here reconciles only models labelled with this instance. */
const INSTANCE = 'argocd-capture';
/** No operator runs with this instance id: a model labelled with it is never reconciled. */
const IDLE_INSTANCE = 'argocd-capture-idle';
const TESTDATA = path.join(repoRoot, CUSTOMIZATION_DIR, 'testdata');
const ACTION_TESTDATA = path.join(repoRoot, CUSTOMIZATION_DIR, 'actions', 'testdata');
const gatewayUrl = `http://127.0.0.1:${labPorts.gateway}`;

type Model = KubeObject & { metadata: { generation?: number; annotations?: Record<string, string>; labels?: Record<string, string> }; spec?: Record<string, unknown>; status?: OnnxModelStatus };

const cond = (m: Model, type: string) => m.status?.conditions?.find((c) => c.type === type);
const observed = (m: Model) => m.status?.observedGeneration !== undefined && m.status.observedGeneration === m.metadata.generation;

interface Capture {
  /** testdata/<file>.yaml */
  file: string;
  model: string;
  what: string;
  when: (m: Model) => boolean;
  /** Transient states a scenario may pass too fast to be seen: missing is reported, not an error. */
  optional?: boolean;
}

const CAPTURES: Capture[] = [
  { file: 'no-status', model: 'idle', what: 'created, never reconciled (no status)', when: (m) => m.status === undefined },
  { file: 'generation-not-observed', model: 'stale', what: 'spec changed, the operator has not observed the generation', when: (m) => m.status?.observedGeneration !== undefined && m.status.observedGeneration < (m.metadata.generation ?? 0) },
  { file: 'action-pending', model: 'stale', what: 'a promote/1 annotation nobody has handled yet', when: (m) => m.metadata.annotations?.[ANNOTATION_ACTION] === 'promote/1' && m.status?.lastAction === undefined },
  { file: 'deploying', model: 'first', what: 'first revision starting', when: (m) => observed(m) && m.status?.phase === 'Deploying', optional: true },
  { file: 'stable', model: 'first', what: 'Ready', when: (m) => observed(m) && cond(m, 'Ready')?.status === 'True' },
  { file: 'scaled-to-zero', model: 'zero', what: 'replicas: 0', when: (m) => observed(m) && m.status?.phase === 'Stable' && cond(m, 'Available')?.reason === 'ScaledToZero' },
  { file: 'progressing-scaling', model: 'healthy', what: 'canary pods starting for step 1', when: (m) => observed(m) && m.status?.phase === 'Progressing' && m.status.rollout?.state === 'Scaling', optional: true },
  { file: 'progressing-holding', model: 'healthy', what: 'holding step 1 with an analysis of the canary', when: (m) => observed(m) && m.status?.rollout?.state === 'Holding' && m.status.lastAnalysis?.revision === m.status.rollout.revision },
  { file: 'progressing-step-2', model: 'healthy', what: 'holding step 2 after a passed step 1', when: (m) => observed(m) && m.status?.rollout?.state === 'Holding' && m.status.rollout.step === 1 && m.status.lastAnalysis?.revision === m.status.rollout.revision },
  { file: 'promoted', model: 'healthy', what: 'canary promoted: stable again', when: (m) => observed(m) && m.status?.phase === 'Stable' && m.status.lastAnalysis?.verdict === 'pass' && m.status.stable?.revision === m.status.lastAnalysis.revision && cond(m, 'Ready')?.status === 'True' },
  { file: 'paused-waiting-for-promote', model: 'manual', what: 'a step without pause', when: (m) => observed(m) && m.status?.rollout?.pauseReason === 'WaitingForPromote' },
  { file: 'paused-manual', model: 'manual', what: 'paused by the pause action', when: (m) => observed(m) && m.status?.rollout?.pauseReason === 'ManualPause' },
  { file: 'aborted', model: 'manual', what: 'rolled back by the abort action', when: (m) => observed(m) && m.status?.phase === 'RolledBack' && m.status.lastRollback?.reason === 'ManualAbort' },
  { file: 'paused-waiting-for-data', model: 'quiet', what: 'no traffic: too many inconclusive measurements', when: (m) => observed(m) && m.status?.rollout?.pauseReason === 'WaitingForData' },
  { file: 'rolled-back', model: 'faulty', what: 'canary failing 30% of its requests rolled back', when: (m) => observed(m) && m.status?.phase === 'RolledBack' && m.status.lastRollback?.reason === 'AnalysisFailed' },
  { file: 'paused-analysis-invalid', model: 'invalid', what: 'an analysis interval under two scrapes', when: (m) => observed(m) && m.status?.rollout?.pauseReason === 'AnalysisInvalid' },
  { file: 'verifying', model: 'signed', what: 'waiting for signature verification', when: (m) => observed(m) && m.status?.phase === 'Verifying', optional: true },
  { file: 'verification-refused', model: 'signed', what: 'a new digest signed by an untrusted key, stable serving', when: (m) => observed(m) && m.status?.phase === 'Failed' && cond(m, 'Degraded')?.reason === 'VerificationFailed' && m.status.stable !== undefined },
  { file: 'failed-deadline', model: 'broken', what: 'first revision never available (digest mismatch) past its progress deadline', when: (m) => observed(m) && m.status?.phase === 'Failed' },
  { file: 'stable-unavailable', model: 'outage', what: 'the stable revision lost all its pods', when: (m) => observed(m) && cond(m, 'Available')?.reason === 'StableUnavailable' && m.status?.phase === 'Stable' },
];

// ---------------------------------------------------------------- the lab side

const argv = process.argv.slice(2);
const opt = (name: string) => {
  const i = argv.indexOf(name);
  return i === -1 ? undefined : argv[i + 1];
};
const only = opt('--only')?.split(',');
const concurrency = Number(opt('--concurrency') ?? 4);

const prometheus = new BenchPrometheus();
const operator = new OperatorProcess('onnx-operator-argocd-capture', () => [
  '--instance-id', INSTANCE,
  '--prometheus-url', prometheus.url,
  '--prometheus-scrape-interval', '2s',
  '--prometheus-timeout', '2s',
  '--verification-resync-seconds', '5',
]);
let ns = '';
let engine = '';
const taken = new Map<string, Model>();
const waiters: { capture: Capture; resolve: (m: Model) => void }[] = [];
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'onnxop-argocd-capture-'));

/** What a captured object keeps: everything but the server's bookkeeping. */
export function clean(obj: Model): Model {
  const { uid: _uid, resourceVersion: _rv, managedFields: _mf, ...metadata } = obj.metadata as Model['metadata'] & { uid?: string; resourceVersion?: string; managedFields?: unknown };
  return { ...obj, metadata } as Model;
}

function onChange(obj: Model): void {
  for (const c of CAPTURES) {
    if (c.model !== obj.metadata.name || taken.has(c.file) || !c.when(obj)) continue;
    taken.set(c.file, clean(structuredClone(obj)));
    console.log(`captured ${c.file}: ${c.what}`);
    for (const w of waiters.filter((x) => x.capture === c)) w.resolve(obj);
  }
}

function captured(file: string, timeoutMs = 240_000): Promise<Model> {
  const capture = CAPTURES.find((c) => c.file === file);
  if (!capture) throw new Error(`no capture ${file}`);
  const have = taken.get(file);
  if (have) return Promise.resolve(have);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${capture.model}: no ${capture.what} within ${timeoutMs / 1000}s`)), timeoutMs);
    waiters.push({ capture, resolve: (m) => (clearTimeout(timer), resolve(m)) });
  });
}

async function get(name: string): Promise<Model> {
  return kubectlJson<Model>(['-n', ns, 'get', 'onnxmodel', name]);
}

async function waitFor(name: string, what: string, ok: (m: Model) => boolean, timeoutMs = 180_000): Promise<Model> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const m = await get(name);
    if (ok(m)) return m;
    if (Date.now() > deadline) throw new Error(`${name}: no ${what} within ${timeoutMs / 1000}s (phase ${m.status?.phase})`);
    await sleep(500);
  }
}

const rollout = (steps: { weight: number; pause?: string }[], analysis: Record<string, unknown> = {}) => ({
  steps,
  analysis: { interval: '4s', slos: [{ name: 'availability', builtin: 'availability', objective: 90 }], burnRateWindows: [{ short: '10s', long: '1m', threshold: 2 }], minRequests: 20, ...analysis },
  progressDeadline: '2m',
  scaleDownDelay: '5s',
});

async function apply(name: string, file: TestModel, spec: Record<string, unknown> = {}, instance = INSTANCE): Promise<number> {
  const obj = {
    apiVersion: 'serving.onnxop.io/v1alpha1',
    kind: 'OnnxModel',
    metadata: { name, labels: { [LABEL_CONTROLLER_INSTANCE]: instance } },
    spec: { model: { uri: `file://${file.path}`, digest: file.digest, name: 'm' }, runtime: { replicas: 1 }, traffic: { gatewayAPI: { hostnames: [`${name}.${ns}.lab`] } }, ...spec },
  };
  await kubectl(['-n', ns, 'apply', '--server-side', '--force-conflicts', '-f', '-'], stringify(obj));
  return (await get(name)).metadata.generation ?? 0;
}

function load(name: string, rate: number, poisonRatio = 0) {
  return startLoad({
    url: `${gatewayUrl}/v2/models/m/infer`,
    method: 'POST',
    headers: { 'content-type': 'application/json', host: `${name}.${ns}.lab` },
    body: JSON.stringify({ inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 4], data: [5.1, 3.5, 1.4, 0.2] }] }),
    rate,
    maxRequests: 20_000,
    durationMs: 480_000,
    timeoutMs: 5000,
    groupByHeader: 'x-onnxop-revision',
    ...(poisonRatio > 0 ? { poisonRatio } : {}),
  });
}

/** The value the action scripts must write: the verb and one more than status.lastAction's nonce, skipping the annotation's value. */
export function expectedActionValue(m: Model, verb: ActionVerb): string {
  const nonce = Number(m.status?.lastAction?.nonce ?? 0);
  const n = Number.isInteger(nonce) && nonce >= 0 && nonce < 1e15 ? nonce : 0;
  const first = `${verb}/${n + 1}`;
  return m.metadata.annotations?.[ANNOTATION_ACTION] === first ? `${verb}/${n + 2}` : first;
}

/**
 * Runs an action through Argo CD's engine on the live object and sends the merge patch Argo CD's
 * API server would send; resolves once the operator has recorded it as applied.
 */
async function argoAction(name: string, verb: ActionVerb, until: (m: Model) => boolean, what: string): Promise<Model> {
  const live = await get(name);
  const patch = runEngineAction(engine, { fromArgocdCm: true, openLibs: false }, verb, live);
  const value = expectedActionValue(live, verb);
  const want = { metadata: { annotations: { [ANNOTATION_ACTION]: value } } };
  if (JSON.stringify(patch) !== JSON.stringify(want)) throw new Error(`${name}: action ${verb} would patch ${JSON.stringify(patch)}, want ${JSON.stringify(want)}`);
  await kubectl(['-n', ns, 'patch', 'onnxmodel', name, '--type', 'merge', '-p', JSON.stringify(patch)]);
  console.log(`${name}: Argo CD action ${verb} → ${value}`);
  const m = await waitFor(name, `${verb} handled`, (x) => x.status?.lastAction?.value === value);
  if (m.status?.lastAction?.outcome !== 'Applied') throw new Error(`${name}: ${value} was ${m.status?.lastAction?.outcome}: ${m.status?.lastAction?.message}`);
  return waitFor(name, what, until);
}

async function remove(name: string): Promise<void> {
  await kubectl(['-n', ns, 'delete', 'onnxmodel', name, '--wait=false', '--ignore-not-found']);
}

/** A model serving `stable`, changed to `canary` under load; `then` runs while the load goes on. */
async function canary(name: string, stable: TestModel, next: TestModel, spec: Record<string, unknown>, rate: number, then: () => Promise<void>, poison = 0): Promise<void> {
  await apply(name, stable, spec);
  await waitFor(name, 'stable', (m) => observed(m) && cond(m, 'Ready')?.status === 'True');
  const traffic = rate > 0 ? load(name, rate, poison) : undefined;
  try {
    await apply(name, next, spec);
    await then();
  } finally {
    await traffic?.stop();
  }
}

type Models = ReturnType<typeof ensureTestModels>;

function scenarios(models: Models): Record<string, () => Promise<void>> {
  const twoSteps = rollout([{ weight: 20, pause: '12s' }, { weight: 60, pause: '12s' }]);
  return {
    idle: async () => {
      await apply('idle', models.logreg, {}, IDLE_INSTANCE);
      await captured('no-status', 30_000);
    },
    stale: async () => {
      await apply('stale', models.logreg);
      await waitFor('stale', 'stable', (m) => observed(m) && cond(m, 'Ready')?.status === 'True');
      // Handed to an instance nobody runs, then changed: the status stays at the old generation.
      await kubectl(['-n', ns, 'label', 'onnxmodel', 'stale', `${LABEL_CONTROLLER_INSTANCE}=${IDLE_INSTANCE}`, '--overwrite']);
      await sleep(3000);
      await apply('stale', models.classifier, {}, IDLE_INSTANCE);
      await captured('generation-not-observed', 30_000);
      // An action annotated while no operator handles it: the next action must not write the same value.
      await kubectl(['-n', ns, 'annotate', 'onnxmodel', 'stale', `${ANNOTATION_ACTION}=promote/1`, '--overwrite']);
      await captured('action-pending', 30_000);
    },
    first: async () => {
      await apply('first', models.logreg);
      await captured('stable');
    },
    zero: async () => {
      await apply('zero', models.logreg, { runtime: { replicas: 0 } });
      await captured('scaled-to-zero');
    },
    broken: async () => {
      // The digest of another model: the runtime refuses the bytes, no pod is ever ready.
      await apply('broken', { ...models.logreg, digest: models.classifier.digest }, { rollout: { steps: [], progressDeadline: '20s' } });
      await captured('failed-deadline');
    },
    outage: async () => {
      const file = path.join(work, 'outage.onnx');
      fs.copyFileSync(models.logreg.path, file);
      fs.chmodSync(work, 0o755);
      // A short progress deadline, passed before the outage: a revision without pods inside its
      // deadline is still taken for one that is starting (phase Deploying).
      await apply('outage', { ...models.logreg, path: file }, { rollout: { steps: [], progressDeadline: '15s' } });
      await waitFor('outage', 'stable', (m) => observed(m) && cond(m, 'Ready')?.status === 'True');
      await sleep(20_000);
      // The artifact is gone and the pod with it: the replacement cannot load the model.
      fs.rmSync(file);
      await kubectl(['-n', ns, 'delete', 'pod', '-l', 'serving.onnxop.io/model=outage', '--wait=false']);
      await captured('stable-unavailable');
    },
    healthy: () =>
      canary('healthy', models.logreg, models.classifier, { rollout: twoSteps }, 30, async () => {
        await captured('progressing-holding');
        await captured('progressing-step-2');
        await captured('promoted');
      }),
    manual: () =>
      canary('manual', models.logreg, models.classifier, { rollout: rollout([{ weight: 20 }, { weight: 50, pause: '10m' }]) }, 20, async () => {
        await captured('paused-waiting-for-promote');
        await argoAction('manual', 'promote', (m) => m.status?.rollout?.state === 'Holding' && m.status.rollout.step === 1, 'holding step 2');
        await argoAction('manual', 'pause', (m) => m.status?.rollout?.pauseReason === 'ManualPause', 'paused');
        await captured('paused-manual');
        await argoAction('manual', 'resume', (m) => m.status?.rollout?.state === 'Holding', 'holding again');
        await argoAction('manual', 'abort', (m) => m.status?.phase === 'RolledBack', 'rolled back');
        await captured('aborted');
        await argoAction('manual', 'retry', (m) => m.status?.canary?.revision === m.status?.desiredRevision, 'the canary deployed again');
      }),
    quiet: () =>
      canary('quiet', models.logreg, models.classifier, { rollout: rollout([{ weight: 20, pause: '5s' }, { weight: 50, pause: '5s' }], { maxInconclusive: 2 }) }, 0, async () => {
        await captured('paused-waiting-for-data');
        await argoAction('quiet', 'resume', (m) => m.status?.rollout?.state === 'Holding' || m.status?.rollout?.pauseReason === 'WaitingForData', 'measuring again');
      }),
    faulty: () =>
      canary('faulty', models.logreg, models.logreg_faulty, { rollout: rollout([{ weight: 30, pause: '30s' }, { weight: 60, pause: '30s' }]) }, 30, () => captured('rolled-back').then(() => undefined), 0.3),
    invalid: () =>
      canary('invalid', models.logreg, models.classifier, { rollout: rollout([{ weight: 20, pause: '30s' }], { interval: '1s' }) }, 0, () => captured('paused-analysis-invalid').then(() => undefined)),
    signed: async () => {
      const cosign = execFileSync('bash', [path.join(repoRoot, 'e2e/lab/tools/build-cosign.sh')], { encoding: 'utf8' }).trim().split('\n').pop() ?? '';
      for (const k of ['trusted', 'rogue']) {
        fs.mkdirSync(path.join(work, k), { recursive: true });
        execFileSync(cosign, ['generate-key-pair'], { cwd: path.join(work, k), env: { ...process.env, COSIGN_PASSWORD: 'test' }, stdio: 'ignore' });
      }
      const good = path.join(work, 'good.onnx');
      const bad = path.join(work, 'bad.onnx');
      fs.copyFileSync(models.logreg.path, good);
      fs.copyFileSync(models.classifier.path, bad);
      for (const [key, file] of [['trusted', good], ['rogue', bad]] as const) {
        execFileSync(cosign, ['sign-blob', '--key', path.join(work, key, 'cosign.key'), '--bundle', `${file}.sigstore.json`, '--new-bundle-format', '--tlog-upload=false', '--yes', file], { env: { ...process.env, COSIGN_PASSWORD: 'test' }, stdio: 'ignore' });
      }
      fs.chmodSync(work, 0o755);
      await kubectl(['-n', ns, 'create', 'secret', 'generic', 'signing-key', `--from-file=key.pub=${path.join(work, 'trusted', 'cosign.pub')}`]);
      const signature = { authorities: [{ name: 'release-key', key: { secretRef: { name: 'signing-key' } } }] };
      await apply('signed', { ...models.logreg, path: good }, { signature });
      await waitFor('signed', 'stable', (m) => observed(m) && cond(m, 'Ready')?.status === 'True');
      await apply('signed', { ...models.classifier, path: bad }, { signature });
      await captured('verification-refused');
    },
  };
}

/** Runs the tasks, `limit` at a time; rejects with every failure once all have settled. */
async function pool(tasks: [string, () => Promise<void>][], limit: number): Promise<void> {
  const failures: string[] = [];
  const queue = [...tasks];
  await Promise.all(
    Array.from({ length: limit }, async () => {
      for (let t = queue.shift(); t; t = queue.shift()) {
        const [name, run] = t;
        const started = Date.now();
        try {
          await run();
          console.log(`scenario ${name} done in ${Math.round((Date.now() - started) / 1000)}s`);
        } catch (err) {
          failures.push(`${name}: ${(err as Error).message}`);
          console.error(`scenario ${name} failed: ${(err as Error).message}`);
        } finally {
          await remove(name).catch(() => undefined);
        }
      }
    }),
  );
  if (failures.length) throw new Error(`${failures.length} scenario(s) failed:\n${failures.join('\n')}`);
}

function header(c: Capture): string {
  return `# Captured from a lab run by argocd/capture-testdata.ts (scenario ${c.model}: ${c.what});\n# uid, resourceVersion and managedFields stripped.\n`;
}

function writeCaptures(): void {
  fs.mkdirSync(TESTDATA, { recursive: true });
  fs.mkdirSync(ACTION_TESTDATA, { recursive: true });
  for (const c of CAPTURES) {
    const m = taken.get(c.file);
    if (!m) continue;
    fs.writeFileSync(path.join(TESTDATA, `${c.file}.yaml`), header(c) + stringify(m, { lineWidth: 0 }));
  }
  // Expected action outputs: the input with the action annotation set to the value the scripts
  // must write (computed here, independently of the Lua).
  for (const [input, verb] of ACTION_OUTPUTS) {
    const m = taken.get(input);
    if (!m) continue;
    const out = structuredClone(m);
    out.metadata.annotations = { ...out.metadata.annotations, [ANNOTATION_ACTION]: expectedActionValue(m, verb) };
    fs.writeFileSync(path.join(ACTION_TESTDATA, `${input}-${verb}.yaml`), `# ${input}.yaml after the ${verb} action: only the annotation ${ANNOTATION_ACTION} changes.\n` + stringify(out, { lineWidth: 0 }));
  }
}

/** The action tests' inputs and actions (actions/action_test.yaml names these outputs). */
export const ACTION_OUTPUTS: [string, ActionVerb][] = [
  ['paused-waiting-for-promote', 'promote'],
  ['paused-waiting-for-promote', 'abort'],
  ['progressing-holding', 'pause'],
  ['progressing-holding', 'abort'],
  ['paused-manual', 'resume'],
  ['paused-manual', 'promote'],
  ['paused-waiting-for-data', 'resume'],
  ['rolled-back', 'retry'],
  ['aborted', 'retry'],
  ['stable', 'abort'],
  ['action-pending', 'promote'],
];

async function main(): Promise<void> {
  engine = luaEngine();
  await applyCrd();
  const models = ensureTestModels();
  await prometheus.start();
  ns = await createTestNamespace('argocd-capture');
  const kc = new KubeConfig();
  kc.loadFromFile(labPaths.kubeconfig);
  const informer = new Informer({ client: new RestKubeClient(kc, { userAgent: 'onnxop-argocd-capture' }), resource: resources.onnxModel, namespace: ns, log: pino({ level: 'warn' }, pino.destination(2)) });
  informer.onChange((type, obj) => {
    if (type !== 'DELETED') onChange(obj as Model);
  });
  await informer.start();
  await operator.start();
  try {
    const all = Object.entries(scenarios(models)).filter(([name]) => !only || only.includes(name));
    await pool(all, concurrency).finally(writeCaptures);
  } finally {
    await informer.stop();
    await operator.stop();
    await prometheus.close();
    await deleteNamespace(ns);
    fs.rmSync(work, { recursive: true, force: true });
  }
  const missing = CAPTURES.filter((c) => (!only || only.includes(c.model)) && !taken.has(c.file));
  for (const c of missing) console.log(`${c.optional ? 'not seen (transient)' : 'MISSING'}: ${c.file} (${c.what})`);
  if (missing.some((c) => !c.optional)) process.exit(1);
}

if (import.meta.main) {
  await main();
}
