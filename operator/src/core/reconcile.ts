// reconcile: (model, observed children, verification, measurements, capabilities, clock) → (children
// to apply and delete, new status, events, requeue). Pure: no I/O, no clock, no client-node. All
// rollout state lives in status, so a restarted operator resumes where it was.
//
// It runs as a pipeline of small steps over one working record:
//   1. manual actions that are not about the canary (retry; invalid values)
//   2. revisions: where the desired revision stands (new canary, superseded, back to stable)
//   3. the canary's rollout: analysis verdict, then the state machine (rollout/machine.ts)
//   4. retired revisions kept until their scale-down time
//   5. desired children (each revision rendered from its frozen snapshot), traffic first
//   6. status and conditions (status-conditions.ts)
import { validateAnalysis } from '../analysis/index.ts';
import { parseDuration } from '../api/parse.ts';
import type { LastAction, RevisionRef, RollbackStatus, RolloutProgress } from '../api/types.ts';
import { pendingAction } from './actions.ts';
import { desiredChildren } from './children/plan.ts';
import { replicasFor } from './children/replicas.ts';
import { isOwnedBy } from './observe.ts';
import { computeRevision } from './revision.ts';
import { judgeMeasurements, nextMeasurementAt } from './rollout/analysis-step.ts';
import { decideRollout, stepShare, type StepPlan } from './rollout/machine.ts';
import { initialProgress, readProgress } from './rollout/progress.ts';
import { ANNOTATION_ROUTE_DECISION, formatRouteDecision, pendingRouteDecision } from './rollout/route-decision.ts';
import { statusAndConditions } from './status-conditions.ts';
import type { ReconcileInput, ReconcileOutput } from './types.ts';
import { verificationGate } from './verification-gate.ts';
import { health, observedRoute, type View, type Working } from './working.ts';

/** Prometheus' own default scrape interval, the operator flag's default too. */
export const DEFAULT_SCRAPE_INTERVAL_SECONDS = 30;

const addMs = (iso: string, ms: number): string => new Date(Date.parse(iso) + ms).toISOString();

function requeue(w: Working, ms: number): void {
  w.requeueAt = w.requeueAt === undefined ? ms : Math.min(w.requeueAt, ms);
}

function retire(view: View, w: Working, ref: RevisionRef, delayMs: number): void {
  w.scalingDown = [...w.scalingDown.filter((s) => s.revision !== ref.revision), { revision: ref.revision, digest: ref.digest, deleteAfter: addMs(view.now, delayMs) }];
}

/**
 * How long a canary taken off traffic keeps its pods. Without a router the stable Service selects
 * every pod of the model, so a rolled-back canary's pods must go at once to stop getting traffic.
 */
const canaryDrainMs = (view: View): number => (view.model.spec.traffic.provider === 'none' ? 0 : view.scaleDownMs);

function supersede(view: View, w: Working, why: string): void {
  if (!w.canary) return;
  w.events.push({ type: 'Normal', reason: 'CanarySuperseded', message: `${why}; canary ${w.canary.revision} is scaled down`, revision: w.canary.revision });
  retire(view, w, w.canary, 0);
  w.canary = undefined;
  w.progress = undefined;
}

// 1. ---------------------------------------------------------------- actions outside the rollout

function recordAction(view: View, w: Working, value: string, verb: string, nonce: string | undefined, result: Pick<LastAction, 'outcome' | 'message'>): void {
  w.lastAction = { value, action: verb, ...(nonce ? { nonce } : {}), ...result, time: view.now };
  w.events.push({ type: result.outcome === 'Applied' ? 'Normal' : 'Warning', reason: `Action${result.outcome}`, message: `${value}: ${result.message}` });
}

function takeAction(view: View, w: Working): void {
  const action = pendingAction(view.model);
  if (!action) return;
  if ('invalid' in action) return recordAction(view, w, action.value, 'unknown', undefined, { outcome: 'Invalid', message: action.invalid });
  if (action.verb === 'retry') {
    const failed = w.failed.some((f) => f.revision === view.desired);
    if (failed) w.failed = w.failed.filter((f) => f.revision !== view.desired);
    return recordAction(view, w, action.value, action.verb, action.nonce, failed ? { outcome: 'Applied', message: `revision ${view.desired} will be deployed again` } : { outcome: 'Ignored', message: `revision ${view.desired} has not failed; nothing to retry` });
  }
  w.action = { value: action.value, verb: action.verb, ...(action.nonce ? { nonce: action.nonce } : {}) };
}

// 2. ---------------------------------------------------------------- revisions

function placeRevisions(view: View, w: Working): void {
  const { desired, gate } = view;
  if (w.stable?.revision === desired) return supersede(view, w, `spec is back to stable revision ${desired}`);
  if (w.canary?.revision === desired) return;
  if (w.failed.some((f) => f.revision === desired) || gate.state !== 'ok') return supersede(view, w, `spec changed to revision ${desired}`);
  const ref = { revision: desired, digest: view.model.spec.model.digest, since: view.now };
  w.events.push({ type: 'Normal', reason: 'RevisionCreated', message: `revision ${desired} created for ${ref.digest}`, revision: desired });
  supersede(view, w, `spec changed to revision ${desired}`);
  // With nothing serving (no stable, or a stable without available pods) there is nothing to protect.
  if (!w.stable || health(view, w.stable.revision, 1).availableReplicas === 0) {
    if (w.stable) retire(view, w, w.stable, 0);
    w.stable = ref;
  } else {
    w.canary = ref;
    w.progress = initialProgress(desired, view.now);
  }
  w.scalingDown = w.scalingDown.filter((s) => s.revision !== desired);
}

// 3. ---------------------------------------------------------------- the canary's rollout

function rollBack(view: View, w: Working, reason: string, message: string, numbers: Partial<RollbackStatus> = {}): void {
  const canary = w.canary;
  if (!canary) return;
  w.failed = [...w.failed.filter((f) => f.revision !== canary.revision), { revision: canary.revision, digest: canary.digest, reason, time: view.now }];
  w.lastRollback = { time: view.now, revision: canary.revision, digest: canary.digest, reason, message, ...numbers };
  const where = w.progress ? ` at step ${w.progress.step + 1} (${w.progress.weight}%)` : '';
  w.events.push({
    type: 'Warning',
    reason: reason === 'ManualAbort' ? 'Aborted' : 'RolledBack',
    message: `revision ${canary.revision} (${canary.digest}) rolled back${where}: ${message}; ${w.stable ? `stable ${w.stable.revision} keeps serving` : 'nothing else to serve'}`,
    revision: canary.revision,
  });
  w.outcome = reason === 'ManualAbort' ? 'aborted' : 'rolled-back';
  w.routeDecision = formatRouteDecision({ outcome: 'rolled-back', revision: canary.revision, reason, atSeconds: Math.floor(view.nowMs / 1000) });
  retire(view, w, canary, canaryDrainMs(view));
  w.canary = undefined;
  w.progress = undefined;
}

function promote(view: View, w: Working, why: string): void {
  const canary = w.canary;
  if (!canary) return;
  if (w.stable) retire(view, w, w.stable, view.scaleDownMs);
  w.events.push({ type: 'Normal', reason: 'Promoted', message: `revision ${canary.revision} (${canary.digest}) is now stable: ${why}`, revision: canary.revision });
  w.stable = { revision: canary.revision, digest: canary.digest, since: view.now };
  w.canary = undefined;
  w.progress = undefined;
  w.outcome = 'promoted';
  w.routeDecision = formatRouteDecision({ outcome: 'promoted', revision: canary.revision, atSeconds: Math.floor(view.nowMs / 1000) });
}

function progressCanary(view: View, w: Working): void {
  const canary = w.canary;
  if (!canary) {
    if (w.action) recordAction(view, w, w.action.value, w.action.verb, w.action.nonce, { outcome: 'Ignored', message: `no rollout in progress to ${w.action.verb}` });
    w.action = undefined;
    return;
  }
  // The route already carries a decision about this canary whose status write was lost (a restart
  // between the two writes): finish it rather than decide again and move traffic back.
  const route = observedRoute(view);
  const pending = pendingRouteDecision(route, canary);
  if (pending) {
    const kept = route?.metadata.annotations?.[ANNOTATION_ROUTE_DECISION];
    if (pending.outcome === 'rolled-back') rollBack(view, w, pending.reason, `${pending.reason}, finished after a restart: the HTTPRoute had already taken all traffic off the canary (the numbers were not saved)`);
    else promote(view, w, 'finished after a restart: the HTTPRoute already sent all traffic to it');
    w.routeDecision = kept;
    return;
  }
  const progress = w.progress?.revision === canary.revision ? w.progress : recoveredProgress(view, canary);
  const judged = judgeMeasurements(view.model, progress, view.input.measurements);
  if (judged) w.lastAnalysis = judged.record;
  const canaryDep = health(view, canary.revision, 1);
  const analysis = view.model.spec.rollout.analysis;
  const last = w.lastAnalysis && w.lastAnalysis.revision === canary.revision && !judged ? { timeMs: Date.parse(w.lastAnalysis.time), verdict: w.lastAnalysis.verdict } : undefined;
  const decision = decideRollout(progress, {
    nowMs: view.nowMs,
    steps: view.steps,
    canaryReadyFor: (step) => health(view, canary.revision, replicasFor(view.model, 'canary', stepShare(view.steps[step]))).rolledOut,
    ...(canaryDep.deadlineExceeded !== undefined ? { canaryDeadlineExceeded: canaryDep.deadlineExceeded } : {}),
    progressDeadlineMs: view.deadlineMs,
    trafficAvailable: view.trafficAvailable,
    ...(view.analysisInvalid ? { analysisInvalid: view.analysisInvalid } : {}),
    ...(analysis ? { analysis: { maxInconclusive: analysis.maxInconclusive, maxErrors: analysis.maxErrors } } : {}),
    ...(judged ? { measured: judged.measured } : {}),
    ...(last ? { lastMeasurement: last } : {}),
    ...(w.action ? { action: w.action.verb } : {}),
  });
  if (w.action && decision.actionResult) recordAction(view, w, w.action.value, w.action.verb, w.action.nonce, decision.actionResult);
  w.action = undefined;
  for (const e of decision.events) w.events.push({ ...e, revision: canary.revision });
  w.progress = decision.progress;
  if (decision.kind === 'promote') return promote(view, w, decision.why);
  if (decision.kind === 'rollback') {
    const f = decision.failure;
    return rollBack(view, w, decision.reason, decision.message, f ? { slo: f.slo, requests: f.requests, badEvents: f.badEvents, burnRates: f.burnRates, window: f.window, lowerBound: f.lowerBound, threshold: f.threshold, judgement: f.judgement, ...(f.stable ? { stable: f.stable } : {}) } : {});
  }
  const p = decision.progress;
  if (p.state === 'Scaling') requeue(w, Date.parse(p.stateSince) + view.deadlineMs);
  const pauseMs = view.steps[p.step]?.pauseMs;
  if (p.state === 'Holding' && pauseMs !== undefined) requeue(w, Date.parse(p.stateSince) + pauseMs);
  const due = nextMeasurementAt({ ...view.model, status: { ...view.model.status, ...(w.lastAnalysis ? { lastAnalysis: w.lastAnalysis } : {}) } }, p);
  if (due !== undefined) requeue(w, due);
}

/**
 * A canary whose status.rollout is gone (dropped as invalid): it restarts its current step, known
 * from status.currentStep/currentWeight, from Scaling without lowering the weight. The looks it had
 * are unknown, so they are taken as many as could have happened since it started (one per interval):
 * counting too many keeps the statistics valid, too few would not.
 */
function recoveredProgress(view: View, canary: RevisionRef): RolloutProgress {
  const prev = view.model.status;
  const start = initialProgress(canary.revision, view.now);
  if (prev.canary?.revision !== canary.revision) return start;
  const intervalMs = parseDuration(view.model.spec.rollout.analysis?.interval ?? '') ?? 0;
  const looks = intervalMs > 0 ? Math.max(0, Math.ceil((view.nowMs - Date.parse(canary.since)) / intervalMs)) : 0;
  return { ...start, step: prev.currentStep ?? 0, weight: prev.currentWeight ?? 0, looks };
}

// 4. ---------------------------------------------------------------- retired revisions

function expireRetired(view: View, w: Working): void {
  const active = new Set([w.stable?.revision, w.canary?.revision].filter((r): r is string => !!r));
  w.scalingDown = w.scalingDown.filter((s) => !active.has(s.revision));
  for (const s of w.scalingDown.filter((s) => Date.parse(s.deleteAfter) <= view.nowMs)) {
    w.events.push({ type: 'Normal', reason: 'ScaledDown', message: `revision ${s.revision} children deleted`, revision: s.revision });
  }
  w.scalingDown = w.scalingDown.filter((s) => Date.parse(s.deleteAfter) > view.nowMs);
  for (const s of w.scalingDown) requeue(w, Date.parse(s.deleteAfter));
}

// ---------------------------------------------------------------- the pipeline

function viewOf(input: ReconcileInput): View {
  const { model } = input;
  const gatewayAPI = input.capabilities?.gatewayAPI ?? true;
  const analysis = model.spec.rollout.analysis;
  const issues = analysis ? validateAnalysis(analysis, input.config.scrapeIntervalSeconds ?? DEFAULT_SCRAPE_INTERVAL_SECONDS) : [];
  return {
    ...(issues.length > 0 ? { analysisInvalid: issues.map((i) => i.message).join('; ') } : {}),
    input,
    model,
    now: input.now.toISOString(),
    nowMs: input.now.getTime(),
    desired: computeRevision(model, input.config),
    gate: verificationGate(input),
    deadlineMs: parseDuration(model.spec.rollout.progressDeadline) ?? 600_000,
    scaleDownMs: parseDuration(model.spec.rollout.scaleDownDelay) ?? 30_000,
    deployments: (input.children.deployments ?? []).filter((o) => isOwnedBy(o, model)),
    trafficAvailable: model.spec.traffic.provider === 'none' || gatewayAPI,
    steps: model.spec.rollout.steps.map((s) => {
      const pauseMs = s.pause === undefined ? undefined : parseDuration(s.pause);
      // A shadow step gives the canary no traffic: weight 0, and `shadow` percent mirrored.
      const step: StepPlan = s.shadow !== undefined ? { weight: 0, shadow: s.shadow } : { weight: s.weight ?? 0 };
      if (pauseMs !== undefined) step.pauseMs = pauseMs;
      return step;
    }),
  };
}

export function reconcile(input: ReconcileInput): ReconcileOutput {
  const prev = input.model.status;
  // Being deleted: the garbage collector removes the children; write nothing.
  if (input.model.metadata.deletionTimestamp) return { apply: [], delete: [], status: prev, events: [] };
  const view = viewOf(input);
  const read = readProgress(prev.rollout);
  const w: Working = {
    ...(prev.stable ? { stable: prev.stable } : {}),
    ...(prev.canary ? { canary: prev.canary } : {}),
    ...(read.ok && read.progress ? { progress: read.progress } : {}),
    // parseStatus drops an invalid status.rollout whole; a canary without one lost its place.
    ...(!read.ok ? { progressProblem: read.problem } : prev.canary && !read.progress ? { progressProblem: 'status.rollout is missing or was invalid' } : {}),
    failed: prev.failedRevisions ?? [],
    scalingDown: prev.scalingDown ?? [],
    ...(prev.lastRollback ? { lastRollback: prev.lastRollback } : {}),
    ...(prev.lastAnalysis ? { lastAnalysis: prev.lastAnalysis } : {}),
    ...(prev.lastAction ? { lastAction: prev.lastAction } : {}),
    events: [],
  };
  if (w.progressProblem && w.canary) {
    w.events.push({ type: 'Warning', reason: 'RolloutStateInvalid', message: `${w.progressProblem}; the canary restarts its current step`, revision: w.canary.revision });
  }
  takeAction(view, w);
  placeRevisions(view, w);
  progressCanary(view, w);
  expireRetired(view, w);
  const children = desiredChildren(view, w);
  const { status, events } = statusAndConditions(view, w, children.problems);
  const allEvents = [...w.events, ...events];
  const out: ReconcileOutput = { apply: children.apply, delete: children.delete, status, events: allEvents };
  if (w.requeueAt !== undefined) out.requeueAfterMs = Math.max(1000, w.requeueAt - view.nowMs);
  if (w.outcome) out.rolloutOutcome = w.outcome;
  return out;
}

export { sameJson } from './canonical-json.ts';
