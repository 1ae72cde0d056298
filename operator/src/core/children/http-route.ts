// The operator-owned HTTPRoute <model>: one rule, weighted between the stable and canary revision
// Services. Its default match is /v2/models/<served name>, so many models can share a gateway host.
import type { OnnxModel, ParentRef } from '../../api/types.ts';
import { revisionChildName, stableServiceName } from '../names.ts';
import type { CoreConfig, KubeObject } from '../types.ts';
import { SERVICE_PORT, childMeta, modelLabels } from './common.ts';
import { servedModelName } from './deployment.ts';
import { ANNOTATION_ROUTE_DECISION } from '../rollout/route-decision.ts';

/** `decision`: the rollback or promotion this write carries (rollout/route-decision.ts), kept afterwards. */
export function httpRouteFor(model: OnnxModel, config: CoreConfig, stable: string, canary: { revision: string; weight: number } | undefined, decision?: string): KubeObject {
  const g = model.spec.traffic.gatewayAPI ?? {};
  const parentRefs: ParentRef[] = (g.parentRefs ?? config.defaultGatewayParentRefs).map((p) => ({ ...p }));
  const backend = (revision: string, weight: number) => ({ group: '', kind: 'Service', name: revisionChildName(model.metadata.name, revision), port: SERVICE_PORT, weight });
  const canaryWeight = canary ? Math.min(100, Math.max(0, canary.weight)) : 0;
  const backendRefs = [backend(stable, 100 - canaryWeight), ...(canary ? [backend(canary.revision, canaryWeight)] : [])];
  const spec: Record<string, unknown> = {
    ...(parentRefs.length > 0 ? { parentRefs } : {}),
    ...(g.hostnames && g.hostnames.length > 0 ? { hostnames: [...g.hostnames] } : {}),
    rules: [{ matches: [{ path: { type: 'PathPrefix', value: g.pathPrefix ?? `/v2/models/${servedModelName(model)}` } }], backendRefs }],
  };
  return {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: { ...childMeta(model, stableServiceName(model.metadata.name), modelLabels(model)), ...(decision ? { annotations: { [ANNOTATION_ROUTE_DECISION]: decision } } : {}) },
    spec,
  };
}
