// The operator-owned HTTPRoute <model>: one rule, weighted between the stable and canary revision
// Services. Its default match is /v2/models/<served name>, so many models can share a gateway host.
// In a shadow step the rule also mirrors `percent` of requests to the canary Service's shadow port
// (Gateway API RequestMirror, `percent` since v1.2): the gateway discards the canary's answers.
import type { OnnxModel, ParentRef } from '../../api/types.ts';
import { revisionChildName, stableServiceName } from '../names.ts';
import type { CoreConfig, KubeObject } from '../types.ts';
import { SHADOW_PORT } from '../../../../lib/contract/index.ts';
import { SERVICE_PORT, childMeta, modelLabels } from './common.ts';
import { servedModelName } from './deployment.ts';
import { ANNOTATION_ROUTE_DECISION } from '../rollout/route-decision.ts';

/** `decision`: the rollback or promotion this write carries (rollout/route-decision.ts), kept afterwards. */
export function httpRouteFor(model: OnnxModel, config: CoreConfig, stable: string, canary: { revision: string; weight: number; mirror?: number } | undefined, decision?: string): KubeObject {
  const g = model.spec.traffic.gatewayAPI ?? {};
  const parentRefs: ParentRef[] = (g.parentRefs ?? config.defaultGatewayParentRefs).map((p) => ({ ...p }));
  const backend = (revision: string, weight: number) => ({ group: '', kind: 'Service', name: revisionChildName(model.metadata.name, revision), port: SERVICE_PORT, weight });
  const canaryWeight = canary ? Math.min(100, Math.max(0, canary.weight)) : 0;
  const backendRefs = [backend(stable, 100 - canaryWeight), ...(canary ? [backend(canary.revision, canaryWeight)] : [])];
  const spec: Record<string, unknown> = {
    ...(parentRefs.length > 0 ? { parentRefs } : {}),
    ...(g.hostnames && g.hostnames.length > 0 ? { hostnames: [...g.hostnames] } : {}),
    rules: [
      {
        matches: [{ path: { type: 'PathPrefix', value: g.pathPrefix ?? `/v2/models/${servedModelName(model)}` } }],
        ...(canary?.mirror !== undefined ? { filters: [mirrorFilter(revisionChildName(model.metadata.name, canary.revision), canary.mirror)] } : {}),
        backendRefs,
      },
    ],
  };
  return {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: { ...childMeta(model, stableServiceName(model.metadata.name), modelLabels(model)), ...(decision ? { annotations: { [ANNOTATION_ROUTE_DECISION]: decision } } : {}) },
    spec,
  };
}

/** RequestMirror of `percent`% of the rule's requests to a revision Service's shadow port. */
export function mirrorFilter(service: string, percent: number) {
  return { type: 'RequestMirror', requestMirror: { backendRef: { group: '', kind: 'Service', name: service, port: SHADOW_PORT }, percent: Math.min(100, Math.max(0, Math.round(percent))) } };
}
