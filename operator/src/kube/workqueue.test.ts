import { describe, expect, test } from '@jest/globals';
import { setTimeout as sleep } from 'node:timers/promises';
import { backoffDelay, WorkQueue } from './workqueue.ts';

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

describe('WorkQueue', () => {
  test('processes nothing before start()', async () => {
    const seen: string[] = [];
    const q = new WorkQueue({ concurrency: 1, process: async (key) => (seen.push(key), {}) });
    q.add('early');
    await sleep(20);
    expect(seen).toEqual([]);
    q.start();
    await sleep(20);
    expect(seen).toEqual(['early']);
    await q.shutdown();
  });

  test('de-duplicates keys that wait and never runs one key twice at once', async () => {
    const running = new Set<string>();
    let overlap = false;
    const seen: string[] = [];
    const q = new WorkQueue({
      concurrency: 4,
      process: async (key) => {
        if (running.has(key)) overlap = true;
        running.add(key);
        seen.push(key);
        await sleep(20);
        running.delete(key);
        return {};
      },
    });
    q.start();
    q.add('a');
    q.add('a'); // queued once
    q.add('b');
    await sleep(5);
    q.add('a'); // while processing: marked dirty, runs again after
    q.add('a');
    await sleep(80);
    expect(overlap).toBe(false);
    expect(seen.filter((k) => k === 'a')).toHaveLength(2);
    expect(seen.filter((k) => k === 'b')).toHaveLength(1);
    await q.shutdown();
  });

  test('backs off per key after failures and honours requeueAfter', async () => {
    const times: Record<string, number[]> = { bad: [], timed: [] };
    let calls = 0;
    const q = new WorkQueue({
      concurrency: 2,
      baseDelayMs: 30,
      process: async (key) => {
        times[key]?.push(Date.now());
        if (key === 'bad') throw new Error('boom');
        calls++;
        return calls === 1 ? { requeueAfterMs: 40 } : {};
      },
    });
    q.start();
    q.add('bad');
    q.add('timed');
    await sleep(200);
    await q.shutdown();
    const bad = times.bad ?? [];
    expect(bad.length).toBeGreaterThanOrEqual(3);
    // Timers never fire early, so each gap is at least its back-off: 30, 60, 120 ms …
    const gaps = bad.slice(1).map((t, i) => t - (bad[i] ?? 0));
    expect(gaps[0] ?? 0).toBeGreaterThanOrEqual(29);
    expect(gaps[1] ?? 0).toBeGreaterThanOrEqual(59);
    expect(times.timed).toHaveLength(2);
  });

  test('an earlier addAfter wins over a later one', async () => {
    const seen: number[] = [];
    const start = Date.now();
    const q = new WorkQueue({ concurrency: 1, process: async () => (seen.push(Date.now() - start), {}) });
    q.start();
    q.addAfter('k', 200);
    q.addAfter('k', 20);
    await sleep(100);
    expect(seen).toHaveLength(1);
    expect(q.depth).toBe(0);
    await q.shutdown();
  });
});
