// Carries out what the pure core decided, with as few writes as possible: a child is applied
// (server-side apply, one field manager) only when the cluster's copy differs; the status is applied
// only when it changed; Events are created as the core lists them. A converged model costs no write.
import type { Logger } from 'pino';
import { isNotFound, KubeApiError } from '../errors.ts';
import { appliedHashAnnotation, deepEqual, isSubset, manifestHash } from './object-diff.ts';
import { isRecord, type KubeObject } from './object-meta.ts';
import { apiVersionOf, resourceForKind, resourcePath, resources } from './resources.ts';
import type { KubeClient } from './rest-client.ts';

export interface ChildRef {
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
  /** Delete only this incarnation: a same-named successor is never deleted by mistake. */
  uid?: string;
}

export interface EventSpec {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
  action?: string;
}

export interface Plan {
  apply: KubeObject[];
  delete: ChildRef[];
  status: unknown;
  events: EventSpec[];
}

export interface ExecutorOptions {
  client: KubeClient;
  fieldManager: string;
  reportingController: string;
  reportingInstance: string;
  log: Logger;
  onWrite?: (verb: 'apply' | 'delete' | 'status' | 'event', kind: string) => void;
  /** The server's copy after a write, so caches read their own writes before the watch says so. */
  onWritten?: (obj: KubeObject) => void;
}

export interface ExecutionResult {
  applied: number;
  deleted: number;
  statusWritten: boolean;
  events: number;
}

const applyContentType = 'application/apply-patch+yaml';

/** The desired manifest with the hash of itself recorded, so removals are seen too. */
export function withAppliedHash(desired: KubeObject): KubeObject {
  const hash = manifestHash(desired);
  return {
    ...desired,
    metadata: { ...desired.metadata, annotations: { ...desired.metadata.annotations, [appliedHashAnnotation]: hash } },
  };
}

export function needsApply(desired: KubeObject, observed: KubeObject | undefined): boolean {
  if (!observed) return true;
  const stamped = withAppliedHash(desired);
  return observed.metadata.annotations?.[appliedHashAnnotation] !== stamped.metadata.annotations?.[appliedHashAnnotation] || !isSubset(stamped, observed);
}

function microTime(d: Date): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

export class Executor {
  readonly #o: ExecutorOptions;
  #eventSeq = 0;

  constructor(opts: ExecutorOptions) {
    this.#o = opts;
  }

  async execute(owner: KubeObject, plan: Plan, observed: (ref: ChildRef) => KubeObject | undefined): Promise<ExecutionResult> {
    const result: ExecutionResult = { applied: 0, deleted: 0, statusWritten: false, events: 0 };
    for (const desired of plan.apply) {
      const ref = { apiVersion: desired.apiVersion, kind: desired.kind, namespace: desired.metadata.namespace ?? '', name: desired.metadata.name };
      if (!needsApply(desired, observed(ref))) continue;
      await this.apply(withAppliedHash(desired));
      result.applied++;
    }
    for (const ref of plan.delete) {
      if (!observed(ref)) continue;
      const r = resourceForKind(ref.apiVersion, ref.kind);
      if (!r) throw new Error(`executor: cannot delete unknown kind ${ref.apiVersion} ${ref.kind}`);
      try {
        await this.#o.client.request({
          method: 'DELETE',
          path: resourcePath(r, ref.namespace, ref.name),
          body: { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Background', ...(ref.uid ? { preconditions: { uid: ref.uid } } : {}) },
          object: ref,
        });
        this.#o.onWrite?.('delete', ref.kind);
      } catch (err) {
        // Gone already, or replaced by a successor the uid precondition protects (409).
        if (!isNotFound(err) && !(err instanceof KubeApiError && err.status === 409)) throw err;
      }
      result.deleted++;
    }
    if (!deepEqual(plan.status, owner.status ?? {})) {
      const written = await this.#o.client.request({
        method: 'PATCH',
        path: resourcePath(resources.onnxModel, owner.metadata.namespace, owner.metadata.name, 'status'),
        query: { fieldManager: this.#o.fieldManager, force: true },
        contentType: applyContentType,
        body: { apiVersion: owner.apiVersion, kind: owner.kind, metadata: { name: owner.metadata.name, namespace: owner.metadata.namespace }, status: plan.status },
        object: { kind: owner.kind, namespace: owner.metadata.namespace, name: owner.metadata.name },
      });
      this.#o.onWrite?.('status', owner.kind);
      this.#written(written);
      result.statusWritten = true;
    }
    for (const event of plan.events) {
      await this.#event(owner, event);
      result.events++;
    }
    return result;
  }

  async apply(obj: KubeObject): Promise<unknown> {
    const r = resourceForKind(obj.apiVersion, obj.kind);
    if (!r) throw new Error(`executor: cannot apply unknown kind ${obj.apiVersion} ${obj.kind}`);
    const out = await this.#o.client.request({
      method: 'PATCH',
      path: resourcePath(r, obj.metadata.namespace, obj.metadata.name),
      query: { fieldManager: this.#o.fieldManager, force: true },
      contentType: applyContentType,
      body: obj,
      object: { kind: obj.kind, namespace: obj.metadata.namespace, name: obj.metadata.name },
    });
    this.#o.onWrite?.('apply', obj.kind);
    this.#written(out);
    return out;
  }

  #written(out: unknown): void {
    if (isRecord(out) && isRecord(out.metadata) && typeof out.metadata.name === 'string') this.#o.onWritten?.(out as KubeObject);
  }

  async #event(owner: KubeObject, e: EventSpec): Promise<void> {
    try {
      await this.#o.client.request({
        method: 'POST',
        path: resourcePath(resources.event, owner.metadata.namespace),
        body: {
          apiVersion: apiVersionOf(resources.event),
          kind: 'Event',
          // Named as client-go's recorder names events: <object>.<hex time>, unique enough per object.
          metadata: { name: `${owner.metadata.name}.${(BigInt(Date.now()) * 1_000_000n + BigInt(++this.#eventSeq)).toString(16)}`, namespace: owner.metadata.namespace },
          eventTime: microTime(new Date()),
          reportingController: this.#o.reportingController,
          reportingInstance: this.#o.reportingInstance,
          action: e.action ?? e.reason,
          reason: e.reason,
          note: e.message.slice(0, 1000),
          type: e.type,
          regarding: {
            apiVersion: owner.apiVersion,
            kind: owner.kind,
            name: owner.metadata.name,
            namespace: owner.metadata.namespace,
            uid: owner.metadata.uid,
          },
        },
      });
      this.#o.onWrite?.('event', 'Event');
    } catch (err) {
      // An Event is advice to humans; losing one must not fail the reconcile.
      this.#o.log.warn({ err, reason: e.reason }, 'could not record event');
    }
  }
}
