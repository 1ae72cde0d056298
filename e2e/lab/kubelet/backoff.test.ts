import { initialBackoff, nextRestart, type BackoffState } from './backoff.ts';

describe('crash-loop back-off', () => {
  const policy = { baseMs: 1000, maxMs: 30000 };
  test('first restart immediate, then 1 s doubling, capped at 30 s', () => {
    let state: BackoffState = initialBackoff;
    const delays: number[] = [];
    for (let i = 0; i < 9; i++) {
      const r = nextRestart(state, policy, 300);
      delays.push(r.delayMs);
      state = r.state;
    }
    expect(delays).toEqual([0, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
  });

  test('a container that ran for twice the cap resets the back-off', () => {
    const r = nextRestart({ crashes: 7 }, policy, 60000);
    expect(r).toEqual({ delayMs: 0, state: { crashes: 1 } });
    expect(nextRestart({ crashes: 7 }, policy, 59999).delayMs).toBe(30000);
  });
});
