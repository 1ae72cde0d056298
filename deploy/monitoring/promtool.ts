// The real promtool, built from the same pinned Prometheus module as the lab's Prometheus
// (e2e/lab/prometheus-build/build.sh promtool; cached outside the repo, built once).
import { execFileSync, spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
let cached: string | undefined;

/** The promtool binary's path, building it on first use (Go required, as for the lab's Prometheus). */
export function promtoolBinary(): string {
  cached ??= execFileSync('bash', [path.join(repoRoot, 'e2e/lab/prometheus-build/build.sh'), 'promtool'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim().split('\n').pop() ?? '';
  return cached;
}

/** Runs promtool with `args`; its exit status and what it printed. */
export function promtool(args: string[]): { status: number; output: string } {
  const r = spawnSync(promtoolBinary(), args, { encoding: 'utf8', timeout: 120_000 });
  if (r.error) throw r.error;
  return { status: r.status ?? -1, output: `${r.stdout}${r.stderr}` };
}
