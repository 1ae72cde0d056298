// The last step of a reconcile: the phase, the five conditions and the full status from what the
// earlier steps decided, plus the Events that condition transitions call for (never in a steady state).
import { ANNOTATION_ACTION } from '../api/constants.ts';
import type { Condition, OnnxModelStatus, Phase } from '../api/types.ts';
import { sameJson } from './canonical-json.ts';
import { wantedReplicas } from './children/deployment.ts';
import { findCondition, nextConditions, type ConditionUpdate } from './conditions.ts';
import { stableServiceName } from './names.ts';
import { health, type View, type Working } from './working.ts';
import type { EventSpec } from './types.ts';

function phaseOf(view: View, w: Working, stableDeadlinePassed: boolean): Phase {
  const { desired, gate } = view;
  const prev = view.model.status;
  const want = wantedReplicas(view.model);
  const stableHealth = health(view, w.stable?.revision, want);
  const notPlaced = w.stable?.revision !== desired && w.canary?.revision !== desired;
  if (w.failed.some((f) => f.revision === desired)) return w.lastRollback?.revision === desired ? 'RolledBack' : 'Failed';
  if (notPlaced && gate.state === 'pending') return 'Verifying';
  if (notPlaced && gate.state === 'failed') return 'Failed';
  if (w.canary) return w.progress?.state === 'Paused' ? 'Paused' : 'Progressing';
  if (w.stable && !stableHealth.rolledOut && stableHealth.availableReplicas === 0) return stableDeadlinePassed ? (prev.phase === 'Stable' ? 'Stable' : 'Failed') : 'Deploying';
  return w.stable ? 'Stable' : 'Pending';
}

function progressingCondition(view: View, w: Working, phase: Phase): ConditionUpdate {
  const { desired, gate } = view;
  const p = w.progress;
  const steps = view.steps.length;
  if (phase === 'Paused' && p) {
    return { status: 'Unknown', reason: p.pauseReason ?? 'Paused', message: `canary ${w.canary?.revision} paused at step ${p.step + 1}/${steps} (${p.weight}%): ${pauseHint(p.pauseReason)}` };
  }
  if (phase === 'Progressing' && p) {
    if (p.state === 'Scaling') return { status: 'True', reason: 'CanaryScaling', message: `canary ${w.canary?.revision} is starting its pods for step ${p.step + 1}/${Math.max(1, steps)} next to stable ${w.stable?.revision}` };
    return { status: 'True', reason: 'StepHolding', message: `canary ${w.canary?.revision} holds step ${p.step + 1}/${steps} at ${p.weight}%${w.lastAnalysis?.revision === p.revision ? `; last analysis: ${w.lastAnalysis.verdict} (${w.lastAnalysis.reason ?? ''})` : ''}` };
  }
  if (phase === 'Deploying') return { status: 'True', reason: 'RevisionDeploying', message: `revision ${w.stable?.revision} is starting` };
  if (phase === 'Verifying') return { status: 'True', reason: 'Verifying', message: `revision ${desired} waits for signature verification` };
  if (phase === 'RolledBack') return { status: 'False', reason: w.lastRollback?.reason === 'ManualAbort' ? 'Aborted' : 'RolledBack', message: w.lastRollback?.message ?? 'rolled back' };
  if (phase === 'Failed') {
    const desiredFailed = w.failed.some((f) => f.revision === desired);
    return { status: 'False', reason: gate.state === 'failed' ? 'VerificationFailed' : desiredFailed ? 'RevisionFailed' : 'ProgressDeadlineExceeded', message: `revision ${desired} cannot be served` };
  }
  return { status: 'False', reason: 'RolloutComplete', message: w.stable ? `revision ${w.stable.revision} serves all traffic` : 'nothing to roll out' };
}

function pauseHint(reason: string | undefined): string {
  switch (reason) {
    case 'WaitingForPromote':
      return `this step has no pause; annotate ${ANNOTATION_ACTION}=promote/<nonce> to go on or abort/<nonce> to roll back`;
    case 'WaitingForData':
      return `the analysis could not decide (waiting for data: too few requests or none); promote/<nonce> or abort/<nonce>, or resume/<nonce> to keep measuring`;
    case 'ManualPause':
      return `paused by the pause action; resume/<nonce>, promote/<nonce> or abort/<nonce>`;
    case 'AnalysisInvalid':
      return 'the analysis cannot measure anything as specified; fix spec.rollout.analysis as the Degraded condition says';
    case 'TrafficProviderUnavailable':
      return 'no traffic provider can give the canary a share; see the Degraded condition';
    default:
      return 'waiting for an action';
  }
}

export function statusAndConditions(view: View, w: Working, problems: string[]): { status: OnnxModelStatus; events: EventSpec[] } {
  const { model, gate, desired, now, nowMs } = view;
  const prev = model.status;
  const digest = model.spec.model.digest;
  const want = wantedReplicas(model);
  const generation = model.metadata.generation;
  const stableHealth = health(view, w.stable?.revision, want);
  const canaryHealth = health(view, w.canary?.revision, 1);
  const stableDeadlinePassed = w.stable !== undefined && nowMs >= Date.parse(w.stable.since) + view.deadlineMs;
  if (w.stable && w.stable.revision === desired && !stableHealth.rolledOut && !stableDeadlinePassed) w.requeueAt = Math.min(w.requeueAt ?? Infinity, Date.parse(w.stable.since) + view.deadlineMs);
  const available = stableHealth.availableReplicas > 0;
  const phase = phaseOf(view, w, stableDeadlinePassed);
  const desiredFailed = w.failed.some((f) => f.revision === desired);
  const failure = canaryHealth.replicaFailure ?? stableHealth.replicaFailure;
  const trafficMissing = model.spec.traffic.provider === 'gatewayAPI' && !view.trafficAvailable;

  const c: Record<Condition['type'], ConditionUpdate> = {
    ArtifactVerified:
      !model.spec.signature && gate.state === 'ok'
        ? { status: 'True', reason: 'NotRequired', message: 'spec.signature is not set; the digest alone pins the artifact' }
        : gate.state === 'pending' || (gate.state === 'ok' && gate.pending)
          ? { status: 'Unknown', reason: 'VerificationPending', message: `waiting for the signature verification of ${digest}${view.input.verification?.state === 'pending' && view.input.verification.message ? `: ${view.input.verification.message}` : ''}` }
          : gate.state === 'failed'
            ? { status: 'False', reason: gate.reason, message: gate.message }
            : gate.status && !gate.status.verified
              ? { status: 'False', reason: gate.status.reason ?? 'SignatureInvalid', message: `signature of ${digest} did not verify; deployed anyway (mode Audit)` }
              : { status: 'True', reason: 'Verified', message: `${digest} signed by ${gate.status?.signer ?? 'a trusted authority'}` },
    Available: !w.stable
      ? { status: 'False', reason: 'NoStableRevision', message: 'no revision is deployed yet' }
      : available
        ? { status: 'True', reason: 'StableAvailable', message: `stable revision ${w.stable.revision} has available pods` }
        : want === 0
          ? { status: 'False', reason: 'ScaledToZero', message: 'spec.runtime.replicas is 0' }
          : { status: 'False', reason: 'StableUnavailable', message: `stable revision ${w.stable.revision} has no available pods${failure ? `: ${failure}` : ''}` },
    Progressing: progressingCondition(view, w, phase),
    Degraded:
      phase === 'RolledBack'
        ? { status: 'True', reason: w.lastRollback?.reason === 'ManualAbort' ? 'Aborted' : 'RolledBack', message: `revision ${desired} was rolled back (${w.lastRollback?.reason}): ${w.lastRollback?.message ?? ''}; annotate ${ANNOTATION_ACTION}=retry/<nonce> or change the spec to try again` }
        : phase === 'Failed'
          ? gate.state === 'failed'
            ? { status: 'True', reason: 'VerificationFailed', message: `${gate.reason}: ${gate.message}` }
            : { status: 'True', reason: desiredFailed ? 'RevisionFailed' : 'ProgressDeadlineExceeded', message: `revision ${desired} has no available pods after ${model.spec.rollout.progressDeadline}` }
          : w.canary && view.analysisInvalid
            ? { status: 'True', reason: 'AnalysisInvalid', message: `spec.rollout.analysis cannot be measured: ${view.analysisInvalid}` }
            : trafficMissing
            ? { status: 'True', reason: 'TrafficProviderUnavailable', message: 'spec.traffic.provider is gatewayAPI but this cluster does not serve the Gateway API CRDs (httproutes.gateway.networking.k8s.io/v1): install them, or set spec.traffic.provider: none (replica ratio)' }
            : failure
              ? { status: 'True', reason: 'ReplicaFailure', message: failure }
              : w.stable && phase === 'Stable' && !available && want > 0
                ? { status: 'True', reason: 'StableUnavailable', message: `stable revision ${w.stable.revision} has no available pods` }
                : problems.length > 0
                  ? { status: 'True', reason: 'SnapshotMissing', message: problems.join('; ') }
                  : { status: 'False', reason: 'AsExpected', message: 'nothing is degraded' },
    Ready: { status: 'False', reason: phase === 'Stable' ? 'Unavailable' : phase, message: '' },
  };
  const degraded = c.Degraded.status === 'True';
  if (phase === 'Stable' && available && !degraded) c.Ready = { status: 'True', reason: 'Serving', message: `revision ${w.stable?.revision} serves ${digest}` };
  else c.Ready = { status: 'False', reason: c.Ready.reason, message: degraded ? c.Degraded.message : `phase ${phase}: ${c.Progressing.message}` };

  const conditions = nextConditions(prev.conditions, c, generation, now);
  const events: EventSpec[] = [];
  for (const cond of conditions) {
    const before = findCondition(prev.conditions, cond.type);
    if (before?.status === cond.status && before.reason === cond.reason) continue;
    if (cond.type === 'Available' && cond.status === 'True') events.push({ type: 'Normal', reason: 'Available', message: cond.message, revision: w.stable?.revision });
    if (cond.type === 'Available' && cond.status === 'False' && before?.status === 'True') events.push({ type: 'Warning', reason: 'Unavailable', message: cond.message, revision: w.stable?.revision });
    if (cond.type === 'Degraded' && cond.status === 'True' && ['ReplicaFailure', 'ProgressDeadlineExceeded', 'TrafficProviderUnavailable', 'SnapshotMissing', 'AnalysisInvalid'].includes(cond.reason)) events.push({ type: 'Warning', reason: cond.reason, message: cond.message });
    if (cond.type === 'ArtifactVerified' && cond.status === 'False') events.push({ type: 'Warning', reason: 'VerificationFailed', message: `${cond.reason}: ${cond.message}` });
    if (cond.type === 'ArtifactVerified' && cond.status === 'True' && cond.reason === 'Verified') events.push({ type: 'Normal', reason: 'Verified', message: cond.message });
  }

  const status: OnnxModelStatus = {
    observedGeneration: generation,
    phase,
    desiredRevision: desired,
    ...(w.stable ? { stable: w.stable } : {}),
    ...(w.canary && w.progress ? { canary: w.canary, currentStep: w.progress.step, rollout: w.progress } : {}),
    currentWeight: w.canary && w.progress ? w.progress.weight : 0,
    ...(w.scalingDown.length ? { scalingDown: w.scalingDown } : {}),
    ...(w.lastAnalysis ? { lastAnalysis: w.lastAnalysis } : {}),
    ...(w.lastRollback ? { lastRollback: w.lastRollback } : {}),
    ...(gate.state !== 'pending' && gate.status ? { verification: gate.status } : model.spec.signature && prev.verification ? { verification: prev.verification } : {}),
    ...(w.failed.length ? { failedRevisions: w.failed } : {}),
    ...(w.lastAction ? { lastAction: w.lastAction } : {}),
    ...(w.stable ? { url: `http://${stableServiceName(model.metadata.name)}.${model.metadata.namespace}.svc.${view.input.config.clusterDomain}` } : {}),
    conditions,
  };
  return { status: sameJson(status, prev) ? prev : status, events };
}
