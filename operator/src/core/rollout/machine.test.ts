import type { RolloutProgress } from '../../api/types.ts';
import { decideRollout, type RolloutDecision, type RolloutObservation } from './machine.ts';

const T0 = Date.parse('2026-01-01T00:00:00.000Z');
const iso = (s: number) => new Date(T0 + s * 1000).toISOString();
const steps = [
  { weight: 10, pauseMs: 30_000 },
  { weight: 50, pauseMs: 30_000 },
];

function progress(p: Partial<RolloutProgress> = {}): RolloutProgress {
  return { revision: 'c1', state: 'Holding', step: 0, weight: 10, stateSince: iso(0), looks: 0, consecutiveInconclusive: 0, consecutiveErrors: 0, ...p };
}
function obs(o: Partial<RolloutObservation> = {}): RolloutObservation {
  return { nowMs: T0 + 10_000, steps, canaryReadyFor: () => true, progressDeadlineMs: 600_000, trafficAvailable: true, analysis: { maxInconclusive: 3, maxErrors: 3 }, ...o };
}
const summary = (d: RolloutDecision) =>
  d.kind === 'continue' ? `${d.progress.state}:${d.progress.step}:${d.progress.weight}${d.progress.pauseReason ? `:${d.progress.pauseReason}` : ''}` : d.kind === 'promote' ? 'promote' : `rollback:${d.reason}`;
const pass = { verdict: 'pass' as const, reason: 'WithinBudget', message: 'ok' };
const inconclusive = { verdict: 'inconclusive' as const, reason: 'NotEnoughData', message: 'too few requests' };
const error = { verdict: 'error' as const, reason: 'QueryError', message: 'connection refused' };
const fail = {
  verdict: 'fail' as const,
  reason: 'BudgetBurning',
  message: 'availability burns 50x',
  failure: { slo: 'availability', window: '1m/5m', requests: 40, badEvents: 10, burnRates: [{ window: '1m', burnRate: 250 }], lowerBound: 0.12, threshold: 0.0144, judgement: 'BudgetBurning' },
};

describe('rollout state machine: transition table', () => {
  const rows: [string, RolloutProgress, Partial<RolloutObservation>, string][] = [
    ['Scaling, pods not ready: stays', progress({ state: 'Scaling', weight: 0 }), { canaryReadyFor: () => false }, 'Scaling:0:0'],
    ['Scaling, pods ready: holds step 0 at its weight', progress({ state: 'Scaling', weight: 0 }), {}, 'Holding:0:10'],
    ['Scaling, past the progress deadline: rolls back', progress({ state: 'Scaling', weight: 0 }), { canaryReadyFor: () => false, nowMs: T0 + 600_000 }, 'rollback:ProgressDeadlineExceeded'],
    ['Scaling, Deployment gave up: rolls back', progress({ state: 'Scaling', weight: 0 }), { canaryReadyFor: () => false, canaryDeadlineExceeded: 'timed out' }, 'rollback:ProgressDeadlineExceeded'],
    ['Scaling, no steps, pods ready: promotes', progress({ state: 'Scaling', weight: 0 }), { steps: [], analysis: undefined }, 'promote'],
    ['Scaling, no traffic provider: pauses', progress({ state: 'Scaling', weight: 0 }), { trafficAvailable: false }, 'Paused:0:0:TrafficProviderUnavailable'],
    ['Holding, pause running: stays', progress(), { measured: pass }, 'Holding:0:10'],
    ['Holding, pause over, last measurement passed: next step scales', progress(), { nowMs: T0 + 30_000, measured: pass, canaryReadyFor: (s) => s === 0 }, 'Scaling:1:10'],
    ['Holding, pause over, pods already there: next step holds at once', progress(), { nowMs: T0 + 30_000, measured: pass }, 'Holding:1:50'],
    ['Holding, pause over but last measurement inconclusive: stays', progress(), { nowMs: T0 + 30_000, measured: inconclusive }, 'Holding:0:10'],
    ['Holding, pause over, pass measured before this step: stays', progress({ stateSince: iso(5) }), { nowMs: T0 + 40_000, lastMeasurement: { timeMs: T0 + 1000, verdict: 'pass' } }, 'Holding:0:10'],
    ['Holding, pause over, no analysis: advances', progress(), { nowMs: T0 + 30_000, analysis: undefined }, 'Holding:1:50'],
    ['Holding, last step passed: promotes', progress({ step: 1, weight: 50 }), { nowMs: T0 + 30_000, measured: pass }, 'promote'],
    ['Holding, a failed measurement: rolls back', progress(), { measured: fail }, 'rollback:AnalysisFailed'],
    ['Paused, a failed measurement still rolls back', progress({ state: 'Paused', pauseReason: 'WaitingForPromote' }), { measured: fail }, 'rollback:AnalysisFailed'],
    ['Holding, third inconclusive in a row: pauses for data', progress({ consecutiveInconclusive: 2 }), { measured: inconclusive }, 'Paused:0:10:WaitingForData'],
    ['Holding, maxInconclusive 0: never pauses', progress({ consecutiveInconclusive: 20 }), { measured: inconclusive, analysis: { maxInconclusive: 0, maxErrors: 3 } }, 'Holding:0:10'],
    ['Holding, an error: holds the weight', progress(), { measured: error }, 'Holding:0:10'],
    ['Holding, third error in a row: rolls back AnalysisError', progress({ consecutiveErrors: 2 }), { measured: error }, 'rollback:AnalysisError'],
    ['Holding, a step without pause: waits for promote', progress(), { steps: [{ weight: 10 }] }, 'Paused:0:10:WaitingForPromote'],
    ['pause 0s: one pass advances one step only (the next is not measured yet)', progress(), { steps: [{ weight: 10, pauseMs: 0 }, { weight: 50, pauseMs: 0 }], measured: pass }, 'Holding:1:50'],
    ['steps removed from the spec mid-rollout: the canary has passed them all', progress({ state: 'Scaling', step: 2, weight: 50 }), {}, 'promote'],
    ['Scaling, pods ready, analysis unmeasurable: pauses before any traffic', progress({ state: 'Scaling', weight: 0 }), { analysisInvalid: 'window too short' }, 'Paused:0:0:AnalysisInvalid'],
    ['Holding, analysis becomes unmeasurable: pauses and takes traffic off the canary', progress(), { analysisInvalid: 'window too short' }, 'Paused:0:0:AnalysisInvalid'],
    ['Paused on an invalid analysis, fixed: the step starts', progress({ state: 'Paused', pauseReason: 'AnalysisInvalid', weight: 0 }), {}, 'Holding:0:10'],
  ];
  it.each(rows)('%s', (_name, p, o, expected) => {
    expect(summary(decideRollout(p, obs(o)))).toBe(expected);
  });
});

describe('rollout state machine: actions', () => {
  const rows: [string, RolloutProgress, Partial<RolloutObservation>, string, string][] = [
    ['abort in Holding', progress(), { action: 'abort' }, 'rollback:ManualAbort', 'Applied'],
    ['abort in Scaling', progress({ state: 'Scaling', weight: 0 }), { action: 'abort', canaryReadyFor: () => false }, 'rollback:ManualAbort', 'Applied'],
    ['promote in Scaling before the pods', progress({ state: 'Scaling', weight: 0 }), { action: 'promote', canaryReadyFor: () => false }, 'Scaling:0:0', 'Ignored'],
    ['promote during an indefinite pause: next step', progress({ state: 'Paused', pauseReason: 'WaitingForPromote' }), { action: 'promote' }, 'Holding:1:50', 'Applied'],
    ['promote at the last step: promotion', progress({ step: 1, weight: 50 }), { action: 'promote' }, 'promote', 'Applied'],
    ['promote while waiting for data: the next step is judged afresh', progress({ state: 'Paused', pauseReason: 'WaitingForData', consecutiveInconclusive: 3 }), { action: 'promote' }, 'Holding:1:50', 'Applied'],
    ['pause in Holding', progress(), { action: 'pause' }, 'Paused:0:10:ManualPause', 'Applied'],
    ['resume a manual pause', progress({ state: 'Paused', pauseReason: 'ManualPause' }), { action: 'resume' }, 'Holding:0:10', 'Applied'],
    ['resume a step that waits for promote', progress({ state: 'Paused', pauseReason: 'WaitingForPromote' }), { action: 'resume' }, 'Paused:0:10:WaitingForPromote', 'Ignored'],
    ['pause while paused', progress({ state: 'Paused', pauseReason: 'ManualPause' }), { action: 'pause' }, 'Paused:0:10:ManualPause', 'Ignored'],
  ];
  it.each(rows)('%s', (_name, p, o, expected, outcome) => {
    const d = decideRollout(p, obs(o));
    expect(summary(d)).toBe(expected);
    expect(d.actionResult?.outcome).toBe(outcome);
  });

  it('a manual pause does not stop a failing canary from being rolled back', () => {
    expect(summary(decideRollout(progress({ state: 'Paused', pauseReason: 'ManualPause' }), obs({ measured: fail })))).toBe('rollback:AnalysisFailed');
  });
});

describe('rollout state machine: bookkeeping', () => {
  it('counts looks and resets the inconclusive count on a pass, the error count on any answer', () => {
    const d = decideRollout(progress({ looks: 4, consecutiveInconclusive: 2, consecutiveErrors: 2 }), obs({ measured: pass }));
    expect(d.progress).toMatchObject({ looks: 5, consecutiveInconclusive: 0, consecutiveErrors: 0 });
    const e = decideRollout(progress({ looks: 4, consecutiveInconclusive: 2 }), obs({ measured: error }));
    expect(e.progress).toMatchObject({ looks: 5, consecutiveInconclusive: 2, consecutiveErrors: 1 });
  });

  it('emits StepStarted with the weight when a step begins, and Paused when it pauses', () => {
    const d = decideRollout(progress({ state: 'Scaling', weight: 0 }), obs());
    expect(d.events.map((e) => e.reason)).toEqual(['StepStarted']);
    expect(d.events[0]?.message).toMatch(/step 1\/2: canary c1 at 10% of traffic, holding for 30s/);
    const p = decideRollout(progress(), obs({ steps: [{ weight: 10 }] }));
    expect(p.events.map((e) => e.reason)).toEqual(['Paused']);
  });

  it('never lowers the weight by itself and never skips a step', () => {
    // Every row of every reachable state with every measurement: the weight only grows, one step at a time.
    const states: RolloutProgress[] = [progress({ state: 'Scaling', weight: 0 }), progress(), progress({ step: 1, weight: 50 }), progress({ state: 'Paused', pauseReason: 'WaitingForData' })];
    for (const p of states) {
      for (const measured of [pass, inconclusive, error, undefined]) {
        for (const nowMs of [T0 + 1000, T0 + 60_000]) {
          const d = decideRollout(p, obs({ nowMs, ...(measured ? { measured } : {}) }));
          if (d.kind !== 'continue') continue;
          expect(d.progress.weight).toBeGreaterThanOrEqual(p.weight);
          expect(d.progress.step - p.step).toBeLessThanOrEqual(1);
        }
      }
    }
  });
});
