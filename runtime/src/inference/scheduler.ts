// The bounded request queue in front of onnxruntime, with dynamic batching. Requests wait here
// until a run slot is free; compatible requests (same non-batch dimensions) are merged along the
// first dimension up to maxBatchSize rows, waiting at most maxQueueDelayMs for company. A full queue
// rejects at once (429), a request past its deadline is answered TIMEOUT whether queued or running.
import { RuntimeError, errorMessage } from '../errors.ts';
import { TYPED_ARRAY, type HostTensor, type TensorData } from '../protocol/datatypes.ts';
import type { QueueSpan, RequestTracer } from '../tracing/request-trace.ts';

export type Feeds = Map<string, HostTensor>;
export type Runner = (feeds: Feeds) => Promise<Feeds>;

export interface SchedulerOptions {
  maxBatchSize: number;
  maxQueueDelayMs: number;
  queueLimit: number;
  maxConcurrentRuns: number;
  /** Whether inputs/outputs have a dynamic first dimension (else every request runs alone). */
  batchable: boolean;
  /** With tracing on: a span per run, linked to the requests it served. */
  tracer?: Pick<RequestTracer, 'run'>;
}

export interface SchedulerHooks {
  queueWait(seconds: number): void;
  run(rows: number, seconds: number, ok: boolean): void;
  depth(requests: number): void;
}

interface Job {
  feeds: Feeds;
  rows: number;
  key: string;
  enqueuedAt: number;
  settled: boolean;
  timer: NodeJS.Timeout | undefined;
  /** The request's queue span (tracing on, request sampled or not). */
  trace: QueueSpan | undefined;
  resolve: (out: Feeds) => void;
  reject: (err: RuntimeError) => void;
}

const noHooks: SchedulerHooks = { queueWait() {}, run() {}, depth() {} };

export class Scheduler {
  private readonly queue: Job[] = [];
  private running = 0;
  private delayTimer: NodeJS.Timeout | undefined;
  private idleWaiters: (() => void)[] = [];
  private readonly opts: SchedulerOptions;
  private readonly runner: Runner;
  private readonly hooks: SchedulerHooks;

  constructor(opts: SchedulerOptions, runner: Runner, hooks: SchedulerHooks = noHooks) {
    this.opts = opts;
    this.runner = runner;
    this.hooks = hooks;
  }

  get queued(): number {
    return this.queue.length;
  }

  get active(): number {
    return this.running;
  }

  private get batching(): boolean {
    return this.opts.batchable && this.opts.maxBatchSize > 1;
  }

  submit(feeds: Feeds, rows: number, timeoutMs: number, trace?: QueueSpan): Promise<Feeds> {
    if (this.queue.length >= this.opts.queueLimit) {
      trace?.end('rejected');
      return Promise.reject(
        new RuntimeError('QUEUE_FULL', `the request queue is full (${this.opts.queueLimit} waiting); retry later or add replicas`, { status: 429 }),
      );
    }
    return new Promise<Feeds>((resolve, reject) => {
      const job: Job = { feeds, rows, key: this.batching ? batchKey(feeds) : '', enqueuedAt: performance.now(), settled: false, timer: undefined, trace, resolve, reject };
      job.timer = setTimeout(() => this.expire(job, timeoutMs), timeoutMs);
      this.queue.push(job);
      this.hooks.depth(this.queue.length);
      this.pump();
    });
  }

  /** Resolves once nothing is queued or running (used by graceful shutdown). */
  idle(): Promise<void> {
    if (this.queue.length === 0 && this.running === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private expire(job: Job, timeoutMs: number): void {
    if (job.settled) return;
    const i = this.queue.indexOf(job);
    if (i !== -1) {
      this.queue.splice(i, 1);
      this.hooks.depth(this.queue.length);
      job.trace?.end('timeout');
    }
    this.settle(job, undefined, new RuntimeError('TIMEOUT', `inference did not finish within the request timeout of ${timeoutMs} ms`, { status: 504 }));
    this.checkIdle();
  }

  private settle(job: Job, out: Feeds | undefined, err?: RuntimeError): void {
    if (job.settled) return;
    job.settled = true;
    clearTimeout(job.timer);
    if (err) job.reject(err);
    else job.resolve(out as Feeds);
  }

  private checkIdle(): void {
    if (this.queue.length === 0 && this.running === 0 && this.idleWaiters.length > 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  private pump(): void {
    while (this.running < this.opts.maxConcurrentRuns && this.queue.length > 0) {
      const head = this.queue[0] as Job;
      if (this.batching) {
        const waited = performance.now() - head.enqueuedAt;
        const available = this.rowsAvailable(head.key);
        if (available < this.opts.maxBatchSize && waited < this.opts.maxQueueDelayMs) {
          // Not enough rows yet: wait for company, but no longer than the oldest request's budget.
          if (!this.delayTimer) {
            this.delayTimer = setTimeout(() => {
              this.delayTimer = undefined;
              this.pump();
            }, Math.max(0, this.opts.maxQueueDelayMs - waited));
          }
          return;
        }
      }
      this.dispatch(this.take(head));
    }
  }

  private rowsAvailable(key: string): number {
    let rows = 0;
    for (const j of this.queue) {
      if (j.key === key) rows += j.rows;
      if (rows >= this.opts.maxBatchSize) break;
    }
    return rows;
  }

  /** Removes the head and, when batching, the compatible jobs that fit into its batch. */
  private take(head: Job): Job[] {
    if (!this.batching) {
      this.queue.shift();
      this.hooks.depth(this.queue.length);
      return [head];
    }
    const batch: Job[] = [];
    let rows = 0;
    for (let i = 0; i < this.queue.length; ) {
      const j = this.queue[i] as Job;
      if (j.key === head.key && (batch.length === 0 || rows + j.rows <= this.opts.maxBatchSize)) {
        batch.push(j);
        rows += j.rows;
        this.queue.splice(i, 1);
        if (rows >= this.opts.maxBatchSize) break;
      } else i++;
    }
    this.hooks.depth(this.queue.length);
    return batch;
  }

  private dispatch(jobs: Job[]): void {
    if (this.delayTimer && this.queue.length === 0) {
      clearTimeout(this.delayTimer);
      this.delayTimer = undefined;
    }
    const now = performance.now();
    const live = jobs.filter((j) => !j.settled);
    for (const j of live) {
      this.hooks.queueWait((now - j.enqueuedAt) / 1000);
      j.trace?.end('run');
    }
    if (live.length === 0) return;
    this.running++;
    void this.execute(live).finally(() => {
      this.running--;
      this.pump();
      this.checkIdle();
    });
  }

  private async execute(jobs: Job[]): Promise<void> {
    const rows = jobs.reduce((n, j) => n + j.rows, 0);
    const feeds = jobs.length === 1 ? (jobs[0] as Job).feeds : concatFeeds(jobs.map((j) => j.feeds));
    const tracer = this.opts.tracer;
    const span = tracer === undefined ? undefined : tracer.run(traces(jobs), rows);
    const start = performance.now();
    try {
      const out = await this.runner(feeds);
      this.hooks.run(rows, (performance.now() - start) / 1000, true);
      span?.end();
      if (jobs.length === 1) {
        this.settle(jobs[0] as Job, out);
        return;
      }
      const parts = splitFeeds(out, jobs.map((j) => j.rows));
      jobs.forEach((j, i) => this.settle(j, parts[i]));
    } catch (err) {
      this.hooks.run(rows, (performance.now() - start) / 1000, false);
      span?.end(err);
      if (jobs.length > 1) {
        // One bad request must not fail the requests it was batched with: rerun them one by one.
        await Promise.all(jobs.map((j) => this.execute([j])));
        return;
      }
      const e = err instanceof RuntimeError ? err : new RuntimeError('INFERENCE_FAILED', `onnxruntime failed to run the model: ${errorMessage(err)}`, { status: 500, cause: err });
      this.settle(jobs[0] as Job, undefined, e);
    }
  }
}

function traces(jobs: Job[]): QueueSpan[] {
  const out: QueueSpan[] = [];
  for (const j of jobs) if (j.trace !== undefined) out.push(j.trace);
  return out;
}

function batchKey(feeds: Feeds): string {
  let key = '';
  for (const [name, t] of feeds) key += `${name}:${t.shape.slice(1).join('x')};`;
  return key;
}

export function concatFeeds(parts: Feeds[]): Feeds {
  const out: Feeds = new Map();
  const first = parts[0] as Feeds;
  for (const [name, t0] of first) {
    const tensors = parts.map((p) => p.get(name) as HostTensor);
    const rows = tensors.reduce((n, t) => n + (t.shape[0] ?? 1), 0);
    const shape = [rows, ...t0.shape.slice(1)];
    let data: TensorData;
    if (Array.isArray(t0.data)) {
      data = tensors.flatMap((t) => t.data as string[]);
    } else {
      const total = tensors.reduce((n, t) => n + t.data.length, 0);
      const Ctor = TYPED_ARRAY[t0.datatype as Exclude<typeof t0.datatype, 'BYTES'>];
      const arr = new Ctor(total) as Float32Array;
      let off = 0;
      for (const t of tensors) {
        arr.set(t.data as Float32Array, off);
        off += t.data.length;
      }
      data = arr;
    }
    out.set(name, { datatype: t0.datatype, shape, data });
  }
  return out;
}

export function splitFeeds(out: Feeds, rows: number[]): Feeds[] {
  const total = rows.reduce((a, b) => a + b, 0);
  const parts: Feeds[] = rows.map(() => new Map());
  for (const [name, t] of out) {
    if (t.shape[0] !== total) {
      throw new RuntimeError('INFERENCE_FAILED', `output ${name} has first dimension ${t.shape[0]} for a batch of ${total} rows; run this model with --max-batch-size=1`);
    }
    const perRow = total === 0 ? 0 : t.data.length / total;
    let off = 0;
    rows.forEach((r, i) => {
      const n = r * perRow;
      const data = Array.isArray(t.data) ? t.data.slice(off, off + n) : (t.data as Float32Array).subarray(off, off + n);
      (parts[i] as Feeds).set(name, { datatype: t.datatype, shape: [r, ...t.shape.slice(1)], data });
      off += n;
    });
  }
  return parts;
}
