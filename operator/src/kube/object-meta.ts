// Validation of the small part of every API object the adapters rely on. What comes from the API
// server is `unknown` until it passes here.
import { OperatorError } from '../errors.ts';
import { isRecord } from '../core/observe.ts';

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
}

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  deletionTimestamp?: string;
  managedFields?: unknown[];
}

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [field: string]: unknown;
}

export { isRecord };

export function asKubeObject(v: unknown, what: string): KubeObject {
  if (!isRecord(v) || !isRecord(v.metadata) || typeof v.metadata.name !== 'string') {
    throw new OperatorError('KUBE_RESPONSE_INVALID', `${what}: the API server sent an object without metadata.name`, { transient: true });
  }
  return v as KubeObject;
}

export function keyOf(obj: { metadata: { namespace?: string; name: string } }): string {
  return obj.metadata.namespace ? `${obj.metadata.namespace}/${obj.metadata.name}` : obj.metadata.name;
}
