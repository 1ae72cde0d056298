// The core's two halves of an analysis round, around the one I/O call the controller makes:
// dueMeasurements() says which queries are due now (before the call), judgeMeasurements() turns
// the answers into a verdict for the state machine and status (after it). Both pure.
import { judge, planMeasurements } from '../../analysis/index.ts';
import { planQuality } from '../../analysis/quality.ts';
import type { DistributionRequest, MeasurementRequest } from '../../analysis/types.ts';
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

/**
 * From when the canary's requests count: its first traffic plus analysis.initialDelay. A rollout
 * whose status lost servingSince counts from the revision's creation (earlier: it can only include
 * more of the canary's life, never skip any of it).
 */
export function countsFrom(model: OnnxModel, progress: RolloutProgress): number {
  const analysis = model.spec.rollout.analysis;
  const canarySince = model.status.canary?.revision === progress.revision ? Date.parse(model.status.canary.since) : Number.NaN;
  const serving = progress.servingSince !== undefined ? Date.parse(progress.servingSince) : canarySince;
  const base = Number.isNaN(serving) ? Date.parse(progress.stateSince) : serving;
  return base + (parseDuration(analysis?.initialDelay ?? '0s') ?? 0);
}

/**
 * When the next measurement of the canary is due, or undefined when none will be: an interval after
 * the last one, the first an interval after the step began and after the initial delay (so that its
 * windows hold at least an interval of requests).
 */
export function nextMeasurementAt(model: OnnxModel, progress: RolloutProgress | undefined): number | undefined {
  const analysis = model.spec.rollout.analysis;
  if (!analysis || !measurable(progress)) return undefined;
  const interval = parseDuration(analysis.interval) ?? 60_000;
  const last = model.status.lastAnalysis;
  const from = last && last.revision === progress.revision ? Date.parse(last.time) : Math.max(Date.parse(progress.stateSince), countsFrom(model, progress));
  return from + interval;
}

export interface DueMeasurements {
  revision: string;
  requests: MeasurementRequest[];
  /** The quality gates' vector queries (empty without spec.rollout.analysis.quality). */
  distributions: DistributionRequest[];
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
    canary: { revision: canary.revision, since: new Date(countsFrom(model, read.progress)) },
    ...(stable ? { stable: { revision: stable.revision } } : {}),
    now,
    scrapeIntervalSeconds,
  });
  // The gates compare both revisions over the longest window the SLOs measure now: the canary's
  // counted life, capped at the longest spec window.
  const longest = [...plan.requests].sort((a, b) => b.windowSeconds - a.windowSeconds)[0];
  const shadow = inShadowStep(model, read.progress);
  const distributions = longest
    ? planQuality({ quality: analysis.quality, namespace: model.metadata.namespace, servedModelName: servedModelName(model), canary: canary.revision, stable: stable?.revision, window: longest.window, windowSeconds: longest.windowSeconds, shadow })
    : [];
  // In a shadow step the SLO queries only set the window: the canary answers no client.
  return { revision: canary.revision, requests: shadow ? [] : plan.requests, distributions };
}

/** Whether the canary's current step is a shadow step (mirrored traffic only). */
export function inShadowStep(model: OnnxModel, progress: RolloutProgress): boolean {
  return model.spec.rollout.steps[progress.step]?.shadow !== undefined;
}

/** Judges this reconcile's answers for the canary; undefined when they are not for this canary. */
export function judgeMeasurements(model: OnnxModel, progress: RolloutProgress, m: Measurements | undefined): { measured: Measured; record: AnalysisStatus } | undefined {
  const analysis = model.spec.rollout.analysis;
  if (!analysis || !m || m.revision !== progress.revision || !measurable(progress)) return undefined;
  const gates = m.distributions && m.distributions.length > 0 ? { requests: m.distributions, answers: m.distributionAnswers ?? [], countedForMs: Math.max(0, Date.parse(m.time) - countsFrom(model, progress)) } : undefined;
  const j = judge({ analysis, requests: m.requests, answers: m.answers, look: progress.looks + 1, shadow: inShadowStep(model, progress), ...(gates ? { gates } : {}) });
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
      judgement: j.failure.reason,
      ...(j.failure.stable ? { stable: { revision: j.failure.stable.revision, requests: j.failure.stable.requests, badEvents: j.failure.stable.badEvents } } : {}),
    };
  }
  return { measured, record: { time: m.time, revision: m.revision, verdict: j.verdict, reason: j.reason, message: j.message, slos: j.slos, ...(j.gates.length > 0 ? { gates: j.gates } : {}) } };
}
