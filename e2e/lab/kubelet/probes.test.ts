import { initialProbeState, nextProbeDelayMs, observeProbe, probeSettings, probeVerdict, type ProbeKind, type ProbeOutcome, type ProbeState } from './probes.ts';

function run(kind: ProbeKind, outcomes: ProbeOutcome[], probe = {}): { states: ProbeState[]; verdicts: string[] } {
  const settings = probeSettings(probe, kind);
  let state = initialProbeState;
  const states: ProbeState[] = [];
  const verdicts: string[] = [];
  for (const o of outcomes) {
    const before = state;
    state = observeProbe(state, o, settings);
    states.push(state);
    const v = probeVerdict(kind, before, state, settings, 'd');
    verdicts.push(v.action === 'ready' ? `ready=${v.ready}` : v.action);
  }
  return { states, verdicts };
}

describe('probe bookkeeping', () => {
  test('Kubernetes defaults; success threshold forced to 1 for liveness/startup', () => {
    expect(probeSettings({}, 'readiness')).toEqual({ initialDelaySeconds: 0, periodSeconds: 10, timeoutSeconds: 1, successThreshold: 1, failureThreshold: 3 });
    expect(probeSettings({ successThreshold: 3 }, 'liveness').successThreshold).toBe(1);
    expect(probeSettings({ successThreshold: 3, periodSeconds: 2 }, 'readiness')).toMatchObject({ successThreshold: 3, periodSeconds: 2 });
  });

  const cases: [string, ProbeKind, ProbeOutcome[], object, string[]][] = [
    ['readiness: ready on first success', 'readiness', ['success', 'success'], {}, ['ready=true', 'none']],
    ['readiness: unready only after failureThreshold', 'readiness', ['success', 'failure', 'failure', 'failure', 'failure'], {}, ['ready=true', 'none', 'none', 'ready=false', 'none']],
    ['readiness: successThreshold 2', 'readiness', ['success', 'success'], { successThreshold: 2 }, ['none', 'ready=true']],
    ['readiness: a success resets the failure count', 'readiness', ['success', 'failure', 'failure', 'success', 'failure', 'failure'], {}, ['ready=true', 'none', 'none', 'none', 'none', 'none']],
    ['liveness: kill after 3 consecutive failures', 'liveness', ['failure', 'failure', 'failure'], {}, ['none', 'none', 'kill']],
    ['liveness: failureThreshold 1', 'liveness', ['success', 'failure'], { failureThreshold: 1 }, ['none', 'kill']],
    ['startup: started on success', 'startup', ['failure', 'success'], {}, ['none', 'started']],
    ['startup: kill after failureThreshold', 'startup', ['failure', 'failure'], { failureThreshold: 2 }, ['none', 'kill']],
  ];
  test.each(cases)('%s', (_n, kind, outcomes, probe, want) => {
    expect(run(kind, outcomes, probe).verdicts).toEqual(want);
  });

  test('scheduling: initial delay, then every period', () => {
    const s = probeSettings({ initialDelaySeconds: 5, periodSeconds: 2 }, 'readiness');
    expect(nextProbeDelayMs(s, 1000, undefined, 1000)).toBe(5000);
    expect(nextProbeDelayMs(s, 1000, undefined, 9000)).toBe(0);
    expect(nextProbeDelayMs(s, 1000, 6000, 6500)).toBe(1500);
  });
});
