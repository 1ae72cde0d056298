// The queue under a manual clock: delays are driven by advancing time, and processing is awaited
// by turns of the event loop, so nothing here depends on how fast the machine is.
import { describe, expect, test } from '@jest/globals';
import { backoffDelay, realClock, WorkQueue, type QueueClock } from './workqueue.ts';

describe('backoffDelay', () => {
  test.each([
    [1, 100],
    [2, 200],
    [3, 400],
    [10, 51_200],
    [30, 300_000],
  ])('after %i failures waits %i ms', (failures, ms) => {
    expect(backoffDelay(failures, 100, 300_000)).toBe(ms);
  });
});

/** Time stands still until advance(); timers due by then fire in order of their due time. */
class ManualClock implements QueueClock {
  #now = 0;
  #next = 0;
  readonly #timers = new Map<number, { at: number; fn: () => void }>();

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.#next++;
    this.#timers.set(id, { at: this.#now + ms, fn });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.#timers.delete(handle as number);
  }

  get pending(): number {
    return this.#timers.size;
  }

  /** Moves time forward by `ms`, firing each timer due on the way and letting its work run. */
  async advance(ms: number): Promise<void> {
    const until = this.#now + ms;
    for (;;) {
      const due = [...this.#timers.entries()]
        .filter(([, t]) => t.at <= until)
        .sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      this.#timers.delete(due[0]);
      this.#now = due[1].at;
      due[1].fn();
      await settle();
    }
    this.#now = until;
    await settle();
  }
}

/** Lets queued promise callbacks and p-queue's dispatching run: turns of the event loop, not time. */
async function settle(turns = 20): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise((r) => setImmediate(r));
}

/** A promise the test resolves itself, to hold a key "in processing" for as long as it needs. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open = (): void => undefined;
  const promise = new Promise<void>((r) => (open = r));
  return { promise, open };
}

/** A started one-worker queue on a manual clock, recording the clock's time at each run. */
function timedQueue(): { clock: ManualClock; seen: number[]; q: WorkQueue } {
  const clock = new ManualClock();
  const seen: number[] = [];
  const q = new WorkQueue({ concurrency: 1, clock, process: async () => (seen.push(clock.now()), {}) });
  q.start();
  return { clock, seen, q };
}

describe('WorkQueue', () => {
  test('processes nothing before start()', async () => {
    const seen: string[] = [];
    const q = new WorkQueue({
      concurrency: 1,
      process: async (key) => (seen.push(key), {}),
      clock: new ManualClock(),
    });
    q.add('early');
    await settle();
    expect(seen).toEqual([]);
    expect(q.depth).toBe(1);
    q.start();
    await settle();
    expect(seen).toEqual(['early']);
    await q.shutdown();
  });

  test('de-duplicates keys that wait and never runs one key twice at once', async () => {
    const running = new Set<string>();
    let overlap = false;
    const seen: string[] = [];
    const gates = new Map<string, ReturnType<typeof gate>[]>();
    const q = new WorkQueue({
      concurrency: 4,
      clock: new ManualClock(),
      process: async (key) => {
        if (running.has(key)) overlap = true;
        running.add(key);
        seen.push(key);
        const g = gate();
        gates.set(key, [...(gates.get(key) ?? []), g]);
        await g.promise;
        running.delete(key);
        return {};
      },
    });
    q.start();
    q.add('a');
    q.add('a'); // queued once
    q.add('b');
    await settle();
    expect(seen).toEqual(['a', 'b']);
    q.add('a'); // while processing: marked dirty, runs again after
    q.add('a');
    await settle();
    expect(seen).toEqual(['a', 'b']); // not while the first run of a is in progress
    gates.get('a')?.[0]?.open();
    await settle();
    expect(seen).toEqual(['a', 'b', 'a']);
    for (const g of [...gates.values()].flat()) g.open();
    await settle();
    expect(overlap).toBe(false);
    expect(seen.filter((k) => k === 'a')).toHaveLength(2);
    expect(seen.filter((k) => k === 'b')).toHaveLength(1);
    await q.shutdown();
  });

  test('backs off per key after failures and honours requeueAfter', async () => {
    const clock = new ManualClock();
    const times: Record<string, number[]> = { bad: [], timed: [] };
    const errors: [string, number][] = [];
    let calls = 0;
    const q = new WorkQueue({
      concurrency: 2,
      baseDelayMs: 30,
      clock,
      onError: (key, _err, retryInMs) => errors.push([key, retryInMs]),
      process: async (key) => {
        times[key]?.push(clock.now());
        if (key === 'bad') throw new Error('boom');
        calls++;
        return calls === 1 ? { requeueAfterMs: 40 } : {};
      },
    });
    q.start();
    q.add('bad');
    q.add('timed');
    await settle();
    expect(times).toEqual({ bad: [0], timed: [0] });
    // Each retry waits exactly its back-off: 30, 60, 120 ms; never a moment earlier.
    await clock.advance(29);
    expect(times.bad).toEqual([0]);
    await clock.advance(1);
    expect(times.bad).toEqual([0, 30]);
    await clock.advance(59);
    expect(times.bad).toEqual([0, 30]);
    await clock.advance(1);
    expect(times.bad).toEqual([0, 30, 90]);
    await clock.advance(120);
    expect(times.bad).toEqual([0, 30, 90, 210]);
    expect(errors.slice(0, 4)).toEqual([
      ['bad', 30],
      ['bad', 60],
      ['bad', 120],
      ['bad', 240],
    ]);
    // requeueAfterMs: 40 brought `timed` back once, at 40 ms; the second run asked for nothing.
    expect(times.timed).toEqual([0, 40]);
    await q.shutdown();
    expect(clock.pending).toBe(0); // shutdown drops the pending retry
  });

  test('an earlier addAfter wins over a later one', async () => {
    const { clock, seen, q } = timedQueue();
    q.addAfter('k', 200);
    q.addAfter('k', 20);
    expect(q.depth).toBe(1);
    expect(clock.pending).toBe(1);
    await clock.advance(20);
    expect(seen).toEqual([20]);
    expect(q.depth).toBe(0);
    await clock.advance(500);
    expect(seen).toEqual([20]);
    await q.shutdown();
  });

  test('an add() cancels a pending addAfter for the same key', async () => {
    const { clock, seen, q } = timedQueue();
    q.addAfter('k', 100);
    q.add('k');
    await settle();
    expect(seen).toEqual([0]);
    expect(clock.pending).toBe(0);
    await clock.advance(100);
    expect(seen).toEqual([0]);
    await q.shutdown();
  });

  test('by default, delays run on real, unref’d timers', async () => {
    let handle: unknown;
    const fired = new Promise<void>((resolve) => (handle = realClock.setTimeout(resolve, 1)));
    expect((handle as NodeJS.Timeout).hasRef()).toBe(false);
    await fired;
    const seen: string[] = [];
    let done = (): void => undefined;
    const processed = new Promise<void>((r) => (done = r));
    const q = new WorkQueue({ concurrency: 1, process: async (key) => (seen.push(key), done(), {}) });
    q.start();
    q.addAfter('k', 1);
    await processed;
    expect(seen).toEqual(['k']);
    await q.shutdown();
  });
});
