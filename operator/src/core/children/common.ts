// What every child shares: labels that map it back to its model and revision, and the controller
// ownerReference that makes the garbage collector delete it with the model.
import { API_VERSION, KIND, LABEL_MANAGED_BY, LABEL_MODEL, LABEL_REVISION, MANAGED_BY } from '../../api/constants.ts';
import type { OnnxModel } from '../../api/types.ts';
import type { OwnerReference } from '../types.ts';
import { SHADOW_PORT } from '../../../../lib/contract/index.ts';

/** The Service port clients and routes use; the container port is spec.runtime.port. */
export const SERVICE_PORT = 80;
/**
 * The runtime's gRPC port (the Open Inference Protocol's GRPCInferenceService; runtime default
 * --grpc-port=8081), on the pod and on the Services, whose gRPC port is the same number. When the
 * REST port is 8081 itself the runtime is told to use 8082.
 */
export const GRPC_PORT = 8081;
export const grpcPortFor = (restPort: number): number => (restPort === GRPC_PORT ? GRPC_PORT + 1 : GRPC_PORT);
/**
 * The runtime's shadow listener on the pod (mirrored requests; lib/contract SHADOW_PORT, 8082, is
 * also the Services' shadow port): the first of 8082, 8083, 8084 that neither REST nor gRPC took.
 */
export const shadowPortFor = (restPort: number): number => [SHADOW_PORT, SHADOW_PORT + 1, SHADOW_PORT + 2].find((p) => p !== restPort && p !== grpcPortFor(restPort)) ?? SHADOW_PORT;

export function ownerReference(model: OnnxModel): OwnerReference {
  return { apiVersion: API_VERSION, kind: KIND, name: model.metadata.name, uid: model.metadata.uid, controller: true, blockOwnerDeletion: true };
}

export function modelLabels(model: OnnxModel): Record<string, string> {
  return {
    'app.kubernetes.io/name': 'onnx-runtime',
    'app.kubernetes.io/instance': model.metadata.name,
    'app.kubernetes.io/component': 'inference',
    [LABEL_MANAGED_BY]: MANAGED_BY,
    [LABEL_MODEL]: model.metadata.name,
  };
}

export function revisionLabels(model: OnnxModel, revision: string): Record<string, string> {
  return { ...modelLabels(model), [LABEL_REVISION]: revision };
}

/** Pods of one revision; Deployment and Service selectors are exactly this (immutable, minimal). */
export function revisionSelector(model: OnnxModel, revision: string): Record<string, string> {
  return { [LABEL_MODEL]: model.metadata.name, [LABEL_REVISION]: revision };
}

export function childMeta(model: OnnxModel, name: string, labels: Record<string, string>) {
  return { name, namespace: model.metadata.namespace, labels, ownerReferences: [ownerReference(model)] };
}
