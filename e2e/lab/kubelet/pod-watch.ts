// The pod watch, hardened: list then watch from the list's resourceVersion; relist on 410 Gone;
// restart on errors with exponential back-off; a watchdog restarts a stream that fell silent
// (bookmarks keep a healthy one talking).
import type { Logger } from 'pino';
import { errorMessage } from './errors.ts';
import { ApiError, type KubeApi, type WatchEvent } from './kube-api.ts';
import type { Pod } from './types.ts';

export interface PodWatchHandlers {
  /** The complete set of our pods after a (re)list; pods missing from it are gone. */
  onSync: (pods: Pod[]) => void;
  onUpsert: (pod: Pod) => void;
  onDelete: (pod: Pod) => void;
}

class Gone extends Error {}

const selector = encodeURIComponent('spec.nodeName!=');

/** Next back-off after a failed attempt: doubling from 500 ms, capped at 30 s. */
export function nextWatchBackoff(ms: number): number {
  return Math.min(ms * 2, 30000);
}

export class PodWatcher {
  private readonly api: KubeApi;
  private readonly log: Logger;
  private readonly nodes: ReadonlySet<string>;
  private readonly watchdogMs: number;
  private readonly handlers: PodWatchHandlers;
  private stopped = false;
  private abortStream: (() => void) | undefined;
  private resourceVersion: string | undefined;
  private wake: (() => void) | undefined;
  synced = false;
  lastEventAt = Date.now();

  constructor(opts: { api: KubeApi; log: Logger; nodes: ReadonlySet<string>; watchdogMs: number; handlers: PodWatchHandlers }) {
    this.api = opts.api;
    this.log = opts.log;
    this.nodes = opts.nodes;
    this.watchdogMs = opts.watchdogMs;
    this.handlers = opts.handlers;
  }

  private ours(pod: Pod): boolean {
    return pod.spec?.nodeName !== undefined && this.nodes.has(pod.spec.nodeName);
  }

  async run(): Promise<void> {
    let backoffMs = 500;
    while (!this.stopped) {
      try {
        if (this.resourceVersion === undefined) await this.list();
        await this.watchOnce();
        backoffMs = 500;
      } catch (err) {
        if (this.stopped) break;
        if (err instanceof Gone || (err instanceof ApiError && err.status === 410)) {
          this.log.info('pod watch expired (410 Gone); relisting');
          this.resourceVersion = undefined;
          continue;
        }
        this.log.warn({ err: errorMessage(err), backoffMs }, 'pod watch failed; retrying');
        await new Promise<void>((r) => {
          this.wake = r;
          setTimeout(r, backoffMs);
        });
        backoffMs = nextWatchBackoff(backoffMs);
      }
    }
  }

  stop(): void {
    this.stopped = true;
    this.abortStream?.();
    this.wake?.();
  }

  private async list(): Promise<void> {
    const list = await this.api.request<{ metadata: { resourceVersion: string }; items: Pod[] }>('GET', `/api/v1/pods?fieldSelector=${selector}`);
    this.resourceVersion = list.metadata.resourceVersion;
    this.handlers.onSync(list.items.filter((p) => this.ours(p)));
    this.synced = true;
    this.lastEventAt = Date.now();
  }

  private async watchOnce(): Promise<void> {
    const path = `/api/v1/pods?watch=1&allowWatchBookmarks=true&timeoutSeconds=300&fieldSelector=${selector}&resourceVersion=${this.resourceVersion}`;
    let failure: Error | undefined;
    const stream = this.api.watch(path, (e: WatchEvent) => {
      this.lastEventAt = Date.now();
      const obj = e.object as unknown as Pod & { code?: number; message?: string };
      if (e.type === 'ERROR') {
        failure = obj.code === 410 ? new Gone(obj.message) : new Error(`watch error: ${obj.message ?? JSON.stringify(obj)}`);
        stream.abort();
        return;
      }
      if (obj.metadata?.resourceVersion) this.resourceVersion = obj.metadata.resourceVersion;
      if (e.type === 'BOOKMARK' || !this.ours(obj)) return;
      if (e.type === 'DELETED') this.handlers.onDelete(obj);
      else this.handlers.onUpsert(obj);
    });
    this.abortStream = stream.abort;
    const watchdog = setInterval(() => {
      if (Date.now() - this.lastEventAt > this.watchdogMs) {
        this.log.warn({ silentMs: Date.now() - this.lastEventAt }, 'pod watch silent; restarting it');
        this.lastEventAt = Date.now();
        stream.abort();
      }
    }, Math.min(this.watchdogMs, 5000));
    try {
      await stream.done;
    } finally {
      clearInterval(watchdog);
      this.abortStream = undefined;
    }
    if (failure) throw failure;
  }
}
