// The rollout state machine: [state, observations, now] → transition, as an ordered table of rows
// (the first row whose state and guard match decides). Pure: the caller gathers the observations
// (canary pods, this reconcile's analysis verdict, the pending manual action) and carries out the
// decision (status, children, route, Events).
//
// States (status.rollout.state):
//   Scaling  — the canary's pods for step k are starting; traffic stays at the previous weight.
//   Holding  — step k's weight is set; the analysis measures every interval; the pause runs.
//   Paused   — waiting for a human: a step without pause (WaitingForPromote), too many
//              inconclusive measurements (WaitingForData), the pause action (ManualPause), or no
//              traffic provider to set a weight with (TrafficProviderUnavailable).
// Measurements keep running in Holding and Paused: a failure rolls back whatever the state.
import type { PauseReason, RolloutProgress, RolloutState, Verdict } from '../../api/types.ts';

export type RolloutAction = 'promote' | 'abort' | 'pause' | 'resume';

/** The numbers a failed measurement carries into status.lastRollback. */
export interface FailureNumbers {
  slo: string;
  window: string;
  requests: number;
  badEvents: number;
  burnRates: { window: string; burnRate: number }[];
  lowerBound: number;
  threshold: number;
  /** BudgetBurning, WorseThanStable or NoData. */
  judgement: string;
  stable?: { revision: string; requests: number; badEvents: number };
}

/** This reconcile's judged measurement of the canary. */
export interface Measured {
  verdict: Verdict;
  reason: string;
  message: string;
  failure?: FailureNumbers;
}

export interface StepPlan {
  /** Percent of traffic the canary answers; 0 in a shadow step. */
  weight: number;
  /** A shadow step: percent of requests mirrored to the canary (answered by stable). */
  shadow?: number;
  /** Undefined: hold until a promote action. */
  pauseMs?: number;
}

export interface RolloutObservation {
  nowMs: number;
  steps: readonly StepPlan[];
  /** Whether the canary's Deployment has every pod that step `step` wants available. */
  canaryReadyFor: (step: number) => boolean;
  /** The Deployment controller gave up (its ProgressDeadlineExceeded condition), with its message. */
  canaryDeadlineExceeded?: string;
  progressDeadlineMs: number;
  /** False when the traffic provider cannot set weights (e.g. the Gateway API CRDs are missing). */
  trafficAvailable: boolean;
  /** Why spec.rollout.analysis cannot be measured (e.g. a window shorter than two scrapes), if so. */
  analysisInvalid?: string;
  analysis?: { maxInconclusive: number; maxErrors: number };
  /** Judged in this reconcile; undefined when no measurement was due. */
  measured?: Measured;
  /** The newest measurement of this canary before this reconcile (status.lastAnalysis). */
  lastMeasurement?: { timeMs: number; verdict: Verdict };
  action?: RolloutAction;
}

export type RollbackReason = 'AnalysisFailed' | 'AnalysisError' | 'ProgressDeadlineExceeded' | 'ManualAbort';

export interface MachineEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

export interface ActionResult {
  outcome: 'Applied' | 'Ignored';
  message: string;
}

export type RolloutDecision =
  | { kind: 'continue'; progress: RolloutProgress; events: MachineEvent[]; actionResult?: ActionResult }
  | { kind: 'promote'; why: string; progress: RolloutProgress; events: MachineEvent[]; actionResult?: ActionResult }
  | { kind: 'rollback'; reason: RollbackReason; message: string; failure?: FailureNumbers; progress: RolloutProgress; events: MachineEvent[]; actionResult?: ActionResult };

type Next =
  | { to: RolloutState; patch?: Partial<RolloutProgress>; event?: MachineEvent; clearPause?: boolean }
  | { promote: string }
  | { rollback: RollbackReason; message: string; failure?: FailureNumbers };

interface Row {
  name: string;
  from: readonly RolloutState[] | '*';
  /** The action this row consumes, if any. */
  action?: RolloutAction;
  when: (p: RolloutProgress, o: RolloutObservation) => boolean;
  then: (p: RolloutProgress, o: RolloutObservation) => Next;
  /** What to tell the user about the consumed action. */
  says?: (p: RolloutProgress, o: RolloutObservation) => string;
}

const always = () => true;
/** The share of requests a step sends the canary, answered or mirrored (its pods are sized to it). */
export const stepShare = (step: StepPlan | undefined): number | undefined => (step ? (step.shadow ?? step.weight) : undefined);
/** The percent mirrored to the canary now: in a shadow step once it holds (pods ready), else none. */
export function mirroredShare(progress: RolloutProgress | undefined, steps: readonly StepPlan[]): number | undefined {
  if (!progress || progress.state === 'Scaling' || progress.pauseReason === 'AnalysisInvalid' || progress.pauseReason === 'TrafficProviderUnavailable') return undefined;
  return steps[progress.step]?.shadow;
}
const stepLabel = (p: RolloutProgress, o: RolloutObservation) => `step ${p.step + 1}/${o.steps.length}`;
const pauseElapsed = (p: RolloutProgress, o: RolloutObservation): boolean => {
  const pauseMs = o.steps[p.step]?.pauseMs;
  return pauseMs !== undefined && o.nowMs >= Date.parse(p.stateSince) + pauseMs;
};
/**
 * The newest measurement, taken after this step began, passed (or the rollout has no analysis).
 * Strictly after: a step entered in this very reconcile has not been measured at its weight yet.
 */
const lastPassedThisStep = (p: RolloutProgress, o: RolloutObservation): boolean => {
  if (!o.analysis) return true;
  const last = o.measured ? { timeMs: o.nowMs, verdict: o.measured.verdict } : o.lastMeasurement;
  return !!last && last.verdict === 'pass' && last.timeMs > Date.parse(p.stateSince);
};
/** The next step starts afresh: inconclusive results of the last one do not carry over. */
const advance = (p: RolloutProgress, o: RolloutObservation, why: string): Next =>
  p.step + 1 >= o.steps.length ? { promote: why } : { to: 'Scaling', patch: { step: p.step + 1, consecutiveInconclusive: 0 } };
const pause = (reason: PauseReason, message: string, extra: Partial<RolloutProgress> = {}): Next => ({ to: 'Paused', patch: { ...extra, pauseReason: reason }, event: { type: 'Normal', reason: 'Paused', message } });

/** The transition table, in priority order. */
export const TRANSITIONS: readonly Row[] = [
  { name: 'abort', from: '*', action: 'abort', when: always, then: () => ({ rollback: 'ManualAbort', message: 'aborted by the abort action' }), says: () => 'canary aborted' },
  { name: 'analysis-failed', from: '*', when: (_p, o) => o.measured?.verdict === 'fail', then: (_p, o) => ({ rollback: 'AnalysisFailed', message: o.measured?.message ?? 'analysis failed', ...(o.measured?.failure ? { failure: o.measured.failure } : {}) }) },
  {
    name: 'analysis-errors',
    from: '*',
    when: (p, o) => !!o.analysis && p.consecutiveErrors >= o.analysis.maxErrors,
    then: (p, o) => ({ rollback: 'AnalysisError', message: `${p.consecutiveErrors} measurements in a row could not be taken (last: ${o.measured?.message ?? 'query error'}); retry with the retry action once Prometheus answers` }),
  },
  {
    name: 'pods-deadline',
    from: ['Scaling'],
    when: (p, o) => o.canaryDeadlineExceeded !== undefined || o.nowMs >= Date.parse(p.stateSince) + o.progressDeadlineMs,
    then: (_p, o) => ({ rollback: 'ProgressDeadlineExceeded', message: `canary pods not available within the progress deadline${o.canaryDeadlineExceeded ? ` (${o.canaryDeadlineExceeded})` : ''}` }),
  },
  // spec.rollout.steps is not part of the revision: an edit mid-rollout can leave fewer steps than
  // the canary has passed. It has passed them all, then.
  { name: 'steps-removed', from: '*', when: (p, o) => o.steps.length > 0 && p.step >= o.steps.length, then: (p) => ({ promote: `spec.rollout.steps now has no step ${p.step + 1}; all remaining steps passed` }) },
  { name: 'promote-before-pods', from: ['Scaling'], action: 'promote', when: (p, o) => !o.canaryReadyFor(p.step), then: (p) => ({ to: p.state }), says: () => 'the canary has not got all its pods available yet; promote again once it has' },
  { name: 'pods-ready-no-steps', from: ['Scaling'], when: (p, o) => o.steps.length === 0 && o.canaryReadyFor(p.step), then: () => ({ promote: 'all pods available' }) },
  {
    name: 'analysis-invalid',
    from: ['Scaling', 'Holding'],
    when: (p, o) => o.analysisInvalid !== undefined && (p.state === 'Holding' || o.canaryReadyFor(p.step)),
    // Nothing can judge the canary: it gets no traffic until the spec is fixed.
    then: (_p, o) => pause('AnalysisInvalid', `spec.rollout.analysis cannot be measured, traffic taken off the canary: ${o.analysisInvalid}`, { weight: 0 }),
  },
  { name: 'analysis-fixed', from: ['Paused'], when: (p, o) => p.pauseReason === 'AnalysisInvalid' && o.analysisInvalid === undefined, then: () => ({ to: 'Scaling', clearPause: true }) },
  {
    name: 'pods-ready-no-traffic',
    from: ['Scaling'],
    when: (p, o) => !o.trafficAvailable && o.canaryReadyFor(p.step),
    then: () => pause('TrafficProviderUnavailable', 'canary pods are available but no traffic provider can send them a share; see the Degraded condition'),
  },
  {
    name: 'pods-ready',
    from: ['Scaling'],
    when: (p, o) => o.canaryReadyFor(p.step),
    then: (p, o) => {
      const step = o.steps[p.step];
      const weight = step?.weight ?? 0;
      const hold = step?.pauseMs === undefined ? 'until a promote action' : `for ${Math.round(step.pauseMs / 1000)}s`;
      const what = step?.shadow !== undefined ? `${step.shadow}% of requests mirrored to canary ${p.revision} (shadow: every answer from stable)` : `canary ${p.revision} at ${weight}% of traffic`;
      return { to: 'Holding', patch: { weight, servingSince: p.servingSince ?? new Date(o.nowMs).toISOString() }, event: { type: 'Normal', reason: 'StepStarted', message: `${stepLabel(p, o)}: ${what}, holding ${hold}` } };
    },
  },
  { name: 'traffic-back', from: ['Paused'], when: (p, o) => p.pauseReason === 'TrafficProviderUnavailable' && o.trafficAvailable, then: () => ({ to: 'Scaling', clearPause: true }) },
  { name: 'promote', from: ['Holding', 'Paused'], action: 'promote', when: (p) => p.pauseReason !== 'TrafficProviderUnavailable' && p.pauseReason !== 'AnalysisInvalid', then: (p, o) => advance(p, o, 'promoted by the promote action'), says: (p, o) => (p.step + 1 >= o.steps.length ? 'canary promoted' : `advanced past ${stepLabel(p, o)}`) },
  { name: 'pause', from: ['Holding'], action: 'pause', when: always, then: (p, o) => pause('ManualPause', `paused by the pause action at ${stepLabel(p, o)} (${p.weight}%)`), says: () => 'rollout paused' },
  {
    name: 'resume',
    from: ['Paused'],
    action: 'resume',
    when: (p) => p.pauseReason === 'ManualPause' || p.pauseReason === 'WaitingForData',
    then: () => ({ to: 'Holding', patch: { consecutiveInconclusive: 0 }, clearPause: true, event: { type: 'Normal', reason: 'Resumed', message: 'rollout resumed by the resume action' } }),
    says: () => 'rollout resumed',
  },
  {
    name: 'waiting-for-data',
    from: ['Holding'],
    when: (p, o) => !!o.analysis && o.analysis.maxInconclusive > 0 && p.consecutiveInconclusive >= o.analysis.maxInconclusive,
    then: (p, o) => pause('WaitingForData', `${p.consecutiveInconclusive} inconclusive measurements in a row (${o.measured?.message ?? 'not enough data'}); promote or abort`),
  },
  { name: 'step-without-pause', from: ['Holding'], when: (p, o) => o.steps[p.step]?.pauseMs === undefined, then: (p, o) => pause('WaitingForPromote', `${stepLabel(p, o)} has no pause: waiting for the promote action`) },
  { name: 'step-passed', from: ['Holding'], when: (p, o) => pauseElapsed(p, o) && lastPassedThisStep(p, o), then: (p, o) => advance(p, o, `all ${o.steps.length} steps passed`) },
];

function bookkeep(p: RolloutProgress, m: Measured | undefined): RolloutProgress {
  if (!m) return p;
  return {
    ...p,
    looks: p.looks + 1,
    consecutiveInconclusive: m.verdict === 'inconclusive' ? p.consecutiveInconclusive + 1 : m.verdict === 'pass' ? 0 : p.consecutiveInconclusive,
    consecutiveErrors: m.verdict === 'error' ? p.consecutiveErrors + 1 : 0,
  };
}

const matches = (row: Row, p: RolloutProgress, o: RolloutObservation, action: RolloutAction | undefined) =>
  (row.from === '*' || row.from.includes(p.state)) && (row.action === undefined || row.action === action) && row.when(p, o);

/**
 * Runs the table until the rollout rests: a step whose pods are already available moves on in the
 * same reconcile, bounded by the number of steps. The action is consumed by the first row that
 * names it; an action no row takes is reported as ignored.
 */
export function decideRollout(start: RolloutProgress, o: RolloutObservation): RolloutDecision {
  let p = bookkeep(start, o.measured);
  let action = o.action;
  let actionResult: ActionResult | undefined;
  const events: MachineEvent[] = [];
  const now = new Date(o.nowMs).toISOString();
  for (let i = 0; i < o.steps.length + 4; i++) {
    const row = TRANSITIONS.find((r) => matches(r, p, o, action));
    if (!row) break;
    if (row.action) {
      actionResult = { outcome: row.name === 'promote-before-pods' ? 'Ignored' : 'Applied', message: row.says?.(p, o) ?? row.name };
      action = undefined;
    }
    const next = row.then(p, o);
    if ('promote' in next) return { kind: 'promote', why: next.promote, progress: p, events, ...(actionResult ? { actionResult } : {}) };
    if ('rollback' in next) return { kind: 'rollback', reason: next.rollback, message: next.message, ...(next.failure ? { failure: next.failure } : {}), progress: p, events, ...(actionResult ? { actionResult } : {}) };
    const changed = next.to !== p.state || next.patch !== undefined || next.clearPause;
    if (!changed) break;
    const { pauseReason: _old, ...rest } = p;
    p = { ...(next.clearPause || next.to !== 'Paused' ? rest : p), ...next.patch, state: next.to, stateSince: next.to === p.state ? p.stateSince : now };
    if (next.event) events.push(next.event);
  }
  if (action) actionResult = { outcome: 'Ignored', message: ignoredMessage(action, p) };
  return { kind: 'continue', progress: p, events, ...(actionResult ? { actionResult } : {}) };
}

function ignoredMessage(action: RolloutAction, p: RolloutProgress): string {
  if (action === 'pause') return p.state === 'Paused' ? `already paused (${p.pauseReason})` : 'the canary is still starting its pods; pause once it holds a step';
  if (action === 'resume') return p.state === 'Paused' ? `paused for ${p.pauseReason}: resume does not apply; use promote or abort` : 'the rollout is not paused';
  return `${action} does not apply in state ${p.state}`;
}
