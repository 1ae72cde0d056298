// Flagger v1.36.1 in the lab for `npm run bench:peers`: its CRDs from its own module, the program as a
// local process watching one namespace (-mesh-provider gatewayapi:v1, Prometheus at the benchmark's
// URL), a Canary per workload (canary-documented.yaml or canary-tuned.yaml) over a Deployment of our
// runtime. The weight of the new version is the HTTPRoute's weight on <name>-canary, plus the one on
// <name>-primary once Flagger has copied the new version into the primary (promotion).
import path from 'node:path';
import { labPaths } from '../../e2e/lab/lab-config.ts';
import { resources } from '../../operator/src/kube/resources.ts';
import { kubectl } from '../../test/lab-helpers.ts';
import { freePort } from '../../test/operator-process.ts';
import type { ModelFile } from '../rollout-lab.ts';
import {
  apply,
  applyCrds,
  NamespaceWatch,
  PeerProcess,
  peerBinary,
  peerSource,
  renderManifest,
  revisionOf,
  routeWeights,
  type Observation,
  WatchingTool,
  type ToolContext,
} from './lab.ts';
import type { PeerRunDef, ToolDef } from './scenarios.ts';
import { runtimeDeployment, runtimeImage } from './workload.ts';

export const FLAGGER_CANARY = {
  group: 'flagger.app',
  version: 'v1beta1',
  kind: 'Canary',
  plural: 'canaries',
  namespaced: true,
} as const;
const TYPES = {
  canary: FLAGGER_CANARY,
  route: resources.httpRoute,
  deployment: resources.deployment,
} as const;

interface CanaryStatus {
  phase?: string;
  canaryWeight?: number;
  failedChecks?: number;
  conditions?: { type: string; status: string; reason?: string; message?: string }[];
}

export class FlaggerTool extends WatchingTool {
  constructor(def: ToolDef) {
    super(def, 'flagger');
  }

  async start(ctx: ToolContext): Promise<void> {
    this.ctx = ctx;
    const binary = peerBinary('flagger');
    await applyCrds([path.join(peerSource(binary), 'artifacts/flagger/crd.yaml')]);
    await apply(
      renderManifest('flagger/metric-templates.yaml', {
        NAMESPACE: ctx.namespace,
        PROMETHEUS_URL: ctx.prometheusUrl,
      }),
    );
    const port = await freePort();
    const proc = new PeerProcess(`bench-peers-${this.def.id}`, binary, [
      '-kubeconfig',
      labPaths.kubeconfig,
      '-mesh-provider',
      'gatewayapi:v1',
      '-metrics-server',
      ctx.prometheusUrl,
      '-namespace',
      ctx.namespace,
      '-log-level',
      'info',
      '-port',
      String(port),
    ]);
    this.watch = new NamespaceWatch(ctx.namespace, TYPES);
    await this.watch.start();
    this.process = proc;
    await proc.start(async () => (await fetch(`http://127.0.0.1:${port}/healthz`)).ok);
  }

  async deploy(run: PeerRunDef, version: 'v1' | 'v2', file: ModelFile): Promise<void> {
    const ns = this.ns;
    const dep = runtimeDeployment({
      name: run.name,
      namespace: ns,
      model: { uri: `file://${file.path}`, digest: file.digest },
      version,
      replicas: 1,
      runtimeImage: runtimeImage(),
    });
    if (version === 'v1') {
      await apply([dep]);
      const file =
        this.def.config === 'documented' ? 'flagger/canary-documented.yaml' : 'flagger/canary-tuned.yaml';
      await apply(renderManifest(file, { NAME: run.name, NAMESPACE: ns, HOST: `${run.name}.${ns}.lab` }));
    } else {
      // Flagger owns spec.replicas once it manages the Deployment: the change leaves it out.
      const { replicas: _owned, ...spec } = dep.spec as Record<string, unknown>;
      await apply([{ ...dep, spec }]);
    }
  }

  observe(name: string): Observation {
    const ns = this.ns;
    const w = this.watch;
    const canary = w?.get('canary', ns, name) as { status?: CanaryStatus } | undefined;
    const status = canary?.status ?? {};
    const weights = routeWeights(w?.get('route', ns, name));
    const total = [...weights.values()].reduce((a, b) => a + b, 0);
    const primary = w?.get('deployment', ns, `${name}-primary`) as
      { spec?: { template?: { spec?: unknown } } } | undefined;
    const primaryIsNew = revisionOf(primary?.spec?.template?.spec) === 'v2';
    const onNew =
      (weights.get(`${name}-canary`) ?? 0) + (primaryIsNew ? (weights.get(`${name}-primary`) ?? 0) : 0);
    const weight = total > 0 ? (onNew / total) * 100 : 0;
    const promoted = status.conditions?.find((c) => c.type === 'Promoted');
    const reason = promoted?.message ?? status.phase;
    const state: Observation['state'] =
      status.phase === 'Initialized' && total > 0
        ? 'stable'
        : status.phase === 'Succeeded'
          ? 'promoted'
          : status.phase === 'Failed'
            ? 'rolledBack'
            : status.phase === undefined || status.phase === 'Initializing'
              ? 'pending'
              : 'progressing';
    return { state, weight, newVersion: 'v2', ...(reason ? { reason } : {}) };
  }

  async remove(name: string): Promise<void> {
    const ns = this.ns;
    // The Canary owns what Flagger created (primary, services, route); the Deployment is ours.
    await kubectl([
      '-n',
      ns,
      'delete',
      `canary.flagger.app/${name}`,
      `deployment/${name}`,
      '--wait=false',
      '--ignore-not-found',
    ]);
  }
}
