// The pure reconcile core's public surface (what operator/src/kube/ may import).
export { reconcile } from './reconcile.ts';
export { computeRevision } from './revision.ts';
export { childName, stableServiceName, revisionChildName } from './names.ts';
export type * from './types.ts';
