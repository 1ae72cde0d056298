import { initialProgress, readProgress } from './progress.ts';

const T0 = '2026-01-01T00:00:00.000Z';

describe('readProgress', () => {
  it('reads status.rollout with the status parser, whole or not at all', () => {
    const p = initialProgress('c1', T0);
    expect(readProgress(undefined)).toEqual({ ok: true, progress: undefined });
    expect(readProgress(p)).toEqual({ ok: true, progress: p });
    expect(readProgress({ ...p, state: 'Paused', pauseReason: 'Coffee' })).toEqual({
      ok: false,
      problem: 'status.rollout.pauseReason is not one of WaitingForPromote, WaitingForData, ManualPause, TrafficProviderUnavailable, AnalysisInvalid ("Coffee"); status.rollout is dropped: it is used only whole',
    });
    expect(readProgress('x')).toEqual({ ok: false, problem: 'status.rollout is not an object ("x")' });
  });
});
