// Helpers for integration tests against the running lab: kubectl (the real one, as users run it),
// polling with a deadline, and a namespace per test file.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export const repoRoot = path.resolve(import.meta.dirname, '..');
export const kubectlBin = path.join(repoRoot, '.lab', 'bin', 'kubectl');

export function kubectl(args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(kubectlBin, args, { maxBuffer: 32 * 1024 * 1024, timeout: 60_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`kubectl ${args.join(' ')}: ${String(stderr).trim() || err.message}`));
      else resolve(String(stdout));
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

export async function kubectlJson<T = unknown>(args: string[]): Promise<T> {
  return JSON.parse(await kubectl([...args, '-o', 'json'])) as T;
}

/** Polls `check` until it returns a value other than undefined, or fails saying what it waited for. */
export async function waitUntil<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 60_000, everyMs = 500): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    await sleep(everyMs);
  }
  throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

/** Installs the OnnxModel CRD from crds/ (server-side, as a user would) and waits until it is served. */
export async function applyCrd(): Promise<void> {
  await kubectl(['apply', '--server-side', '--force-conflicts', '-f', path.join(repoRoot, 'crds/onnxmodel.yaml')]);
  await kubectl(['wait', '--for=condition=Established', 'crd/onnxmodels.serving.onnxop.io', '--timeout=30s']);
}

/** Creates a fresh namespace and waits for its default service account (pods need it). */
export async function createTestNamespace(prefix: string): Promise<string> {
  const ns = `${prefix}-${randomBytes(3).toString('hex')}`;
  await kubectl(['create', 'namespace', ns]);
  await waitUntil(`service account default in ${ns}`, async () =>
    (await kubectl(['-n', ns, 'get', 'serviceaccount', 'default', '--ignore-not-found', '-o', 'name'])).trim() || undefined,
  );
  return ns;
}

/** Applies an OnnxModel (server-side, as a user would) and returns the generation the API server gave it. */
export async function applyModel(ns: string, manifest: { metadata: { name: string; labels?: Record<string, string> } } & Record<string, unknown>): Promise<number> {
  await kubectl(['-n', ns, 'apply', '--server-side', '-f', '-'], JSON.stringify(manifest));
  return (await kubectlJson<{ metadata: { generation: number } }>(['-n', ns, 'get', 'onnxmodel', manifest.metadata.name])).metadata.generation;
}

/** An OnnxModel's status as the caller's type (`{}` before the operator wrote one). */
export async function modelStatus<S extends object>(ns: string, name: string): Promise<S> {
  return (await kubectlJson<{ status?: S }>(['-n', ns, 'get', 'onnxmodel', name])).status ?? ({} as S);
}

/** Polls an OnnxModel's status until `ok` holds for it, and returns that status. */
export function waitForModel<S extends object>(ns: string, name: string, what: string, ok: (s: S) => boolean, timeoutMs = 150_000, everyMs = 1000): Promise<S> {
  return waitUntil(
    `${name}: ${what}`,
    async () => {
      const s = await modelStatus<S>(ns, name);
      return ok(s) ? s : undefined;
    },
    timeoutMs,
    everyMs,
  );
}

export async function deleteNamespace(ns: string): Promise<void> {
  await kubectl(['delete', 'namespace', ns, '--wait=false', '--ignore-not-found']);
}

export interface PodJson {
  metadata: { name: string; labels?: Record<string, string>; deletionTimestamp?: string };
  spec: { nodeName?: string };
  status: {
    phase?: string;
    podIP?: string;
    conditions?: { type: string; status: string; reason?: string; message?: string }[];
    containerStatuses?: { name: string; ready: boolean; restartCount: number; containerID?: string; state?: Record<string, unknown> }[];
  };
}

export async function listPods(ns: string, selector: string): Promise<PodJson[]> {
  return (await kubectlJson<{ items: PodJson[] }>(['-n', ns, 'get', 'pods', '-l', selector])).items;
}

export function isPodReady(pod: PodJson): boolean {
  return pod.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

/** The length of a log file now: reconcilesLogged() counts only what is appended after it. */
export function logMark(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}

/**
 * Reconciles of `namespace/name` an operator logged after `mark` (logMark). With --log-level debug
 * every successful reconcile logs 'reconciled' or 'in sync'. Tests wait on this — the operator's
 * progress — rather than for a fixed time that a slower machine might not fill.
 */
export function reconcilesLogged(file: string, namespace: string, name: string, mark: number): number {
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    const buf = Buffer.alloc(Math.max(0, size - mark));
    fs.readSync(fd, buf, 0, buf.length, mark);
    let n = 0;
    // The last line may still be being written: only whole lines count.
    for (const line of buf.toString('utf8').split('\n').slice(0, -1)) {
      if (!line.includes('"reconciled"') && !line.includes('"in sync"')) continue;
      // pino writes the logger's own "name" first and the child's (the object's) after it; JSON.parse keeps the last.
      const rec = JSON.parse(line) as { namespace?: string; name?: string; msg?: string };
      if (rec.namespace === namespace && rec.name === name && (rec.msg === 'reconciled' || rec.msg === 'in sync')) n++;
    }
    return n;
  } finally {
    fs.closeSync(fd);
  }
}
