// onnx-operator in `npm run bench:peers`, as `npm run bench:rollout` runs it: its own process
// watching the benchmark's namespace (its own instance id, so the lab's other operators leave the
// models alone), an OnnxModel per workload with the rollout every bench:rollout scenario uses
// (rolloutSpec()) plus a predictions gate (peersRolloutSpec()). The weight of the new version is
// the HTTPRoute's weight on its revision's backend.
import { LABEL_CONTROLLER_INSTANCE } from '../../operator/src/api/constants.ts';
import { resources } from '../../operator/src/kube/resources.ts';
import { kubectl } from '../../test/lab-helpers.ts';
import { OperatorProcess } from '../../test/operator-process.ts';
import { rolloutSpec } from '../rollout-report.ts';
import type { ModelFile, ModelState } from '../rollout-lab.ts';
import {
  apply,
  NamespaceWatch,
  routeWeights,
  type Observation,
  type ToolContext,
  WatchingTool,
} from './lab.ts';
import type { PeerRunDef, ToolDef } from './scenarios.ts';

/**
 * Our configuration in every class: bench:rollout's steps, windows and SLOs, and the predictions
 * gate (docs/analysis.md, model-quality gates) with the values the lab tests and the demo use — the
 * canary's prediction distribution against stable's, failed when PSI > 0.2 and significant. One
 * configuration for all classes, as a user would run it: a gate that only ran in the class it
 * catches would prove nothing about its false rollbacks.
 */
export function peersRolloutSpec(): Record<string, unknown> {
  const spec = rolloutSpec();
  return {
    ...spec,
    analysis: {
      ...(spec['analysis'] as Record<string, unknown>),
      quality: { predictions: { maxPSI: 0.2, minSamples: 100 } },
    },
  };
}

/** The benchmark's operator reconciles only models with this label value (--instance-id). */
export const PEERS_INSTANCE_ID = 'bench-peers';

const TYPES = { model: resources.onnxModel, route: resources.httpRoute };

export class OnnxOperatorTool extends WatchingTool {
  /** Per workload: the digest of each version as applied. */
  readonly #digests = new Map<string, { v1?: string; v2?: string; revision?: string }>();

  constructor(def: ToolDef) {
    super(def, 'onnx-operator');
  }

  async start(ctx: ToolContext): Promise<void> {
    this.ctx = ctx;
    const proc = new OperatorProcess('onnx-operator-bench-peers', () => [
      '--namespace',
      ctx.namespace,
      '--prometheus-url',
      ctx.prometheusUrl,
      '--prometheus-scrape-interval',
      '2s',
      '--prometheus-timeout',
      '2s',
      '--instance-id',
      PEERS_INSTANCE_ID,
      '--concurrency',
      '4',
      '--log-level',
      'info',
    ]);
    this.watch = new NamespaceWatch(ctx.namespace, TYPES);
    await this.watch.start();
    this.process = proc;
    await proc.start();
  }

  async deploy(run: PeerRunDef, version: 'v1' | 'v2', file: ModelFile): Promise<void> {
    const ns = this.ns;
    this.#digests.set(run.name, { ...this.#digests.get(run.name), [version]: file.digest });
    await apply(
      [
        {
          apiVersion: 'serving.onnxop.io/v1alpha1',
          kind: 'OnnxModel',
          metadata: {
            name: run.name,
            namespace: ns,
            labels: { [LABEL_CONTROLLER_INSTANCE]: PEERS_INSTANCE_ID },
          },
          spec: {
            model: { uri: `file://${file.path}`, digest: file.digest, name: 'm' },
            runtime: { replicas: 1 },
            traffic: { gatewayAPI: { hostnames: [`${run.name}.${ns}.lab`] } },
            rollout: peersRolloutSpec(),
          },
        },
      ],
      true,
    );
  }

  observe(name: string): Observation {
    const ns = this.ns;
    const s = ((this.watch?.get('model', ns, name) as { status?: ModelState } | undefined)?.status ??
      {}) as ModelState;
    const d = this.#digests.get(name) ?? {};
    this.#digests.set(name, d);
    // The new version's revision: the canary's while it is one, the stable one's once promoted.
    // (Remembered: after a rollback the status names it no more.)
    d.revision ??=
      d.v2 === undefined
        ? undefined
        : s.canary?.digest === d.v2
          ? s.canary.revision
          : s.stable?.digest === d.v2
            ? s.stable.revision
            : undefined;
    const newRevision = d.revision;
    const weights = routeWeights(this.watch?.get('route', ns, name));
    const total = [...weights.values()].reduce((a, b) => a + b, 0);
    const weight =
      newRevision && total > 0 ? ((weights.get(`${name}-${newRevision}`) ?? 0) / total) * 100 : 0;
    const onFirst = s.phase === 'Stable' && !s.canary && s.stable?.digest === d.v1 && total > 0;
    const state: Observation['state'] =
      d.v2 === undefined
        ? onFirst
          ? 'stable'
          : 'pending'
        : s.phase === 'Stable' && !s.canary && s.stable?.digest === d.v2
          ? 'promoted'
          : s.phase === 'RolledBack'
            ? 'rolledBack'
            : s.rollout?.state === 'Paused'
              ? 'paused'
              : onFirst
                ? 'stable'
                : 'progressing';
    const slo = s.lastRollback?.['slo'];
    const reason =
      state === 'rolledBack'
        ? `${s.lastRollback?.reason ?? ''}${typeof slo === 'string' ? ` on ${slo}` : ''}`
        : state === 'paused'
          ? `${s.rollout?.pauseReason ?? ''}${s.lastAnalysis?.reason ? ` (last analysis: ${s.lastAnalysis.reason})` : ''}`
          : s.phase;
    return {
      state,
      weight,
      ...(newRevision ? { newVersion: newRevision } : {}),
      ...(reason ? { reason } : {}),
    };
  }

  async remove(name: string): Promise<void> {
    this.#digests.delete(name);
    await kubectl(['-n', this.ns, 'delete', 'onnxmodel', name, '--wait=false', '--ignore-not-found']);
  }
}
