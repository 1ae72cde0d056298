// The lab gateway process: watches HTTPRoutes, Services and EndpointSlices through the lab API
// server, keeps the pure route table current, writes route/Gateway status, and proxies HTTP on
// 127.0.0.1. Usage: node e2e/lab/gateway/main.ts --port 17081 --kubeconfig .lab/kubeconfig
import fs from 'node:fs';
import { CoreV1Api, CustomObjectsApi, DiscoveryV1Api, KubeConfig } from '@kubernetes/client-node';
import type { KubernetesListObject, KubernetesObject } from '@kubernetes/client-node';
import { pino } from 'pino';
import { labGateway } from '../gateway-api-crds.ts';
import { labNetwork, labPaths, labPorts } from '../lab-config.ts';
import { inCidr } from './address-guard.ts';
import { parseGatewayArgs } from './cli-args.ts';
import { HardenedInformer } from './hardened-informer.ts';
import type { EndpointSlice, HTTPRoute, Service } from './kube-types.ts';
import { createProxyServer } from './proxy-server.ts';
import { buildRouteTable, describeTable, type GatewayIdentity, type RouteTable } from './route-table.ts';
import { StatusWriter } from './status-writer.ts';
import { ApiForwarder } from '../kubelet/api-forwarder.ts';

const args = (() => {
  try {
    return parseGatewayArgs(process.argv.slice(2), {
      port: labPorts.gateway,
      kubeconfig: labPaths.kubeconfig,
    });
  } catch (err) {
    process.stderr.write(`lab-gateway: ${(err as Error).message}\n`);
    process.exit(2);
  }
})();

const log = pino({ level: args.logLevel, base: { component: 'lab-gateway' } });
const gw: GatewayIdentity = {
  namespace: labGateway.namespace,
  name: args.gatewayName ?? labGateway.name,
  listenerName: labGateway.listenerName,
  listenerPort: labGateway.listenerPort,
  controllerName: labGateway.controllerName,
};

const kc = new KubeConfig();
try {
  kc.loadFromFile(args.kubeconfig);
} catch (err) {
  log.fatal(
    { err: { message: (err as Error).message }, kubeconfig: args.kubeconfig },
    'cannot read the kubeconfig; start the lab control plane first or pass --kubeconfig',
  );
  process.exit(2);
}
const core = kc.makeApiClient(CoreV1Api);
const discovery = kc.makeApiClient(DiscoveryV1Api);
const custom = kc.makeApiClient(CustomObjectsApi);

// Traffic only ever goes to pod addresses of the lab network, and only while its bridge exists.
const allowAddress = (ip: string): boolean => inCidr(ip, labNetwork.podNetwork);
let bridgeCheck = { at: 0, up: false };
function bridgeUp(): boolean {
  if (Date.now() - bridgeCheck.at > 2_000)
    bridgeCheck = { at: Date.now(), up: fs.existsSync(`/sys/class/net/${labNetwork.bridge}`) };
  return bridgeCheck.up;
}

let table: RouteTable = buildRouteTable({ gateway: gw, routes: [], services: [], slices: [] });
let rebuildTimer: NodeJS.Timeout | undefined;
const scheduleRebuild = (): void => {
  // Coalesce bursts of events (an initial list delivers one per object).
  rebuildTimer ??= setTimeout(rebuild, 20);
};

type Listed<T> = () => Promise<KubernetesListObject<T & KubernetesObject>>;
function informer<T>(
  resource: string,
  path: string,
  list: Listed<T>,
): HardenedInformer<T & KubernetesObject> {
  return new HardenedInformer<T & KubernetesObject>({
    kc,
    resource,
    path,
    list,
    onChange: scheduleRebuild,
    log,
    watchdogMs: args.watchdogMs,
  });
}
const routes = informer<HTTPRoute>(
  'httproutes',
  '/apis/gateway.networking.k8s.io/v1/httproutes',
  async () =>
    (await custom.listClusterCustomObject({
      group: 'gateway.networking.k8s.io',
      version: 'v1',
      plural: 'httproutes',
    })) as KubernetesListObject<HTTPRoute & KubernetesObject>,
);
const services = informer<Service>(
  'services',
  '/api/v1/services',
  async () => (await core.listServiceForAllNamespaces()) as KubernetesListObject<Service & KubernetesObject>,
);
const slices = informer<EndpointSlice>(
  'endpointslices',
  '/apis/discovery.k8s.io/v1/endpointslices',
  async () =>
    (await discovery.listEndpointSliceForAllNamespaces()) as unknown as KubernetesListObject<
      EndpointSlice & KubernetesObject
    >,
);
const informers = [routes, services, slices];

const statusWriter = new StatusWriter(kc, gw, labGateway.className, args.host, log);
let syncing = false;
let syncAgain = false;
async function syncStatus(): Promise<void> {
  if (!routes.synced) return; // never judge routes against a half-filled cache
  if (syncing) {
    syncAgain = true;
    return;
  }
  syncing = true;
  try {
    do {
      syncAgain = false;
      const ok = await statusWriter.sync(table, routes.list());
      if (!ok) setTimeout(() => void syncStatus(), 5_000).unref();
    } while (syncAgain);
  } finally {
    syncing = false;
  }
}

function rebuild(): void {
  rebuildTimer = undefined;
  const started = performance.now();
  table = buildRouteTable({
    gateway: gw,
    routes: routes.list(),
    services: services.list(),
    slices: slices.list(),
    allowAddress,
  });
  log.debug(
    {
      entries: table.entries.length,
      services: table.services.size,
      ms: +(performance.now() - started).toFixed(2),
    },
    'route table rebuilt',
  );
  if (services.synced && slices.synced) void syncStatus();
}

const { server, agent } = createProxyServer({
  getTable: () => table,
  log,
  isReady: () => informers.every((i) => i.synced),
  describe: () => ({
    gateway: `${gw.namespace}/${gw.name}`,
    controllerName: gw.controllerName,
    watches: { httproutes: routes.synced, services: services.synced, endpointslices: slices.synced },
    watchRestarts: {
      httproutes: routes.restarts,
      services: services.restarts,
      endpointslices: slices.restarts,
    },
    statusWrites: statusWriter.writes,
    labBridgeUp: bridgeUp(),
    ...(describeTable(table) as object),
  }),
  mayContact: (ip) => {
    if (!allowAddress(ip))
      return { ok: false, reason: `${ip} is outside the lab pod network ${labNetwork.podNetwork}` };
    if (!bridgeUp()) return { ok: false, reason: `the lab bridge ${labNetwork.bridge} does not exist` };
    return { ok: true };
  },
  upstreamTimeoutMs: args.upstreamTimeoutMs,
});

server.on('error', (err) => {
  log.fatal(
    { err: { message: err.message, code: (err as NodeJS.ErrnoException).code }, port: args.port },
    'cannot listen; is another gateway running? (see .lab/run/gateway.pid)',
  );
  process.exit(1);
});
server.listen(args.port, args.host, () => {
  log.info(
    {
      address: `${args.host}:${args.port}`,
      kubeconfig: args.kubeconfig,
      gateway: `${gw.namespace}/${gw.name}`,
    },
    'lab gateway listening',
  );
  for (const i of informers) i.start();
  podsForwarder?.start();
});
// Pods reach this gateway (and through it `name.namespace.svc` Services) on the bridge address.
const podsForwarder =
  args.podsPort !== undefined
    ? new ApiForwarder({ host: labNetwork.bridgeAddress, port: args.podsPort }, { host: args.host, port: args.port }, log)
    : undefined;
// Gateway/GatewayClass are not watched; a periodic pass also retries failed writes.
setInterval(() => void syncStatus(), args.resyncMs).unref();

function shutdown(signal: string): void {
  log.info({ signal }, 'shutting down');
  for (const i of informers) i.stop();
  void podsForwarder?.stop();
  server.close(() => {
    agent.destroy();
    process.exit(0);
  });
  server.closeIdleConnections();
  setTimeout(() => process.exit(0), 5_000).unref();
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
