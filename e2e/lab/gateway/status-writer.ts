// Thin adapter: writes the statuses the pure functions computed, only when they changed. Route
// writes carry the resourceVersion read from the cache, so another controller's concurrent update
// yields a 409 instead of being overwritten; the watch event that follows triggers a fresh pass.
import { CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { HTTPRoute } from './kube-types.ts';
import { attachedRoutes, gatewayClassStatus, gatewayStatus, type StatusObject } from './gateway-status.ts';
import { mergeRouteParents } from './route-status.ts';
import type { GatewayIdentity, RouteTable } from './route-table.ts';

const group = 'gateway.networking.k8s.io';
const version = 'v1';

function nowString(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function statusCode(err: unknown): number | undefined {
  return (err as { code?: number }).code ?? (err as { statusCode?: number }).statusCode;
}

export class StatusWriter {
  readonly #api: CustomObjectsApi;
  readonly #gw: GatewayIdentity;
  readonly #className: string;
  readonly #address: string;
  readonly #log: Logger;
  writes = 0;

  constructor(kc: KubeConfig, gw: GatewayIdentity, className: string, address: string, log: Logger) {
    this.#api = kc.makeApiClient(CustomObjectsApi);
    this.#gw = gw;
    this.#className = className;
    this.#address = address;
    this.#log = log;
  }

  /** One pass over every route plus the Gateway and GatewayClass. Returns false if a write failed. */
  async sync(table: RouteTable, routes: readonly HTTPRoute[]): Promise<boolean> {
    let ok = true;
    const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
    for (const route of routes) {
      const namespace = route.metadata.namespace ?? '';
      const name = route.metadata.name ?? '';
      const desired = table.routeConditions.get(`${namespace}/${name}`) ?? [];
      const { changed, parents } = mergeRouteParents(route, this.#gw.controllerName, desired, nowString());
      if (!changed) continue;
      try {
        await this.#api.patchNamespacedCustomObjectStatus(
          {
            group,
            version,
            plural: 'httproutes',
            namespace,
            name,
            body: { metadata: { resourceVersion: route.metadata.resourceVersion }, status: { parents } },
          },
          merge,
        );
        this.writes += 1;
        this.#log.info(
          {
            namespace,
            name,
            parents: parents
              .filter((p) => p.controllerName === this.#gw.controllerName)
              .map((p) => p.conditions?.map((c) => `${c.type}=${c.status}/${c.reason}`)),
          },
          'HTTPRoute status written',
        );
      } catch (err) {
        const code = statusCode(err);
        if (code === 409 || code === 404) {
          this.#log.debug(
            { namespace, name, code },
            'HTTPRoute changed or went away under us; the next event retries',
          );
        } else {
          ok = false;
          this.#log.warn(
            { namespace, name, err: { message: (err as Error).message, code } },
            'writing HTTPRoute status failed',
          );
        }
      }
    }
    return (await this.#syncGateway(table, merge)) && ok;
  }

  async #syncGateway(table: RouteTable, merge: ReturnType<typeof setHeaderOptions>): Promise<boolean> {
    try {
      const gc = (await this.#api.getClusterCustomObject({
        group,
        version,
        plural: 'gatewayclasses',
        name: this.#className,
      })) as StatusObject;
      const c = gatewayClassStatus(gc, nowString());
      if (c.changed) {
        await this.#api.patchClusterCustomObjectStatus(
          { group, version, plural: 'gatewayclasses', name: this.#className, body: { status: c.status } },
          merge,
        );
        this.writes += 1;
        this.#log.info({ name: this.#className }, 'GatewayClass status written');
      }
      const { namespace, name } = this.#gw;
      const g = (await this.#api.getNamespacedCustomObject({
        group,
        version,
        plural: 'gateways',
        namespace,
        name,
      })) as StatusObject;
      const s = gatewayStatus(g, this.#gw, attachedRoutes(table), this.#address, nowString());
      if (s.changed) {
        await this.#api.patchNamespacedCustomObjectStatus(
          { group, version, plural: 'gateways', namespace, name, body: { status: s.status } },
          merge,
        );
        this.writes += 1;
        this.#log.info(
          { namespace, name, attachedRoutes: s.status.listeners[0]?.attachedRoutes },
          'Gateway status written',
        );
      }
      return true;
    } catch (err) {
      // Before the lab applied the Gateway API objects this fails; the periodic resync retries.
      this.#log.debug(
        { err: { message: (err as Error).message, code: statusCode(err) } },
        'Gateway/GatewayClass status not written',
      );
      return statusCode(err) === 404;
    }
  }
}
