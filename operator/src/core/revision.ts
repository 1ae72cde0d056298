// A revision is a hash of everything that ends up in the pod template (digest, uri, image,
// resources, placement, session/batching/env, port, a model directory's manifest bundle) — and nothing else: replicas, autoscaling,
// traffic and rollout settings change how a revision is run, not which one it is.
import { createHash } from 'node:crypto';
import type { OnnxModel } from '../api/types.ts';
import { canonicalJson } from './canonical-json.ts';
import { manifestBundleFor } from './children/deployment.ts';
import type { CoreConfig } from './types.ts';

/** Bump when the meaning of the hashed fields changes, so revisions cannot collide across versions. */
const REVISION_SCHEME = 2;

/** The pod-affecting settings, resolved (operator defaults included) so equal pods hash equal. */
export function podSettings(model: OnnxModel, config: CoreConfig): Record<string, unknown> {
  const { model: artifact, runtime } = model.spec;
  return {
    scheme: REVISION_SCHEME,
    // The model's own name: two models in a namespace with the same pod settings (and served name)
    // must not share a revision, or each one's SLO queries would count the other's requests.
    model: model.metadata.name,
    uri: artifact.uri,
    digest: artifact.digest,
    format: artifact.format,
    servedName: artifact.name ?? model.metadata.name,
    image: runtime.image ?? config.defaultRuntimeImage,
    resources: runtime.resources,
    accelerator: runtime.accelerator,
    gpu: runtime.accelerator === 'gpu' ? runtime.gpu : undefined,
    nodeSelector: runtime.nodeSelector,
    tolerations: runtime.tolerations,
    sessionOptions: runtime.sessionOptions,
    batching: runtime.batching,
    env: runtime.env,
    port: runtime.port,
    // Where a signed model directory's manifest bundle comes from is mounted into the pods.
    manifestBundle: manifestBundleFor(model),
    // Absent (undefined) for models without one, so their revisions are what they were before.
    baselineProfile: runtime.baselineProfile,
    // The same for tracing (its OTEL_* variables are in the pod template).
    tracing: runtime.tracing,
    // The operator's prediction store (--prediction-kafka-brokers) is in the pod template too: a new
    // store rolls out as a new revision, through the model's own rollout.
    predictionKafka: config.predictionKafka,
  };
}

/** 10 lowercase hex characters. */
export function computeRevision(model: OnnxModel, config: CoreConfig): string {
  return createHash('sha256').update(canonicalJson(podSettings(model, config))).digest('hex').slice(0, 10);
}
