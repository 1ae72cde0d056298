// A lab gateway process of a suite's own (its own Gateway object, so the shared one is untouched),
// also reachable from pods on the bridge address (`podsPort`): their HTTP_PROXY to Services, as the
// lab has no cluster DNS. Used by the shadow lab test and bench/shadow-rollout.ts.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import { labGateway } from '../e2e/lab/gateway-api-crds.ts';
import { labNetwork, labPaths } from '../e2e/lab/lab-config.ts';
import { kubectl, repoRoot, waitUntil } from './lab-helpers.ts';
import { freePort } from './operator-process.ts';

export class SuiteGateway {
  port = 0;
  podsPort = 0;
  #child: ChildProcess | undefined;
  readonly name: string;

  constructor(name: string) {
    this.name = name;
  }

  /** The parentRef routes use to attach to this gateway. */
  get parentRef(): { name: string; namespace: string } {
    return { name: this.name, namespace: labGateway.namespace };
  }

  /** What pods set as HTTP_PROXY to reach `name.namespace.svc` Services through it. */
  get podsProxy(): string {
    return `http://${labNetwork.bridgeAddress}:${this.podsPort}`;
  }

  /**
   * An OnnxModel's `runtime` and `traffic` served through this gateway: one replica whose pods reach
   * Services through it (the lab has no cluster DNS: a shadow canary asks the stable Service), its
   * HTTPRoute at `<name>.<namespace>.lab` on this gateway.
   */
  modelSpec(name: string, namespace: string): { runtime: Record<string, unknown>; traffic: Record<string, unknown> } {
    return {
      runtime: { replicas: 1, env: [{ name: 'HTTP_PROXY', value: this.podsProxy }] },
      traffic: { gatewayAPI: { hostnames: [`${name}.${namespace}.lab`], parentRefs: [this.parentRef] } },
    };
  }

  async start(): Promise<void> {
    this.port = await freePort();
    this.podsPort = await freePort();
    const gw = { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'Gateway', metadata: { name: this.name, namespace: labGateway.namespace }, spec: { gatewayClassName: labGateway.className, listeners: [{ name: labGateway.listenerName, port: labGateway.listenerPort, protocol: 'HTTP', allowedRoutes: { namespaces: { from: 'All' } } }] } };
    await kubectl(['apply', '--server-side', '-f', '-'], stringify(gw));
    const log = fs.openSync(path.join(labPaths.logs, `${this.name}-gateway.log`), 'a');
    this.#child = spawn(process.execPath, [path.join(repoRoot, 'e2e/lab/gateway/main.ts'), '--port', String(this.port), '--kubeconfig', labPaths.kubeconfig, '--gateway-name', this.name, '--pods-port', String(this.podsPort)], { stdio: ['ignore', log, log], cwd: repoRoot });
    fs.closeSync(log);
    await waitUntil(`gateway ${this.name} to be ready`, async () => ((await fetch(`http://127.0.0.1:${this.port}/_lab/readyz`).catch(() => undefined))?.ok ? true : undefined), 60_000);
  }

  async stop(): Promise<void> {
    const child = this.#child;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    await kubectl(['-n', labGateway.namespace, 'delete', 'gateway', this.name, '--ignore-not-found', '--wait=false']);
  }
}
