// The operator's caches in namespaced mode (--namespace a,b): one Informer per watched namespace,
// seen by the controller as one cache (controller-runtime's multi-namespace cache). Nothing is ever
// listed or watched across all namespaces, so Roles in the watched namespaces are all the RBAC the
// namespaced resources need. The cluster-scoped Namespace resource is watched one object at a time
// (`fieldSelector=metadata.name=<ns>`), which RBAC can grant by resourceNames.
import { Informer, type ChangeHandler, type InformerOptions, type ObjectCache } from './informer.ts';
import type { KubeObject } from './object-meta.ts';

export type CacheOptions = Omit<InformerOptions, 'namespace' | 'fieldSelector'>;

class MultiNamespaceCache implements ObjectCache {
  readonly #byScope: Map<string, Informer>;
  readonly #namespaced: boolean;

  constructor(opts: CacheOptions, namespaces: readonly string[]) {
    this.#namespaced = opts.resource.namespaced;
    this.#byScope = new Map(
      namespaces.map((ns) => [ns, new Informer(this.#namespaced ? { ...opts, namespace: ns } : { ...opts, fieldSelector: `metadata.name=${ns}` })]),
    );
  }

  #scopeOf(obj: { metadata: { namespace?: string; name: string } }): Informer | undefined {
    return this.#byScope.get(this.#namespaced ? (obj.metadata.namespace ?? '') : obj.metadata.name);
  }

  onChange(handler: ChangeHandler): void {
    for (const inf of this.#byScope.values()) inf.onChange(handler);
  }

  get synced(): boolean {
    return [...this.#byScope.values()].every((inf) => inf.synced);
  }

  list(): KubeObject[] {
    return [...this.#byScope.values()].flatMap((inf) => inf.list());
  }

  get(namespace: string, name: string): KubeObject | undefined {
    return this.#scopeOf({ metadata: { namespace, name } })?.get(namespace, name);
  }

  /** An object outside the watched namespaces is not cached (the operator never writes one). */
  upsert(obj: KubeObject): void {
    this.#scopeOf(obj)?.upsert(obj);
  }

  async start(): Promise<void> {
    await Promise.all([...this.#byScope.values()].map((inf) => inf.start()));
  }

  async stop(): Promise<void> {
    await Promise.all([...this.#byScope.values()].map((inf) => inf.stop()));
  }
}

/** A cache of `opts.resource` across every namespace (`namespaces` empty), or across exactly these. */
export function createCache(opts: CacheOptions, namespaces: readonly string[]): ObjectCache {
  return namespaces.length === 0 ? new Informer(opts) : new MultiNamespaceCache(opts, [...new Set(namespaces)]);
}
