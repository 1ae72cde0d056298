// reconcile: (model, observed children, verification, analysis, clock) → (children to apply and
// delete, new status, events, requeue). Pure: no I/O, no clock, no client-node. All rollout state
// lives in status, so a restarted operator resumes where it was.
//
// Rollout behaviour of this version (traffic steps and analysis come later): the first revision
// becomes stable at once; a new revision is deployed next to the stable one as the canary at weight
// 0 and promoted when all its wanted pods are available; one that misses the progress deadline is
// rolled back and remembered in status.failedRevisions. Replaced revisions keep their pods for
// spec.rollout.scaleDownDelay, then their children are deleted.
import { parseDuration } from '../api/parse.ts';
import type { Condition, FailedRevision, LastAction, OnnxModelStatus, Phase, RevisionRef, RollbackStatus, ScalingDownRevision, VerificationStatus } from '../api/types.ts';
import { pendingAction } from './actions.ts';
import { autoscalerFor } from './children/autoscaler.ts';
import { deploymentFor, wantedReplicas } from './children/deployment.ts';
import { httpRouteFor } from './children/http-route.ts';
import { revisionServiceFor, stableServiceFor } from './children/service.ts';
import { findCondition, nextConditions, type ConditionUpdate } from './conditions.ts';
import { revisionChildName, stableServiceName } from './names.ts';
import { deploymentHealth, isOwnedBy, revisionOf, type DeploymentHealth } from './observe.ts';
import { computeRevision } from './revision.ts';
import type { EventSpec, KubeObject, ObjectRef, ReconcileInput, ReconcileOutput, RolloutOutcome } from './types.ts';

type Gate = { state: 'ok'; status?: VerificationStatus; pending?: boolean } | { state: 'pending' } | { state: 'failed'; status: VerificationStatus; reason: string; message: string };

/** Can pods of spec.model.digest be created? Reuses a verdict recorded in status for the same digest. */
function verificationGate(input: ReconcileInput): Gate {
  const { spec, status } = input.model;
  if (!spec.signature) {
    const v = input.verification;
    if (v?.state !== 'failed' || v.reason !== 'SignatureRequired' || v.digest !== spec.model.digest) return { state: 'ok' };
    const prev = status.verification;
    const rec: VerificationStatus =
      prev && prev.digest === v.digest && !prev.verified && prev.reason === v.reason && prev.mode === 'Enforce' ? prev : { digest: v.digest, verified: false, mode: 'Enforce', reason: v.reason, time: v.time };
    return { state: 'failed', status: rec, reason: v.reason, message: v.message };
  }
  const digest = spec.model.digest;
  const mode = spec.signature.mode;
  const v = input.verification;
  let rec: VerificationStatus | undefined;
  if (v && v.state === 'verified' && v.digest === digest) rec = { digest, verified: true, mode, signer: v.signer, time: v.time };
  else if (v && v.state === 'failed' && v.digest === digest) rec = { digest, verified: false, mode, reason: v.reason, time: v.time };
  else if (status.verification?.digest === digest && status.verification.mode === mode) rec = status.verification;
  // Audit never holds a rollout back, not even while the verifier has not answered yet.
  if (!rec) return mode === 'Audit' ? { state: 'ok', pending: true } : { state: 'pending' };
  // Keep the recorded value itself when the verdict did not change, so the status stays deep-equal.
  const prev = status.verification;
  if (prev && prev.digest === rec.digest && prev.verified === rec.verified && prev.mode === rec.mode && prev.signer === rec.signer && prev.reason === rec.reason) rec = prev;
  if (rec.verified || mode === 'Audit') return { state: 'ok', status: rec };
  const message = input.verification?.state === 'failed' ? input.verification.message : `signature of ${digest} did not verify (${rec.reason ?? 'unknown reason'})`;
  return { state: 'failed', status: rec, reason: rec.reason ?? 'SignatureInvalid', message };
}

const addMs = (iso: string, ms: number): string => new Date(Date.parse(iso) + ms).toISOString();

export function reconcile(input: ReconcileInput): ReconcileOutput {
  const { model, config } = input;
  const prev = model.status;
  const now = input.now.toISOString();
  const nowMs = input.now.getTime();
  const generation = model.metadata.generation;
  const events: EventSpec[] = [];
  let outcome: RolloutOutcome | undefined;

  // Being deleted: the garbage collector removes the children; write nothing.
  if (model.metadata.deletionTimestamp) return { apply: [], delete: [], status: prev, events: [] };

  const desired = computeRevision(model, config);
  const digest = model.spec.model.digest;
  const deadlineMs = parseDuration(model.spec.rollout.progressDeadline) ?? 600_000;
  const scaleDownMs = parseDuration(model.spec.rollout.scaleDownDelay) ?? 30_000;
  const want = wantedReplicas(model);

  const owned = (list: KubeObject[] | undefined) => (list ?? []).filter((o) => isOwnedBy(o, model));
  const deployments = owned(input.children.deployments);
  const health = (rev: string | undefined): DeploymentHealth =>
    deploymentHealth(rev ? deployments.find((d) => revisionOf(d) === rev && d.metadata.name === revisionChildName(model.metadata.name, rev)) : undefined, want);

  let stable: RevisionRef | undefined = prev.stable;
  let canary: RevisionRef | undefined = prev.canary;
  let failed: FailedRevision[] = prev.failedRevisions ?? [];
  let scalingDown: ScalingDownRevision[] = prev.scalingDown ?? [];
  let lastRollback: RollbackStatus | undefined = prev.lastRollback;
  let lastAction: LastAction | undefined = prev.lastAction;

  const retire = (ref: RevisionRef, delayMs: number) => {
    scalingDown = [...scalingDown.filter((s) => s.revision !== ref.revision), { revision: ref.revision, digest: ref.digest, deleteAfter: addMs(now, delayMs) }];
  };
  const rollBack = (reason: string, message: string) => {
    if (!canary) return;
    failed = [...failed.filter((f) => f.revision !== canary?.revision), { revision: canary.revision, digest: canary.digest, reason, time: now }];
    lastRollback = { time: now, revision: canary.revision, digest: canary.digest, reason, message };
    events.push({ type: 'Warning', reason: reason === 'ManualAbort' ? 'Aborted' : 'RolledBack', message: `revision ${canary.revision} (${canary.digest}) rolled back: ${message}; ${stable ? `stable ${stable.revision} keeps serving` : 'nothing else to serve'}`, revision: canary.revision });
    outcome = reason === 'ManualAbort' ? 'aborted' : 'rolled-back';
    retire(canary, scaleDownMs);
    canary = undefined;
  };
  const promote = (why: string) => {
    if (!canary) return;
    if (stable) retire(stable, scaleDownMs);
    events.push({ type: 'Normal', reason: 'Promoted', message: `revision ${canary.revision} (${canary.digest}) is now stable: ${why}`, revision: canary.revision });
    stable = { revision: canary.revision, digest: canary.digest, since: now };
    canary = undefined;
    outcome = 'promoted';
  };

  // 1. A manual action, once per annotation value.
  const action = pendingAction(model);
  if (action) {
    let result: Pick<LastAction, 'outcome' | 'message'>;
    if ('invalid' in action) result = { outcome: 'Invalid', message: action.invalid };
    else if (action.verb === 'abort') {
      if (canary) {
        const rev = canary.revision;
        rollBack('ManualAbort', `aborted by annotation ${action.value}`);
        result = { outcome: 'Applied', message: `canary ${rev} aborted` };
      } else result = { outcome: 'Ignored', message: 'no rollout in progress to abort' };
    } else if (action.verb === 'retry') {
      if (failed.some((f) => f.revision === desired)) {
        failed = failed.filter((f) => f.revision !== desired);
        result = { outcome: 'Applied', message: `revision ${desired} will be deployed again` };
      } else result = { outcome: 'Ignored', message: `revision ${desired} has not failed; nothing to retry` };
    } else if (canary && health(canary.revision).rolledOut) {
      const rev = canary.revision;
      promote(`promoted by annotation ${action.value}`);
      result = { outcome: 'Applied', message: `canary ${rev} promoted` };
    } else {
      result = { outcome: 'Ignored', message: canary ? `canary ${canary.revision} has not got all its pods available yet; promote again once it has` : 'no rollout in progress to promote' };
    }
    lastAction = { value: action.value, action: 'verb' in action ? action.verb : 'unknown', ...('nonce' in action && action.nonce ? { nonce: action.nonce } : {}), ...result, time: now };
    events.push({ type: result.outcome === 'Applied' ? 'Normal' : 'Warning', reason: `Action${result.outcome}`, message: `${action.value}: ${result.message}` });
  }

  // 2. Where the desired revision stands.
  const gate = verificationGate(input);
  const desiredFailed = failed.find((f) => f.revision === desired);
  if (stable?.revision === desired) {
    if (canary) {
      events.push({ type: 'Normal', reason: 'CanarySuperseded', message: `spec is back to stable revision ${desired}; canary ${canary.revision} is scaled down`, revision: canary.revision });
      retire(canary, 0);
      canary = undefined;
    }
  } else if (canary?.revision === desired) {
    // rolling out; handled below
  } else if (desiredFailed || gate.state !== 'ok') {
    // The new spec cannot run: any older canary is superseded; the stable revision keeps serving.
    if (canary) {
      events.push({ type: 'Normal', reason: 'CanarySuperseded', message: `spec changed to revision ${desired}; canary ${canary.revision} is scaled down`, revision: canary.revision });
      retire(canary, 0);
      canary = undefined;
    }
  } else {
    const ref = { revision: desired, digest, since: now };
    events.push({ type: 'Normal', reason: 'RevisionCreated', message: `revision ${desired} created for ${digest}`, revision: desired });
    if (canary) {
      events.push({ type: 'Normal', reason: 'CanarySuperseded', message: `spec changed to revision ${desired}; canary ${canary.revision} is scaled down`, revision: canary.revision });
      retire(canary, 0);
      canary = undefined;
    }
    // With nothing serving (no stable, or a stable without available pods) there is nothing to protect.
    if (!stable || health(stable.revision).availableReplicas === 0) {
      if (stable) retire(stable, 0);
      stable = ref;
    } else canary = ref;
    scalingDown = scalingDown.filter((s) => s.revision !== desired);
  }

  // 3. Canary progression.
  let requeueAt: number | undefined;
  const requeue = (ms: number) => {
    requeueAt = requeueAt === undefined ? ms : Math.min(requeueAt, ms);
  };
  if (canary) {
    const h = health(canary.revision);
    const deadline = Date.parse(canary.since) + deadlineMs;
    if (h.rolledOut) promote(`all ${want} pod(s) available`);
    else if (h.deadlineExceeded !== undefined || nowMs >= deadline) {
      rollBack('ProgressDeadlineExceeded', `pods not available within ${model.spec.rollout.progressDeadline}${h.deadlineExceeded ? ` (${h.deadlineExceeded})` : ''}`);
    } else requeue(deadline);
  }

  // 4. Retired revisions: keep their children until deleteAfter.
  const active = new Set([stable?.revision, canary?.revision].filter((r): r is string => !!r));
  scalingDown = scalingDown.filter((s) => !active.has(s.revision));
  const expired = scalingDown.filter((s) => Date.parse(s.deleteAfter) <= nowMs);
  for (const s of expired) events.push({ type: 'Normal', reason: 'ScaledDown', message: `revision ${s.revision} children deleted`, revision: s.revision });
  scalingDown = scalingDown.filter((s) => Date.parse(s.deleteAfter) > nowMs);
  for (const s of scalingDown) requeue(Date.parse(s.deleteAfter));
  const keep = new Set([...active, ...scalingDown.map((s) => s.revision)]);

  // 5. Desired children.
  const apply: KubeObject[] = [];
  for (const rev of [stable?.revision, canary?.revision]) {
    if (!rev) continue;
    apply.push(deploymentFor(model, rev, config), revisionServiceFor(model, rev));
    const hpa = autoscalerFor(model, rev);
    if (hpa) apply.push(hpa);
  }
  if (stable) {
    apply.push(stableServiceFor(model, stable.revision));
    if (model.spec.traffic.provider === 'gatewayAPI') apply.push(httpRouteFor(model, config, stable.revision, canary ? { revision: canary.revision, weight: 0 } : undefined));
  }
  const applied = new Set(apply.map((o) => `${o.kind}/${o.metadata.name}`));
  const toDelete: ObjectRef[] = [];
  const all = [...deployments, ...owned(input.children.services), ...owned(input.children.httpRoutes), ...owned(input.children.horizontalPodAutoscalers)];
  for (const o of all) {
    if (applied.has(`${o.kind}/${o.metadata.name}`)) continue;
    const rev = revisionOf(o);
    if (rev !== undefined && keep.has(rev)) continue;
    const ref: ObjectRef = { apiVersion: o.apiVersion, kind: o.kind, namespace: model.metadata.namespace, name: o.metadata.name };
    if (o.metadata.uid) ref.uid = o.metadata.uid;
    toDelete.push(ref);
  }

  // 6. Status.
  const stableHealth = health(stable?.revision);
  const canaryHealth = health(canary?.revision);
  const desiredFailedNow = failed.find((f) => f.revision === desired);
  const stableDeadlinePassed = stable !== undefined && nowMs >= Date.parse(stable.since) + deadlineMs;
  if (stable && stable.revision === desired && !stableHealth.rolledOut && !stableDeadlinePassed) requeue(Date.parse(stable.since) + deadlineMs);
  const available = stableHealth.availableReplicas > 0;

  let phase: Phase;
  if (desiredFailedNow) phase = lastRollback?.revision === desired ? 'RolledBack' : 'Failed';
  else if (stable?.revision !== desired && canary?.revision !== desired && gate.state === 'pending') phase = 'Verifying';
  else if (stable?.revision !== desired && canary?.revision !== desired && gate.state === 'failed') phase = 'Failed';
  else if (canary) phase = 'Progressing';
  else if (stable && !stableHealth.rolledOut && !available) phase = stableDeadlinePassed ? (prev.phase === 'Stable' ? 'Stable' : 'Failed') : 'Deploying';
  else phase = stable ? 'Stable' : 'Pending';

  const failure = canaryHealth.replicaFailure ?? stableHealth.replicaFailure;
  const c: Record<Condition['type'], ConditionUpdate> = {
    ArtifactVerified: !model.spec.signature && gate.state === 'ok'
      ? { status: 'True', reason: 'NotRequired', message: 'spec.signature is not set; the digest alone pins the artifact' }
      : gate.state === 'pending' || (gate.state === 'ok' && gate.pending)
        ? { status: 'Unknown', reason: 'VerificationPending', message: `waiting for the signature verification of ${digest}${input.verification?.state === 'pending' && input.verification.message ? `: ${input.verification.message}` : ''}` }
        : gate.state === 'failed'
          ? { status: 'False', reason: gate.reason, message: gate.message }
          : gate.status && !gate.status.verified
            ? { status: 'False', reason: gate.status.reason ?? 'SignatureInvalid', message: `signature of ${digest} did not verify; deployed anyway (mode Audit)` }
            : { status: 'True', reason: 'Verified', message: `${digest} signed by ${gate.status?.signer ?? 'a trusted authority'}` },
    Available: !stable
      ? { status: 'False', reason: 'NoStableRevision', message: 'no revision is deployed yet' }
      : available
        ? { status: 'True', reason: 'StableAvailable', message: `stable revision ${stable.revision} has available pods` }
        : want === 0
          ? { status: 'False', reason: 'ScaledToZero', message: 'spec.runtime.replicas is 0' }
          : { status: 'False', reason: 'StableUnavailable', message: `stable revision ${stable.revision} has no available pods${failure ? `: ${failure}` : ''}` },
    Progressing:
      phase === 'Progressing'
        ? { status: 'True', reason: 'CanaryDeploying', message: `revision ${canary?.revision} is starting next to stable ${stable?.revision}` }
        : phase === 'Deploying'
          ? { status: 'True', reason: 'RevisionDeploying', message: `revision ${stable?.revision} is starting` }
          : phase === 'Verifying'
            ? { status: 'True', reason: 'Verifying', message: `revision ${desired} waits for signature verification` }
            : phase === 'RolledBack'
              ? { status: 'False', reason: lastRollback?.reason === 'ManualAbort' ? 'Aborted' : 'RolledBack', message: lastRollback?.message ?? 'rolled back' }
              : phase === 'Failed'
                ? { status: 'False', reason: gate.state === 'failed' ? 'VerificationFailed' : desiredFailedNow ? 'RevisionFailed' : 'ProgressDeadlineExceeded', message: `revision ${desired} cannot be served` }
                : { status: 'False', reason: 'RolloutComplete', message: stable ? `revision ${stable.revision} serves all traffic` : 'nothing to roll out' },
    Degraded:
      phase === 'RolledBack'
        ? { status: 'True', reason: lastRollback?.reason === 'ManualAbort' ? 'Aborted' : 'RolledBack', message: `revision ${desired} was rolled back (${lastRollback?.reason}); annotate ${'serving.onnxop.io/action=retry/<nonce>'} or change the spec to try again` }
        : phase === 'Failed'
          ? gate.state === 'failed'
            ? { status: 'True', reason: 'VerificationFailed', message: `${gate.reason}: ${gate.message}` }
            : { status: 'True', reason: desiredFailedNow ? 'RevisionFailed' : 'ProgressDeadlineExceeded', message: `revision ${desired} has no available pods after ${model.spec.rollout.progressDeadline}` }
          : failure
            ? { status: 'True', reason: 'ReplicaFailure', message: failure }
            : stable && phase === 'Stable' && !available && want > 0
              ? { status: 'True', reason: 'StableUnavailable', message: `stable revision ${stable.revision} has no available pods` }
              : { status: 'False', reason: 'AsExpected', message: 'nothing is degraded' },
    Ready: { status: 'False', reason: phase === 'Stable' ? 'Unavailable' : phase, message: '' },
  };
  const degraded = c.Degraded.status === 'True';
  if (phase === 'Stable' && available && !degraded) c.Ready = { status: 'True', reason: 'Serving', message: `revision ${stable?.revision} serves ${digest}` };
  else c.Ready = { status: 'False', reason: c.Ready.reason, message: degraded ? c.Degraded.message : `phase ${phase}: ${c.Progressing.message}` };

  const conditions = nextConditions(prev.conditions, c, generation, now);
  for (const cond of conditions) {
    const before = findCondition(prev.conditions, cond.type);
    if (before?.status === cond.status && before.reason === cond.reason) continue;
    if (cond.type === 'Available' && cond.status === 'True') events.push({ type: 'Normal', reason: 'Available', message: cond.message, revision: stable?.revision });
    if (cond.type === 'Available' && cond.status === 'False' && before?.status === 'True') events.push({ type: 'Warning', reason: 'Unavailable', message: cond.message, revision: stable?.revision });
    if (cond.type === 'Degraded' && cond.status === 'True' && cond.reason === 'ReplicaFailure') events.push({ type: 'Warning', reason: 'ReplicaFailure', message: cond.message });
    if (cond.type === 'Degraded' && cond.status === 'True' && cond.reason === 'ProgressDeadlineExceeded') events.push({ type: 'Warning', reason: 'ProgressDeadlineExceeded', message: cond.message });
    if (cond.type === 'ArtifactVerified' && cond.status === 'False') events.push({ type: 'Warning', reason: 'VerificationFailed', message: `${cond.reason}: ${cond.message}` });
    if (cond.type === 'ArtifactVerified' && cond.status === 'True' && cond.reason === 'Verified') events.push({ type: 'Normal', reason: 'Verified', message: cond.message });
  }

  const status: OnnxModelStatus = {
    observedGeneration: generation,
    phase,
    desiredRevision: desired,
    ...(stable ? { stable } : {}),
    ...(canary ? { canary, currentStep: 0 } : {}),
    currentWeight: 0,
    ...(scalingDown.length ? { scalingDown } : {}),
    ...(prev.lastAnalysis ? { lastAnalysis: prev.lastAnalysis } : {}),
    ...(lastRollback ? { lastRollback } : {}),
    ...(gate.state !== 'pending' && gate.status ? { verification: gate.status } : model.spec.signature && prev.verification ? { verification: prev.verification } : {}),
    ...(failed.length ? { failedRevisions: failed } : {}),
    ...(lastAction ? { lastAction } : {}),
    ...(stable ? { url: `http://${stableServiceName(model.metadata.name)}.${model.metadata.namespace}.svc.${config.clusterDomain}` } : {}),
    conditions,
  };

  const out: ReconcileOutput = { apply, delete: toDelete, status: sameJson(status, prev) ? prev : status, events };
  if (requeueAt !== undefined) out.requeueAfterMs = Math.max(1000, requeueAt - nowMs);
  if (outcome) out.rolloutOutcome = outcome;
  return out;
}

/** Key-order-insensitive deep equality of JSON values. */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => sameJson(x, b[i]));
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const ak = Object.keys(ao).filter((k) => ao[k] !== undefined);
  const bk = Object.keys(bo).filter((k) => bo[k] !== undefined);
  return ak.length === bk.length && ak.every((k) => sameJson(ao[k], bo[k]));
}
