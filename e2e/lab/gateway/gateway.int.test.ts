// The gateway process against the lab API server: watches drive the route table, statuses are
// written like a real controller's, and the watches recover after the API server connection is cut.
// The gateway reaches the API server through a TCP relay this test controls, so the outage is real
// without touching the lab's control plane. No traffic goes to the fake endpoint addresses: routing
// to them is checked through /_lab/routes.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { stringify } from 'yaml';
import {
  createTestNamespace,
  deleteNamespace,
  kubectl,
  kubectlJson,
  waitUntil,
} from '../../../test/lab-helpers.ts';
import { labGateway } from '../gateway-api-crds.ts';
import { labPaths } from '../lab-config.ts';
import { labRequest } from '../loadgen/lab-request.ts';
import { auditSince } from '../../../test/operator-process.ts';

process.env.KUBECONFIG ??= labPaths.kubeconfig;

interface Relay {
  port: number;
  up: boolean;
  sockets: Set<net.Socket>;
  server: net.Server;
}

async function startRelay(target: URL): Promise<Relay> {
  const relay: Relay = { port: 0, up: true, sockets: new Set(), server: net.createServer() };
  relay.server.on('connection', (client) => {
    if (!relay.up) return client.destroy();
    const upstream = net.connect(Number(target.port), target.hostname);
    for (const s of [client, upstream]) {
      relay.sockets.add(s);
      s.on('close', () => relay.sockets.delete(s));
      s.on('error', () => undefined);
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((r) => relay.server.listen(0, '127.0.0.1', r));
  relay.port = (relay.server.address() as net.AddressInfo).port;
  return relay;
}

function cut(relay: Relay): void {
  relay.up = false;
  for (const s of relay.sockets) s.destroy();
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

let relay: Relay;
let gateway: ChildProcess;
let gatewayUrl = '';
let ns = '';
let tmp = '';
let logs = '';

interface RoutesDump {
  routes: Array<{
    route: string;
    hostnames: string[];
    backends: Array<{ service: string; weight: number; endpoints: string[] }>;
  }>;
  watchRestarts: Record<string, number>;
  watches: Record<string, boolean>;
}
async function routesDump(): Promise<RoutesDump> {
  return (await (await fetch(`${gatewayUrl}/_lab/routes`)).json()) as RoutesDump;
}
const restarts = (d: RoutesDump): number => Object.values(d.watchRestarts).reduce((a, b) => a + b, 0);

const apply = (docs: object[]): Promise<string> =>
  kubectl(['-n', ns, 'apply', '-f', '-'], docs.map((d) => stringify(d)).join('---\n'));

function httpRoute(hostname: string, weights: [number, number]): object {
  return {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: { name: 'split' },
    spec: {
      parentRefs: [{ name: labGateway.name, namespace: labGateway.namespace }],
      hostnames: [hostname],
      rules: [
        {
          backendRefs: [
            { name: 'stable', port: 80, weight: weights[0] },
            { name: 'canary', port: 80, weight: weights[1] },
          ],
        },
      ],
    },
  };
}

function endpointSlice(svc: string, ip: string, ready: boolean): object {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: `${svc}-manual`, labels: { 'kubernetes.io/service-name': svc } },
    addressType: 'IPv4',
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    endpoints: [{ addresses: [ip], conditions: { ready } }],
  };
}

beforeAll(async () => {
  const kubeconfig = fs.readFileSync(labPaths.kubeconfig, 'utf8');
  const server = /server:\s*(\S+)/.exec(kubeconfig)?.[1];
  if (!server) throw new Error(`no server in ${labPaths.kubeconfig}`);
  relay = await startRelay(new URL(server));
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'onnxop-gw-int-'));
  const relayed = path.join(tmp, 'kubeconfig');
  // The API server's certificate is issued for 127.0.0.1, so only the port changes.
  fs.writeFileSync(relayed, kubeconfig.replace(server, `https://127.0.0.1:${relay.port}`));
  const port = await freePort();
  gatewayUrl = `http://127.0.0.1:${port}`;
  gateway = spawn(
    process.execPath,
    [
      path.join(import.meta.dirname, 'main.ts'),
      '--port',
      String(port),
      '--kubeconfig',
      relayed,
      '--resync-ms',
      '2000',
    ],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  gateway.stdout?.on('data', (d: Buffer) => (logs += d.toString()));
  gateway.stderr?.on('data', (d: Buffer) => (logs += d.toString()));
  await waitUntil(
    'the gateway to list everything',
    async () => ((await fetch(`${gatewayUrl}/_lab/readyz`).catch(() => undefined))?.ok ? true : undefined),
    30_000,
    200,
  );
  ns = await createTestNamespace('gw-int');
}, 120_000);

afterAll(async () => {
  if (ns) await deleteNamespace(ns);
  gateway?.kill('SIGTERM');
  relay?.server.close();
  cut(relay);
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe('lab gateway against the lab API server', () => {
  test('an HTTPRoute is accepted, resolved and served; its status says so', async () => {
    const svc = (name: string): object => ({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name },
      spec: { ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
    });
    // Not-ready endpoints: the route resolves, but nothing may be contacted yet.
    await apply([
      svc('stable'),
      svc('canary'),
      endpointSlice('stable', '10.244.1.250', false),
      endpointSlice('canary', '10.244.2.250', false),
      httpRoute(`split.${ns}.lab`, [90, 10]),
    ]);
    const conditions = await waitUntil('HTTPRoute status from the lab gateway', async () => {
      const r = await kubectlJson<{
        status?: {
          parents?: Array<{
            controllerName: string;
            conditions: Array<{ type: string; status: string; reason: string }>;
          }>;
        };
      }>(['-n', ns, 'get', 'httproute', 'split']);
      const ours = r.status?.parents?.find((p) => p.controllerName === labGateway.controllerName);
      return ours?.conditions.length === 2
        ? ours.conditions.map((c) => `${c.type}=${c.status}/${c.reason}`)
        : undefined;
    });
    expect(conditions).toEqual(['Accepted=True/Accepted', 'ResolvedRefs=True/ResolvedRefs']);

    // node:http, not fetch: fetch replaces the Host header with the URL's.
    const res = await labRequest(`${gatewayUrl}/v2/health/ready`, { headers: { host: `split.${ns}.lab` } });
    expect(res.status).toBe(503);
    expect(res.headers['x-lab-backend']).toMatch(new RegExp(`^${ns}/(stable|canary)$`));
    expect(JSON.parse(res.body)).toMatchObject({ code: 'NoReadyEndpoints' });
  });

  test('the Gateway reports Programmed and counts attached routes', async () => {
    const g = await waitUntil('Gateway status', async () => {
      const gw = await kubectlJson<{
        status?: {
          conditions?: Array<{ type: string; status: string }>;
          listeners?: Array<{ attachedRoutes: number }>;
        };
      }>(['-n', labGateway.namespace, 'get', 'gateway', labGateway.name]);
      return (gw.status?.listeners?.[0]?.attachedRoutes ?? 0) >= 1 ? gw : undefined;
    });
    expect(g.status?.conditions?.find((c) => c.type === 'Programmed')?.status).toBe('True');
  });

  test('a Service host routes straight to the Service', async () => {
    const res = await labRequest(`${gatewayUrl}/`, { headers: { host: `canary.${ns}.svc.cluster.local` } });
    expect(res.status).toBe(503);
    expect(res.headers['x-lab-backend']).toBe(`${ns}/canary`);
  });

  test('readiness and weights follow EndpointSlice and HTTPRoute changes', async () => {
    await apply([endpointSlice('canary', '10.244.2.250', true), httpRoute(`split.${ns}.lab`, [0, 1])]);
    const backends = await waitUntil(
      'the table to show the ready canary endpoint with weight 1',
      async () => {
        const r = (await routesDump()).routes.find((x) => x.route === `${ns}/split`);
        return r?.backends.find((b) => b.service === `${ns}/canary`)?.endpoints.length === 1 &&
          r.backends[0]?.weight === 0
          ? r.backends
          : undefined;
      },
      15_000,
      100,
    );
    expect(backends.map((b) => [b.service, b.weight, b.endpoints])).toEqual([
      [`${ns}/stable`, 0, []],
      [`${ns}/canary`, 1, ['10.244.2.250:8080']],
    ]);
  });

  test('after the API server connection is cut, the watches restart and catch up', async () => {
    const before = await routesDump();
    cut(relay);
    // Change things while the gateway cannot see them, and keep it cut until the gateway has noticed
    // (a watch restart), whatever time that takes here.
    await apply([httpRoute(`moved.${ns}.lab`, [1, 1])]);
    await waitUntil(
      'the gateway to restart a watch during the outage',
      async () => (restarts(await routesDump()) > restarts(before) ? true : undefined),
      60_000,
      100,
    );
    relay.up = true;
    const after = await waitUntil(
      'the gateway to serve the route changed during the outage',
      async () => {
        const d = await routesDump();
        return d.routes.some((x) => x.route === `${ns}/split` && x.hostnames.includes(`moved.${ns}.lab`))
          ? d
          : undefined;
      },
      60_000,
      250,
    );
    expect(restarts(after)).toBeGreaterThan(restarts(before));
    expect(Object.values(after.watches).every(Boolean)).toBe(true);
    // While cut, the last known table kept serving: no empty table was swapped in.
    expect(after.routes.length).toBeGreaterThanOrEqual(before.routes.length);
  }, 90_000);

  test('a steady state makes no status writes', async () => {
    const writes = async (): Promise<number> =>
      ((await (await fetch(`${gatewayUrl}/_lab/routes`)).json()) as { statusWrites: number }).statusWrites;
    // Other suites' namespaces may still be terminating, and their routes' removal legitimately
    // changes the Gateway's status: measure only once the cluster is quiet.
    await waitUntil('no namespace to be terminating', async () => {
      const list = await kubectlJson<{ items: { status?: { phase?: string } }[] }>(['get', 'namespaces']);
      return list.items.every((n) => n.status?.phase !== 'Terminating') ? true : undefined;
    }, 120_000, 500);
    // Writes to this test's own route statuses (by either lab gateway): no other suite touches them.
    const routeStatusWrites = (since: Date): number =>
      auditSince(since).filter((e) => e.objectRef?.namespace === ns && e.objectRef.resource === 'httproutes' && e.objectRef.subresource === 'status').length;
    // What the Gateway's status depends on cluster-wide: which routes and Services exist, and the routes' specs.
    const inputs = async (): Promise<string> =>
      (
        await kubectl(['get', 'httproutes,services', '-A', '-o', 'jsonpath={range .items[*]}{.kind}/{.metadata.uid}/{.metadata.generation} {end}'])
      )
        .trim()
        .split(/\s+/)
        .sort()
        .join(' ');
    // Windows spanning two periodic resyncs (--resync-ms 2000). Settled first: a window in which this
    // test's routes got no status write, however long the post-outage passes take here (a gateway
    // writing on every resync never settles). Then the next window: still none.
    const window = 4_500;
    const measure = async () => {
      const [since, before, a] = [new Date(), await inputs(), await writes()];
      await new Promise((r) => setTimeout(r, window));
      const [after, b] = [await inputs(), await writes()];
      return { routeWrites: routeStatusWrites(since), gatewayWrites: b - a, before, after };
    };
    const deadline = performance.now() + 180_000;
    let settle = await measure();
    while (settle.routeWrites > 0) {
      if (performance.now() > deadline) throw new Error(`this test's routes still got status writes in every resync window (${settle.routeWrites} in the last)`);
      settle = await measure();
    }
    const w = await measure();
    expect(w.routeWrites).toBe(0);
    // The Gateway's own status (attached routes) legitimately changes when other suites sharing the
    // lab add or remove routes. When nothing changed in either window (nor between them), the gateway
    // wrote nothing at all.
    if (settle.before === settle.after && settle.after === w.before && w.before === w.after) expect(w.gatewayWrites).toBe(0);
  }, 300_000);
});

afterAll(() => {
  if (process.env.LAB_GATEWAY_TEST_LOGS) process.stderr.write(logs);
});
