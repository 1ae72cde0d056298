// A queue of `namespace/name` keys in the style of client-go's rate-limited workqueue: a key waits
// at most once (de-duplicated), is never processed by two workers at once (a change during
// processing re-queues it after), failures back off per key exponentially, and `requeueAfterMs`
// schedules timed steps. Concurrency is bounded by p-queue. Delays go through a clock (real time
// unless one is passed), so tests drive them without waiting.
import PQueue from 'p-queue';

/** Time and timers for delayed keys. */
export interface QueueClock {
  now(): number;
  /** Calls `fn` once, `ms` from now; the handle is for clearTimeout. Must not keep the process alive. */
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Wall-clock time and unref'd Node timers. */
export const realClock: QueueClock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms).unref(),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export interface ProcessResult {
  requeueAfterMs?: number;
}

export interface WorkQueueOptions {
  concurrency: number;
  process: (key: string) => Promise<ProcessResult>;
  onError?: (key: string, err: unknown, retryInMs: number) => void;
  baseDelayMs?: number;
  maxDelayMs?: number;
  clock?: QueueClock;
}

export function backoffDelay(failures: number, baseMs: number, maxMs: number): number {
  return Math.min(maxMs, baseMs * 2 ** Math.max(0, failures - 1));
}

export class WorkQueue {
  readonly #opts: Required<Omit<WorkQueueOptions, 'onError'>> & Pick<WorkQueueOptions, 'onError'>;
  readonly #pool: PQueue;
  readonly #queued = new Set<string>();
  readonly #processing = new Set<string>();
  readonly #dirty = new Set<string>();
  readonly #failures = new Map<string, number>();
  readonly #timers = new Map<string, { at: number; timer: unknown }>();
  #shuttingDown = false;

  constructor(opts: WorkQueueOptions) {
    this.#opts = { baseDelayMs: 100, maxDelayMs: 5 * 60_000, ...opts, clock: opts.clock ?? realClock };
    // Paused until start(): a reconcile must never see half-synced caches.
    this.#pool = new PQueue({ concurrency: opts.concurrency, autoStart: false });
  }

  /** Begins processing; keys added before wait until now. */
  start(): void {
    this.#pool.start();
  }

  /** Keys waiting (queued or delayed), for the queue-depth metric. */
  get depth(): number {
    return this.#queued.size + this.#timers.size;
  }

  get active(): number {
    return this.#processing.size;
  }

  add(key: string): void {
    if (this.#shuttingDown) return;
    this.#clearTimer(key);
    if (this.#processing.has(key)) {
      this.#dirty.add(key);
      return;
    }
    if (this.#queued.has(key)) return;
    this.#queued.add(key);
    void this.#pool.add(() => this.#work(key));
  }

  /** Adds the key after `ms`; an earlier pending time for the same key wins. */
  addAfter(key: string, ms: number): void {
    if (this.#shuttingDown) return;
    if (ms <= 0) return this.add(key);
    const at = this.#opts.clock.now() + ms;
    const existing = this.#timers.get(key);
    if (existing && existing.at <= at) return;
    this.#clearTimer(key);
    const timer = this.#opts.clock.setTimeout(() => {
      this.#timers.delete(key);
      this.add(key);
    }, ms);
    this.#timers.set(key, { at, timer });
  }

  #clearTimer(key: string): void {
    const t = this.#timers.get(key);
    if (t) {
      this.#opts.clock.clearTimeout(t.timer);
      this.#timers.delete(key);
    }
  }

  async #work(key: string): Promise<void> {
    this.#queued.delete(key);
    this.#processing.add(key);
    let retryIn: number | undefined;
    try {
      const result = await this.#opts.process(key);
      this.#failures.delete(key);
      retryIn = result.requeueAfterMs;
    } catch (err) {
      const failures = (this.#failures.get(key) ?? 0) + 1;
      this.#failures.set(key, failures);
      retryIn = backoffDelay(failures, this.#opts.baseDelayMs, this.#opts.maxDelayMs);
      this.#opts.onError?.(key, err, retryIn);
    } finally {
      this.#processing.delete(key);
    }
    if (this.#dirty.delete(key)) this.add(key);
    else if (retryIn !== undefined) this.addAfter(key, retryIn);
  }

  /** Stops taking keys and waits for the workers in flight. */
  async shutdown(): Promise<void> {
    this.#shuttingDown = true;
    for (const key of [...this.#timers.keys()]) this.#clearTimer(key);
    this.#pool.clear();
    this.#queued.clear();
    await this.#pool.onIdle();
  }
}
