// A hardened list-watch cache of one resource type. It lists, then watches from the list's
// resourceVersion with bookmarks; it relists when the server says the version is too old (410 Gone),
// restarts with exponential back-off after errors, and a watchdog restarts a stream that went silent
// (no event and no bookmark) for too long. Handlers receive every change.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { asKubeObject, isRecord, keyOf, type KubeObject } from './object-meta.ts';
import { apiVersionOf, resourcePath, type ResourceType } from './resources.ts';
import type { KubeClient } from './rest-client.ts';

export type ChangeType = 'ADDED' | 'MODIFIED' | 'DELETED';
export type ChangeHandler = (type: ChangeType, obj: KubeObject) => void;

export interface InformerOptions {
  client: KubeClient;
  resource: ResourceType;
  log: Logger;
  labelSelector?: string;
  /** e.g. `metadata.name=ml-prod`: RBAC can then grant list/watch on that one object (resourceNames). */
  fieldSelector?: string;
  /** Watch one namespace only (namespaced resources); all namespaces when unset. */
  namespace?: string;
  /** Restart a watch that sent nothing (bookmarks included) for this long (capped at the server timeout + 30 s). */
  watchdogMs?: number;
  /** The server closes each watch after between this and twice this many seconds. */
  watchTimeoutSeconds?: number;
  backoffInitialMs?: number;
  backoffMaxMs?: number;
  onRestart?: (reason: 'expired' | 'error' | 'watchdog' | 'closed') => void;
}

/**
 * Resource versions are opaque by contract but are etcd revisions in every API server; compare
 * them as integers when both are, and otherwise treat the incoming one as newer.
 */
export function isNewer(incoming: string | undefined, cached: string | undefined): boolean {
  if (!incoming || !cached || !/^\d+$/.test(incoming) || !/^\d+$/.test(cached)) return true;
  return BigInt(incoming) > BigInt(cached);
}

/** The cache keeps objects without managedFields: the operator never reads them, and they are often most of an object's size. */
function slim(obj: KubeObject): KubeObject {
  if (obj.metadata.managedFields === undefined) return obj;
  const { managedFields: _dropped, ...metadata } = obj.metadata;
  return { ...obj, metadata };
}

class WatchExpired extends Error {}
class WatchSilent extends Error {}

/** What the controller needs of a cache of one resource type: an Informer, or one per watched namespace. */
export interface ObjectCache {
  onChange(handler: ChangeHandler): void;
  readonly synced: boolean;
  list(): KubeObject[];
  get(namespace: string, name: string): KubeObject | undefined;
  upsert(obj: KubeObject): void;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export class Informer implements ObjectCache {
  readonly #opts: Required<Omit<InformerOptions, 'labelSelector' | 'fieldSelector' | 'onRestart' | 'namespace'>> & Pick<InformerOptions, 'labelSelector' | 'fieldSelector' | 'onRestart' | 'namespace'>;
  readonly #store = new Map<string, KubeObject>();
  readonly #handlers: ChangeHandler[] = [];
  #abort = new AbortController();
  #stopped = false;
  #synced = false;
  #resourceVersion = '';
  #syncedWaiters: (() => void)[] = [];
  #loop: Promise<void> | undefined;

  constructor(opts: InformerOptions) {
    this.#opts = { watchdogMs: 600_000, watchTimeoutSeconds: 150, backoffInitialMs: 250, backoffMaxMs: 30_000, ...opts };
  }

  onChange(handler: ChangeHandler): void {
    this.#handlers.push(handler);
  }

  get synced(): boolean {
    return this.#synced;
  }

  list(): KubeObject[] {
    return [...this.#store.values()];
  }

  get(namespace: string, name: string): KubeObject | undefined {
    return this.#store.get(`${namespace}/${name}`);
  }

  /**
   * Records the server's answer to our own write, unless the cache already holds a newer version:
   * a reconcile right after a write then sees it even before the watch event arrives.
   */
  upsert(obj: KubeObject): void {
    const key = keyOf(obj);
    const cached = this.#store.get(key);
    if (cached && !isNewer(obj.metadata.resourceVersion, cached.metadata.resourceVersion)) return;
    this.#store.set(key, slim(obj));
  }

  /** Starts the loop; resolves once the first list is in the cache. */
  start(): Promise<void> {
    if (!this.#loop) this.#loop = this.#run();
    return this.#synced ? Promise.resolve() : new Promise((resolve) => this.#syncedWaiters.push(resolve));
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#abort.abort();
    await this.#loop;
  }

  #emit(type: ChangeType, obj: KubeObject): void {
    for (const h of this.#handlers) h(type, obj);
  }

  async #relist(): Promise<void> {
    const path = resourcePath(this.#opts.resource, this.#opts.namespace);
    const fresh = new Map<string, KubeObject>();
    let cont: string | undefined;
    let rv = '';
    do {
      const page = await this.#opts.client.request({
        method: 'GET',
        path,
        query: { limit: 500, continue: cont, labelSelector: this.#opts.labelSelector, fieldSelector: this.#opts.fieldSelector },
        signal: AbortSignal.any([this.#abort.signal, AbortSignal.timeout(60_000)]),
      });
      if (!isRecord(page) || !Array.isArray(page.items) || !isRecord(page.metadata)) {
        throw new Error(`list ${path}: the API server sent no items/metadata`);
      }
      for (const item of page.items) {
        // Items of a list carry no apiVersion/kind; restore them so cached objects look like watched ones.
        const obj = slim({ ...asKubeObject(item, `list ${path}`), apiVersion: apiVersionOf(this.#opts.resource), kind: this.#opts.resource.kind });
        fresh.set(keyOf(obj), obj);
      }
      rv = typeof page.metadata.resourceVersion === 'string' ? page.metadata.resourceVersion : '';
      cont = typeof page.metadata.continue === 'string' && page.metadata.continue !== '' ? page.metadata.continue : undefined;
    } while (cont !== undefined);
    // Replace the store and tell handlers what changed while we were not watching.
    for (const [key, old] of this.#store) {
      if (!fresh.has(key)) {
        this.#store.delete(key);
        this.#emit('DELETED', old);
      }
    }
    for (const [key, obj] of fresh) {
      const old = this.#store.get(key);
      this.#store.set(key, obj);
      if (!old) this.#emit('ADDED', obj);
      else if (old.metadata.resourceVersion !== obj.metadata.resourceVersion) this.#emit('MODIFIED', obj);
    }
    this.#resourceVersion = rv;
    if (!this.#synced) {
      this.#synced = true;
      for (const w of this.#syncedWaiters.splice(0)) w();
    }
  }

  async #watchOnce(): Promise<void> {
    // The server ends each watch after a spread-out while, as client-go's reflector asks; a stream
    // still open and silent past that (plus a margin) is dead, whatever TCP says.
    const timeoutSeconds = this.#opts.watchTimeoutSeconds + Math.floor(Math.random() * this.#opts.watchTimeoutSeconds);
    const silentAfterMs = Math.min(this.#opts.watchdogMs, (timeoutSeconds + 30) * 1000);
    const attempt = new AbortController();
    const signal = AbortSignal.any([this.#abort.signal, attempt.signal]);
    let silent = false;
    let timer: NodeJS.Timeout | undefined;
    const arm = (): void => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        silent = true;
        attempt.abort();
      }, silentAfterMs);
    };
    arm();
    try {
      const body = await this.#opts.client.stream({
        method: 'GET',
        path: resourcePath(this.#opts.resource, this.#opts.namespace),
        query: {
          watch: true,
          allowWatchBookmarks: true,
          resourceVersion: this.#resourceVersion,
          labelSelector: this.#opts.labelSelector,
          fieldSelector: this.#opts.fieldSelector,
          timeoutSeconds,
        },
        signal,
      });
      const decoder = new TextDecoder();
      let buffered = '';
      for await (const chunk of body) {
        arm();
        buffered += decoder.decode(chunk, { stream: true });
        let nl: number;
        while ((nl = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, nl).trim();
          buffered = buffered.slice(nl + 1);
          if (line) this.#handleLine(line);
        }
      }
    } catch (err) {
      if (silent) throw new WatchSilent('watch stream was silent');
      if (this.#stopped) return;
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  #handleLine(line: string): void {
    const event: unknown = JSON.parse(line);
    if (!isRecord(event) || typeof event.type !== 'string') return;
    if (event.type === 'ERROR') {
      const status = isRecord(event.object) ? event.object : {};
      if (status.code === 410) throw new WatchExpired(String(status.message ?? 'resource version too old'));
      throw new Error(`watch error: ${String(status.message ?? JSON.stringify(status))}`);
    }
    if (event.type === 'BOOKMARK') {
      // A bookmark's object carries only metadata.resourceVersion: progress, no change.
      const meta = isRecord(event.object) && isRecord(event.object.metadata) ? event.object.metadata : {};
      if (typeof meta.resourceVersion === 'string') this.#resourceVersion = meta.resourceVersion;
      return;
    }
    const obj = slim(asKubeObject(event.object, 'watch event'));
    if (obj.metadata.resourceVersion) this.#resourceVersion = obj.metadata.resourceVersion;
    const key = keyOf(obj);
    if (event.type === 'DELETED') {
      this.#store.delete(key);
      this.#emit('DELETED', obj);
    } else if (event.type === 'ADDED' || event.type === 'MODIFIED') {
      const cached = this.#store.get(key);
      // Our own write may already be cached (upsert); an event can only move the cache forward.
      if (cached && !isNewer(obj.metadata.resourceVersion, cached.metadata.resourceVersion)) {
        if (cached.metadata.resourceVersion !== obj.metadata.resourceVersion) return;
      } else {
        this.#store.set(key, obj);
      }
      this.#emit(cached ? 'MODIFIED' : 'ADDED', obj);
    }
  }

  async #run(): Promise<void> {
    let backoff = this.#opts.backoffInitialMs;
    let needList = true;
    const log = this.#opts.log.child({ resource: this.#opts.resource.plural });
    while (!this.#stopped) {
      try {
        if (needList) {
          await this.#relist();
          needList = false;
        }
        await this.#watchOnce();
        if (this.#stopped) return;
        this.#opts.onRestart?.('closed');
        backoff = this.#opts.backoffInitialMs;
      } catch (err) {
        if (this.#stopped) return;
        if (err instanceof WatchExpired) {
          log.info({ reason: err.message }, 'watch expired; relisting');
          this.#opts.onRestart?.('expired');
          needList = true;
          continue;
        }
        const reason = err instanceof WatchSilent ? 'watchdog' : 'error';
        this.#opts.onRestart?.(reason);
        log.warn({ err, backoffMs: backoff, reason }, 'watch failed; restarting after back-off');
        needList = true;
        await sleep(backoff, undefined, { signal: this.#abort.signal }).catch(() => undefined);
        backoff = Math.min(backoff * 2, this.#opts.backoffMaxMs);
      }
    }
  }
}
