// Services: one per revision (what routes point at, so promotion is one route change) and the
// stable Service <model>, the fixed in-cluster address that always selects the stable revision.
import { SHADOW_PORT, SHADOW_PORT_NAME } from '../../../../lib/contract/index.ts';
import { LABEL_MODEL, LABEL_ROLE } from '../../api/constants.ts';
import type { OnnxModel } from '../../api/types.ts';
import { revisionChildName, stableServiceName } from '../names.ts';
import type { KubeObject } from '../types.ts';
import { GRPC_PORT, SERVICE_PORT, childMeta, modelLabels, revisionLabels, revisionSelector } from './common.ts';

const ports = [
  { name: 'http', port: SERVICE_PORT, targetPort: 'http', protocol: 'TCP' },
  // gRPC clients (tritonclient.grpc) reach the runtime's GRPCInferenceService here; HTTP routes
  // carry REST only.
  { name: 'grpc', port: GRPC_PORT, targetPort: 'grpc', protocol: 'TCP' },
  // Mirrored requests (the route's RequestMirror, shadow steps) and the canary's compare requests to
  // stable reach the runtime's shadow listener here, never counted as client traffic.
  { name: SHADOW_PORT_NAME, port: SHADOW_PORT, targetPort: SHADOW_PORT_NAME, protocol: 'TCP' },
];

export function revisionServiceFor(model: OnnxModel, revision: string): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: childMeta(model, revisionChildName(model.metadata.name, revision), revisionLabels(model, revision)),
    spec: { type: 'ClusterIP', selector: revisionSelector(model, revision), ports },
  };
}

/**
 * With a router the stable Service selects the stable revision only (the route splits traffic);
 * without one (provider none) it selects every pod of the model, so the replica ratio is the split.
 */
export function stableServiceFor(model: OnnxModel, stableRevision: string): KubeObject {
  const selector = model.spec.traffic.provider === 'none' ? { [LABEL_MODEL]: model.metadata.name } : revisionSelector(model, stableRevision);
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: childMeta(model, stableServiceName(model.metadata.name), { ...modelLabels(model), [LABEL_ROLE]: 'stable' }),
    spec: { type: 'ClusterIP', selector, ports },
  };
}
