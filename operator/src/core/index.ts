// The pure reconcile core's public surface (what operator/src/kube/ imports).
export { reconcile, sameJson } from './reconcile.ts';
export { computeRevision } from './revision.ts';
export { childName, stableServiceName, revisionChildName, MAX_NAME_LENGTH } from './names.ts';
export { isOwnedBy, revisionOf } from './observe.ts';
export type * from './types.ts';
