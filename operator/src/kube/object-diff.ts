// Decides whether a desired child differs from what the cluster has, without a write: the desired
// manifest must be contained in the observed object (the server adds defaults, which we ignore), and
// the hash of the desired manifest recorded on the object must match (which catches removed fields).
// Resource quantities are compared by value: the server returns them as canonical strings ("1000m"
// comes back as "1", "1024Mi" as "1Gi", a number as a string), and a textual comparison would see a
// difference, and patch, on every reconcile.
import { createHash } from 'node:crypto';
import { isRecord } from './object-meta.ts';
import { sameQuantity } from './quantity.ts';

export const appliedHashAnnotation = 'serving.onnxop.io/applied-hash';

/** The keys that lead to a field, innermost first (array indices are not keys). */
interface FieldPath {
  key: string;
  parent: FieldPath | undefined;
}

/**
 * Where the kinds the operator writes hold a `resource.Quantity`, by the keys that lead there:
 * `resources.limits.<name>` / `resources.requests.<name>` (containers, pod-level resources, claims),
 * `overhead.<name>` (pods), `sizeLimit` (emptyDir), `target.value` / `target.averageValue`
 * (autoscaling/v2 metric targets). Elsewhere a string is a string: "1" and "1000m" differ in a label.
 */
function isQuantityField(path: FieldPath | undefined): boolean {
  if (!path) return false;
  const { key } = path;
  const parent = path.parent?.key;
  if (key === 'sizeLimit') return true;
  if (parent === 'target') return key === 'value' || key === 'averageValue';
  if (parent === 'overhead') return true;
  return (parent === 'limits' || parent === 'requests') && path.parent?.parent?.key === 'resources';
}

function contains(desired: unknown, observed: unknown, path: FieldPath | undefined, quantities: boolean): boolean {
  if (Array.isArray(desired)) {
    return Array.isArray(observed) && desired.length === observed.length && desired.every((d, i) => contains(d, observed[i], path, quantities));
  }
  if (isRecord(desired)) {
    return isRecord(observed) && Object.entries(desired).every(([key, v]) => contains(v, observed[key], { key, parent: path }, quantities));
  }
  if (desired === observed) return true;
  return quantities && isQuantityField(path) && sameQuantity(desired, observed);
}

/**
 * True when every field of `desired` is present in `observed` with the same value; quantities
 * (see isQuantityField) are the same when their values are, however the server spelled them.
 */
export function isSubset(desired: unknown, observed: unknown): boolean {
  return contains(desired, observed, undefined, true);
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

/** Exact symmetric containment (no quantity semantics: for values stored as written, like a status). */
export function deepEqual(a: unknown, b: unknown): boolean {
  return contains(a, b, undefined, false) && contains(b, a, undefined, false);
}
