import { ANNOTATION_ACTION, LABEL_MODEL, LABEL_REVISION } from '../api/constants.ts';
import type { Condition, OnnxModel } from '../api/types.ts';
import type { MeasurementAnswer, MeasurementRequest } from '../analysis/types.ts';
import { computeRevision } from './revision.ts';
import { dueMeasurements } from './rollout/analysis-step.ts';
import { DIGEST_A, DIGEST_B, T0, UID, at, changeDigest, config, makeModel, none, run, settle, stableOn, withStatus } from './test-fixtures.ts';
import type { KubeObject, ObservedChildren, ReconcileOutput } from './types.ts';

const cond = (out: ReconcileOutput, type: Condition['type']) => out.status.conditions?.find((c) => c.type === type);
const condSummary = (out: ReconcileOutput) => Object.fromEntries((out.status.conditions ?? []).map((c) => [c.type, `${c.status}/${c.reason}`]));
const kinds = (out: ReconcileOutput) => out.apply.map((o) => `${o.kind}/${o.metadata.name}`);


describe('reconcile: a new model', () => {
  const model = makeModel();
  const rev = computeRevision(model, config);
  const out = run(model, none, T0);

  it('deploys the first revision as stable and is Deploying', () => {
    expect(out.status.phase).toBe('Deploying');
    expect(out.status.stable).toEqual({ revision: rev, digest: DIGEST_A, since: T0.toISOString() });
    expect(out.status.canary).toBeUndefined();
    expect(out.status.observedGeneration).toBe(1);
    expect(condSummary(out)).toEqual({
      ArtifactVerified: 'True/NotRequired',
      Available: 'False/StableUnavailable',
      Progressing: 'True/RevisionDeploying',
      Degraded: 'False/AsExpected',
      Ready: 'False/Deploying',
    });
  });

  it('applies Deployment, Service per revision, stable Service and HTTPRoute, all owned and labelled', () => {
    expect(kinds(out)).toEqual([`ControllerRevision/iris-${rev}`, `Deployment/iris-${rev}`, `Service/iris-${rev}`, 'Service/iris', 'HTTPRoute/iris']);
    for (const o of out.apply) {
      expect(o.metadata.namespace).toBe('ml');
      expect(o.metadata.labels?.[LABEL_MODEL]).toBe('iris');
      expect(o.metadata.ownerReferences).toEqual([{ apiVersion: 'serving.onnxop.io/v1alpha1', kind: 'OnnxModel', name: 'iris', uid: UID, controller: true, blockOwnerDeletion: true }]);
    }
    expect(out.apply[1]?.metadata.labels?.[LABEL_REVISION]).toBe(rev);
    const route = out.apply[4]?.spec as { parentRefs: unknown; rules: { matches: unknown; backendRefs: unknown }[] };
    expect(route.parentRefs).toEqual(config.defaultGatewayParentRefs);
    expect(route.rules[0]?.backendRefs).toEqual([{ group: '', kind: 'Service', name: `iris-${rev}`, port: 80, weight: 100 }]);
    expect(route.rules[0]?.matches).toEqual([{ path: { type: 'PathPrefix', value: '/v2/models/iris' } }]);
  });

  it('emits RevisionCreated once, and requeues at the progress deadline', () => {
    expect(out.events.map((e) => e.reason)).toEqual(['RevisionCreated']);
    expect(out.requeueAfterMs).toBe(600_000);
    expect(out.delete).toEqual([]);
  });

  it('becomes Stable and Ready when the Deployment is available, with one Available event', () => {
    const next = run(withStatus(model, out), settle(out, () => true), at(20));
    expect(next.status.phase).toBe('Stable');
    expect(condSummary(next)).toEqual({
      ArtifactVerified: 'True/NotRequired',
      Available: 'True/StableAvailable',
      Progressing: 'False/RolloutComplete',
      Degraded: 'False/AsExpected',
      Ready: 'True/Serving',
    });
    expect(next.events.map((e) => e.reason)).toEqual(['Available']);
    expect(next.requeueAfterMs).toBeUndefined();
    expect(next.status.url).toBe('http://iris.ml.svc.cluster.local');
    // Conditions that did not flip keep their transition time; flipped ones take the new time.
    expect(cond(next, 'Degraded')?.lastTransitionTime).toBe(T0.toISOString());
    expect(cond(next, 'Ready')?.lastTransitionTime).toBe(at(20).toISOString());
  });
});

describe('reconcile: converged input', () => {
  it('returns the very same status, the same apply set, no events and no requeue', () => {
    const { model, children, out } = stableOn();
    const again = run(model, children, at(3600));
    expect(again.status).toBe(model.status);
    expect(again.status).toEqual(out.status);
    expect(again.apply).toEqual(out.apply);
    expect(again.events).toEqual([]);
    expect(again.delete).toEqual([]);
    expect(again.requeueAfterMs).toBeUndefined();
  });

  it('is insensitive to the JSON round trip of the status (as read back from the API server)', () => {
    const { model, children } = stableOn();
    const roundTripped = { ...model, status: JSON.parse(JSON.stringify(model.status)) as OnnxModel['status'] };
    expect(run(roundTripped, children, at(7200)).status).toBe(roundTripped.status);
  });
});

describe('reconcile: a new digest', () => {
  const { model: stableModel, children } = stableOn();
  const oldRev = stableModel.status.stable?.revision ?? '';
  const model = changeDigest(stableModel, DIGEST_B);
  const newRev = computeRevision(model, config);
  const out = run(model, children, at(100));

  it('creates the new revision as a canary at weight 0 while stable keeps serving', () => {
    expect(newRev).not.toBe(oldRev);
    expect(out.status.phase).toBe('Progressing');
    expect(out.status.stable?.revision).toBe(oldRev);
    expect(out.status.canary).toEqual({ revision: newRev, digest: DIGEST_B, since: at(100).toISOString() });
    expect(out.status.currentWeight).toBe(0);
    expect(kinds(out)).toContain(`Deployment/iris-${newRev}`);
    expect(kinds(out)).toContain(`Deployment/iris-${oldRev}`);
    const stableSvc = out.apply.find((o) => o.kind === 'Service' && o.metadata.name === 'iris');
    expect((stableSvc?.spec as { selector: Record<string, string> }).selector[LABEL_REVISION]).toBe(oldRev);
    const route = out.apply.find((o) => o.kind === 'HTTPRoute')?.spec as { rules: { backendRefs: { name: string; weight: number }[] }[] };
    expect(route.rules[0]?.backendRefs.map((b) => [b.name, b.weight])).toEqual([
      [`iris-${oldRev}`, 100],
      [`iris-${newRev}`, 0],
    ]);
    expect(condSummary(out)).toMatchObject({ Available: 'True/StableAvailable', Progressing: 'True/CanaryScaling', Ready: 'False/Progressing' });
    expect(cond(out, 'Progressing')?.observedGeneration).toBe(2);
  });

  it('promotes the canary once available, keeps the old revision for scaleDownDelay, then deletes it', () => {
    const promoted = run(withStatus(model, out), settle(out, () => true), at(130));
    expect(promoted.status.phase).toBe('Stable');
    expect(promoted.status.stable).toEqual({ revision: newRev, digest: DIGEST_B, since: at(130).toISOString() });
    expect(promoted.status.canary).toBeUndefined();
    expect(promoted.status.scalingDown).toEqual([{ revision: oldRev, digest: DIGEST_A, deleteAfter: at(160).toISOString() }]);
    expect(promoted.rolloutOutcome).toBe('promoted');
    expect(promoted.events.map((e) => e.reason)).toContain('Promoted');
    expect(promoted.delete).toEqual([]);
    expect(promoted.requeueAfterMs).toBe(30_000);
    expect(condSummary(promoted)).toMatchObject({ Ready: 'True/Serving', Progressing: 'False/RolloutComplete' });

    const observed = { ...children, deployments: [...children.deployments, ...settle(out, () => true).deployments.filter((d) => d.metadata.name.endsWith(newRev))] };
    const later = run(withStatus(model, promoted), observed, at(161));
    expect(later.status.scalingDown).toBeUndefined();
    expect(later.delete.map((r) => `${r.kind}/${r.name}`).sort()).toEqual([`ControllerRevision/iris-${oldRev}`, `Deployment/iris-${oldRev}`, `Service/iris-${oldRev}`]);
    expect(later.delete.every((r) => r.uid && r.namespace === 'ml')).toBe(true);
    expect(later.events.map((e) => e.reason)).toEqual(['ScaledDown']);
  });

  it('rolls back a canary that misses the progress deadline and does not retry it', () => {
    const stuck = settle(out, (d) => !d.metadata.name.endsWith(newRev));
    const waiting = run(withStatus(model, out), stuck, at(200));
    expect(waiting.status.phase).toBe('Progressing');
    expect(waiting.requeueAfterMs).toBe(500_000);

    const rolled = run(withStatus(model, waiting), stuck, at(700));
    expect(rolled.status.phase).toBe('RolledBack');
    expect(rolled.status.canary).toBeUndefined();
    expect(rolled.status.stable?.revision).toBe(oldRev);
    expect(rolled.status.failedRevisions).toEqual([{ revision: newRev, digest: DIGEST_B, reason: 'ProgressDeadlineExceeded', time: at(700).toISOString() }]);
    expect(rolled.status.lastRollback).toMatchObject({ revision: newRev, digest: DIGEST_B, reason: 'ProgressDeadlineExceeded' });
    expect(rolled.rolloutOutcome).toBe('rolled-back');
    expect(condSummary(rolled)).toMatchObject({ Available: 'True/StableAvailable', Degraded: 'True/RolledBack', Progressing: 'False/RolledBack', Ready: 'False/RolledBack' });
    expect(rolled.events.find((e) => e.reason === 'RolledBack')?.type).toBe('Warning');

    // Remembered: the next reconcile does not recreate the failed revision.
    const after = run(withStatus(model, rolled), stuck, at(800));
    expect(after.status.canary).toBeUndefined();
    expect(after.events.map((e) => e.reason)).not.toContain('RevisionCreated');

    // A retry action clears it once; the same annotation value is not handled twice.
    const annotated = { ...withStatus(model, after), metadata: { ...model.metadata, annotations: { [ANNOTATION_ACTION]: 'retry/1' } } };
    const retried = run(annotated, stuck, at(900));
    expect(retried.status.lastAction).toMatchObject({ value: 'retry/1', action: 'retry', nonce: '1', outcome: 'Applied' });
    expect(retried.status.canary?.revision).toBe(newRev);
    expect(retried.events.map((e) => e.reason)).toEqual(expect.arrayContaining(['ActionApplied', 'RevisionCreated']));
    const again = run({ ...annotated, status: retried.status }, stuck, at(901));
    expect(again.status.lastAction).toBe(retried.status.lastAction);
    expect(again.events.map((e) => e.reason)).not.toContain('ActionApplied');
  });

  it('rolls back at once when the Deployment reports ProgressDeadlineExceeded', () => {
    const rolled = run(withStatus(model, out), settle(out, (d) => (d.metadata.name.endsWith(newRev) ? 'deadline' : true)), at(150));
    expect(rolled.status.phase).toBe('RolledBack');
    expect(rolled.status.lastRollback?.message).toMatch(/timed out progressing/);
  });

  it('aborts on the abort action', () => {
    const annotated = { ...withStatus(model, out), metadata: { ...model.metadata, annotations: { [ANNOTATION_ACTION]: 'abort' } } };
    const aborted = run(annotated, settle(out, (d) => !d.metadata.name.endsWith(newRev)), at(150));
    expect(aborted.status.phase).toBe('RolledBack');
    expect(aborted.rolloutOutcome).toBe('aborted');
    expect(condSummary(aborted)).toMatchObject({ Degraded: 'True/Aborted', Progressing: 'False/Aborted' });
    expect(aborted.status.lastAction?.outcome).toBe('Applied');
  });

  it('records an unknown action as Invalid and acts on nothing', () => {
    const annotated = { ...withStatus(model, out), metadata: { ...model.metadata, annotations: { [ANNOTATION_ACTION]: 'yolo' } } };
    const r = run(annotated, settle(out, (d) => !d.metadata.name.endsWith(newRev)), at(150));
    expect(r.status.lastAction).toMatchObject({ outcome: 'Invalid', value: 'yolo' });
    expect(r.status.lastAction?.message).toMatch(/use promote, abort, retry, pause, resume/);
    expect(r.status.canary?.revision).toBe(newRev);
  });

  it('drops the canary when the spec goes back to the stable digest', () => {
    const back = changeDigest(withStatus(model, out), DIGEST_A);
    const r = run(back, settle(out, () => false), at(150));
    expect(r.status.canary).toBeUndefined();
    expect(r.events.map((e) => e.reason)).toContain('CanarySuperseded');
    expect(r.delete.map((d) => d.name)).toEqual(expect.arrayContaining([`iris-${newRev}`]));
  });
});

describe('reconcile: failing pods', () => {
  it('is Degraded with ReplicaFailure when the Deployment cannot create pods, and says so once', () => {
    const model = makeModel();
    const first = run(model, none, T0);
    const failing = settle(first, () => 'failing');
    const out = run(withStatus(model, first), failing, at(30));
    expect(condSummary(out)).toMatchObject({ Degraded: 'True/ReplicaFailure', Ready: 'False/Deploying', Available: 'False/StableUnavailable' });
    expect(cond(out, 'Degraded')?.message).toMatch(/exceeded quota/);
    expect(out.events.map((e) => e.reason)).toEqual(['ReplicaFailure']);
    const again = run(withStatus(model, out), failing, at(40));
    expect(again.events).toEqual([]);
    expect(again.status).toBe(out.status);
  });

  it('fails the first revision after the progress deadline (nothing to roll back to)', () => {
    const model = makeModel();
    const first = run(model, none, T0);
    const out = run(withStatus(model, first), settle(first, () => false), at(601));
    expect(out.status.phase).toBe('Failed');
    expect(condSummary(out)).toMatchObject({ Degraded: 'True/ProgressDeadlineExceeded', Progressing: 'False/ProgressDeadlineExceeded' });
    expect(out.requeueAfterMs).toBeUndefined();
  });

  it('reports a stable revision that lost all pods as Unavailable and Degraded', () => {
    const { model, children } = stableOn();
    const down = { ...children, deployments: children.deployments.map((d) => ({ ...d, status: { ...(d.status as object), availableReplicas: 0, readyReplicas: 0 } })) };
    const out = run(model, down, at(5000));
    expect(out.status.phase).toBe('Stable');
    expect(condSummary(out)).toMatchObject({ Available: 'False/StableUnavailable', Degraded: 'True/StableUnavailable', Ready: 'False/Unavailable' });
    expect(out.events.map((e) => e.reason)).toEqual(['Unavailable']);
  });
});

describe('reconcile: signature gate', () => {
  const signature = { authorities: [{ key: { secretRef: { name: 'k' } } }] };

  it('waits in Verifying without creating pods when no verification result is available (Enforce)', () => {
    const out = run(makeModel({ signature }), none, T0);
    expect(out.status.phase).toBe('Verifying');
    expect(out.apply).toEqual([]);
    expect(condSummary(out)).toMatchObject({ ArtifactVerified: 'Unknown/VerificationPending', Progressing: 'True/Verifying' });
  });

  it('deploys once verified and records the signer', () => {
    const out = run(makeModel({ signature }), none, T0, { verification: { state: 'verified', digest: DIGEST_A, signer: 'k', mode: 'Enforce', time: T0.toISOString() } });
    expect(out.status.phase).toBe('Deploying');
    expect(out.status.verification).toMatchObject({ digest: DIGEST_A, verified: true, signer: 'k' });
    expect(condSummary(out)).toMatchObject({ ArtifactVerified: 'True/Verified' });
  });

  it('keeps the stable revision serving and starts no canary when a new digest fails verification', () => {
    const { model, children } = stableOn({ signature: { ...signature, mode: 'Audit' } });
    const enforce = { ...model, spec: { ...model.spec, signature: { ...model.spec.signature!, mode: 'Enforce' as const } } };
    const m2 = changeDigest(enforce, DIGEST_B);
    const out = run(m2, children, at(100), { verification: { state: 'failed', digest: DIGEST_B, reason: 'UntrustedSigner', message: 'signed by someone@else', mode: 'Enforce', time: at(100).toISOString() } });
    expect(out.status.phase).toBe('Failed');
    expect(out.status.canary).toBeUndefined();
    expect(condSummary(out)).toMatchObject({ ArtifactVerified: 'False/UntrustedSigner', Available: 'True/StableAvailable', Degraded: 'True/VerificationFailed' });
    expect(out.events.map((e) => e.reason)).toContain('VerificationFailed');
  });

  it('deploys anyway in Audit mode and reports the failure', () => {
    const out = run(makeModel({ signature: { ...signature, mode: 'Audit' } }), none, T0, {
      verification: { state: 'failed', digest: DIGEST_A, reason: 'SignatureInvalid', message: 'bad', mode: 'Audit', time: T0.toISOString() },
    });
    expect(out.status.phase).toBe('Deploying');
    expect(condSummary(out)).toMatchObject({ ArtifactVerified: 'False/SignatureInvalid' });
  });

  it('says what a pending verification waits for', () => {
    const out = run(makeModel({ signature }), none, T0, { verification: { state: 'pending', digest: DIGEST_A, message: 'retrying in 2s: bundle fetch timed out' } });
    expect(out.apply).toEqual([]);
    expect(cond(out, 'ArtifactVerified')).toMatchObject({ status: 'Unknown', reason: 'VerificationPending', message: expect.stringContaining('bundle fetch timed out') });
  });

  it('refuses a model without spec.signature when the namespace requires one (SignatureRequired), and is steady', () => {
    const verification = { state: 'failed' as const, digest: DIGEST_A, reason: 'SignatureRequired' as const, message: 'namespace ml requires signed models', mode: 'Enforce' as const, time: T0.toISOString() };
    const model = makeModel();
    const out = run(model, none, T0, { verification });
    expect(out.apply).toEqual([]);
    expect(out.status.phase).toBe('Failed');
    expect(out.status.verification).toMatchObject({ digest: DIGEST_A, verified: false, reason: 'SignatureRequired', mode: 'Enforce' });
    expect(condSummary(out)).toMatchObject({ ArtifactVerified: 'False/SignatureRequired', Degraded: 'True/VerificationFailed', Progressing: 'False/VerificationFailed' });
    expect(out.events.map((e) => e.reason)).toEqual(['VerificationFailed']);
    const again = run(withStatus(model, out), none, at(5), { verification: { ...verification, time: at(5).toISOString() } });
    expect(again.status).toBe(out.status);
    expect(again.events).toEqual([]);
    // Without the requirement the same model deploys.
    const lifted = run(withStatus(model, out), none, at(10));
    expect(lifted.status.phase).toBe('Deploying');
    expect(lifted.status.verification).toBeUndefined();
    expect(condSummary(lifted)).toMatchObject({ ArtifactVerified: 'True/NotRequired' });
  });

  it('ignores other verdicts for a model without spec.signature', () => {
    const out = run(makeModel(), none, T0, { verification: { state: 'failed', digest: DIGEST_A, reason: 'SignatureInvalid', message: 'x', mode: 'Enforce', time: T0.toISOString() } });
    expect(out.status.phase).toBe('Deploying');
  });
});

describe('reconcile: children details', () => {
  it('places GPU models on GPU nodes with the GPU limit, and lets the user override', () => {
    const out = run(makeModel({ runtime: { accelerator: 'gpu', gpu: { count: 2 }, resources: { limits: { cpu: '2' } } } }), none, T0);
    const pod = (out.apply.find((o) => o.kind === 'Deployment')?.spec as { template: { spec: Record<string, unknown> } }).template.spec;
    expect(pod['nodeSelector']).toEqual({ 'nvidia.com/gpu.present': 'true' });
    expect(pod['tolerations']).toEqual([{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }]);
    const container = (pod['containers'] as Record<string, unknown>[])[0] ?? {};
    expect(container['resources']).toEqual({ limits: { cpu: '2', 'nvidia.com/gpu': '2' } });
    expect(container['env']).toEqual(expect.arrayContaining([{ name: 'ONNXOP_EXECUTION_PROVIDER', value: 'cuda' }, { name: 'ONNXOP_CPU_FALLBACK', value: 'false' }]));

    const custom = run(makeModel({ runtime: { accelerator: 'gpu', gpu: { resourceName: 'amd.com/gpu', nodeSelector: { pool: 'mi300' }, tolerations: [] }, nodeSelector: { zone: 'a' } } }), none, T0);
    const pod2 = (custom.apply.find((o) => o.kind === 'Deployment')?.spec as { template: { spec: Record<string, unknown> } }).template.spec;
    expect(pod2['nodeSelector']).toEqual({ pool: 'mi300', zone: 'a' });
    expect(pod2['tolerations']).toEqual([]);
  });

  it('runs CPU models hardened, probed and scraped, configured through the runtime environment', () => {
    const model = makeModel({ runtime: { batching: {}, env: [{ name: 'LOG', value: 'x' }] } });
    const rev = computeRevision(model, config);
    const dep = run(model, none, T0).apply.find((o) => o.kind === 'Deployment') as KubeObject;
    const tpl = (dep.spec as { template: { metadata: { annotations: Record<string, string> }; spec: Record<string, unknown> } }).template;
    expect(tpl.metadata.annotations).toEqual({ 'prometheus.io/scrape': 'true', 'prometheus.io/port': '8080', 'prometheus.io/path': '/metrics' });
    expect(tpl.spec['nodeSelector']).toBeUndefined();
    const c = (tpl.spec['containers'] as Record<string, unknown>[])[0] ?? {};
    expect(c['securityContext']).toEqual({ runAsNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' } });
    expect(c['ports']).toEqual([
      { name: 'http', containerPort: 8080, protocol: 'TCP' },
      { name: 'grpc', containerPort: 8081, protocol: 'TCP' },
      { name: 'shadow', containerPort: 8082, protocol: 'TCP' },
    ]);
    expect((c['readinessProbe'] as { httpGet: { path: string } }).httpGet.path).toBe('/v2/health/ready');
    expect((c['livenessProbe'] as { httpGet: { path: string } }).httpGet.path).toBe('/v2/health/live');
    expect(c['startupProbe']).toBeDefined();
    expect(c['volumeMounts']).toEqual([{ name: 'tmp', mountPath: '/tmp' }]);
    const env = Object.fromEntries((c['env'] as { name: string; value: string }[]).map((e) => [e.name, e.value]));
    expect(env).toMatchObject({
      ONNXOP_MODEL_NAME: 'iris',
      ONNXOP_REVISION: rev,
      ONNXOP_MODEL_URI: 'https://models.example.com/iris.onnx',
      ONNXOP_MODEL_DIGEST: DIGEST_A,
      PORT: '8080',
      ONNXOP_EXECUTION_PROVIDER: 'cpu',
      ONNXOP_MAX_BATCH_SIZE: '8',
      ONNXOP_MAX_QUEUE_DELAY_MS: '2',
      LOG: 'x',
      // Shadow steps: the listener for mirrored requests, and where the canary asks stable.
      ONNXOP_SHADOW_PORT: '8082',
      ONNXOP_SHADOW_COMPARE_URL: `http://iris.${model.metadata.namespace}.svc:8082`,
    });
    expect(env['ONNXOP_CPU_FALLBACK']).toBeUndefined();
  });

  it('mounts pvc:// models read-only and hands the runtime a file:// URI', () => {
    const dep = run(makeModel({ model: { uri: 'pvc://models/iris/v1/model.onnx', digest: DIGEST_A } }), none, T0).apply.find((o) => o.kind === 'Deployment') as KubeObject;
    const pod = (dep.spec as { template: { spec: { volumes: unknown[]; containers: { env: { name: string; value: string }[] }[] } } }).template.spec;
    expect(pod.volumes).toContainEqual({ name: 'model', persistentVolumeClaim: { claimName: 'models', readOnly: true } });
    expect(pod.containers[0]?.env.find((e) => e.name === 'ONNXOP_MODEL_URI')?.value).toBe('file:///mnt/models/iris/v1/model.onnx');
  });

  it('adds an HPA and leaves replicas to it with autoscaling', () => {
    const out = run(makeModel({ runtime: { autoscaling: { minReplicas: 2, maxReplicas: 5, targetCPUUtilization: 70 } } }), none, T0);
    expect(kinds(out).some((k) => k.startsWith('HorizontalPodAutoscaler/'))).toBe(true);
    expect((out.apply.find((o) => o.kind === 'Deployment')?.spec as Record<string, unknown>)['replicas']).toBeUndefined();
  });

  it('creates no HTTPRoute with provider none, and deletes one left from before', () => {
    const { model, children } = stableOn();
    const none2 = { ...model, spec: { ...model.spec, traffic: { provider: 'none' as const } } };
    const out = run(none2, children, at(50));
    expect(kinds(out).some((k) => k.startsWith('HTTPRoute'))).toBe(false);
    expect(out.delete.map((d) => `${d.kind}/${d.name}`)).toEqual(['HTTPRoute/iris']);
  });

  it('never deletes objects it does not own', () => {
    const { model, children } = stableOn();
    const foreign: KubeObject = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'iris-zzz', labels: { [LABEL_MODEL]: 'iris', [LABEL_REVISION]: 'zzz' }, ownerReferences: [] } };
    const out = run(model, { ...children, deployments: [...children.deployments, foreign] }, at(50));
    expect(out.delete).toEqual([]);
  });

  it('keeps every child name within 63 characters for the longest model name', () => {
    const long = 'm'.repeat(63);
    const out = run(makeModel({}, { name: long }), none, T0);
    for (const o of out.apply) expect(o.metadata.name.length).toBeLessThanOrEqual(63);
    expect(new Set(out.apply.map((o) => `${o.kind}/${o.metadata.name}`)).size).toBe(out.apply.length);
  });

  it('writes nothing while the model is being deleted', () => {
    const model = makeModel({}, { deletionTimestamp: T0.toISOString() });
    const out = run(model, none, T0);
    expect(out).toEqual({ apply: [], delete: [], status: model.status, events: [] });
  });
});

describe('reconcile: a revision keeps the pods it was created with', () => {
  const digestEnv = (out: ReconcileOutput, rev: string) => {
    const dep = out.apply.find((o) => o.kind === 'Deployment' && o.metadata.name === `iris-${rev}`);
    const env = (dep?.spec as { template: { spec: { containers: { env: { name: string; value?: string }[] }[] } } } | undefined)?.template.spec.containers[0]?.env ?? [];
    return env.find((e) => e.name === 'ONNXOP_MODEL_DIGEST')?.value;
  };

  it('renders the stable revision from its snapshot when the spec moves to a new digest, and after a rollback', () => {
    const { model: stableModel, children } = stableOn();
    const oldRev = stableModel.status.stable?.revision ?? '';
    const model = changeDigest(stableModel, DIGEST_B);
    const newRev = computeRevision(model, config);
    const out = run(model, children, at(100));
    expect(digestEnv(out, oldRev)).toBe(DIGEST_A);
    expect(digestEnv(out, newRev)).toBe(DIGEST_B);
    // The new revision's snapshot is created with it; the stable one is not rewritten.
    expect(kinds(out).filter((k) => k.startsWith('ControllerRevision/'))).toEqual([`ControllerRevision/iris-${newRev}`]);
    const seen = settle(out, (d) => !d.metadata.name.endsWith(newRev), children);
    const aborted = run({ ...withStatus(model, out), metadata: { ...model.metadata, annotations: { [ANNOTATION_ACTION]: 'abort/1' } } }, seen, at(110));
    expect(aborted.status.phase).toBe('RolledBack');
    expect(digestEnv(aborted, oldRev)).toBe(DIGEST_A);
    expect(aborted.apply.some((o) => o.kind === 'Deployment' && o.metadata.name === `iris-${newRev}`)).toBe(false);
  });

  it('leaves a revision without a valid snapshot as it is and says so', () => {
    const { model: stableModel, children } = stableOn();
    const oldRev = stableModel.status.stable?.revision ?? '';
    const model = changeDigest(stableModel, DIGEST_B);
    const out = run(model, { ...children, controllerRevisions: [] }, at(100));
    expect(out.apply.some((o) => o.kind === 'Deployment' && o.metadata.name === `iris-${oldRev}`)).toBe(false);
    expect(out.delete.some((d) => d.name === `iris-${oldRev}`)).toBe(false);
    expect(condSummary(out)).toMatchObject({ Degraded: 'True/SnapshotMissing' });
  });
});

describe('reconcile: traffic providers', () => {
  it('without the Gateway API CRDs: serves through the Service, Degraded names the CRDs and the fix, no route written', () => {
    const out = run(makeModel(), none, T0, { capabilities: { gatewayAPI: false } });
    expect(kinds(out).some((k) => k.startsWith('HTTPRoute'))).toBe(false);
    const degraded = cond(out, 'Degraded');
    expect(degraded).toMatchObject({ status: 'True', reason: 'TrafficProviderUnavailable' });
    expect(degraded?.message).toMatch(/httproutes\.gateway\.networking\.k8s\.io.*spec\.traffic\.provider: none/);
    expect(out.events.map((e) => e.reason)).toContain('TrafficProviderUnavailable');
    const again = run(withStatus(makeModel(), out), settle(out, () => true), at(5), { capabilities: { gatewayAPI: false } });
    const steady = run(withStatus(makeModel(), again), settle(again, () => true, settle(out, () => true)), at(6), { capabilities: { gatewayAPI: false } });
    expect(steady.events).toEqual([]);
    expect(steady.status).toBe(again.status);
  });

  it('provider none: the stable Service selects the whole model, replicas follow the step weight', () => {
    const { model: m0, children } = stableOn({ traffic: { provider: 'none' }, runtime: { replicas: 4 }, rollout: { steps: [{ weight: 25, pause: '1m' }, { weight: 50, pause: '1m' }] } });
    const model = changeDigest(m0, DIGEST_B);
    const newRev = computeRevision(model, config);
    const out = run(model, children, at(100));
    const replicas = (name: string) => ((out.apply.find((o) => o.kind === 'Deployment' && o.metadata.name === name)?.spec ?? {}) as { replicas?: number }).replicas;
    expect(replicas(`iris-${newRev}`)).toBe(1);
    expect(replicas(`iris-${m0.status.stable?.revision}`)).toBe(3);
    const svc = out.apply.find((o) => o.kind === 'Service' && o.metadata.name === 'iris');
    expect((svc?.spec as { selector: Record<string, string> }).selector).toEqual({ [LABEL_MODEL]: 'iris' });
  });
});

describe('reconcile: steps judged by the analysis', () => {
  const spec = {
    rollout: {
      steps: [
        { weight: 20, pause: '30s' },
        { weight: 60, pause: '30s' },
      ],
      analysis: { interval: '10s', slos: [{ name: 'availability', builtin: 'availability', objective: 99 }], burnRateWindows: [{ short: '30s', long: '1m', threshold: 2 }], minRequests: 50, maxInconclusive: 3 },
    },
  };
  type Answer = (r: MeasurementRequest) => MeasurementAnswer;
  const healthy: Answer = (r) => ({ id: r.id, ok: true, good: 1000, total: 1000 });
  const canaryBad: Answer = (r) => ({ id: r.id, ok: true, good: r.role === 'canary' ? 900 : 1000, total: 1000 });
  const bothBad: Answer = (r) => ({ id: r.id, ok: true, good: 900, total: 1000 });
  const noData: Answer = (r) => ({ id: r.id, ok: true, good: null, total: null });
  const queryError: Answer = (r) => ({ id: r.id, ok: false, error: 'connect ECONNREFUSED 127.0.0.1:9090' });
  const weights = (out: ReconcileOutput) =>
    ((out.apply.find((o) => o.kind === 'HTTPRoute')?.spec as { rules: { backendRefs: { weight: number }[] }[] } | undefined)?.rules[0]?.backendRefs ?? []).map((b) => b.weight);

  /** A canary holding step 1 at 20%, with its children as observed. */
  function holding(over: typeof spec = spec) {
    const { model: m0, children } = stableOn(over);
    let model = changeDigest(m0, DIGEST_B);
    const created = run(model, children, at(100));
    model = withStatus(model, created);
    const seen = settle(created, () => true, children);
    const held = run(model, seen, at(105));
    return { model: withStatus(model, held), seen: settle(held, () => true, seen), held };
  }
  function step(model: OnnxModel, seen: ObservedChildren, seconds: number, answer?: Answer) {
    const now = at(seconds);
    const due = dueMeasurements(model, now, 5);
    const measurements = due && answer ? { revision: due.revision, time: now.toISOString(), requests: due.requests, answers: due.requests.map(answer) } : undefined;
    const out = run(model, seen, now, measurements ? { measurements } : {});
    return { out, model: withStatus(model, out), seen: settle(out, () => true, seen), due };
  }

  it('holds the first step at its weight once the canary pods are available, with an Event', () => {
    const { held } = holding();
    expect(held.status.rollout).toMatchObject({ state: 'Holding', step: 0, weight: 20 });
    expect(held.status.currentWeight).toBe(20);
    expect(weights(held)).toEqual([80, 20]);
    expect(held.events.map((e) => e.reason)).toContain('StepStarted');
    expect(held.requeueAfterMs).toBe(10_000);
  });

  it('measures every interval, advances after the pause on a pass, and promotes after the last step', () => {
    let { model, seen } = holding();
    expect(dueMeasurements(model, at(110), 5)).toBeUndefined();
    let s = step(model, seen, 115, healthy);
    // Both windows are capped at the 10 s the canary has had traffic (since 105 s): one query per revision.
    expect(s.due?.requests.map((r) => `${r.role}/${r.window}`).sort()).toEqual(['canary/10s', 'stable/10s']);
    expect(s.out.status.lastAnalysis).toMatchObject({ verdict: 'pass', revision: s.out.status.canary?.revision });
    expect(s.out.status.rollout?.step).toBe(0);
    for (const t of [125, 135]) ({ model, seen } = s = step(s.model, s.seen, t, healthy));
    expect(s.out.status.rollout).toMatchObject({ state: 'Holding', step: 1, weight: 60 });
    expect(weights(s.out)).toEqual([40, 60]);
    for (const t of [145, 155, 165]) s = step(s.model, s.seen, t, healthy);
    expect(s.out.rolloutOutcome).toBe('promoted');
    expect(s.out.status.phase).toBe('Stable');
    expect(weights(s.out)).toEqual([100]);
  });

  it('rolls a canary burning its budget back: traffic first, then status with the numbers and an Event', () => {
    const { model, seen } = holding();
    const s = step(model, seen, 115, canaryBad);
    expect(s.out.rolloutOutcome).toBe('rolled-back');
    expect(s.out.apply[0]?.kind).toBe('HTTPRoute');
    expect(weights(s.out)).toEqual([100]);
    expect(s.out.status.lastRollback).toMatchObject({ reason: 'AnalysisFailed', slo: 'availability', judgement: 'BudgetBurning' });
    expect(s.out.status.lastRollback?.lowerBound).toBeGreaterThan(0.02);
    expect(s.out.status.lastRollback?.stable).toBeUndefined();
    expect(condSummary(s.out)).toMatchObject({ Degraded: 'True/RolledBack', Ready: 'False/RolledBack' });
    expect(s.out.events.find((e) => e.reason === 'RolledBack')?.message).toMatch(/availability/);
  });

  it('a rollback whose status write was lost (operator killed after the route write) is finished from the route, not undone', () => {
    const { model, seen } = holding();
    const s = step(model, seen, 115, canaryBad);
    const route = s.out.apply.find((o) => o.kind === 'HTTPRoute');
    expect(route?.metadata.annotations?.['serving.onnxop.io/decision']).toMatch(new RegExp(`^rolled-back/${model.status.canary?.revision}/AnalysisFailed/\\d+$`));
    // The route was written, status was not: the next reconcile reads the old status (canary at 20%).
    const after = run(model, s.seen, at(118));
    expect(weights(after)).toEqual([100]);
    expect(after.rolloutOutcome).toBe('rolled-back');
    expect(after.status.lastRollback).toMatchObject({ reason: 'AnalysisFailed', revision: model.status.canary?.revision });
    expect(after.status.lastRollback?.message).toMatch(/after a restart/);
    expect(after.status.canary).toBeUndefined();
    // …and keeps the route's decision as it is: nothing to write for the route.
    expect(after.apply.find((o) => o.kind === 'HTTPRoute')?.metadata.annotations).toEqual(route?.metadata.annotations);
  });

  it('a promotion whose status write was lost is finished from the route, the weight never going back', () => {
    let { model, seen } = holding();
    let s = step(model, seen, 115, healthy);
    for (const t of [125, 135, 145, 155]) ({ model, seen } = s = step(s.model, s.seen, t, healthy));
    const last = step(model, seen, 165, healthy);
    expect(last.out.rolloutOutcome).toBe('promoted');
    const after = run(model, last.seen, at(168));
    expect(weights(after)).toEqual([100]);
    expect(after.status.stable?.revision).toBe(model.status.canary?.revision);
    expect(after.status.canary).toBeUndefined();
  });

  it('a revision retried after its rollback is a new canary: the old decision on the route is not its own', () => {
    const { model, seen } = holding();
    const s = step(model, seen, 115, canaryBad);
    const rolled = withStatus(model, s.out);
    const retried = run({ ...rolled, metadata: { ...rolled.metadata, annotations: { 'serving.onnxop.io/action': 'retry/1' } } }, s.seen, at(130));
    expect(retried.status.canary?.revision).toBe(model.status.canary?.revision);
    expect(retried.rolloutOutcome).toBeUndefined();
    expect(retried.status.phase).not.toBe('RolledBack');
  });

  it('a canary significantly worse than stable (under the line) is rolled back with the stable counts beside its own', () => {
    const { model, seen } = holding();
    // 1.5% bad: under the 2% line, over the 1% budget, against a stable revision without errors.
    const worse: Answer = (r) => ({ id: r.id, ok: true, good: r.role === 'canary' ? 4925 : 5000, total: 5000 });
    const s = step(model, seen, 115, worse);
    expect(s.out.rolloutOutcome).toBe('rolled-back');
    expect(s.out.status.lastRollback).toMatchObject({ judgement: 'WorseThanStable', requests: 5000, badEvents: 75, stable: { revision: model.status.stable?.revision, requests: 5000, badEvents: 0 } });
  });

  it('counts from the first traffic plus initialDelay: nothing is measured before, and windows never reach back', () => {
    const delayed = { rollout: { ...spec.rollout, analysis: { ...spec.rollout.analysis, initialDelay: '20s' } } };
    const { model, seen, held } = holding(delayed);
    expect(held.status.rollout).toMatchObject({ state: 'Holding', servingSince: at(105).toISOString() });
    // The first look is due an interval after the delay is over: 105 + 20 + 10 s.
    for (const t of [115, 125, 134]) expect(dueMeasurements(model, at(t), 5)).toBeUndefined();
    const s = step(model, seen, 135, healthy);
    expect(s.due?.requests.map((r) => `${r.role}/${r.window}`).sort()).toEqual(['canary/10s', 'stable/10s']);
    // servingSince stays the first traffic's time through the next steps.
    let next = s;
    for (const t of [145, 155]) next = step(next.model, next.seen, t, healthy);
    expect(next.out.status.rollout).toMatchObject({ step: 1, servingSince: at(105).toISOString() });
  });

  it('does not blame the canary for a shared incident', () => {
    const { model, seen } = holding();
    const s = step(model, seen, 115, bothBad);
    expect(s.out.rolloutOutcome).toBeUndefined();
    expect(s.out.status.lastAnalysis).toMatchObject({ verdict: 'inconclusive', reason: 'SharedIncident' });
    expect(s.out.status.currentWeight).toBe(20);
  });

  it('never promotes without data: pauses for a human after maxInconclusive', () => {
    let { model, seen } = holding();
    let s = step(model, seen, 115, noData);
    for (const t of [125, 135, 145, 155]) ({ model, seen } = s = step(s.model, s.seen, t, noData));
    expect(s.out.status.phase).toBe('Paused');
    expect(s.out.status.rollout).toMatchObject({ state: 'Paused', pauseReason: 'WaitingForData', step: 0 });
    expect(cond(s.out, 'Progressing')).toMatchObject({ status: 'Unknown', reason: 'WaitingForData' });
    expect(s.out.status.currentWeight).toBe(20);
  });

  it('holds the weight on query errors and rolls back with AnalysisError after maxErrors in a row', () => {
    const { model, seen } = holding();
    let s = step(model, seen, 115, queryError);
    expect(s.out.status.currentWeight).toBe(20);
    expect(s.out.status.lastAnalysis?.verdict).toBe('error');
    s = step(s.model, s.seen, 125, queryError);
    s = step(s.model, s.seen, 135, queryError);
    expect(s.out.status.lastRollback?.reason).toBe('AnalysisError');
    expect(s.out.status.phase).toBe('RolledBack');
  });

  it('refuses an analysis Prometheus cannot measure: Degraded names the field, the canary pauses without traffic', () => {
    const { model: m0, children } = stableOn({ rollout: { ...spec.rollout, analysis: { ...spec.rollout.analysis, interval: '10s' } } });
    const model = changeDigest(m0, DIGEST_B);
    const created = run(model, children, at(100), { config: { ...config, scrapeIntervalSeconds: 30 } });
    const held = run(withStatus(model, created), settle(created, () => true, children), at(105), { config: { ...config, scrapeIntervalSeconds: 30 } });
    expect(held.status.rollout).toMatchObject({ state: 'Paused', pauseReason: 'AnalysisInvalid', weight: 0 });
    expect(cond(held, 'Degraded')).toMatchObject({ status: 'True', reason: 'AnalysisInvalid' });
    expect(cond(held, 'Degraded')?.message).toMatch(/spec\.rollout\.analysis\.interval 10s is shorter than two Prometheus scrapes/);
    expect(dueMeasurements(withStatus(model, held), at(200), 30)).toBeUndefined();
    // Nothing to measure, nothing timed: no requeue loop while it waits for the fix.
    const waiting = run(withStatus(model, held), settle(held, () => true, settle(created, () => true, children)), at(200), { config: { ...config, scrapeIntervalSeconds: 30 } });
    expect(waiting.requeueAfterMs === undefined || waiting.requeueAfterMs > 60_000).toBe(true);
  });

  it('is steady between measurements: same status, no events', () => {
    const { model, seen } = holding();
    const s = step(model, seen, 108);
    expect(s.out.status).toBe(model.status);
    expect(s.out.events).toEqual([]);
  });
});

describe('reconcile: a status that lost its rollout state', () => {
  it('restarts the canary at its current step and weight with a RolloutStateInvalid Event, once', () => {
    const { model: m0, children } = stableOn({ rollout: { steps: [{ weight: 20, pause: '1m' }, { weight: 50, pause: '1m' }], analysis: { interval: '10s', slos: [{ name: 'a', builtin: 'availability', objective: 99 }], burnRateWindows: [{ short: '10s', long: '1m', threshold: 2 }] } } });
    const model = changeDigest(m0, DIGEST_B);
    const created = run(model, children, at(100));
    const { rollout: _lost, ...withoutRollout } = created.status;
    const lost = { ...withoutRollout, currentStep: 1, currentWeight: 50 };
    const out = run({ ...model, status: lost }, settle(created, () => false, children), at(160));
    expect(out.events.map((e) => e.reason)).toContain('RolloutStateInvalid');
    // Looks unknown: counted as many as could have been taken (one per 10 s in 60 s), never fewer.
    expect(out.status.rollout).toMatchObject({ state: 'Scaling', step: 1, weight: 50, looks: 6 });
    const again = run({ ...model, status: out.status }, settle(created, () => false, children), at(111));
    expect(again.events.map((e) => e.reason)).not.toContain('RolloutStateInvalid');
  });
});
