// The workload every peer rolls out: our runtime serving one model, as a plain Deployment named
// <name> with the pod label app=<name> (the selector Flagger and Argo Rollouts key on). Rendered by
// the operator's own Deployment render, so the runtime runs with exactly the flags, probes and
// security context it has under onnx-operator; only the operator's labels, owner and revision
// naming are replaced. `version` becomes the runtime's revision label (the x-onnxop-revision header
// and the metrics' revision), so load and Prometheus tell the two versions apart.
import fs from 'node:fs';
import { labImageDigestsFile } from '../../e2e/lab/lab-config.ts';
import { parseOnnxModel } from '../../operator/src/api/parse.ts';
import { deploymentFor } from '../../operator/src/core/children/deployment.ts';
import type { CoreConfig, KubeObject } from '../../operator/src/core/types.ts';
import { DEFAULT_RUNTIME_IMAGE } from '../../operator/src/api/constants.ts';

/**
 * The runtime's image: RUNTIME_IMAGE (as the operator reads it), else the one the lab built and
 * pushed, by digest (.lab/image-digests.json), else the operator's default.
 */
export function runtimeImage(): string {
  if (process.env['RUNTIME_IMAGE']) return process.env['RUNTIME_IMAGE'];
  try {
    const refs = (
      JSON.parse(fs.readFileSync(labImageDigestsFile, 'utf8')) as { refs?: Record<string, string> }
    ).refs;
    if (refs?.['runtime']) return refs['runtime'];
  } catch {
    // no images built: the lab runs none
  }
  return DEFAULT_RUNTIME_IMAGE;
}

export interface WorkloadInput {
  name: string;
  namespace: string;
  /** file:// URI and sha256 digest of the model this version serves. */
  model: { uri: string; digest: string };
  /** The revision label of this version (e.g. v1, v2). */
  version: string;
  replicas: number;
  runtimeImage: string;
}

const CONFIG: Omit<CoreConfig, 'defaultRuntimeImage'> = {
  defaultGatewayParentRefs: [],
  fieldManager: 'bench-peers',
  clusterDomain: 'cluster.local',
  scrapeIntervalSeconds: 2,
};

/** The pod template of one version, as the peer's Deployment/Rollout carries it. */
export function runtimePodTemplate(w: WorkloadInput): {
  metadata: { labels: Record<string, string>; annotations: Record<string, string> };
  spec: Record<string, unknown>;
} {
  const model = parseOnnxModel({
    apiVersion: 'serving.onnxop.io/v1alpha1',
    kind: 'OnnxModel',
    metadata: { name: w.name, namespace: w.namespace, uid: 'peer' },
    spec: {
      model: { uri: w.model.uri, digest: w.model.digest, name: 'm' },
      runtime: { replicas: w.replicas, image: w.runtimeImage },
    },
  });
  const dep = deploymentFor(model, w.version, { ...CONFIG, defaultRuntimeImage: w.runtimeImage });
  const template = (
    dep.spec as {
      template: { metadata: { annotations: Record<string, string> }; spec: Record<string, unknown> };
    }
  ).template;
  return {
    metadata: { labels: { app: w.name }, annotations: { ...template.metadata.annotations } },
    spec: template.spec,
  };
}

/** A plain Deployment of the runtime: what Flagger's Canary targets. */
export function runtimeDeployment(w: WorkloadInput): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: w.name, namespace: w.namespace, labels: { app: w.name } },
    spec: {
      replicas: w.replicas,
      selector: { matchLabels: { app: w.name } },
      template: runtimePodTemplate(w),
    },
  };
}
