// Argo Rollouts v1.10.2 in the lab for `npm run bench:peers`: its CRDs from its own module, the
// controller as a local process in namespaced mode, a Rollout per workload (rollout-documented.yaml
// or rollout-tuned.yaml, our runtime's pod template) behind a Service and an HTTPRoute of ours. A
// basic canary (no traffic router: the Gateway API plugin is not on the Go module proxy): the weight
// of the new version is its share of the Service's ready endpoints, which the lab gateway
// round-robins over.
import fs from 'node:fs';
import path from 'node:path';
import { labPaths } from '../../e2e/lab/lab-config.ts';
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
  type Observation,
  WatchingTool,
  type ToolContext,
} from './lab.ts';
import type { PeerRunDef, ToolDef } from './scenarios.ts';
import { runtimeImage, runtimePodTemplate } from './workload.ts';

const TYPES = {
  rollout: {
    group: 'argoproj.io',
    version: 'v1alpha1',
    kind: 'Rollout',
    plural: 'rollouts',
    namespaced: true,
  },
  slice: {
    group: 'discovery.k8s.io',
    version: 'v1',
    kind: 'EndpointSlice',
    plural: 'endpointslices',
    namespaced: true,
  },
  pod: { group: '', version: 'v1', kind: 'Pod', plural: 'pods', namespaced: true },
} as const;

interface RolloutStatus {
  phase?: string;
  message?: string;
  abort?: boolean;
  stableRS?: string;
  currentPodHash?: string;
  observedGeneration?: string;
  readyReplicas?: number;
  pauseConditions?: { reason: string }[];
}

interface EndpointSliceLike {
  metadata: { labels?: Record<string, string> };
  endpoints?: { conditions?: { ready?: boolean }; targetRef?: { kind?: string; name?: string } }[];
}

export class ArgoRolloutsTool extends WatchingTool {
  /** Per workload: the stable pod template hash before the change (a promotion moves stableRS off it). */
  readonly #firstHash = new Map<string, string>();

  constructor(def: ToolDef) {
    super(def, 'argo-rollouts');
  }

  async start(ctx: ToolContext): Promise<void> {
    this.ctx = ctx;
    const binary = peerBinary('argo-rollouts');
    const crds = path.join(peerSource(binary), 'manifests/crds');
    await applyCrds(
      fs
        .readdirSync(crds)
        .filter((f) => f.endsWith('-crd.yaml'))
        .map((f) => path.join(crds, f)),
    );
    const template =
      this.def.config === 'documented'
        ? 'argo-rollouts/analysis-documented.yaml'
        : 'argo-rollouts/analysis-tuned.yaml';
    await apply(renderManifest(template, { NAMESPACE: ctx.namespace, PROMETHEUS_URL: ctx.prometheusUrl }));
    const [healthz, metrics] = [await freePort(), await freePort()];
    const proc = new PeerProcess(
      `bench-peers-${this.def.id}`,
      binary,
      [
        '--kubeconfig',
        labPaths.kubeconfig,
        '--namespaced',
        '--namespace',
        ctx.namespace,
        '--leader-elect=false',
        '--healthzPort',
        String(healthz),
        '--metricsPort',
        String(metrics),
        '--loglevel',
        'info',
      ],
      // Where it would look for its notification ConfigMap: the benchmark's namespace, not argo-rollouts.
      { POD_NAMESPACE: ctx.namespace },
    );
    this.watch = new NamespaceWatch(ctx.namespace, TYPES);
    await this.watch.start();
    this.process = proc;
    await proc.start(async () => (await fetch(`http://127.0.0.1:${healthz}/healthz`)).ok);
  }

  async deploy(run: PeerRunDef, version: 'v1' | 'v2', file: ModelFile): Promise<void> {
    const ns = this.ns;
    const vars = { NAME: run.name, NAMESPACE: ns, HOST: `${run.name}.${ns}.lab` };
    const manifest =
      this.def.config === 'documented'
        ? 'argo-rollouts/rollout-documented.yaml'
        : 'argo-rollouts/rollout-tuned.yaml';
    const [rollout] = renderManifest(manifest, vars);
    if (!rollout) throw new Error(`${manifest}: no Rollout`);
    const template = runtimePodTemplate({
      name: run.name,
      namespace: ns,
      model: { uri: `file://${file.path}`, digest: file.digest },
      version,
      replicas: 1,
      runtimeImage: runtimeImage(),
    });
    const obj = { ...rollout, spec: { ...(rollout.spec as Record<string, unknown>), template } };
    if (version === 'v1') await apply([...renderManifest('argo-rollouts/service.yaml', vars), obj]);
    else await apply([obj]);
  }

  observe(name: string): Observation {
    const ns = this.ns;
    const w = this.watch;
    const rollout = w?.get('rollout', ns, name) as
      { metadata: { generation?: number }; status?: RolloutStatus } | undefined;
    const s = rollout?.status ?? {};
    // Ready endpoints of the Service, by the version their pod runs.
    let onNew = 0;
    let total = 0;
    for (const slice of w?.list('slice') ?? []) {
      const sl = slice as unknown as EndpointSliceLike;
      if (sl.metadata.labels?.['kubernetes.io/service-name'] !== name) continue;
      for (const e of sl.endpoints ?? []) {
        if (e.conditions?.ready === false || e.targetRef?.kind !== 'Pod' || !e.targetRef.name) continue;
        const pod = w?.get('pod', ns, e.targetRef.name) as { spec?: unknown } | undefined;
        total += 1;
        if (revisionOf(pod?.spec) === 'v2') onNew += 1;
      }
    }
    const weight = total > 0 ? (onNew / total) * 100 : 0;
    const first = this.#firstHash.get(name);
    const current = Number(s.observedGeneration) === rollout?.metadata.generation;
    let state: Observation['state'] = 'pending';
    if (first === undefined) {
      if (current && s.phase === 'Healthy' && s.stableRS && total > 0) {
        this.#firstHash.set(name, s.stableRS);
        state = 'stable';
      }
    } else if (s.abort) state = 'rolledBack';
    else if (s.pauseConditions?.some((p) => p.reason !== 'CanaryPauseStep')) state = 'paused';
    else if (
      current &&
      s.phase === 'Healthy' &&
      s.stableRS &&
      s.stableRS !== first &&
      s.stableRS === s.currentPodHash
    )
      state = 'promoted';
    else state = s.stableRS === first && s.currentPodHash === first ? 'stable' : 'progressing';
    const reason = s.message ?? s.phase;
    return { state, weight, newVersion: 'v2', ...(reason ? { reason } : {}) };
  }

  async remove(name: string): Promise<void> {
    const ns = this.ns;
    this.#firstHash.delete(name);
    await kubectl([
      '-n',
      ns,
      'delete',
      `rollout.argoproj.io/${name}`,
      `service/${name}`,
      `httproute/${name}`,
      '--wait=false',
      '--ignore-not-found',
    ]);
  }
}
