// The working record of one reconcile: what the pipeline's steps read (View, derived once from the
// input) and what they change (Working). Its own module so the steps in other files (children plan,
// status and conditions) depend on it rather than on reconcile.ts.
import type { AnalysisStatus, FailedRevision, LastAction, OnnxModel, RevisionRef, RollbackStatus, RolloutProgress, ScalingDownRevision } from '../api/types.ts';
import { revisionChildName } from './names.ts';
import { deploymentHealth, isOwnedBy, revisionOf, type DeploymentHealth } from './observe.ts';
import type { RolloutAction, StepPlan } from './rollout/machine.ts';
import type { EventSpec, KubeObject, ReconcileInput, RolloutOutcome } from './types.ts';
import type { Gate } from './verification-gate.ts';

/** What the steps read: derived once from the input. */
export interface View {
  input: ReconcileInput;
  model: OnnxModel;
  now: string;
  nowMs: number;
  desired: string;
  gate: Gate;
  deadlineMs: number;
  scaleDownMs: number;
  deployments: KubeObject[];
  trafficAvailable: boolean;
  steps: StepPlan[];
  /** What makes spec.rollout.analysis unmeasurable (validateAnalysis), joined for people; undefined when fine. */
  analysisInvalid?: string;
}

/** What the steps change. */
export interface Working {
  stable?: RevisionRef;
  canary?: RevisionRef;
  progress?: RolloutProgress;
  failed: FailedRevision[];
  scalingDown: ScalingDownRevision[];
  lastRollback?: RollbackStatus;
  lastAnalysis?: AnalysisStatus;
  lastAction?: LastAction;
  events: EventSpec[];
  outcome?: RolloutOutcome;
  requeueAt?: number;
  /** A canary action for the state machine (consumed there or reported ignored). */
  action?: { value: string; verb: RolloutAction; nonce?: string };
  /** The decision the HTTPRoute write carries (rollout/route-decision.ts); undefined keeps the observed one. */
  routeDecision?: string;
  /** status.rollout could not be read; the canary restarts its current step from Scaling. */
  progressProblem?: string;
}

/** The model's own HTTPRoute as observed, if any. */
export function observedRoute(view: View): KubeObject | undefined {
  return (view.input.children.httpRoutes ?? []).find((r) => r.metadata.name === view.model.metadata.name && isOwnedBy(r, view.model));
}

export function health(view: View, rev: string | undefined, want: number): DeploymentHealth {
  const dep = rev ? view.deployments.find((d) => revisionOf(d) === rev && d.metadata.name === revisionChildName(view.model.metadata.name, rev)) : undefined;
  return deploymentHealth(dep, want);
}
