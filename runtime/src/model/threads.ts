// Sizes onnxruntime's intra-op thread pool to the container's CPU limit: a pod limited to 2 CPUs
// on a 64-core node must not start 64 threads (they would be throttled by the CFS quota).
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

/** Parses cgroup v2 cpu.max ("<quota> <period>" or "max <period>") into a CPU count, or undefined. */
export function cpusFromCpuMax(text: string): number | undefined {
  const [quota, period] = text.trim().split(/\s+/);
  if (!quota || quota === 'max') return undefined;
  const q = Number(quota);
  const p = Number(period ?? 100000);
  if (!(q > 0) || !(p > 0)) return undefined;
  return Math.max(1, Math.ceil(q / p));
}

export function containerCpus(cpuMaxPath = '/sys/fs/cgroup/cpu.max'): { cpus: number; source: string } {
  const host = availableParallelism();
  try {
    const limit = cpusFromCpuMax(readFileSync(cpuMaxPath, 'utf8'));
    if (limit !== undefined) return { cpus: Math.min(limit, host), source: `cgroup ${cpuMaxPath}` };
  } catch {
    // No cgroup v2 file (not in a container, or cgroup v1): fall back to the CPUs we can see.
  }
  return { cpus: host, source: 'available parallelism' };
}
