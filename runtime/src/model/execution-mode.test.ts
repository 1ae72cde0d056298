import { describe, expect, test } from '@jest/globals';
import { HARD_LIMIT_FACTOR, InlineWatch, MIN_SAMPLES, SCREEN_RUNS, WATCH_GRACE, chooseExecutionMode, percentile, screenVerdict } from './execution-mode.ts';

const fill = (n: number, ms: number) => new Array<number>(n).fill(ms);

describe('execution mode from warm-up run times', () => {
  test('worker screening: one pre-empted run does not screen a cheap model out; two slow runs end it early', () => {
    expect(screenVerdict([0.01], 1)).toBe('more');
    // One run pre-empted for 14 ms among cheap ones: still screened in.
    expect(screenVerdict([0.01, 14, 0.01, 0.01, 0.01], 1)).toBe('fast');
    expect(screenVerdict(fill(SCREEN_RUNS, 0.01), 1)).toBe('fast');
    // The slow model: two runs and done, without the other three.
    expect(screenVerdict([500], 1)).toBe('more');
    expect(screenVerdict([500, 480], 1)).toBe('slow');
    expect(screenVerdict([0.5, 1, 0.5, 1], 1)).toBe('slow');
  });

  test('percentile is nearest-rank', () => {
    expect(percentile([5, 1, 4, 2, 3], 0.5)).toBe(3);
    expect(percentile(Array.from({ length: 20 }, (_, i) => i + 1), 0.95)).toBe(19);
    expect(percentile([7], 0.99)).toBe(7);
    expect(percentile([], 0.95)).toBeNaN();
  });

  test('a model whose runs are well under the threshold runs inline, up to the largest size measured', () => {
    const d = chooseExecutionMode(
      [
        { elements: 128, samplesMs: fill(20, 0.05) },
        { elements: 4, samplesMs: fill(20, 0.01) },
      ],
      1,
    );
    expect(d).toMatchObject({ mode: 'inline', inlineMaxElements: 128 });
    expect(d.percentileMs).toBeCloseTo(0.05);
  });

  test('a slow model stays on the workers', () => {
    const d = chooseExecutionMode([{ elements: 1024, samplesMs: fill(20, 450) }], 1);
    expect(d.mode).toBe('worker');
    expect(d.inlineMaxElements).toBe(0);
    expect(d.reason).toMatch(/p95 450\.000 ms is not under --inline-run-max-ms=1/);
  });

  test('the decision is made on the 95th percentile: one pre-empted run does not decide, several do', () => {
    const oneOutlier = [...fill(19, 0.02), 30];
    expect(chooseExecutionMode([{ elements: 4, samplesMs: oneOutlier }], 1).mode).toBe('inline');
    const twoOutliers = [...fill(18, 0.02), 3, 3];
    expect(chooseExecutionMode([{ elements: 4, samplesMs: twoOutliers }], 1).mode).toBe('worker');
  });

  test('when a full batch is too slow, only the sizes that passed run inline', () => {
    const d = chooseExecutionMode(
      [
        { elements: 64, samplesMs: fill(20, 0.2) },
        { elements: 2048, samplesMs: fill(20, 1.5) },
      ],
      1,
    );
    expect(d).toMatchObject({ mode: 'inline', inlineMaxElements: 64 });
  });

  test('threshold 0 disables inline runs; too few samples or none keep the workers', () => {
    expect(chooseExecutionMode([{ elements: 4, samplesMs: fill(20, 0.01) }], 0)).toMatchObject({ mode: 'worker', reason: expect.stringMatching(/disabled/) });
    expect(chooseExecutionMode([{ elements: 4, samplesMs: fill(MIN_SAMPLES - 1, 0.01) }], 1)).toMatchObject({ mode: 'worker', reason: expect.stringMatching(/only 9 warm-up runs/) });
    expect(chooseExecutionMode([], 1).mode).toBe('worker');
  });
});

describe('watching inline runs', () => {
  test('occasional slow runs (under 1% of the window) keep inline mode', () => {
    const w = new InlineWatch(1, 200, 0);
    for (let i = 0; i < 2000; i++) expect(w.record(i % 100 === 0 ? 3 : 0.01)).toBeUndefined();
  });

  test('p99 over the threshold leaves inline mode', () => {
    const w = new InlineWatch(1, 200, 0);
    let why: string | undefined;
    let runs = 0;
    while (!why && runs < 1000) why = w.record(runs++ % 50 === 0 ? 2 : 0.01);
    expect(why).toMatch(/3 of the last 200 inline runs took longer than --inline-run-max-ms=1/);
  });

  test('two runs past the hard limit in the window leave inline mode at once', () => {
    const w = new InlineWatch(1, 1000);
    expect(w.record(HARD_LIMIT_FACTOR * 5)).toBeUndefined();
    expect(w.record(0.01)).toBeUndefined();
    expect(w.record(HARD_LIMIT_FACTOR * 5)).toMatch(/2 of the last 1000 inline runs took over 10 × --inline-run-max-ms=1/);
  });

  test('the first served runs (cold code) are not judged by the 1% rule, but the hard limit applies from the start', () => {
    const w = new InlineWatch(1);
    // 5% of the first WATCH_GRACE runs over the threshold: the start-up of the request path.
    for (let i = 0; i < WATCH_GRACE; i++) expect(w.record(i % 20 === 0 ? 3 : 0.01)).toBeUndefined();
    // After the grace, p99 over the threshold leaves inline mode as before.
    let why: string | undefined;
    for (let i = 0; i < 1000 && !why; i++) why = w.record(i % 50 === 0 ? 2 : 0.01);
    expect(why).toMatch(/11 of the last 1000 inline runs took longer/);
    const hard = new InlineWatch(1);
    expect(hard.record(HARD_LIMIT_FACTOR * 5)).toBeUndefined();
    expect(hard.record(HARD_LIMIT_FACTOR * 5)).toMatch(/2 of the last 1000 inline runs took over 10 ×/);
  });

  test('slow runs that left the window no longer count', () => {
    const w = new InlineWatch(1, 100, 0);
    expect(w.record(5)).toBeUndefined();
    for (let i = 0; i < 100; i++) expect(w.record(0.01)).toBeUndefined();
    expect(w.record(5)).toBeUndefined();
  });
});
