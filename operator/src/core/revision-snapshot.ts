// A revision's pods are what that revision was when it was created, whatever the spec says later.
// The pod-affecting part of the spec is frozen in a ControllerRevision `<model>-<revision>` (the
// object Kubernetes' own StatefulSet and DaemonSet controllers keep for the same reason) when the
// revision is created, and every later render of that revision's Deployment starts from it.
//
// Why a ControllerRevision and not status or the Deployment itself: status is rewritten on every
// transition and is lost with a backup/restore of spec-only manifests (Argo CD, Velero filters);
// a Deployment's template carries server defaults and is gone if someone deletes the Deployment.
// A ControllerRevision is immutable data owned by the model, deleted with the revision's children.
import { safeParseOnnxModel } from '../api/parse.ts';
import type { OnnxModel, OnnxModelSpec } from '../api/types.ts';
import { childMeta, revisionLabels } from './children/common.ts';
import { revisionChildName } from './names.ts';
import { isRecord } from './observe.ts';
import type { KubeObject } from './types.ts';

/** Bump when the snapshot's shape changes; older snapshots are then read by their own rules. */
export const SNAPSHOT_SCHEMA = 1;

/** The frozen part: everything deploymentFor reads except how many replicas run. */
export interface RevisionSnapshot {
  schema: number;
  revision: string;
  model: OnnxModelSpec['model'];
  runtime: Omit<OnnxModelSpec['runtime'], 'replicas' | 'autoscaling'>;
  signature?: OnnxModelSpec['signature'];
}

export function snapshotOf(model: OnnxModel, revision: string): RevisionSnapshot {
  const { replicas: _replicas, autoscaling: _autoscaling, ...runtime } = model.spec.runtime;
  return {
    schema: SNAPSHOT_SCHEMA,
    revision,
    model: model.spec.model,
    runtime,
    ...(model.spec.signature ? { signature: model.spec.signature } : {}),
  };
}

export function controllerRevisionFor(model: OnnxModel, revision: string): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'ControllerRevision',
    metadata: childMeta(model, revisionChildName(model.metadata.name, revision), revisionLabels(model, revision)),
    data: snapshotOf(model, revision),
    revision: 1,
  };
}

/**
 * The model as it was for `revision`: the snapshot's artifact, runtime and signature with today's
 * replicas/autoscaling, traffic and rollout. Undefined when the object is not a valid snapshot of
 * that revision (validated like any spec read from the API server).
 */
export function frozenModel(model: OnnxModel, revision: string, controllerRevision: KubeObject | undefined): OnnxModel | undefined {
  const data = controllerRevision?.['data'];
  if (!isRecord(data) || data['schema'] !== SNAPSHOT_SCHEMA || data['revision'] !== revision || !isRecord(data['runtime'])) return undefined;
  const { replicas, autoscaling } = model.spec.runtime;
  const spec: Record<string, unknown> = {
    model: data['model'],
    runtime: { ...data['runtime'], ...(replicas !== undefined ? { replicas } : {}), ...(autoscaling ? { autoscaling } : {}) },
    traffic: model.spec.traffic,
    rollout: model.spec.rollout,
    ...(data['signature'] !== undefined ? { signature: data['signature'] } : {}),
  };
  const parsed = safeParseOnnxModel({ apiVersion: model.apiVersion, kind: model.kind, metadata: model.metadata, spec, status: {} });
  return parsed.ok ? { ...parsed.model, status: model.status } : undefined;
}
