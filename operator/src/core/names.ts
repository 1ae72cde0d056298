// Child object names. Service names are DNS-1035 labels (≤ 63 chars); `<model>-<revision>` can
// exceed that, so long bases are truncated and a short hash of the full base keeps them unique.
import { createHash } from 'node:crypto';

export const MAX_NAME_LENGTH = 63;

export function shortHash(s: string, length: number): string {
  return createHash('sha256').update(s).digest('hex').slice(0, length);
}

/** `<base>-<suffix>`, or `<truncated base>-<hash6>-<suffix>` when that would exceed 63 chars. */
export function childName(base: string, suffix: string): string {
  const full = suffix ? `${base}-${suffix}` : base;
  if (full.length <= MAX_NAME_LENGTH) return full;
  const hash = shortHash(base, 6);
  const tail = suffix ? `-${hash}-${suffix}` : `-${hash}`;
  const keep = base.slice(0, MAX_NAME_LENGTH - tail.length).replace(/-+$/, '');
  return `${keep}${tail}`;
}

/** Deployment, Service and HPA of one revision. */
export function revisionChildName(model: string, revision: string): string {
  return childName(model, revision);
}

/** The Service that always selects the stable revision, and the HTTPRoute. */
export function stableServiceName(model: string): string {
  return childName(model, '');
}
