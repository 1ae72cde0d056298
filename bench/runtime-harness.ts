// What the runtime benchmarks share (bench/runtime.ts, bench/runtime-ab.ts): the closed-loop load
// generators, starting and stopping a server, our runtime from this checkout or another commit's
// worktree, and medians over rounds.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, symlinkSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inferenceClient } from '../runtime/test-support/grpc-client.ts';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
/** Seconds per measured run (BENCH_SECONDS, 5 by default). */
export const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);

export interface Result {
  name: string;
  concurrency: number;
  seconds: number;
  requests: number;
  errors: number;
  throughput: number;
  p50_ms: number;
  p99_ms: number;
  note?: string;
}

export const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN;

export function summarize(name: string, concurrency: number, latencies: number[], errors: number, seconds: number): Result {
  latencies.sort((a, b) => a - b);
  return { name, concurrency, seconds, requests: latencies.length, errors, throughput: latencies.length / seconds, p50_ms: pct(latencies, 0.5), p99_ms: pct(latencies, 0.99) };
}

/** Closed loop: `concurrency` workers, each sends the next request when its last one is answered; a second of warm-up not counted. */
async function closedLoop(name: string, concurrency: number, seconds: number, once: () => Promise<boolean>): Promise<Result> {
  const warmEnd = performance.now() + 1000;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (performance.now() < warmEnd) await once();
  }));
  const latencies: number[] = [];
  let errors = 0;
  const start = performance.now();
  const end = start + seconds * 1000;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (performance.now() < end) {
      const t = performance.now();
      if (await once()) latencies.push(performance.now() - t);
      else errors++;
    }
  }));
  const r = summarize(name, concurrency, latencies, errors, (performance.now() - start) / 1000);
  console.log(`${name.padEnd(34)} c=${String(concurrency).padStart(2)}  ${r.throughput.toFixed(0).padStart(6)} req/s  p50 ${r.p50_ms.toFixed(2)} ms  p99 ${r.p99_ms.toFixed(2)} ms  errors ${errors}`);
  return r;
}

/** The closed loop over HTTP/1.1 keep-alive connections (one per worker). */
export async function load(name: string, port: number, path: string, body: string, concurrency: number, seconds = SECONDS): Promise<Result> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const once = () =>
    new Promise<boolean>((resolve) => {
      const req = request({ host: '127.0.0.1', port, path, method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode === 200));
      });
      req.on('error', () => resolve(false));
      req.end(body);
    });
  try {
    return await closedLoop(name, concurrency, seconds, once);
  } finally {
    agent.destroy();
  }
}

/** The same closed loop over gRPC: `concurrency` calls in flight on one channel. */
export async function loadGrpc(name: string, port: number, message: Buffer, concurrency: number, seconds = SECONDS): Promise<Result> {
  const client = inferenceClient(`127.0.0.1:${port}`);
  const once = () => client.call('ModelInfer', message).then(
    () => true,
    () => false,
  );
  try {
    return await closedLoop(name, concurrency, seconds, once);
  } finally {
    client.close();
  }
}

export function startChild(cmd: string, args: string[], ready: (out: string) => number | undefined, env: Record<string, string> = {}, stdout: 'pipe' | 'ignore' = 'pipe', cwd = ROOT): Promise<{ child: ChildProcess; port: number }> {
  // Our runtime's stdout (the prediction log) goes to /dev/null, as a container log would not be read by the loader.
  const child = spawn(cmd, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', stdout, 'pipe'] });
  let out = '';
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer) => {
      out += d.toString();
      if (out.length > 1_000_000) out = out.slice(-100_000);
      const port = ready(out);
      if (port !== undefined) {
        child.stdout?.off('data', onData);
        child.stderr?.off('data', onData);
        child.stdout?.resume();
        child.stderr?.resume();
        resolve({ child, port });
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${cmd} exited with ${code}: ${out.slice(-2000)}`)));
    setTimeout(() => reject(new Error(`${cmd} did not become ready in 60 s: ${out.slice(-2000)}`)), 60_000).unref();
  });
}

export async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(t);
}

/** A detached worktree of `ref` sharing this checkout's node_modules; `remove()` deletes it. */
export function checkoutAt(ref: string): { dir: string; commit: string; remove: () => void } {
  const git = (...args: string[]) => {
    const r = spawnSync('git', args, { cwd: ROOT, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr.trim()}`);
    return r.stdout.trim();
  };
  const commit = git('rev-parse', '--verify', `${ref}^{commit}`);
  const dir = mkdtempSync(join(tmpdir(), 'bench-runtime-baseline-'));
  git('worktree', 'add', '--detach', '--force', dir, commit);
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  return { dir, commit, remove: () => void git('worktree', 'remove', '--force', dir) };
}

export const freePort = () => 20000 + Math.floor(Math.random() * 20000);

/** Our runtime; `mode()` says where its runs executed: the start-up decision, and whether the inline watch moved them to the workers later. */
export async function startRuntime(model: string, m: { path: string; digest: string }, extra: string[], checkout = ROOT, env: Record<string, string> = {}): Promise<{ child: ChildProcess; port: number; grpcPort: number; mode: () => string }> {
  let mode = 'unknown';
  let grpcPort = NaN;
  const rt = await startChild(process.execPath, ['runtime/src/main.ts', 'serve', '--port=0', '--host=127.0.0.1', '--log-level=info', ...extra], (out) => {
    const listen = /"port":(\d+)[^\n]*"msg":"listening"/.exec(out);
    if (!listen || !out.includes('"model ready"')) return undefined;
    mode = /"executionMode":"([^"]+)"/.exec(out)?.[1] ?? 'unknown';
    grpcPort = Number(/"grpcPort":(\d+)[^\n]*"msg":"gRPC listening"/.exec(out)?.[1]);
    return Number(listen[1]);
  }, { ONNXOP_MODEL_NAME: model, ONNXOP_MODEL_URI: m.path, ONNXOP_MODEL_DIGEST: m.digest, ONNXOP_REVISION: 'bench', ...env }, 'ignore', checkout);
  rt.child.stderr?.on('data', (d: Buffer) => {
    if (d.toString().includes('"msg":"inline runs got slow')) mode += ' → worker (inline watch)';
  });
  return { ...rt, grpcPort, mode: () => mode };
}

export const median = (xs: number[]) => {
  const s = [...xs].sort((x, y) => x - y);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};
/** The run with the median throughput (its latencies are reported with it). */
export const medianRun = (runs: Result[]): Result => {
  const m = median(runs.map((r) => r.throughput));
  return [...runs].sort((x, y) => Math.abs(x.throughput - m) - Math.abs(y.throughput - m))[0] as Result;
};
