// The chart in the lab with the real helm: install (its pods admitted under the restricted Pod
// Security Standard), the operator running under the chart's ServiceAccount — not as an admin —
// through the main scenarios (deploy, autoscaled, new digest, signature refused, delete) with no 403
// in its metrics or in the API server's audit log, a role missing a verb caught the same way, an
// upgrade to namespaced mode that watches only the listed namespaces, and an uninstall.
//
// The lab's process kubelet has no image for the operator and mounts no service-account token, so
// the operator runs as a local process (test/operator-process.ts) with the Deployment's own
// arguments and a kubeconfig carrying a token of the chart's ServiceAccount (TokenRequest).
import { afterAll, afterEach, beforeAll, describe, expect, test } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { labPaths } from '../../e2e/lab/lab-config.ts';
import { LABEL_CONTROLLER_INSTANCE } from '../../operator/src/api/constants.ts';
import { ensureTestModels } from '../../runtime/test-models/build.ts';
import { chartDir, helm, helmBin, helmOk, valuesFile } from '../../test/helm.ts';
import { applyCrd, createTestNamespace, deleteNamespace, kubectl, kubectlBin, kubectlJson, logMark, reconcilesLogged, waitUntil } from '../../test/lab-helpers.ts';
import { auditSince, OperatorProcess } from '../../test/operator-process.ts';
import { ecKey, messageBundle } from '../../test/verify/fixtures.ts';

const suffix = randomBytes(3).toString('hex');
const release = `chart-${suffix}`;
const fullname = `${release}-onnx-operator`;
// Only models labelled for this instance are this suite's: other suites' operators share the lab.
const instance = `chart-int-${suffix}`;
const values = { operator: { instanceId: instance, defaultGateway: 'lab-system/lab', logLevel: 'debug' } };
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'chart-int-'));
let releaseNs = '';
let modelsNs = '';
let secondNs = '';
let unwatchedNs = '';
let models: ReturnType<typeof ensureTestModels>;
const running: OperatorProcess[] = [];
let installed = false;

interface Condition {
  type: string;
  status: string;
  reason?: string;
}
interface ModelJson {
  metadata: { name: string; uid: string };
  status?: { phase?: string; conditions?: Condition[]; stable?: { revision?: string; digest?: string } };
}
interface ContainerJson {
  args: string[];
  env?: { name: string; valueFrom?: { fieldRef?: { fieldPath: string } } }[];
}

const helmLab = (args: string[]) => helmOk([...args, '--kubeconfig', labPaths.kubeconfig]);
const cond = (m: ModelJson, type: string) => m.status?.conditions?.find((c) => c.type === type);
const saUser = (sa: string) => `system:serviceaccount:${releaseNs}:${sa}`;

beforeAll(async () => {
  helmBin(); // built once from the Go module proxy, before any clock below starts
  await applyCrd();
  models = ensureTestModels();
  releaseNs = await createTestNamespace('chart');
  // The operator's pods must pass the restricted Pod Security Standard where it is enforced.
  await kubectl(['label', 'namespace', releaseNs, 'pod-security.kubernetes.io/enforce=restricted', 'pod-security.kubernetes.io/enforce-version=latest']);
  modelsNs = await createTestNamespace('chart-models');
  secondNs = await createTestNamespace('chart-b');
  unwatchedNs = await createTestNamespace('chart-c');
}, 1_800_000);

afterAll(async () => {
  if (installed) helm(['uninstall', release, '--namespace', releaseNs, '--kubeconfig', labPaths.kubeconfig]);
  await kubectl(['delete', 'clusterrole,clusterrolebinding', `${fullname}-broken`, '--ignore-not-found']).catch(() => undefined);
  for (const ns of [releaseNs, modelsNs, secondNs, unwatchedNs]) if (ns) await deleteNamespace(ns);
  fs.rmSync(work, { recursive: true, force: true });
});

/** A kubeconfig for the lab API server that authenticates with a fresh token of this ServiceAccount. */
async function serviceAccountKubeconfig(sa: string): Promise<string> {
  const token = (await kubectl(['-n', releaseNs, 'create', 'token', sa, '--duration=2h'])).trim();
  const admin = parse(fs.readFileSync(labPaths.kubeconfig, 'utf8')) as { clusters: unknown[] };
  const file = path.join(work, `${sa}-${Date.now()}.kubeconfig`);
  fs.writeFileSync(
    file,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: admin.clusters,
      users: [{ name: sa, user: { token } }],
      contexts: [{ name: sa, context: { cluster: (admin.clusters[0] as { name: string }).name, user: sa } }],
      'current-context': sa,
    }),
    { mode: 0o600 },
  );
  return file;
}

/**
 * The operator as the installed Deployment runs it: its arguments and POD_NAMESPACE, under the
 * ServiceAccount's token. Only the listen address differs (a free loopback port).
 */
async function chartOperator(name: string, sa = fullname, extraArgs: string[] = []): Promise<OperatorProcess> {
  const dep = await kubectlJson<{ spec: { template: { spec: { containers: ContainerJson[] } } } }>(['-n', releaseNs, 'get', 'deployment', fullname]);
  const c = dep.spec.template.spec.containers[0];
  if (!c || c.args[0] !== 'run') throw new Error(`deployment ${fullname}: no operator container running "run"`);
  expect(c.env?.find((e) => e.name === 'POD_NAMESPACE')?.valueFrom?.fieldRef?.fieldPath).toBe('metadata.namespace');
  const args = [...c.args.slice(1).filter((a) => !a.startsWith('--http-host=') && !a.startsWith('--http-port=')), ...extraArgs];
  const op = new OperatorProcess(`${name}-${suffix}`, () => args, { kubeconfig: await serviceAccountKubeconfig(sa), env: { POD_NAMESPACE: releaseNs }, labDefaults: false });
  running.push(op);
  return op;
}

async function stopAll(): Promise<void> {
  for (const op of running.splice(0)) await op.stop();
}
// A failed test must not leave its operators running into the next one.
afterEach(stopAll);

/** Requests that were refused (403) — counted by the operators themselves and in the audit log. */
async function forbidden(ops: OperatorProcess[], user: string, since: Date): Promise<string[]> {
  const found: string[] = [];
  for (const op of ops) {
    const text = await (await fetch(`http://127.0.0.1:${op.port}/metrics`)).text();
    for (const line of text.split('\n')) if (line.startsWith('onnxop_operator_kube_requests_total{') && line.includes('code="403"')) found.push(`metrics: ${line}`);
  }
  for (const e of auditSince(since)) {
    if (e.user?.username !== user || e.responseStatus?.code !== 403) continue;
    const r = e.objectRef ?? {};
    found.push(`audit: ${e.verb} ${r.resource}${r.subresource ? `/${r.subresource}` : ''} ${r.namespace ?? ''}/${r.name ?? ''}`);
  }
  return found;
}

function onnxModel(name: string, spec: Record<string, unknown>, label = instance): string {
  return stringify({ apiVersion: 'serving.onnxop.io/v1alpha1', kind: 'OnnxModel', metadata: { name, labels: { [LABEL_CONTROLLER_INSTANCE]: label } }, spec });
}

async function waitModel(ns: string, name: string, what: string, ok: (m: ModelJson) => boolean, timeoutMs = 180_000): Promise<ModelJson> {
  return waitUntil(`${ns}/${name}: ${what}`, async () => {
    const m = await kubectlJson<ModelJson>(['-n', ns, 'get', 'onnxmodel', name]);
    return ok(m) ? m : undefined;
  }, timeoutMs, 1000);
}
const isReady = (m: ModelJson) => cond(m, 'Ready')?.status === 'True';

describe('the Helm chart in the lab', () => {
  test('helm install: every object accepted, the pods admitted under the restricted Pod Security Standard, the CRD left as it was', async () => {
    // The lab's CRD is shared with the other suites and managed by `kubectl apply --server-side`
    // (as a CRD managed by GitOps would be), so the release skips crds/; the chart's copy is the
    // same file (chart.test.ts), and the documented CRD upgrade step is accepted by the API server.
    const crdBefore = await kubectlJson<{ metadata: { resourceVersion: string } }>(['get', 'crd', 'onnxmodels.serving.onnxop.io']);
    await kubectl(['apply', '--server-side', '--force-conflicts', '--dry-run=server', '-f', path.join(chartDir, 'crds')]);
    helmLab(['install', release, chartDir, '--namespace', releaseNs, '--skip-crds', '-f', valuesFile(values)]);
    installed = true;
    expect(helmLab(['status', release, '--namespace', releaseNs])).toMatch(/STATUS: deployed/);
    const kinds = (await kubectl(['-n', releaseNs, 'get', 'deployment,service,serviceaccount,poddisruptionbudget,role,rolebinding', '-l', `app.kubernetes.io/instance=${release}`, '-o', 'name'])).trim().split('\n').sort();
    expect(kinds).toEqual([
      `deployment.apps/${fullname}`,
      `poddisruptionbudget.policy/${fullname}`,
      `role.rbac.authorization.k8s.io/${fullname}-leader-election`,
      `rolebinding.rbac.authorization.k8s.io/${fullname}-leader-election`,
      `service/${fullname}-metrics`,
      `serviceaccount/${fullname}`,
    ]);
    // The ReplicaSet's pods exist only if admission let them in (the lab has no image for them, so
    // they wait for a pull that cannot succeed; the operator runs as a process below).
    await waitUntil('the 2 operator pods to be admitted', async () => {
      const pods = (await kubectl(['-n', releaseNs, 'get', 'pods', '-l', `app.kubernetes.io/instance=${release}`, '-o', 'name'])).trim().split('\n').filter(Boolean);
      return pods.length === 2 ? pods : undefined;
    }, 60_000);
    // ... and admission does enforce the standard there.
    await expect(kubectl(['-n', releaseNs, 'run', 'privileged', '--image=lab.onnxop.io/echo:v1', '--privileged', '--dry-run=server'])).rejects.toThrow(/violates PodSecurity "restricted:latest"/);
    const crdAfter = await kubectlJson<{ metadata: { resourceVersion: string } }>(['get', 'crd', 'onnxmodels.serving.onnxop.io']);
    expect(crdAfter.metadata.resourceVersion).toBe(crdBefore.metadata.resourceVersion);
  });

  test("two operators under the chart's ServiceAccount: one leads, both ready; deploy, autoscale, new digest, signature refused, delete — no 403", async () => {
    const since = new Date();
    const a = await chartOperator('chart-op-a');
    const b = await chartOperator('chart-op-b');
    await Promise.all([a.start(), b.start()]); // start() waits for /readyz: the standby is ready too
    const leaders = (await a.metric('onnxop_operator_leader')) + (await b.metric('onnxop_operator_leader'));
    expect(leaders).toBe(1);
    const lease = await kubectlJson<{ spec: { holderIdentity: string } }>(['-n', releaseNs, 'get', 'lease', fullname]);
    expect(lease.spec.holderIdentity).toMatch(/_\d+$/);

    const lr = models.logreg;
    // Deploy.
    await kubectl(['-n', modelsNs, 'apply', '-f', '-'], onnxModel('iris', { model: { uri: `file://${lr.path}`, digest: lr.digest, name: `iris-${suffix}` }, runtime: { replicas: 1 } }));
    const iris = await waitModel(modelsNs, 'iris', 'Ready', isReady);
    for (const kind of ['deployments', 'services', 'httproutes', 'controllerrevisions']) {
      const items = (await kubectlJson<{ items: { metadata: { ownerReferences?: { uid: string }[] } }[] }>(['-n', modelsNs, 'get', kind, '-l', 'serving.onnxop.io/model=iris'])).items;
      expect({ kind, owned: items.length > 0 && items.every((o) => o.metadata.ownerReferences?.[0]?.uid === iris.metadata.uid) }).toEqual({ kind, owned: true });
    }
    const events = await kubectlJson<{ items: { reportingController?: string; regarding?: { name?: string } }[] }>(['-n', modelsNs, 'get', 'events.events.k8s.io']);
    expect(events.items.some((e) => e.reportingController === 'serving.onnxop.io/onnx-operator' && e.regarding?.name === 'iris')).toBe(true);

    // Autoscaled: a HorizontalPodAutoscaler per revision.
    await kubectl(['-n', modelsNs, 'apply', '-f', '-'], onnxModel('scaled', { model: { uri: `file://${lr.path}`, digest: lr.digest, name: `scaled-${suffix}` }, runtime: { autoscaling: { minReplicas: 1, maxReplicas: 2, targetInflight: 8 } } }));
    await waitUntil('the HorizontalPodAutoscaler of scaled', async () =>
      (await kubectl(['-n', modelsNs, 'get', 'hpa', '-l', 'serving.onnxop.io/model=scaled', '-o', 'name'])).trim() || undefined, 120_000);

    // Signatures: trust material read from a Secret; an untrusted signer is refused.
    const trusted = ecKey();
    const rogue = ecKey();
    await kubectl(['-n', modelsNs, 'create', 'secret', 'generic', 'signing-key', `--from-literal=key.pub=${trusted.pem}`]);
    const signedCopy = (dir: string, key: typeof trusted): string => {
      fs.mkdirSync(path.join(work, dir), { recursive: true, mode: 0o755 });
      const file = path.join(work, dir, 'logreg.onnx');
      fs.copyFileSync(lr.path, file);
      fs.writeFileSync(`${file}.sigstore.json`, messageBundle(fs.readFileSync(file), key.privateKey, { publicKey: key.publicKey }));
      return file;
    };
    fs.chmodSync(work, 0o755);
    const signature = { authorities: [{ name: 'release-key', key: { secretRef: { name: 'signing-key' } } }] };
    await kubectl(['-n', modelsNs, 'apply', '-f', '-'], onnxModel('signed', { model: { uri: `file://${signedCopy('good', trusted)}`, digest: lr.digest, name: `signed-${suffix}` }, runtime: { replicas: 1 }, signature }));
    await kubectl(['-n', modelsNs, 'apply', '-f', '-'], onnxModel('rogue', { model: { uri: `file://${signedCopy('bad', rogue)}`, digest: lr.digest, name: `rogue-${suffix}` }, runtime: { replicas: 1 }, signature }));
    await waitModel(modelsNs, 'signed', 'ArtifactVerified=True', (m) => cond(m, 'ArtifactVerified')?.status === 'True');
    const refused = await waitModel(modelsNs, 'rogue', 'ArtifactVerified=False', (m) => cond(m, 'ArtifactVerified')?.status === 'False');
    expect(cond(refused, 'ArtifactVerified')?.reason).toBe('UntrustedKey');
    expect(await kubectl(['-n', modelsNs, 'get', 'deployments', '-l', 'serving.onnxop.io/model=rogue', '-o', 'name'])).toBe('');

    // A new digest: its own revision becomes stable, the old one's children are deleted.
    const cls = models.classifier;
    const oldRevision = iris.status?.stable?.revision;
    await kubectl(['-n', modelsNs, 'patch', 'onnxmodel', 'iris', '--type=merge', '-p', JSON.stringify({ spec: { model: { uri: `file://${cls.path}`, digest: cls.digest } } })]);
    await waitModel(modelsNs, 'iris', 'the new digest stable and Ready', (m) => m.status?.stable?.digest === cls.digest && isReady(m));
    await waitUntil('the old revision to be cleaned up', async () =>
      (await kubectl(['-n', modelsNs, 'get', 'deployments,services,controllerrevisions', '-l', `serving.onnxop.io/revision=${oldRevision}`, '-o', 'name'])).trim() === '' ? true : undefined, 180_000);

    // Delete: the garbage collector takes the children.
    await kubectl(['-n', modelsNs, 'delete', 'onnxmodel', 'iris', 'scaled', 'signed', 'rogue', '--wait=true', '--timeout=60s']);
    await waitUntil('every child to be gone', async () =>
      (await kubectl(['-n', modelsNs, 'get', 'deployments,services,httproutes,horizontalpodautoscalers', '-l', 'serving.onnxop.io/model', '-o', 'name'])).trim() === '' ? true : undefined, 180_000);

    // Everything above was done by the chart's ServiceAccount, and nothing it sent was refused.
    const audited = auditSince(since).filter((e) => e.user?.username === saUser(fullname));
    expect(audited.some((e) => e.verb === 'patch' && e.objectRef?.resource === 'onnxmodels' && e.objectRef.subresource === 'status')).toBe(true);
    expect(await forbidden([a, b], saUser(fullname), since)).toEqual([]);
    await stopAll();
  }, 900_000);

  test('a role missing a verb is caught: 403s in the operator metrics and in the audit log', async () => {
    // A copy of the chart's ClusterRole without `create` on events and without `watch` on Deployments.
    const role = await kubectlJson<{ rules: { apiGroups: string[]; resources: string[]; verbs: string[] }[] }>(['get', 'clusterrole', fullname]);
    const rules = role.rules
      .filter((r) => !(r.apiGroups.includes('events.k8s.io') && r.resources.includes('events')))
      .map((r) => (r.resources.includes('deployments') ? { ...r, verbs: r.verbs.filter((v) => v !== 'watch') } : r));
    const broken = `${fullname}-broken`;
    await kubectl(['-n', releaseNs, 'create', 'serviceaccount', broken]);
    await kubectl(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: broken }, rules }));
    await kubectl(['create', 'clusterrolebinding', broken, `--clusterrole=${broken}`, `--serviceaccount=${releaseNs}:${broken}`]);
    const since = new Date();
    const op = await chartOperator('chart-op-broken', broken, ['--leader-elect=false', `--instance-id=${instance}-broken`]);
    await op.start();
    const lr = models.logreg;
    await kubectl(['-n', modelsNs, 'apply', '-f', '-'], onnxModel('probe', { model: { uri: `file://${lr.path}`, digest: lr.digest, name: `probe-${suffix}` }, runtime: { replicas: 1 } }, `${instance}-broken`));
    // The missing watch is seen at once (reads are in the operator's metrics; the lab's audit
    // policy logs service accounts' reads too), the missing create when the first Event is sent.
    const expected = [/^metrics: onnxop_operator_kube_requests_total\{method="WATCH",code="403"\} \d+$/, /^metrics: onnxop_operator_kube_requests_total\{method="POST",code="403"\} \d+$/, /^audit: create events /];
    const seen = await waitUntil('403s for the missing verbs', async () => {
      const f = await forbidden([op], saUser(broken), since);
      return expected.every((re) => f.some((l) => re.test(l))) ? f : undefined;
    }, 120_000);
    // Only what was taken away is refused: watch on the resources of the rule that granted it on
    // Deployments (ControllerRevisions share that rule), and creating Events.
    const unwatched = role.rules.filter((r) => r.resources.includes('deployments')).flatMap((r) => r.resources);
    const allowed = new RegExp(`^audit: (create events|watch (${unwatched.join('|')})) `);
    expect(seen.filter((l) => !/method="(WATCH|POST)"/.test(l) && !allowed.test(l))).toEqual([]);
    await stopAll();
    await kubectl(['-n', modelsNs, 'delete', 'onnxmodel', 'probe', '--wait=false']);
  });

  test('helm upgrade to namespaced mode: Roles in the listed namespaces only, and the operator watches only those — no 403', async () => {
    helmLab(['upgrade', release, chartDir, '--namespace', releaseNs, '--reuse-values', '-f', valuesFile({ watchNamespaces: [modelsNs, secondNs] })]);
    await expect(kubectl(['get', 'clusterrole', fullname])).rejects.toThrow(/NotFound/);
    for (const ns of [modelsNs, secondNs]) expect((await kubectl(['-n', ns, 'get', 'role,rolebinding', fullname, '-o', 'name'])).trim().split('\n')).toHaveLength(2);
    // kubectl auth can-i answers on stdout and exits 1 for "no".
    const can = (args: string[]) => spawnSync(kubectlBin, ['auth', 'can-i', ...args, `--as=${saUser(fullname)}`], { encoding: 'utf8' }).stdout.trim();
    expect(can(['list', 'deployments', '-n', secondNs])).toBe('yes');
    expect(can(['list', 'deployments', '-n', unwatchedNs])).toBe('no');
    expect(can(['list', 'deployments', '--all-namespaces'])).toBe('no');
    expect(can(['list', 'namespaces'])).toBe('no');

    const since = new Date();
    const op = await chartOperator('chart-op-namespaced');
    await op.start();
    const lr = models.logreg;
    await kubectl(['label', 'namespace', secondNs, 'serving.onnxop.io/require-signature=true']);
    const spec = (name: string) => ({ model: { uri: `file://${lr.path}`, digest: lr.digest, name: `${name}-${suffix}` }, runtime: { replicas: 1 } });
    await kubectl(['-n', modelsNs, 'apply', '-f', '-'], onnxModel('a1', spec('a1')));
    await kubectl(['-n', secondNs, 'apply', '-f', '-'], onnxModel('b1', spec('b1')));
    await kubectl(['-n', unwatchedNs, 'apply', '-f', '-'], onnxModel('c1', spec('c1')));
    await waitModel(modelsNs, 'a1', 'Ready', isReady);
    // The Namespace objects are watched one by one: the label on a watched one is seen.
    const b1 = await waitModel(secondNs, 'b1', 'refused: the namespace requires signatures', (m) => cond(m, 'ArtifactVerified')?.status === 'False');
    expect(cond(b1, 'ArtifactVerified')?.reason).toBe('SignatureRequired');
    // A model in a namespace the operator does not watch is never seen.
    const mark = logMark(op.logFile);
    await kubectl(['-n', unwatchedNs, 'annotate', 'onnxmodel', 'c1', `example.com/touched=${Date.now()}`]);
    await kubectl(['-n', modelsNs, 'annotate', 'onnxmodel', 'a1', `example.com/touched=${Date.now()}`]);
    await waitUntil('the operator to reconcile a1 after both touches', async () => (reconcilesLogged(op.logFile, modelsNs, 'a1', mark) >= 1 ? true : undefined), 60_000);
    expect((await kubectlJson<ModelJson>(['-n', unwatchedNs, 'get', 'onnxmodel', 'c1'])).status ?? {}).toEqual({});
    expect(fs.readFileSync(op.logFile, 'utf8')).not.toContain(unwatchedNs);
    expect(await forbidden([op], saUser(fullname), since)).toEqual([]);
    await stopAll();
  }, 600_000);

  test('helm uninstall removes every object of the release, cluster-scoped ones included, and keeps the CRD', async () => {
    helmLab(['uninstall', release, '--namespace', releaseNs, '--wait']);
    installed = false;
    expect((await kubectl(['get', 'clusterroles,clusterrolebindings', '-l', `app.kubernetes.io/instance=${release}`, '-o', 'name'])).trim()).toBe('');
    for (const ns of [releaseNs, modelsNs, secondNs]) {
      expect((await kubectl(['-n', ns, 'get', 'deployments,services,serviceaccounts,roles,rolebindings,poddisruptionbudgets', '-l', `app.kubernetes.io/instance=${release}`, '-o', 'name'])).trim()).toBe('');
    }
    expect(await kubectl(['get', 'crd', 'onnxmodels.serving.onnxop.io', '-o', 'name'])).toContain('onnxmodels.serving.onnxop.io');
  });
});
