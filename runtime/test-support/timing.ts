// How slow things are on this machine, measured here, so that tests derive their waits, deadlines
// and Jest timeouts from it instead of assuming the speed of the machine they were written on.
// docs/testing.md says how the suite is checked with the CPU deliberately slowed.
import { readFileSync } from 'node:fs';
import { loadModel } from '../src/model/model-host.ts';
import { warmupFeeds } from '../src/serve.ts';
import { models } from './harness.ts';

/**
 * Jest timeout for a test that starts in-process runtimes on the small test models (not `slow`)
 * and sends them up to a few hundred requests. Such a test takes 0.1–2 s on the 2-core development
 * machine and stays under 10 s with the CPU slowed as in docs/testing.md; the timeout is only there
 * to turn a hang into a failure, so it is generous.
 */
export const RUNTIME_TEST_TIMEOUT_MS = 60_000;

export interface SlowModelTiming {
  /** Reading and loading the `slow` model into a session worker. */
  loadMs: number;
  /** Warm runs (after one cold run), one worker, one onnxruntime thread: as the test runtime runs it. */
  runsMs: number[];
  minRunMs: number;
  maxRunMs: number;
}

const MEASURE_LIMIT_MS = 10 * 60_000;
let measured: Promise<SlowModelTiming> | undefined;

/**
 * The `slow` test model (a chain of 1024×1024 MatMuls), loaded and run here the way the test
 * runtime runs it: one session worker, one onnxruntime thread. One cold run, then two timed runs.
 * Measured once per test file (each Jest worker has its own module registry).
 */
export function slowModelTiming(): Promise<SlowModelTiming> {
  measured ??= measure();
  return measured;
}

async function measure(): Promise<SlowModelTiming> {
  const m = models().slow;
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`measuring the slow test model took over ${MEASURE_LIMIT_MS / 60_000} minutes`)),
      MEASURE_LIMIT_MS,
    );
  });
  const work = (async () => {
    const t0 = performance.now();
    const model = await loadModel(readFileSync(m.path), {
      workers: 1,
      threads: 1,
      spinning: false,
      graphOptimization: 'all',
      executionProvider: 'cpu',
      cpuFallback: false,
      source: m.path,
    });
    const loadMs = performance.now() - t0;
    try {
      const feeds = warmupFeeds(model.signature);
      await model.run(feeds); // cold: allocates onnxruntime's buffers
      const runsMs: number[] = [];
      for (let i = 0; i < 2; i++) {
        const t = performance.now();
        await model.run(feeds);
        runsMs.push(performance.now() - t);
      }
      return { loadMs, runsMs, minRunMs: Math.min(...runsMs), maxRunMs: Math.max(...runsMs) };
    } finally {
      await model.close();
    }
  })();
  try {
    return await Promise.race([work, limit]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A Jest timeout for a test that loads the slow model once and runs it `runs` times in all (the
 * runtime's warm-up included): three times what that measured here, plus 30 s for everything else.
 * A timeout only turns a hang into a failure; it is never what a test asserts.
 */
export function slowModelTimeoutMs(t: SlowModelTiming, runs: number): number {
  return Math.ceil(3 * (t.loadMs + runs * t.maxRunMs)) + 30_000;
}
