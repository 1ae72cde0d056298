// A list+watch cache around client-node's ListWatch, hardened the way controller-runtime's reflector
// is: 410 Gone relists (ListWatch does that), any other error restarts with capped exponential
// backoff and jitter, and a watchdog restarts a watch that went silent. A restart builds a fresh
// ListWatch and swaps it in only after its list arrived, so readers never see an empty cache.
import { ListWatch, Watch } from '@kubernetes/client-node';
import type { KubeConfig, KubernetesListObject, KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from 'pino';

export interface HardenedInformerOptions<T extends KubernetesObject> {
  kc: KubeConfig;
  /** Resource name for logs, e.g. "httproutes". */
  resource: string;
  /** Watch path, e.g. /api/v1/services. */
  path: string;
  list: () => Promise<KubernetesListObject<T>>;
  onChange: () => void;
  log: Logger;
  /** Restart when neither an event nor a (re)connect was seen for this long. */
  watchdogMs?: number;
  baseBackoffMs?: number;
  maxBackoffMs?: number;
}

/** Capped exponential backoff with ±50% jitter (pure, for tests). */
export function backoffDelay(
  failures: number,
  baseMs: number,
  maxMs: number,
  random: () => number = Math.random,
): number {
  const raw = Math.min(maxMs, baseMs * 2 ** Math.max(0, failures - 1));
  return Math.round(raw * (0.5 + random() / 2));
}

export class HardenedInformer<T extends KubernetesObject> {
  readonly #o: HardenedInformerOptions<T>;
  #gen = 0;
  #active: ListWatch<T> | undefined;
  #current: ListWatch<T> | undefined;
  #synced = false;
  #failures = 0;
  #lastActivity = Date.now();
  #restartTimer: NodeJS.Timeout | undefined;
  #watchdog: NodeJS.Timeout | undefined;
  #stopped = false;
  restarts = 0;

  constructor(o: HardenedInformerOptions<T>) {
    this.#o = o;
  }

  get synced(): boolean {
    return this.#synced;
  }

  list(): readonly T[] {
    return this.#active?.list() ?? [];
  }

  start(): void {
    this.#stopped = false;
    this.#launch();
    const watchdogMs = this.#o.watchdogMs ?? 120_000;
    this.#watchdog = setInterval(
      () => {
        if (this.#restartTimer || Date.now() - this.#lastActivity <= watchdogMs) return;
        this.#o.log.warn(
          { resource: this.#o.resource, silentMs: Date.now() - this.#lastActivity },
          'watch silent; restarting it',
        );
        this.#restart(0);
      },
      Math.max(50, Math.floor(watchdogMs / 4)),
    );
    this.#watchdog.unref();
  }

  stop(): void {
    this.#stopped = true;
    this.#gen += 1;
    if (this.#restartTimer) clearTimeout(this.#restartTimer);
    if (this.#watchdog) clearInterval(this.#watchdog);
    void this.#current?.stop();
    if (this.#active !== this.#current) void this.#active?.stop();
  }

  #launch(): void {
    const gen = ++this.#gen;
    const isCurrent = (): boolean => gen === this.#gen && !this.#stopped;
    const touch = (): void => {
      if (isCurrent()) this.#lastActivity = Date.now();
    };
    let lw: ListWatch<T> | undefined = undefined;
    const listFn = async (): Promise<KubernetesListObject<T>> => {
      const result = await this.#o.list();
      touch();
      // ListWatch applies the list synchronously right after this promise settles; swap once it did.
      setImmediate(() => {
        if (!isCurrent() || !lw) return;
        if (this.#active !== lw) {
          const old = this.#active;
          this.#active = lw;
          if (old && old !== lw) void old.stop();
        }
        if (!this.#synced)
          this.#o.log.info({ resource: this.#o.resource, count: lw.list().length }, 'initial list done');
        this.#synced = true;
        this.#o.onChange();
      });
      return result;
    };
    lw = new ListWatch<T>(this.#o.path, new Watch(this.#o.kc), listFn, false);
    this.#current = lw;
    const onEvent = (): void => {
      if (!isCurrent()) return;
      touch();
      this.#failures = 0;
      if (this.#active === lw) this.#o.onChange();
    };
    lw.on('add', onEvent);
    lw.on('update', onEvent);
    lw.on('delete', onEvent);
    lw.on('connect', touch);
    lw.on('error', (err: unknown) => {
      if (!isCurrent()) return; // a replaced or stopped instance reporting its abort
      this.#failures += 1;
      const delay = backoffDelay(
        this.#failures,
        this.#o.baseBackoffMs ?? 500,
        this.#o.maxBackoffMs ?? 30_000,
      );
      this.#o.log.warn(
        {
          resource: this.#o.resource,
          err: { message: (err as Error)?.message, statusCode: (err as { statusCode?: number })?.statusCode },
          retryInMs: delay,
        },
        'watch failed; restarting with backoff',
      );
      this.#restart(delay);
    });
    lw.start().catch((err: unknown) => {
      if (!isCurrent()) return;
      this.#failures += 1;
      this.#restart(
        backoffDelay(this.#failures, this.#o.baseBackoffMs ?? 500, this.#o.maxBackoffMs ?? 30_000),
      );
      this.#o.log.warn(
        { resource: this.#o.resource, err: { message: (err as Error)?.message } },
        'watch start failed',
      );
    });
  }

  #restart(delayMs: number): void {
    if (this.#stopped || this.#restartTimer) return;
    const failed = this.#current;
    this.#gen += 1; // silences the failed instance's callbacks
    void failed?.stop(); // stop() only aborts the watch: its cache stays readable until the new list lands
    this.restarts += 1;
    this.#restartTimer = setTimeout(() => {
      this.#restartTimer = undefined;
      this.#lastActivity = Date.now();
      if (!this.#stopped) this.#launch();
    }, delayMs);
    this.#restartTimer.unref();
  }
}
