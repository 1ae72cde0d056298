// Signature verification before deployment, against the lab: the operator process (with
// --require-signature-namespaces), models signed during set-up by the real cosign (built from the Go
// module proxy by e2e/lab/tools/build-cosign.sh), bundles next to the artifact (file:///) and in
// ConfigMaps, public keys in Secrets. "Never gets a pod" is checked in the API server's audit log:
// no Deployment of a refused revision was ever created. The tamper corpus (test/verify/tamper-corpus.ts,
// made with the real cosign and model_signing) is applied as OnnxModels: the operator's
// ArtifactVerified reason must be the one `onnx-operator verify` prints for the same files.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { labPorts } from '../e2e/lab/lab-config.ts';
import { labRequest } from '../e2e/lab/loadgen/lab-request.ts';
import { LABEL_CONTROLLER_INSTANCE } from '../operator/src/api/constants.ts';
import { ensureTestModels } from '../runtime/test-models/build.ts';
import { buildTamperCorpus } from './verify/tamper-corpus.ts';
import { auditSince, OperatorProcess } from './operator-process.ts';
import { createTestNamespace, deleteNamespace, isPodReady, kubectl, kubectlJson, listPods, logMark, reconcilesLogged, repoRoot, waitUntil } from './lab-helpers.ts';

const gatewayUrl = `http://127.0.0.1:${labPorts.gateway}`;

interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}
interface ModelJson {
  metadata: { name: string; generation: number };
  status?: {
    phase?: string;
    observedGeneration?: number;
    desiredRevision?: string;
    conditions?: Condition[];
    stable?: { revision?: string; digest?: string };
    canary?: { revision?: string };
    verification?: { digest?: string; verified?: boolean; signer?: string; reason?: string; mode?: string };
  };
}
function run(cmd: string, args: string[], env: Record<string, string> = {}, cwd?: string): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', env: { ...process.env, ...env }, cwd, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')} failed: ${e.message}\n${e.stderr ?? ''}`);
  }
}

const suffix = randomBytes(3).toString('hex');
const flagNs = `vop-flag-${suffix}`;
// Its own instance: other suites' operators share the lab (and would deploy what this one refuses);
// each reconciles only the models labelled for it.
const instance = `verify-int-${suffix}`;
// Debug logs: every reconcile is logged, so the tests wait for the operator's reconciles (afterReconciles)
// instead of for fixed times.
const operator = new OperatorProcess('onnx-operator-verify-int-test', () => ['--instance-id', instance, '--require-signature-namespaces', flagNs, '--verification-resync-seconds', '5', '--log-level', 'debug']);
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'verify-operator-'));
const started = new Date();
let ns = '';
let labelNs = '';
let models: ReturnType<typeof ensureTestModels>;
/** logreg and classifier copied next to their bundles (file:///<model>.sigstore.json). */
const files = { logreg: path.join(work, 'good', 'logreg.onnx'), classifierBad: path.join(work, 'bad', 'classifier.onnx'), logregBad: path.join(work, 'bad', 'logreg.onnx') };

beforeAll(async () => {
  await kubectl(['apply', '--server-side', '--force-conflicts', '-f', path.join(repoRoot, 'crds/onnxmodel.yaml')]);
  models = ensureTestModels();
  const cosign = run('bash', [path.join(repoRoot, 'e2e/lab/tools/build-cosign.sh')]).trim().split('\n').pop()!;
  // Two key pairs: `trusted` is in the Secret the models name; `rogue` is not.
  for (const k of ['trusted', 'rogue']) {
    fs.mkdirSync(path.join(work, k));
    run(cosign, ['generate-key-pair'], { COSIGN_PASSWORD: 'test' }, path.join(work, k));
  }
  for (const d of ['good', 'bad']) fs.mkdirSync(path.join(work, d));
  fs.copyFileSync(models.logreg.path, files.logreg);
  fs.copyFileSync(models.classifier.path, files.classifierBad);
  fs.copyFileSync(models.logreg.path, files.logregBad);
  const sign = (key: string, file: string) =>
    run(cosign, ['sign-blob', '--key', path.join(work, key, 'cosign.key'), '--bundle', `${file}.sigstore.json`, '--new-bundle-format', '--tlog-upload=false', '--yes', file], { COSIGN_PASSWORD: 'test' });
  sign('trusted', files.logreg);
  sign('rogue', files.classifierBad);
  sign('rogue', files.logregBad);
  fs.chmodSync(work, 0o755);

  ns = await createTestNamespace('vop');
  labelNs = await createTestNamespace('vop-label');
  await kubectl(['label', 'namespace', labelNs, 'serving.onnxop.io/require-signature=true']);
  await kubectl(['create', 'namespace', flagNs]);
  for (const n of [ns, labelNs, flagNs]) {
    await kubectl(['-n', n, 'create', 'secret', 'generic', 'signing-key', `--from-file=key.pub=${path.join(work, 'trusted', 'cosign.pub')}`]);
  }
  await kubectl(['-n', ns, 'create', 'configmap', 'logreg-bundle', `--from-file=bundle.json=${files.logreg}.sigstore.json`]);
  await operator.start();
}, 1_800_000);

afterAll(async () => {
  await operator.stop();
  for (const n of [ns, labelNs, flagNs]) if (n) await deleteNamespace(n);
  fs.rmSync(work, { recursive: true, force: true });
});

const signature = (extra: Record<string, unknown> = {}) => ({
  authorities: [{ name: 'release-key', key: { secretRef: { name: 'signing-key' } } }],
  ...extra,
});

function onnxModel(name: string, file: string, digest: string, sig?: Record<string, unknown>): string {
  return stringify({
    apiVersion: 'serving.onnxop.io/v1alpha1',
    kind: 'OnnxModel',
    metadata: { name, labels: { [LABEL_CONTROLLER_INSTANCE]: instance } },
    spec: { model: { uri: `file://${file}`, digest, name: `${name}-${suffix}` }, runtime: { replicas: 1 }, ...(sig ? { signature: sig } : {}) },
  });
}

const get = (n: string, name: string) => kubectlJson<ModelJson>(['-n', n, 'get', 'onnxmodel', name]);
const cond = (m: ModelJson, type: string) => m.status?.conditions?.find((c) => c.type === type);

async function waitFor(n: string, name: string, what: string, ok: (m: ModelJson) => boolean, timeoutMs = 120_000): Promise<ModelJson> {
  return waitUntil(`${n}/${name}: ${what}`, async () => {
    const m = await get(n, name);
    return ok(m) ? m : undefined;
  }, timeoutMs);
}

/**
 * Waits until the operator has reconciled each of `names` in `n` at least `times` more times from
 * now (signed models are re-verified every 5 s; `touch` annotates each first, for models nothing
 * re-queues). What the reconciles wrote is in the audit log once they are logged.
 */
async function afterReconciles(n: string, names: string[], times: number, touch = false): Promise<void> {
  const mark = logMark(operator.logFile);
  if (touch) for (const name of names) await kubectl(['-n', n, 'annotate', 'onnxmodel', name, `example.com/touched=${Date.now()}`, '--overwrite']);
  await waitUntil(`${times} more reconcile(s) of ${names.map((x) => `${n}/${x}`).join(', ')}`, async () =>
    names.every((name) => reconcilesLogged(operator.logFile, n, name, mark) >= times) ? true : undefined, 120_000);
}

async function infer(name: string): Promise<{ status: number; revision?: string }> {
  const body = JSON.stringify({ inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 4], data: [5.1, 3.5, 1.4, 0.2] }] });
  const r = await labRequest(`${gatewayUrl}/v2/models/${name}-${suffix}/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  const rev = r.headers['x-onnxop-revision'];
  return { status: r.status, ...(typeof rev === 'string' ? { revision: rev } : {}) };
}

/** Deployments the audit log shows were ever created in `n` for `model` (any revision, any writer). */
function deploymentsEverCreated(n: string, model: string): string[] {
  return auditSince(started)
    .filter((e) => e.verb === 'create' || e.verb === 'patch' || e.verb === 'update')
    .filter((e) => e.objectRef?.resource === 'deployments' && e.objectRef.namespace === n && e.objectRef.name?.startsWith(`${model}-`))
    .map((e) => e.objectRef?.name ?? '');
}

async function eventsFor(n: string, name: string): Promise<{ reason: string; type: string; message: string }[]> {
  const list = await kubectlJson<{ items: { reason?: string; type?: string; note?: string; message?: string; regarding?: { name?: string }; involvedObject?: { name?: string } }[] }>(['-n', n, 'get', 'events']);
  return list.items
    .filter((e) => (e.involvedObject?.name ?? e.regarding?.name) === name)
    .map((e) => ({ reason: e.reason ?? '', type: e.type ?? '', message: e.message ?? e.note ?? '' }));
}

describe('signature verification before deployment (lab)', () => {
  test('a cosign-signed model (bundle next to the artifact) is verified, records its signer, and serves', async () => {
    await kubectl(['-n', ns, 'apply', '-f', '-'], onnxModel('signed', files.logreg, models.logreg.digest, signature()));
    const m = await waitFor(ns, 'signed', 'Ready', (x) => cond(x, 'Ready')?.status === 'True');
    expect(cond(m, 'ArtifactVerified')).toMatchObject({ status: 'True', reason: 'Verified' });
    expect(m.status?.verification).toMatchObject({ digest: models.logreg.digest, verified: true, mode: 'Enforce', signer: expect.stringMatching(/^release-key \(key:sha256:[0-9a-f]{64}\)$/) });
    expect((await eventsFor(ns, 'signed')).map((e) => e.reason)).toContain('Verified');
    const answer = await waitUntil('an inference answer through the gateway', async () => {
      const r = await infer('signed');
      return r.status === 200 ? r : undefined;
    }, 60_000);
    expect(answer.revision).toBe(m.status?.stable?.revision);
  });

  test('the bundle can come from a ConfigMap', async () => {
    await kubectl(['-n', ns, 'apply', '-f', '-'], onnxModel('from-cm', files.logreg, models.logreg.digest, signature({ bundle: { configMapRef: { name: 'logreg-bundle' } } })));
    const m = await waitFor(ns, 'from-cm', 'ArtifactVerified=True', (x) => cond(x, 'ArtifactVerified')?.status === 'True');
    expect(m.status?.verification?.signer).toMatch(/^release-key /);
  });

  test('a model signed by an untrusted key never gets a pod; status and an Event say why', async () => {
    await kubectl(['-n', ns, 'apply', '-f', '-'], onnxModel('rogue', files.logregBad, models.logreg.digest, signature()));
    const m = await waitFor(ns, 'rogue', 'ArtifactVerified=False', (x) => cond(x, 'ArtifactVerified')?.status === 'False');
    expect(cond(m, 'ArtifactVerified')?.reason).toBe('UntrustedKey');
    expect(m.status?.phase).toBe('Failed');
    expect(cond(m, 'Degraded')).toMatchObject({ status: 'True', reason: 'VerificationFailed' });
    expect(m.status?.verification).toMatchObject({ verified: false, reason: 'UntrustedKey' });
    expect(m.status?.stable).toBeUndefined();
    await waitUntil('the VerificationFailed event', async () => {
      const ev = (await eventsFor(ns, 'rogue')).find((e) => e.reason === 'VerificationFailed');
      return ev ? ev : undefined;
    }, 30_000).then((ev) => expect(ev).toMatchObject({ type: 'Warning', message: expect.stringContaining('UntrustedKey') }));
    await afterReconciles(ns, ['rogue'], 2); // two re-verifications later: still nothing
    expect(deploymentsEverCreated(ns, 'rogue')).toEqual([]);
    expect(await listPods(ns, 'serving.onnxop.io/model=rogue')).toEqual([]);
  });

  test('a bad new digest on a serving model leaves the stable revision serving, with the reason in status', async () => {
    const before = await waitFor(ns, 'signed', 'Ready', (x) => cond(x, 'Ready')?.status === 'True');
    const stable = before.status?.stable?.revision;
    await kubectl(['-n', ns, 'patch', 'onnxmodel', 'signed', '--type=merge', '-p', JSON.stringify({ spec: { model: { uri: `file://${files.classifierBad}`, digest: models.classifier.digest } } })]);
    const m = await waitFor(ns, 'signed', 'the new digest refused', (x) => x.status?.observedGeneration === before.metadata.generation + 1 && cond(x, 'ArtifactVerified')?.status === 'False');
    expect(cond(m, 'ArtifactVerified')?.reason).toBe('UntrustedKey');
    expect(m.status?.phase).toBe('Failed');
    expect(m.status?.stable?.revision).toBe(stable);
    expect(m.status?.canary).toBeUndefined();
    expect(cond(m, 'Available')).toMatchObject({ status: 'True', reason: 'StableAvailable' });
    expect(cond(m, 'Degraded')).toMatchObject({ status: 'True', reason: 'VerificationFailed' });
    const refused = m.status?.desiredRevision ?? '';
    expect(refused).not.toBe(stable);
    expect((await infer('signed')).revision).toBe(stable);
    await afterReconciles(ns, ['signed'], 2);
    const created = deploymentsEverCreated(ns, 'signed');
    expect(created).toContain(`signed-${stable}`); // the audit filter does see the operator's writes
    expect(created).not.toContain(`signed-${refused}`);
    expect(await listPods(ns, `serving.onnxop.io/revision=${refused}`)).toEqual([]);
    expect((await infer('signed')).revision).toBe(stable);
  });

  test('a steady state with verification costs no writes', async () => {
    // Converged first: every model Ready or Failed at its generation, and reconciled once more since.
    const names = ['signed', 'from-cm', 'rogue'];
    for (const name of names) {
      await waitFor(ns, name, 'converged', (x) => x.status?.observedGeneration === x.metadata.generation && (cond(x, 'Ready')?.status === 'True' || x.status?.phase === 'Failed'));
    }
    await afterReconciles(ns, names, 1);
    const reconciles = await operator.metric('onnxop_operator_reconcile_total{result="success"}');
    const since = new Date();
    await afterReconciles(ns, names, 2); // two resyncs of every signed model: bundles and Secrets re-read, verdicts from the cache
    expect(await operator.metric('onnxop_operator_reconcile_total{result="success"}')).toBeGreaterThan(reconciles);
    // This suite's namespaces only: other suites' operators share the lab and the operator's identity.
    const mine = [ns, labelNs, flagNs];
    const writesSince = (t: Date) =>
      auditSince(t).filter((e) => e.user?.username === 'onnx-operator' && e.objectRef?.resource !== 'leases' && mine.includes(e.objectRef?.namespace ?? ''));
    expect(writesSince(since)).toEqual([]);
    // A restarted operator verifies again (empty cache), reaches the same verdicts and writes nothing.
    await operator.stop();
    const restartedAt = new Date();
    await operator.start();
    await waitUntil('the restarted operator to reconcile', async () =>
      (await operator.metric('onnxop_operator_reconcile_total{result="success"}')) >= 2 ? true : undefined);
    await afterReconciles(ns, names, 2); // verified again, then a resync from the cache
    expect(writesSince(restartedAt)).toEqual([]);
  });

  test('Audit deploys a model that fails verification and reports the failure', async () => {
    await kubectl(['-n', ns, 'apply', '-f', '-'], onnxModel('audited', files.logregBad, models.logreg.digest, signature({ mode: 'Audit' })));
    const m = await waitFor(ns, 'audited', 'Ready', (x) => cond(x, 'Ready')?.status === 'True');
    expect(cond(m, 'ArtifactVerified')).toMatchObject({ status: 'False', reason: 'UntrustedKey', message: expect.stringContaining('mode Audit') });
    expect(m.status?.verification).toMatchObject({ verified: false, mode: 'Audit', reason: 'UntrustedKey' });
    expect((await listPods(ns, 'serving.onnxop.io/model=audited')).some(isPodReady)).toBe(true);
    expect((await eventsFor(ns, 'audited')).map((e) => e.reason)).toContain('VerificationFailed');
  });

  test('a changed key Secret re-verifies on the next resync', async () => {
    await kubectl(['-n', ns, 'apply', '-f', '-'], onnxModel('rotating', files.logregBad, models.logreg.digest, signature({ authorities: [{ key: { secretRef: { name: 'rotating-key' } } }] })));
    let m = await waitFor(ns, 'rotating', 'TrustRootMissing', (x) => cond(x, 'ArtifactVerified')?.reason === 'TrustRootMissing', 30_000);
    expect(cond(m, 'ArtifactVerified')?.message).toContain(`Secret ${ns}/rotating-key not found`);
    await kubectl(['-n', ns, 'create', 'secret', 'generic', 'rotating-key', `--from-file=key.pub=${path.join(work, 'rogue', 'cosign.pub')}`]);
    m = await waitFor(ns, 'rotating', 'verified after the Secret appeared', (x) => cond(x, 'ArtifactVerified')?.reason === 'Verified', 30_000);
    expect(m.status?.verification?.signer).toMatch(/^key:sha256:/);
  });

  test('a namespace labelled require-signature refuses an unsigned model; lifting the label lets it deploy', async () => {
    await kubectl(['-n', labelNs, 'apply', '-f', '-'], onnxModel('unsigned', files.logreg, models.logreg.digest));
    const m = await waitFor(labelNs, 'unsigned', 'SignatureRequired', (x) => cond(x, 'ArtifactVerified')?.status === 'False');
    expect(cond(m, 'ArtifactVerified')).toMatchObject({ reason: 'SignatureRequired', message: expect.stringContaining(`namespace ${labelNs} requires signed models`) });
    expect(m.status?.phase).toBe('Failed');
    await afterReconciles(labelNs, ['unsigned'], 1, true);
    expect(deploymentsEverCreated(labelNs, 'unsigned')).toEqual([]);
    // A signed model in the same namespace deploys.
    await kubectl(['-n', labelNs, 'apply', '-f', '-'], onnxModel('signed', files.logreg, models.logreg.digest, signature({ mode: 'Audit' })));
    const s = await waitFor(labelNs, 'signed', 'verified', (x) => cond(x, 'ArtifactVerified')?.reason === 'Verified');
    expect(s.status?.verification?.mode).toBe('Enforce'); // Audit is not honoured where signatures are required
    await kubectl(['label', 'namespace', labelNs, 'serving.onnxop.io/require-signature-']);
    await waitFor(labelNs, 'unsigned', 'NotRequired once the label is gone', (x) => cond(x, 'ArtifactVerified')?.reason === 'NotRequired' && x.status?.stable !== undefined);
  });

  test('a namespace named in --require-signature-namespaces refuses an unsigned model', async () => {
    await kubectl(['-n', flagNs, 'apply', '-f', '-'], onnxModel('unsigned', files.logreg, models.logreg.digest));
    const m = await waitFor(flagNs, 'unsigned', 'SignatureRequired', (x) => cond(x, 'ArtifactVerified')?.status === 'False');
    expect(cond(m, 'ArtifactVerified')?.reason).toBe('SignatureRequired');
    expect((await eventsFor(flagNs, 'unsigned')).find((e) => e.reason === 'VerificationFailed')?.message).toContain('SignatureRequired');
    await afterReconciles(flagNs, ['unsigned'], 1, true);
    expect(deploymentsEverCreated(flagNs, 'unsigned')).toEqual([]);
    expect(await listPods(flagNs, 'serving.onnxop.io/model=unsigned')).toEqual([]);
  });
});

describe('the tamper corpus in the lab', () => {
  test("each case's ArtifactVerified reason is the one onnx-operator verify prints (exit 1) and the docs give", async () => {
    const { cases } = buildTamperCorpus(fs.mkdtempSync(path.join(work, 'corpus-')));
    const keys = [...new Set(cases.map((c) => c.key))];
    for (const [i, key] of keys.entries()) await kubectl(['-n', ns, 'create', 'secret', 'generic', `corpus-key-${i}`, `--from-file=key.pub=${key}`]);
    for (const c of cases) {
      const sig = { format: c.format, bundle: { uri: `file://${c.bundle}` }, authorities: [{ name: 'corpus', key: { secretRef: { name: `corpus-key-${keys.indexOf(c.key)}` } } }] };
      await kubectl(['-n', ns, 'apply', '-f', '-'], onnxModel(c.id, c.artifact, c.digest, sig));
    }
    const refused = await Promise.all(cases.map((c) => waitFor(ns, c.id, 'ArtifactVerified=False', (x) => cond(x, 'ArtifactVerified')?.status === 'False')));
    const operatorSays = Object.fromEntries(cases.map((c, i) => [c.id, cond(refused[i]!, 'ArtifactVerified')?.reason]));
    const cliSays: Record<string, string> = {};
    for (const c of cases) {
      // The CLI as users run it: the operator's entry point, in its own process.
      let out = '';
      let code = 0;
      try {
        out = execFileSync(process.execPath, [path.join(repoRoot, 'operator/src/main.ts'), 'verify', '--artifact', c.artifact, '--bundle', c.bundle, '--key', c.key, '--digest', c.digest, '--format', c.format], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      } catch (err) {
        const e = err as { status?: number; stdout?: string };
        code = e.status ?? -1;
        out = e.stdout ?? '';
      }
      cliSays[c.id] = `exit ${code}: ${/^Refused: (\w+):/.exec(out)?.[1] ?? out}`;
    }
    const want = Object.fromEntries(cases.map((c) => [c.id, c.reason]));
    expect(operatorSays).toEqual(want);
    expect(cliSays).toEqual(Object.fromEntries(cases.map((c) => [c.id, `exit 1: ${c.reason}`])));
    await afterReconciles(ns, cases.map((c) => c.id), 1, true);
    expect(cases.flatMap((c) => deploymentsEverCreated(ns, c.id))).toEqual([]);
  });
});
