// Probe bookkeeping (pure): defaults, consecutive success/failure counting against the thresholds,
// and when the next probe is due. Running a probe (HTTP, TCP, exec) is in probe-runners.ts.
import type { V1Probe } from '@kubernetes/client-node';

export type ProbeKind = 'startup' | 'readiness' | 'liveness';
export type ProbeOutcome = 'success' | 'failure';

export interface ProbeSettings {
  initialDelaySeconds: number;
  periodSeconds: number;
  timeoutSeconds: number;
  successThreshold: number;
  failureThreshold: number;
}

/** Kubernetes defaults (the API server fills them in too; a raw object may lack them). */
export function probeSettings(probe: V1Probe, kind: ProbeKind): ProbeSettings {
  const pos = (v: number | undefined, d: number): number => (v !== undefined && v > 0 ? v : d);
  return {
    initialDelaySeconds: probe.initialDelaySeconds !== undefined && probe.initialDelaySeconds > 0 ? probe.initialDelaySeconds : 0,
    periodSeconds: pos(probe.periodSeconds, 10),
    timeoutSeconds: pos(probe.timeoutSeconds, 1),
    // Liveness and startup must use 1 (API validation); readiness may ask for more.
    successThreshold: kind === 'readiness' ? pos(probe.successThreshold, 1) : 1,
    failureThreshold: pos(probe.failureThreshold, 3),
  };
}

/** `unknown` until a threshold is crossed the first time. */
export interface ProbeState {
  result: 'unknown' | ProbeOutcome;
  successes: number;
  failures: number;
  probes: number;
}

export const initialProbeState: ProbeState = { result: 'unknown', successes: 0, failures: 0, probes: 0 };

export function observeProbe(state: ProbeState, outcome: ProbeOutcome, settings: ProbeSettings): ProbeState {
  if (outcome === 'success') {
    const successes = state.successes + 1;
    const result = successes >= settings.successThreshold ? 'success' : state.result;
    return { result, successes, failures: 0, probes: state.probes + 1 };
  }
  const failures = state.failures + 1;
  const result = failures >= settings.failureThreshold ? 'failure' : state.result;
  return { result, successes: 0, failures, probes: state.probes + 1 };
}

/** Milliseconds from now until the next probe of a container that started at `startedAtMs`. */
export function nextProbeDelayMs(settings: ProbeSettings, startedAtMs: number, lastProbeAtMs: number | undefined, nowMs: number): number {
  const due = lastProbeAtMs === undefined ? startedAtMs + settings.initialDelaySeconds * 1000 : lastProbeAtMs + settings.periodSeconds * 1000;
  return Math.max(0, due - nowMs);
}

/** What the container runner must do after a probe's state changed. */
export type ProbeVerdict =
  | { action: 'none' }
  | { action: 'started' }
  | { action: 'kill'; message: string }
  | { action: 'ready'; ready: boolean };

export function probeVerdict(kind: ProbeKind, before: ProbeState, after: ProbeState, settings: ProbeSettings, detail: string): ProbeVerdict {
  switch (kind) {
    case 'startup':
      if (after.result === 'success') return { action: 'started' };
      if (after.result === 'failure') return { action: 'kill', message: `Startup probe failed: ${detail}` };
      return { action: 'none' };
    case 'liveness':
      if (after.result === 'failure' && after.failures >= settings.failureThreshold) return { action: 'kill', message: `Liveness probe failed: ${detail}` };
      return { action: 'none' };
    case 'readiness':
      if (after.result !== before.result && after.result !== 'unknown') return { action: 'ready', ready: after.result === 'success' };
      return { action: 'none' };
  }
}
