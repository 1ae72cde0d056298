// The desired children of a model and the ones to delete, in the order they are written: a change
// of traffic (the HTTPRoute, once it exists) goes first, so a rollback takes traffic off the canary
// before anything else is written; new objects are created snapshot → Deployment → Service → route.
import type { OnnxModel } from '../../api/types.ts';
import { revisionChildName } from '../names.ts';
import { isOwnedBy, revisionOf } from '../observe.ts';
import { ANNOTATION_ROUTE_DECISION } from '../rollout/route-decision.ts';
import { observedRoute, type View, type Working } from '../working.ts';
import { controllerRevisionFor, frozenModel } from '../revision-snapshot.ts';
import type { KubeObject, ObjectRef } from '../types.ts';
import { autoscalerFor } from './autoscaler.ts';
import { deploymentFor } from './deployment.ts';
import { httpRouteFor } from './http-route.ts';
import { mirroredShare, stepShare } from '../rollout/machine.ts';
import { replicasFor } from './replicas.ts';
import { revisionServiceFor, stableServiceFor } from './service.ts';

export interface ChildrenPlan {
  apply: KubeObject[];
  delete: ObjectRef[];
  /** Things the user should know (a revision that cannot be re-rendered). */
  problems: string[];
}

const key = (o: { kind: string; metadata: { name: string } }) => `${o.kind}/${o.metadata.name}`;

function withReplicas(model: OnnxModel, replicas: number): OnnxModel {
  if (model.spec.runtime.autoscaling) return model;
  return { ...model, spec: { ...model.spec, runtime: { ...model.spec.runtime, replicas } } };
}

export function desiredChildren(view: View, w: Working): ChildrenPlan {
  const { model } = view;
  const { config, children } = view.input;
  const owned = (list: KubeObject[] | undefined) => (list ?? []).filter((o) => isOwnedBy(o, model));
  const snapshots = owned(children.controllerRevisions);
  const problems: string[] = [];
  const creations: KubeObject[] = [];
  const canaryWeight = w.canary && w.progress ? stepShare(view.steps[w.progress.step]) : undefined;

  const revisions: { rev: string; role: 'stable' | 'canary' }[] = [];
  if (w.stable) revisions.push({ rev: w.stable.revision, role: 'stable' });
  if (w.canary) revisions.push({ rev: w.canary.revision, role: 'canary' });
  for (const { rev, role } of revisions) {
    const snapshot = snapshots.find((o) => o.metadata.name === revisionChildName(model.metadata.name, rev) && revisionOf(o) === rev);
    let frozen = snapshot ? frozenModel(model, rev, snapshot) : undefined;
    if (!frozen && rev === view.desired) {
      // The revision is being created (or its snapshot was lost while the spec still describes it).
      if (!snapshot) creations.push(controllerRevisionFor(model, rev));
      frozen = model;
    }
    if (frozen) creations.push(deploymentFor(withReplicas(frozen, replicasFor(model, role, canaryWeight)), rev, config));
    else problems.push(`revision ${rev} has no valid ControllerRevision ${revisionChildName(model.metadata.name, rev)}: its Deployment is left as it is (not re-rendered from today's spec)`);
    creations.push(revisionServiceFor(model, rev));
    const hpa = autoscalerFor(model, rev);
    if (hpa) creations.push(hpa);
  }

  let route: KubeObject | undefined;
  if (w.stable) {
    creations.push(stableServiceFor(model, w.stable.revision));
    if (model.spec.traffic.provider === 'gatewayAPI' && view.trafficAvailable) {
      const decision = w.routeDecision ?? observedRoute(view)?.metadata.annotations?.[ANNOTATION_ROUTE_DECISION];
      const mirror = w.canary && !w.routeDecision ? mirroredShare(w.progress, view.steps) : undefined;
      route = httpRouteFor(model, config, w.stable.revision, w.canary ? { revision: w.canary.revision, weight: w.progress?.weight ?? 0, ...(mirror !== undefined ? { mirror } : {}) } : undefined, decision);
    }
  }
  const observedRoutes = owned(children.httpRoutes);
  const apply = route ? (observedRoutes.some((r) => r.metadata.name === route.metadata.name) ? [route, ...creations] : [...creations, route]) : creations;

  const applied = new Set(apply.map(key));
  const keep = new Set([...revisions.map((r) => r.rev), ...w.scalingDown.map((s) => s.revision)]);
  const toDelete: ObjectRef[] = [];
  for (const o of [...owned(children.deployments), ...owned(children.services), ...observedRoutes, ...owned(children.horizontalPodAutoscalers), ...snapshots]) {
    if (applied.has(key(o))) continue;
    const rev = revisionOf(o);
    if (rev !== undefined && keep.has(rev)) continue;
    const ref: ObjectRef = { apiVersion: o.apiVersion, kind: o.kind, namespace: model.metadata.namespace, name: o.metadata.name };
    if (o.metadata.uid) ref.uid = o.metadata.uid;
    toDelete.push(ref);
  }
  return { apply, delete: toDelete, problems };
}
