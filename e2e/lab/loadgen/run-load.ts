// The load generator: open loop (a fixed request rate, whatever the latency) or closed loop (N
// workers), always bounded by a request count and a duration, and it stops by itself. Uses node:http
// rather than fetch because routing needs an explicit Host header.
import http from 'node:http';
import { validateOptions, type RunLoadOptions, type ValidatedOptions } from './options.ts';
import { isPoisoned, isPoisonedSeeded } from './poison.ts';
import { aggregate, noGroup, type GroupStats, type Sample } from './stats.ts';

export type { RunLoadOptions } from './options.ts';
export type { GroupStats } from './stats.ts';

export interface LoadResult {
  mode: 'open' | 'closed';
  /** Requests put on the wire. */
  sent: number;
  /** Open loop only: scheduled requests skipped because maxInFlight were outstanding. */
  dropped: number;
  stoppedBy: 'maxRequests' | 'duration' | 'aborted';
  /** From the first request to the last answer. */
  durationMs: number;
  /** Answered or failed requests per second over durationMs. */
  throughput: number;
  groupByHeader: string;
  /** The share of requests sent with the poison body (0: none); each group's `poisoned` counts them. */
  poisonRatio: number;
  byGroup: Record<string, GroupStats>;
  total: GroupStats;
}

/** Request `index` (0-based, in send order): poisoned or not, decided by the index (and the poison seed) alone. */
function sendOne(o: ValidatedOptions, agent: http.Agent, startedAt: number, index: number): Promise<Sample> {
  const poison =
    o.poison !== undefined &&
    (o.poison.seed === undefined
      ? isPoisoned(index, o.poison.ratio)
      : isPoisonedSeeded(index, o.poison.ratio, o.poison.seed));
  const body = poison ? o.poison?.body : o.body;
  return new Promise((resolve) => {
    let settled = false;
    const done = (s: Sample): void => {
      if (!settled) {
        settled = true;
        clearTimeout(timer);
        resolve(poison ? { ...s, poison } : s);
      }
    };
    const headers: http.OutgoingHttpHeaders = { ...o.headers };
    if (body) headers['content-length'] = body.byteLength;
    const req = http.request({
      host: o.url.hostname,
      port: o.url.port || 80,
      path: `${o.url.pathname}${o.url.search}`,
      method: o.method,
      headers,
      agent,
    });
    // End-to-end deadline (connect, headers and body), not just socket inactivity.
    const timer = setTimeout(() => {
      req.destroy(new Error('timeout'));
      done({ group: noGroup, timedOut: true });
    }, o.timeoutMs);
    req.on('response', (res) => {
      const raw = res.headers[o.groupByHeader];
      const group = (Array.isArray(raw) ? raw.join(',') : raw) || noGroup;
      res.on('data', () => undefined); // drain; the body itself is not kept
      res.on('end', () =>
        done({ group, status: res.statusCode ?? 0, latencyMs: performance.now() - startedAt }),
      );
      res.on('error', () => done({ group, timedOut: false }));
    });
    req.on('error', () => done({ group: noGroup }));
    req.end(body);
  });
}

/** Runs the load and returns per-group results. Never runs past durationMs + timeoutMs. */
export async function runLoad(options: RunLoadOptions): Promise<LoadResult> {
  const o = validateOptions(options);
  const workers = o.mode.kind === 'closed' ? o.mode.concurrency : o.maxInFlight;
  const agent = new http.Agent({ keepAlive: true, maxSockets: workers, maxFreeSockets: workers });
  const samples: Sample[] = [];
  const t0 = performance.now();
  const deadline = t0 + o.durationMs;
  let sent = 0;
  let dropped = 0;
  let inFlight = 0;
  const aborted = (): boolean => options.signal?.aborted === true;
  const sendingOpen = (): boolean =>
    sent + dropped < o.maxRequests && performance.now() < deadline && !aborted();

  try {
    if (o.mode.kind === 'closed') {
      const worker = async (): Promise<void> => {
        while (sent < o.maxRequests && performance.now() < deadline && !aborted()) {
          sent += 1;
          const s = await sendOne(o, agent, performance.now(), sent - 1);
          samples.push(s);
          options.onSample?.(s, Date.now());
        }
      };
      await Promise.all(Array.from({ length: Math.min(o.mode.concurrency, o.maxRequests) }, worker));
    } else {
      const interval = 1000 / o.mode.rate;
      const pending = new Set<Promise<void>>();
      let i = 0;
      while (sendingOpen()) {
        const due = t0 + i * interval;
        if (due >= deadline) break; // the next slot is past the duration
        const wait = due - performance.now();
        if (wait > 1) {
          await new Promise((r) => setTimeout(r, wait));
          continue; // re-check bounds and abort after sleeping
        }
        i += 1;
        if (inFlight >= o.maxInFlight) {
          dropped += 1;
          continue;
        }
        sent += 1;
        inFlight += 1;
        // Latency counts from the scheduled time, so a stalled generator cannot hide queueing
        // (coordinated omission).
        const p = sendOne(o, agent, Math.min(due, performance.now()), sent - 1).then((s) => {
          samples.push(s);
          options.onSample?.(s, Date.now());
          inFlight -= 1;
          pending.delete(p);
        });
        pending.add(p);
      }
      await Promise.all(pending);
    }
  } finally {
    agent.destroy();
  }
  const durationMs = performance.now() - t0;
  const stoppedBy = aborted() ? 'aborted' : sent + dropped >= o.maxRequests ? 'maxRequests' : 'duration';
  return {
    mode: o.mode.kind,
    sent,
    dropped,
    stoppedBy,
    durationMs: Math.round(durationMs),
    throughput: Math.round((samples.length / Math.max(durationMs, 1)) * 1000 * 10) / 10,
    groupByHeader: o.groupByHeader,
    poisonRatio: o.poison?.ratio ?? 0,
    ...aggregate(samples),
  };
}

/**
 * Load in the background until `stop()` (or its own bounds): for demos and scenarios that change the
 * cluster while traffic runs. `stop()` aborts the sending and resolves with the results.
 */
export function startLoad(options: Omit<RunLoadOptions, 'signal'>): { stop: () => Promise<LoadResult> } {
  const ac = new AbortController();
  const run = runLoad({ ...options, signal: ac.signal });
  return {
    stop: async () => {
      ac.abort();
      return run;
    },
  };
}
