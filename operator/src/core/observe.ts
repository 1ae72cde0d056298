// Reading observed children: which revision they belong to, whether they are ours, and what a
// Deployment's status says about its pods (from its own status, as the Deployment controller wrote it).
import { LABEL_MODEL, LABEL_REVISION } from '../api/constants.ts';
import type { OnnxModel } from '../api/types.ts';
import type { KubeObject } from './types.ts';

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function isOwnedBy(obj: KubeObject, model: OnnxModel): boolean {
  return (
    obj.metadata.labels?.[LABEL_MODEL] === model.metadata.name &&
    (obj.metadata.ownerReferences ?? []).some((r) => r.uid === model.metadata.uid && r.controller)
  );
}

export function revisionOf(obj: KubeObject): string | undefined {
  return obj.metadata.labels?.[LABEL_REVISION];
}

interface DeploymentCondition {
  type?: unknown;
  status?: unknown;
  reason?: unknown;
  message?: unknown;
}

export interface DeploymentHealth {
  found: boolean;
  availableReplicas: number;
  /** The controller has seen the latest spec and every wanted pod is updated and available. */
  rolledOut: boolean;
  /** Pods cannot be created (quota, admission) — Deployment condition ReplicaFailure=True. */
  replicaFailure?: string;
  /** The Deployment controller gave up waiting (Progressing=False, ProgressDeadlineExceeded). */
  deadlineExceeded?: string;
}

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

export function deploymentHealth(dep: KubeObject | undefined, wantReplicas: number): DeploymentHealth {
  if (!dep) return { found: false, availableReplicas: 0, rolledOut: false };
  const status = (typeof dep.status === 'object' && dep.status !== null ? dep.status : {}) as Record<string, unknown>;
  const generation = dep.metadata.generation ?? 0;
  const observed = num(status['observedGeneration']);
  const available = num(status['availableReplicas']);
  const updated = num(status['updatedReplicas']);
  const total = num(status['replicas']);
  const conditions = (Array.isArray(status['conditions']) ? status['conditions'] : []) as DeploymentCondition[];
  const health: DeploymentHealth = {
    found: true,
    availableReplicas: available,
    rolledOut: observed >= generation && updated >= wantReplicas && available >= wantReplicas && total <= updated,
  };
  for (const c of conditions) {
    const msg = typeof c.message === 'string' ? c.message : String(c.reason ?? '');
    if (c.type === 'ReplicaFailure' && c.status === 'True') health.replicaFailure = msg;
    if (c.type === 'Progressing' && c.status === 'False' && c.reason === 'ProgressDeadlineExceeded') health.deadlineExceeded = msg;
  }
  return health;
}
