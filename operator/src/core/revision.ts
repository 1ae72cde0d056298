// A revision is a hash of everything that ends up in the pod template (digest, uri, image,
// resources, placement, session/batching/env, port) — and nothing else: replicas, autoscaling,
// traffic and rollout settings change how a revision is run, not which one it is.
import { createHash } from 'node:crypto';
import type { OnnxModel } from '../api/types.ts';
import type { CoreConfig } from './types.ts';

/** Bump when the meaning of the hashed fields changes, so revisions cannot collide across versions. */
const REVISION_SCHEME = 1;

/** Stable JSON: object keys sorted, undefined dropped, so hashing ignores key order. */
export function canonicalJson(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(v as Record<string, unknown>)
    .filter(([, x]) => x !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonicalJson(x)}`).join(',')}}`;
}

/** The pod-affecting settings, resolved (operator defaults included) so equal pods hash equal. */
export function podSettings(model: OnnxModel, config: CoreConfig): Record<string, unknown> {
  const { model: artifact, runtime } = model.spec;
  return {
    scheme: REVISION_SCHEME,
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
  };
}

/** 10 lowercase hex characters. */
export function computeRevision(model: OnnxModel, config: CoreConfig): string {
  return createHash('sha256').update(canonicalJson(podSettings(model, config))).digest('hex').slice(0, 10);
}
