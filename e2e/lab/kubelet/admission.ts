// Pod admission (pure): the kubelet's extended-resource check. It trusts the scheduler for cpu and
// memory (lab nodes are fake) but refuses a pod whose device requests (nvidia.com/gpu) exceed what
// the node has left, with the real kubelet's reason "OutOf<resource>".
import type { Pod } from './types.ts';
import { parseQuantity } from './quantity.ts';

function podRequest(pod: Pod, resource: string): number {
  const sum = (cs: typeof pod.spec.containers | undefined): number[] =>
    (cs ?? []).map((c) => parseQuantity(c.resources?.limits?.[resource] ?? c.resources?.requests?.[resource] ?? '0'));
  const regular = sum(pod.spec.containers).reduce((a, b) => a + b, 0);
  const init = Math.max(0, ...sum(pod.spec.initContainers));
  return Math.max(regular, init);
}

/** Extended resources the kubelet accounts for (anything with a domain prefix, e.g. nvidia.com/gpu). */
function extendedResources(capacity: Record<string, string>, pod: Pod): string[] {
  const names = new Set<string>();
  for (const c of [...pod.spec.containers, ...(pod.spec.initContainers ?? [])]) {
    for (const r of [...Object.keys(c.resources?.limits ?? {}), ...Object.keys(c.resources?.requests ?? {})]) {
      if (r.includes('/') && !r.startsWith('kubernetes.io/') && !r.startsWith('requests.')) names.add(r);
    }
  }
  for (const r of Object.keys(capacity)) if (r.includes('/')) names.add(r);
  return [...names];
}

export function admitPod(
  pod: Pod,
  nodeCapacity: Record<string, string>,
  admittedPods: readonly Pod[],
): { ok: true } | { ok: false; reason: string; message: string } {
  for (const resource of extendedResources(nodeCapacity, pod)) {
    const want = podRequest(pod, resource);
    if (want === 0) continue;
    const capacity = parseQuantity(nodeCapacity[resource] ?? '0');
    const used = admittedPods.filter((p) => p.metadata.uid !== pod.metadata.uid).reduce((a, p) => a + podRequest(p, resource), 0);
    if (used + want > capacity) {
      return {
        ok: false,
        reason: `OutOf${resource}`,
        message: `Node didn't have enough resource: ${resource}, requested: ${want}, used: ${used}, capacity: ${capacity}`,
      };
    }
  }
  return { ok: true };
}
