// Builders for core tests: a parsed model, Deployment status as the Deployment controller writes it.
import { parseOnnxModel } from '../api/parse.ts';
import type { OnnxModel } from '../api/types.ts';
import { reconcile } from './reconcile.ts';
import type { CoreConfig, KubeObject, ObservedChildren, ReconcileInput, ReconcileOutput } from './types.ts';

export const DIGEST_A = `sha256:${'a'.repeat(64)}`;
export const DIGEST_B = `sha256:${'b'.repeat(64)}`;
export const UID = '11111111-2222-3333-4444-555555555555';
export const T0 = new Date('2026-01-01T00:00:00.000Z');
export const at = (seconds: number): Date => new Date(T0.getTime() + seconds * 1000);

export const config: CoreConfig = {
  defaultRuntimeImage: 'ghcr.io/onnx-operator/runtime:dev',
  defaultGatewayParentRefs: [{ name: 'lab-gateway', namespace: 'lab-system' }],
  fieldManager: 'onnx-operator',
  clusterDomain: 'cluster.local',
  scrapeIntervalSeconds: 5,
};

export function makeModel(spec: Record<string, unknown> = {}, meta: Record<string, unknown> = {}): OnnxModel {
  return parseOnnxModel({
    apiVersion: 'serving.onnxop.io/v1alpha1',
    kind: 'OnnxModel',
    metadata: { name: 'iris', namespace: 'ml', uid: UID, generation: 1, ...meta },
    spec: { model: { uri: 'https://models.example.com/iris.onnx', digest: DIGEST_A }, ...spec },
  });
}

/**
 * The objects as the API server would store them after applying `out` and then the Deployment
 * controller settling. ControllerRevisions are created once and never re-applied, so the ones of
 * `previous` are kept (pass the children the reconcile saw).
 */
export function settle(out: ReconcileOutput, ready: (dep: KubeObject) => boolean | 'failing' | 'deadline', previous?: ObservedChildren): ObservedChildren {
  const withUid = (o: KubeObject): KubeObject => ({ ...o, metadata: { ...o.metadata, uid: `uid-${o.kind}-${o.metadata.name}`, generation: 1 } });
  const deployments = out.apply.filter((o) => o.kind === 'Deployment').map((d) => withDeploymentStatus(withUid(d), ready(d)));
  return {
    deployments,
    services: out.apply.filter((o) => o.kind === 'Service').map(withUid),
    httpRoutes: out.apply.filter((o) => o.kind === 'HTTPRoute').map(withUid),
    horizontalPodAutoscalers: out.apply.filter((o) => o.kind === 'HorizontalPodAutoscaler').map(withUid),
    controllerRevisions: [...(previous?.controllerRevisions ?? []), ...out.apply.filter((o) => o.kind === 'ControllerRevision').map(withUid)],
  };
}

export function withDeploymentStatus(dep: KubeObject, state: boolean | 'failing' | 'deadline'): KubeObject {
  const replicas = ((dep.spec as { replicas?: number }).replicas ?? 1) as number;
  const conditions: Record<string, unknown>[] = [];
  if (state === 'failing') conditions.push({ type: 'ReplicaFailure', status: 'True', reason: 'FailedCreate', message: 'pods "x" is forbidden: exceeded quota' });
  if (state === 'deadline') conditions.push({ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: 'ReplicaSet "x" has timed out progressing.' });
  const ok = state === true;
  return {
    ...dep,
    status: { observedGeneration: dep.metadata.generation ?? 1, replicas, updatedReplicas: replicas, readyReplicas: ok ? replicas : 0, availableReplicas: ok ? replicas : 0, conditions },
  };
}

export const none: ObservedChildren = { deployments: [], services: [], httpRoutes: [] };

export function run(model: OnnxModel, children: ObservedChildren, now: Date, extra: Partial<ReconcileInput> = {}): ReconcileOutput {
  return reconcile({ model, children, now, config, ...extra });
}

export function withStatus(model: OnnxModel, out: ReconcileOutput): OnnxModel {
  return { ...model, status: out.status };
}

/** Drives a model to Stable on DIGEST_A; returns the model with its status and the settled children. */
export function stableOn(spec: Record<string, unknown> = {}): { model: OnnxModel; children: ObservedChildren; out: ReconcileOutput } {
  let model = makeModel(spec);
  const first = run(model, none, T0);
  model = withStatus(model, first);
  const children = settle(first, () => true);
  const out = run(model, children, at(10));
  return { model: withStatus(model, out), children: settle(out, () => true, children), out };
}

/** The same model with another digest: a new revision, the next generation. */
export function changeDigest(model: OnnxModel, digest: string): OnnxModel {
  return { ...model, metadata: { ...model.metadata, generation: model.metadata.generation + 1 }, spec: { ...model.spec, model: { ...model.spec.model, digest } } };
}
