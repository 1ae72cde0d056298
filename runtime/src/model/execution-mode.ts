// Where onnxruntime runs: on session worker threads (the safe default: the event loop never runs
// the graph), or inline on the event loop when the model is so cheap that the worker round trip
// costs more than the run itself. onnxruntime-node's run() is synchronous on the calling thread,
// so an inline run blocks health checks and /metrics for exactly its duration: a run measured
// well under --inline-run-max-ms (1 ms by default) is harmless, a slow one is not. The mode is
// chosen from warm-up measurements and watched while serving; slow inline runs switch the model
// back to the workers for good.

export type ExecutionMode = 'inline' | 'worker';

/** Warm-up run times of one input size (total input elements), in milliseconds. */
export interface WarmupMeasurement {
  elements: number;
  samplesMs: readonly number[];
}

export interface ModeDecision {
  mode: ExecutionMode;
  /** Largest request (total input elements) run inline; larger ones still go to the workers. */
  inlineMaxElements: number;
  /** The high percentile the decision was made on (of the largest size measured), ms. */
  percentileMs: number | undefined;
  reason: string;
}

/** Percentile used on warm-up samples. */
export const DECISION_PERCENTILE = 0.95;
/** Fewest warm-up samples per size the decision trusts. */
export const MIN_SAMPLES = 10;
/** Two inline runs of this many times the threshold within the watch window switch to the workers. */
export const HARD_LIMIT_FACTOR = 10;
/** Inline runs the watch looks back on. */
export const WATCH_WINDOW = 1000;
/**
 * Served inline runs the 1% rule does not judge: the first requests run through cold code (lazy
 * compilation, the JIT, first allocations), and under load a few dozen of the first hundreds of
 * runs took over 1 ms on a 2-core machine although the model runs in 8 µs: the model was sent to
 * the workers for good for its start-up alone. The hard limit applies from the first run.
 */
export const WATCH_GRACE = 1000;

/** Worker screening: runs per input size, and how many of them over the threshold fail the size. */
export const SCREEN_RUNS = 5;
export const SCREEN_SLOW_RUNS = 2;

/**
 * Pure: the verdict on the worker screening runs of one size so far. 'slow' as soon as
 * SCREEN_SLOW_RUNS of them reached the threshold (a slow model costs two runs, not five), 'fast'
 * after SCREEN_RUNS with fewer slow ones, else 'more'. Not a single run: on shared cores one run
 * pre-empted by another process can take 10+ ms, and a model screened out at start-up stays on the
 * workers for the life of the pod.
 */
export function screenVerdict(samplesMs: readonly number[], thresholdMs: number): 'slow' | 'fast' | 'more' {
  let slow = 0;
  for (const ms of samplesMs) if (ms >= thresholdMs) slow++;
  if (slow >= SCREEN_SLOW_RUNS) return 'slow';
  return samplesMs.length >= SCREEN_RUNS ? 'fast' : 'more';
}

/** Nearest-rank percentile of unsorted values (p in (0, 1]). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] as number;
}

/**
 * Pure: the execution mode from warm-up measurements. Sizes are considered smallest first; a size
 * runs inline when at least MIN_SAMPLES runs were measured and their 95th percentile is under the
 * threshold (a percentile, not the maximum: one run pre-empted by another process must not decide
 * for the model). Inline mode covers every size up to the
 * largest passing one (the smallest must pass); a threshold of 0 disables inline runs.
 */
export function chooseExecutionMode(measurements: readonly WarmupMeasurement[], thresholdMs: number): ModeDecision {
  const worker = (reason: string, percentileMs?: number): ModeDecision => ({ mode: 'worker', inlineMaxElements: 0, percentileMs, reason });
  if (!(thresholdMs > 0)) return worker('inline runs disabled (--inline-run-max-ms=0)');
  if (measurements.length === 0) return worker('no warm-up measurements');
  const sizes = [...measurements].sort((a, b) => a.elements - b.elements);
  let passed: { elements: number; p: number } | undefined;
  for (const m of sizes) {
    const p = percentile(m.samplesMs, DECISION_PERCENTILE);
    const ok = m.samplesMs.length >= MIN_SAMPLES && p < thresholdMs;
    if (!ok) {
      if (passed) break; // larger requests go to the workers
      const why =
        m.samplesMs.length < MIN_SAMPLES
          ? `only ${m.samplesMs.length} warm-up runs measured (need ${MIN_SAMPLES})`
          : `warm-up run time p95 ${p.toFixed(3)} ms is not under --inline-run-max-ms=${thresholdMs}`;
      return worker(why, Number.isNaN(p) ? undefined : p);
    }
    passed = { elements: m.elements, p };
  }
  const top = passed as { elements: number; p: number };
  return {
    mode: 'inline',
    inlineMaxElements: top.elements,
    percentileMs: top.p,
    reason: `warm-up run time p95 ${top.p.toFixed(3)} ms is under --inline-run-max-ms=${thresholdMs}`,
  };
}

/**
 * Watches inline run times while serving. `record` returns a reason to leave inline mode when
 * more than 1% of the last `window` runs took longer than the threshold (their p99 is over it), or
 * two of them took HARD_LIMIT_FACTOR × threshold; otherwise undefined. The first WATCH_GRACE runs
 * count for the hard limit only. O(1) per run. Run times are
 * wall-clock (the thread's CPU clock ticks in milliseconds here), so a run pre-empted by another
 * process now and then looks slow: hence a window and a count, not a single run.
 */
export class InlineWatch {
  // Per run in the window: 0 fast, 1 over the threshold, 2 over the hard limit.
  private readonly marks: Uint8Array;
  private pos = 0;
  private slowCount = 0;
  private hardCount = 0;
  private readonly thresholdMs: number;
  private readonly allowed: number;
  private graceLeft: number;

  constructor(thresholdMs: number, window = WATCH_WINDOW, grace = WATCH_GRACE) {
    this.thresholdMs = thresholdMs;
    this.marks = new Uint8Array(window);
    this.allowed = Math.floor(window / 100);
    this.graceLeft = grace;
  }

  record(ms: number): string | undefined {
    let mark = ms >= HARD_LIMIT_FACTOR * this.thresholdMs ? 2 : ms > this.thresholdMs ? 1 : 0;
    if (this.graceLeft > 0) {
      this.graceLeft--;
      if (mark === 1) mark = 0;
    }
    const old = this.marks[this.pos] as number;
    this.slowCount += (mark > 0 ? 1 : 0) - (old > 0 ? 1 : 0);
    this.hardCount += (mark === 2 ? 1 : 0) - (old === 2 ? 1 : 0);
    this.marks[this.pos] = mark;
    this.pos = (this.pos + 1) % this.marks.length;
    if (this.hardCount >= 2) {
      return `${this.hardCount} of the last ${this.marks.length} inline runs took over ${HARD_LIMIT_FACTOR} × --inline-run-max-ms=${this.thresholdMs} (the last ${ms.toFixed(3)} ms)`;
    }
    if (this.slowCount > this.allowed) {
      return `${this.slowCount} of the last ${this.marks.length} inline runs took longer than --inline-run-max-ms=${this.thresholdMs} (p99 over the threshold)`;
    }
    return undefined;
  }
}
