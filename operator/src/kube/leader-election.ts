// Leader election on a coordination.k8s.io Lease, with client-go's timing (lease 15 s, renew
// deadline 10 s, retry 2 s). Only the leader reconciles; a leader that cannot renew in time stops
// leading (the process exits and restarts as a candidate, as controller-runtime does).
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { isNotFound, KubeApiError } from '../errors.ts';
import { isRecord } from './object-meta.ts';
import { apiVersionOf, resourcePath, resources } from './resources.ts';
import type { KubeClient } from './rest-client.ts';

export interface LeaderElectionOptions {
  client: KubeClient;
  namespace: string;
  name: string;
  identity: string;
  log: Logger;
  leaseDurationSeconds?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
}

interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

interface Lease {
  metadata: { resourceVersion?: string };
  spec: LeaseSpec;
}

function asLease(v: unknown): Lease {
  if (!isRecord(v) || !isRecord(v.metadata)) throw new KubeApiError('lease: the API server sent no metadata', 500, 'InvalidResponse');
  return { metadata: v.metadata as Lease['metadata'], spec: isRecord(v.spec) ? (v.spec as LeaseSpec) : {} };
}

const micro = (d: Date): string => d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');

export class LeaderElector {
  readonly #o: Required<LeaderElectionOptions>;
  #leading = false;
  #stopped = false;
  #lastRenew = 0;

  constructor(opts: LeaderElectionOptions) {
    this.#o = { leaseDurationSeconds: 15, renewDeadlineMs: 10_000, retryPeriodMs: 2_000, ...opts };
  }

  get leading(): boolean {
    return this.#leading;
  }

  #path(name?: string): string {
    return resourcePath(resources.lease, this.#o.namespace, name);
  }

  /** Replaces the Lease with optimistic concurrency: a competitor's update in between makes it fail. */
  async #replace(lease: Lease, spec: LeaseSpec): Promise<void> {
    await this.#o.client.request({
      method: 'PUT',
      path: this.#path(this.#o.name),
      body: {
        apiVersion: apiVersionOf(resources.lease),
        kind: 'Lease',
        metadata: { name: this.#o.name, namespace: this.#o.namespace, resourceVersion: lease.metadata.resourceVersion },
        spec,
      },
    });
  }

  /** One acquire-or-renew attempt; true when this instance holds the lease afterwards. */
  async tryAcquireOrRenew(now = new Date()): Promise<boolean> {
    const spec = (transitions: number, acquireTime: string): LeaseSpec => ({
      holderIdentity: this.#o.identity,
      leaseDurationSeconds: this.#o.leaseDurationSeconds,
      acquireTime,
      renewTime: micro(now),
      leaseTransitions: transitions,
    });
    let lease: Lease;
    try {
      lease = asLease(await this.#o.client.request({ method: 'GET', path: this.#path(this.#o.name) }));
    } catch (err) {
      if (!isNotFound(err)) throw err;
      await this.#o.client.request({
        method: 'POST',
        path: this.#path(),
        body: { apiVersion: apiVersionOf(resources.lease), kind: 'Lease', metadata: { name: this.#o.name, namespace: this.#o.namespace }, spec: spec(0, micro(now)) },
      });
      return true;
    }
    const held = lease.spec.holderIdentity ?? '';
    const renewed = Date.parse(lease.spec.renewTime ?? '') || 0;
    const expired = renewed + (lease.spec.leaseDurationSeconds ?? this.#o.leaseDurationSeconds) * 1000 < now.getTime();
    if (held !== '' && held !== this.#o.identity && !expired) return false;
    const mine = held === this.#o.identity;
    await this.#replace(lease, spec((lease.spec.leaseTransitions ?? 0) + (mine ? 0 : 1), mine ? (lease.spec.acquireTime ?? micro(now)) : micro(now)));
    return true;
  }

  /** Resolves when this instance becomes leader; then keeps renewing and calls onLost if it fails. */
  async run(onLost: () => void): Promise<void> {
    const log = this.#o.log.child({ lease: `${this.#o.namespace}/${this.#o.name}`, identity: this.#o.identity });
    while (!this.#stopped && !this.#leading) {
      try {
        if (await this.tryAcquireOrRenew()) {
          this.#leading = true;
          this.#lastRenew = Date.now();
          log.info('became leader');
          break;
        }
      } catch (err) {
        log.warn({ err }, 'leader election attempt failed');
      }
      await sleep(this.#o.retryPeriodMs);
    }
    void (async () => {
      while (!this.#stopped && this.#leading) {
        await sleep(this.#o.retryPeriodMs);
        if (this.#stopped) return;
        try {
          if (await this.tryAcquireOrRenew()) this.#lastRenew = Date.now();
          else throw new Error('lease taken by another instance');
        } catch (err) {
          if (Date.now() - this.#lastRenew > this.#o.renewDeadlineMs) {
            this.#leading = false;
            log.error({ err }, 'lost leadership');
            onLost();
            return;
          }
          log.warn({ err }, 'lease renewal failed; retrying');
        }
      }
    })();
  }

  /** Gives the lease up so a successor does not wait for it to expire. */
  async release(): Promise<void> {
    this.#stopped = true;
    if (!this.#leading) return;
    this.#leading = false;
    try {
      const lease = asLease(await this.#o.client.request({ method: 'GET', path: this.#path(this.#o.name) }));
      if (lease.spec.holderIdentity !== this.#o.identity) return;
      await this.#replace(lease, { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1 });
    } catch (err) {
      this.#o.log.warn({ err }, 'could not release the lease');
    }
  }
}
