// Decides whether a desired child differs from what the cluster has, without a write: the desired
// manifest must be contained in the observed object (the server adds defaults, which we ignore), and
// the hash of the desired manifest recorded on the object must match (which catches removed fields).
import { createHash } from 'node:crypto';
import { isRecord } from './object-meta.ts';

export const appliedHashAnnotation = 'serving.onnxop.io/applied-hash';

/** True when every field of `desired` is present in `observed` with the same value. */
export function isSubset(desired: unknown, observed: unknown): boolean {
  if (Array.isArray(desired)) {
    return Array.isArray(observed) && desired.length === observed.length && desired.every((d, i) => isSubset(d, observed[i]));
  }
  if (isRecord(desired)) {
    return isRecord(observed) && Object.entries(desired).every(([k, v]) => isSubset(v, observed[k]));
  }
  return desired === observed;
}

/** A stable hash of a manifest: keys sorted, so field order does not matter. */
export function manifestHash(manifest: unknown): string {
  const canonical = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(canonical);
    if (isRecord(v)) return Object.fromEntries(Object.keys(v).sort().map((k) => [k, canonical(v[k])]));
    return v;
  };
  return createHash('sha256').update(JSON.stringify(canonical(manifest))).digest('hex').slice(0, 16);
}

export function deepEqual(a: unknown, b: unknown): boolean {
  return isSubset(a, b) && isSubset(b, a);
}
