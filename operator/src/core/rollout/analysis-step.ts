// The core's two halves of an analysis round, around the one I/O call the controller makes:
// dueMeasurements() says which queries are due now (before the call), judgeMeasurements() turns
// the answers into a verdict for the state machine and status (after it). Both pure.
import { judge, planMeasurements } from '../../analysis/index.ts';
import type { MeasurementRequest } from '../../analysis/types.ts';
import { parseDuration } from '../../api/parse.ts';
import type { AnalysisStatus, OnnxModel, RolloutProgress } from '../../api/types.ts';
import { servedModelName } from '../children/deployment.ts';
import type { Measurements } from '../types.ts';
import type { Measured } from './machine.ts';
import { readProgress } from './progress.ts';

/**
 * Whether the canary is measured in this state: not while its pods start, nor while it is paused
 * because it cannot get traffic or the analysis cannot be measured (it would only count no data).
 */
export function measurable(progress: RolloutProgress | undefined): progress is RolloutProgress {
  return !!progress && progress.state !== 'Scaling' && progress.pauseReason !== 'AnalysisInvalid' && progress.pauseReason !== 'TrafficProviderUnavailable';
}

/** When the next measurement of the canary is due, or undefined when none will be. */
export function nextMeasurementAt(model: OnnxModel, progress: RolloutProgress | undefined): number | undefined {
  const analysis = model.spec.rollout.analysis;
  if (!analysis || !measurable(progress)) return undefined;
  const interval = parseDuration(analysis.interval) ?? 60_000;
  const last = model.status.lastAnalysis;
  const from = last && last.revision === progress.revision ? Date.parse(last.time) : Date.parse(progress.stateSince);
  return from + interval;
}

export interface DueMeasurements {
  revision: string;
  requests: MeasurementRequest[];
}

/** The queries to run now for this model's canary (and its stable revision, for comparison). */
export function dueMeasurements(model: OnnxModel, now: Date, scrapeIntervalSeconds: number): DueMeasurements | undefined {
  const { canary, stable } = model.status;
  const read = readProgress(model.status.rollout);
  const analysis = model.spec.rollout.analysis;
  if (!analysis || !canary || !read.ok || read.progress?.revision !== canary.revision) return undefined;
  const due = nextMeasurementAt(model, read.progress);
  if (due === undefined || now.getTime() < due) return undefined;
  const plan = planMeasurements({
    analysis,
    namespace: model.metadata.namespace,
    servedModelName: servedModelName(model),
    canary: { revision: canary.revision, since: canary.since },
    ...(stable ? { stable: { revision: stable.revision } } : {}),
    now,
    scrapeIntervalSeconds,
  });
  return { revision: canary.revision, requests: plan.requests };
}

/** Judges this reconcile's answers for the canary; undefined when they are not for this canary. */
export function judgeMeasurements(model: OnnxModel, progress: RolloutProgress, m: Measurements | undefined): { measured: Measured; record: AnalysisStatus } | undefined {
  const analysis = model.spec.rollout.analysis;
  if (!analysis || !m || m.revision !== progress.revision || !measurable(progress)) return undefined;
  const j = judge({ analysis, requests: m.requests, answers: m.answers, look: progress.looks + 1 });
  const measured: Measured = { verdict: j.verdict, reason: j.reason, message: j.message };
  if (j.failure) {
    measured.failure = {
      slo: j.failure.slo,
      window: `${j.failure.short}/${j.failure.long}`,
      requests: j.failure.requests,
      badEvents: j.failure.badEvents,
      burnRates: j.failure.burnRates,
      lowerBound: j.failure.lowerBound,
      threshold: j.failure.threshold,
    };
  }
  return { measured, record: { time: m.time, revision: m.revision, verdict: j.verdict, reason: j.reason, message: j.message, slos: j.slos } };
}
