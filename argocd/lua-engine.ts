// Argo CD's own Lua engine, as a program: argocd/lua-engine/main.go built against
// github.com/argoproj/argo-cd/v3/util/lua from the Go module proxy (argocd/lua-engine/build.sh,
// cached outside the repository). Runs the customization's test files, or one action on an object.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ARGOCD_CM_FILE, repoRoot } from './generate.ts';

export const CUSTOMIZATIONS_ROOT = path.join(repoRoot, 'argocd/resource_customizations');

/** Builds the engine on first use (minutes, cached per Argo CD version); returns the binary's path. */
export function luaEngine(): string {
  return execFileSync('bash', [path.join(repoRoot, 'argocd/lua-engine/build.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
}

export interface HealthStatus {
  status: string;
  message?: string;
}

export interface DiscoveredAction {
  name: string;
  disabled?: boolean;
  iconClass?: string;
  displayName?: string;
}

export interface EngineResult {
  suite: 'health' | 'discovery' | 'action';
  key: string;
  input: string;
  action?: string;
  ok: boolean;
  error?: string;
  want?: unknown;
  got?: unknown;
  /** Action tests: the JSON merge patch Argo CD's API server would send. */
  patch?: Record<string, unknown>;
}

export interface EngineReport {
  engine: Record<string, string>;
  source: 'files' | 'argocd-cm';
  openLibs: boolean;
  results: EngineResult[];
}

export interface RunOptions {
  /** Take the scripts from argocd/argocd-cm.yaml (through Argo CD's settings manager) instead of the files. */
  fromArgocdCm: boolean;
  /** Argo CD's useOpenLibs. */
  openLibs: boolean;
}

function args(o: RunOptions): string[] {
  return ['-root', CUSTOMIZATIONS_ROOT, ...(o.fromArgocdCm ? ['-argocd-cm', path.join(repoRoot, ARGOCD_CM_FILE)] : []), ...(o.openLibs ? ['-open-libs'] : [])];
}

/** Runs every health_test.yaml and action_test.yaml under argocd/resource_customizations. */
export function runEngineTests(binary: string, o: RunOptions): EngineReport {
  // Exit status 1 means some case failed: the report still says which.
  const r = spawnSync(binary, args(o), { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0 && r.status !== 1) throw new Error(`argocd-lua-test exited ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout) as EngineReport;
}

/** Runs one action on `obj` as Argo CD's API server would; returns the merge patch it would send. */
export function runEngineAction(binary: string, o: RunOptions, action: string, obj: unknown): Record<string, unknown> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'onnxop-argocd-action-'));
  try {
    const file = path.join(dir, 'object.json');
    fs.writeFileSync(file, JSON.stringify(obj));
    const out = execFileSync(binary, [...args(o), '-action', action, '-object', file], { encoding: 'utf8' });
    return (JSON.parse(out) as { patch: Record<string, unknown> }).patch;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
