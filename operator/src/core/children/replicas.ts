// How many pods each revision runs during a rollout. With a router (gatewayAPI) the canary gets the
// share of the stable count its step's weight asks for, at least one pod, and the stable revision
// keeps all of its own; traffic is split by the route. Without one (provider none) the replica
// ratio is the traffic split, as in Argo Rollouts' basic canary: the two counts add up to the
// spec's count, each at least one, so weights are approximate with few replicas.
// With autoscaling the HPA owns the count; the values here are its floor (minReplicas).
import type { OnnxModel } from '../../api/types.ts';
import { wantedReplicas } from './deployment.ts';

export function canaryReplicas(model: OnnxModel, weight: number | undefined): number {
  const total = wantedReplicas(model);
  if (weight === undefined || model.spec.rollout.steps.length === 0) return total;
  const share = (total * weight) / 100;
  return Math.max(1, model.spec.traffic.provider === 'none' ? Math.round(share) : Math.ceil(share));
}

/** Pods of `role` while the canary is at a step of `canaryWeight` (undefined: no canary). */
export function replicasFor(model: OnnxModel, role: 'stable' | 'canary', canaryWeight: number | undefined): number {
  if (role === 'canary') return canaryReplicas(model, canaryWeight);
  const total = wantedReplicas(model);
  if (canaryWeight === undefined || model.spec.traffic.provider !== 'none' || model.spec.rollout.steps.length === 0) return total;
  return Math.max(1, total - canaryReplicas(model, canaryWeight));
}
