// The real helm (built once from the Go module proxy by e2e/lab/helm-build/build.sh, cached outside
// the tree) for the chart's tests: run it, render the chart with given values, read what it printed.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { repoRoot } from './lab-helpers.ts';

export const chartDir = path.join(repoRoot, 'charts', 'onnx-operator');

let cached: string | undefined;

/** The helm binary; the first call on a fresh machine builds it (a few minutes on 2 cores). */
export function helmBin(): string {
  cached ??= execFileSync('bash', [path.join(repoRoot, 'e2e/lab/helm-build/build.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim().split('\n').pop() ?? '';
  return cached;
}

export interface HelmResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs helm; never throws for a non-zero exit (tests look at refusals too). */
export function helm(args: string[], env: Record<string, string> = {}): HelmResult {
  const r = spawnSync(helmBin(), args, { encoding: 'utf8', env: { ...process.env, ...env }, maxBuffer: 64 << 20, timeout: 300_000 });
  if (r.error) throw r.error;
  return { code: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
}

/** Runs helm and returns its output, or fails with what helm said. */
export function helmOk(args: string[], env: Record<string, string> = {}): string {
  const r = helm(args, env);
  if (r.code !== 0) throw new Error(`helm ${args.join(' ')} exited ${r.code}: ${r.stderr.trim() || r.stdout.trim()}`);
  return r.stdout;
}

/** A values file for helm's -f (removed at exit). */
export function valuesFile(values: object): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'helm-values-'));
  const file = path.join(dir, 'values.yaml');
  fs.writeFileSync(file, stringify(values));
  process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  return file;
}

export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

export function parseManifests(yamlText: string): Manifest[] {
  return parseAllDocuments(yamlText)
    .map((d) => d.toJS() as Manifest | null)
    .filter((m): m is Manifest => m !== null && typeof m === 'object');
}

/** `helm template` of `chart` with these values; a refusal (schema, fail) throws with helm's message. */
export function renderChart(values: object, opts: { release?: string; namespace?: string; chart?: string } = {}): Manifest[] {
  const out = helmOk(['template', opts.release ?? 'rel', opts.chart ?? chartDir, '--namespace', opts.namespace ?? 'onnxop-system', '-f', valuesFile(values)]);
  return parseManifests(out);
}
