// The lab side of `npm run bench:rollout`: a Prometheus of the bench's own (the lab's binary and
// scrape configuration, its own port and data, so stopping it disturbs nobody), watches on the
// bench namespace's OnnxModels and HTTPRoutes that timestamp every change as it arrives, one
// scenario run (stable model, load through the gateway, canary, the outcome), and the 2× slow model.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { KubeConfig } from '@kubernetes/client-node';
import pino from 'pino';
import { stringify } from 'yaml';
import { labPaths, labPorts, repoRoot } from '../e2e/lab/lab-config.ts';
import {
  runLoad,
  type GroupStats,
  type LoadResult,
  type RunLoadOptions,
} from '../e2e/lab/loadgen/run-load.ts';
import { prometheusConfigFile } from '../e2e/lab/prometheus.ts';
import { HEADER_REVISION } from '../lib/contract/index.ts';
import { planMeasurements } from '../operator/src/analysis/index.ts';
import { LABEL_CONTROLLER_INSTANCE } from '../operator/src/api/constants.ts';
import { Informer } from '../operator/src/kube/informer.ts';
import type { KubeObject } from '../operator/src/kube/object-meta.ts';
import { resources } from '../operator/src/kube/resources.ts';
import { RestKubeClient } from '../operator/src/kube/rest-client.ts';
import { encodeModel } from '../runtime/test-models/onnx-writer.ts';
import { slowLogreg, type TestModel } from '../runtime/test-models/build.ts';
import { kubectl } from '../test/lab-helpers.ts';
import { freePort } from '../test/operator-process.ts';
import {
  benchAnalysis,
  type RevisionLoad,
  type Ratios,
  type RunDef,
  type RunResult,
} from './rollout-report.ts';

export const gatewayUrl = `http://127.0.0.1:${labPorts.gateway}`;

/**
 * Load options for one model through the lab gateway: a v2 inference of the given feature rows
 * at the model's host, 5 s per request at most, grouped by the revision
 * that answered.
 */
export function inferThroughGateway(
  host: string,
  rows: readonly (readonly number[])[],
): Pick<RunLoadOptions, 'url' | 'method' | 'headers' | 'body' | 'timeoutMs' | 'groupByHeader'> {
  return {
    url: `${gatewayUrl}/v2/models/m/infer`,
    method: 'POST',
    headers: { 'content-type': 'application/json', host },
    body: JSON.stringify({ inputs: [{ name: 'features', datatype: 'FP32', shape: [rows.length, 4], data: rows.flat() }] }),
    timeoutMs: 5000,
    groupByHeader: HEADER_REVISION,
  };
}

/**
 * logreg about twice as slow at the runtime: three 256×256 MatMuls per row (~0.9 ms on the 2-core
 * development machine, against a request's ~0.8 ms p50 in the runtime). Built here rather than in
 * runtime/test-models/build.ts: only this benchmark uses it.
 */
export function ensureSlow2x(): TestModel {
  const dir = path.join(repoRoot, 'bench', 'out', 'models');
  fs.mkdirSync(dir, { recursive: true });
  const bytes = encodeModel(slowLogreg('logreg_slow2x', 256, 3));
  const file = path.join(dir, 'logreg_slow2x.onnx');
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, bytes, { mode: 0o644 });
  fs.renameSync(tmp, file);
  return {
    path: file,
    digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}`,
    bytes: bytes.length,
  };
}

/** One model's latency at the runtime, measured outside the cluster (no cold start, no gateway). */
export interface Characterized {
  model: string;
  requests: number;
  /** Share of successful requests slower than the latency SLO's threshold (the runtime's histogram). */
  slowShare: number;
  /** Client-side median and p99, ms (loopback, no gateway). */
  p50Ms: number;
  p99Ms: number;
}

/**
 * Each model in its own runtime process on loopback, all at once, `rate` req/s each: a warm-up,
 * then `seconds` measured from the runtime's own histogram (the counts the latency SLO uses). The
 * share slower than `thresholdSeconds` is the model's steady-state bad ratio for the latency SLO.
 */
export async function characterize(
  models: Record<string, ModelFile>,
  o: { rate: number; seconds: number; thresholdSeconds: number; body: string },
): Promise<Characterized[]> {
  const started = await Promise.all(
    Object.entries(models).map(async ([model, file]) => {
      const child = spawn(
        process.execPath,
        ['runtime/src/main.ts', 'serve', '--port=0', '--host=127.0.0.1', '--log-level=info'],
        {
          cwd: repoRoot,
          env: {
            ...process.env,
            ONNXOP_MODEL_NAME: 'm',
            ONNXOP_MODEL_URI: file.path,
            ONNXOP_MODEL_DIGEST: file.digest,
            ONNXOP_REVISION: model,
          },
          stdio: ['ignore', 'ignore', 'pipe'],
        },
      );
      let log = '';
      const port = await new Promise<number>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`${model}: the runtime did not start in 60 s: ${log.slice(-500)}`)),
          60_000,
        );
        child.stderr?.on('data', (d: Buffer) => {
          log = (log + d.toString()).slice(-20_000);
          const m = /"port":(\d+)[^\n]*"msg":"listening"/.exec(log);
          if (m && log.includes('"model ready"')) {
            clearTimeout(timer);
            resolve(Number(m[1]));
          }
        });
        child.once('exit', (code) =>
          reject(new Error(`${model}: the runtime exited with ${code}: ${log.slice(-500)}`)),
        );
      });
      return { model, child, port };
    }),
  );
  const histogram = async (port: number) => {
    const lines = (await (await fetch(`http://127.0.0.1:${port}/metrics`)).text())
      .split('\n')
      .filter((l) => l.includes('outcome="success"'));
    const sum = (prefix: string, also = '') =>
      lines
        .filter((l) => l.startsWith(prefix) && l.includes(also))
        .reduce((n, l) => n + Number(l.split(' ').pop()), 0);
    return {
      total: sum('onnxop_request_duration_seconds_count{'),
      fast: sum('onnxop_request_duration_seconds_bucket{', `le="${o.thresholdSeconds}"`),
    };
  };
  const load = (port: number, seconds: number) =>
    runLoad({
      url: `http://127.0.0.1:${port}/v2/models/m/infer`,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: o.body,
      rate: o.rate,
      maxRequests: Math.ceil(o.rate * seconds) + 1,
      durationMs: seconds * 1000,
      timeoutMs: 5000,
    });
  try {
    await Promise.all(started.map((s) => load(s.port, 10)));
    const before = await Promise.all(started.map((s) => histogram(s.port)));
    const runs = await Promise.all(started.map((s) => load(s.port, o.seconds)));
    const after = await Promise.all(started.map((s) => histogram(s.port)));
    return started.map((s, i) => {
      const total = (after[i]?.total ?? 0) - (before[i]?.total ?? 0);
      const fast = (after[i]?.fast ?? 0) - (before[i]?.fast ?? 0);
      const l = runs[i]?.total.latencyMs;
      return {
        model: s.model,
        requests: total,
        slowShare: total > 0 ? Math.round(((total - fast) / total) * 10000) / 10000 : 0,
        p50Ms: l?.p50 ?? 0,
        p99Ms: l?.p99 ?? 0,
      };
    });
  } finally {
    for (const s of started) s.child.kill('SIGTERM');
  }
}

/** The bench's own Prometheus: stop() is the outage; start() again keeps the port and the data. */
export class BenchPrometheus {
  port = 0;
  #child: ChildProcess | undefined;
  readonly #data = fs.mkdtempSync(path.join(labPaths.dir, 'bench-rollout-prom-'));

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const binary = execFileSync('bash', [path.join(repoRoot, 'e2e/lab/prometheus-build/build.sh')], {
      encoding: 'utf8',
    }).trim();
    if (this.port === 0) this.port = await freePort();
    const log = fs.openSync(path.join(labPaths.logs, 'bench-rollout-prometheus.log'), 'a');
    this.#child = spawn(
      binary,
      [
        `--config.file=${prometheusConfigFile}`,
        `--storage.tsdb.path=${this.#data}`,
        `--web.listen-address=127.0.0.1:${this.port}`,
        '--log.level=warn',
      ],
      { stdio: ['ignore', log, log] },
    );
    fs.closeSync(log);
    const deadline = Date.now() + 60_000;
    while (
      !(await fetch(`${this.url}/-/ready`).then(
        (r) => r.ok,
        () => false,
      ))
    ) {
      if (Date.now() > deadline || this.#child.exitCode !== null)
        throw new Error(
          `the bench Prometheus did not become ready (log: ${labPaths.logs}/bench-rollout-prometheus.log)`,
        );
      await sleep(250);
    }
  }

  /** SIGKILL, as a crash; resolves once it is gone. */
  async stop(): Promise<void> {
    const p = this.#child;
    this.#child = undefined;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise((resolve) => p.once('exit', resolve));
    p.kill('SIGKILL');
    await exited;
  }

  async close(): Promise<void> {
    await this.stop();
    fs.rmSync(this.#data, { recursive: true, force: true });
  }

  /** One instant query's single sample (undefined: empty vector). */
  async value(query: string, at: Date): Promise<number | undefined> {
    const res = await fetch(`${this.url}/api/v1/query`, {
      method: 'POST',
      body: new URLSearchParams({ query, time: (at.getTime() / 1000).toFixed(3) }),
      signal: AbortSignal.timeout(10_000),
    });
    const body = (await res.json()) as {
      status: string;
      data?: { result?: { value: [number, string] }[] };
      error?: string;
    };
    if (body.status !== 'success') throw new Error(`query ${query}: ${body.error ?? res.status}`);
    const v = body.data?.result?.[0]?.value[1];
    return v === undefined ? undefined : Number(v);
  }
}

export interface ModelState {
  phase?: string;
  stable?: { revision: string; digest: string };
  canary?: { revision: string; digest: string; since: string };
  rollout?: { state: string; step: number; weight: number; pauseReason?: string; looks?: number };
  lastAnalysis?: { time: string; revision: string; verdict: string; reason?: string; message?: string };
  lastRollback?: Record<string, unknown> & { reason?: string };
}

interface Stamped<T> {
  t: number;
  v: T;
}

export type Backends = { name: string; weight: number }[];

/** Every change of the namespace's OnnxModels (status) and HTTPRoutes (backends), timestamped on arrival. */
export class Watch {
  readonly #models: Informer;
  readonly #routes: Informer;
  readonly status = new Map<string, Stamped<ModelState>[]>();
  readonly routes = new Map<string, Stamped<Backends>[]>();

  constructor(namespace: string) {
    const kc = new KubeConfig();
    kc.loadFromFile(labPaths.kubeconfig);
    const client = new RestKubeClient(kc, { userAgent: 'onnxop-bench-rollout' });
    const log = pino({ level: 'warn' }, pino.destination(2));
    this.#models = new Informer({ client, resource: resources.onnxModel, namespace, log });
    this.#routes = new Informer({ client, resource: resources.httpRoute, namespace, log });
    this.#models.onChange((type, obj) => {
      if (type !== 'DELETED')
        this.#push(
          this.status,
          obj.metadata.name,
          (obj as KubeObject & { status?: ModelState }).status ?? {},
        );
    });
    this.#routes.onChange((type, obj) => {
      const rules =
        (obj as KubeObject & { spec?: { rules?: { backendRefs?: Backends }[] } }).spec?.rules ?? [];
      const backends =
        type === 'DELETED'
          ? []
          : (rules[0]?.backendRefs ?? []).map((b) => ({ name: b.name, weight: b.weight ?? 1 }));
      this.#push(this.routes, obj.metadata.name, backends);
    });
  }

  #push<T>(map: Map<string, Stamped<T>[]>, name: string, v: T): void {
    const list = map.get(name) ?? [];
    list.push({ t: Date.now(), v });
    // Bounded: a model that flapped for a long time keeps its last 2000 changes.
    if (list.length > 2000) list.splice(0, list.length - 2000);
    map.set(name, list);
  }

  async start(): Promise<void> {
    await Promise.all([this.#models.start(), this.#routes.start()]);
  }

  async stop(): Promise<void> {
    await Promise.all([this.#models.stop(), this.#routes.stop()]);
  }

  now(name: string): ModelState {
    return this.status.get(name)?.at(-1)?.v ?? {};
  }

  /** Resolves with the state once `ok` holds; throws after timeoutMs. */
  async waitFor(
    name: string,
    what: string,
    ok: (s: ModelState) => boolean,
    timeoutMs: number,
  ): Promise<ModelState> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const s = this.now(name);
      if (ok(s)) return s;
      if (Date.now() > deadline)
        throw new TimeoutError(
          `${name}: no ${what} within ${Math.round(timeoutMs / 1000)} s (phase ${s.phase}, state ${s.rollout?.state ?? '-'})`,
        );
      await sleep(200);
    }
  }

  /** Forget a model (its run is over). */
  forget(name: string): void {
    this.status.delete(name);
    this.routes.delete(name);
  }
}

export class TimeoutError extends Error {}

/** The bench's operator reconciles only models with this label value (--instance-id); every other operator leaves them alone. */
export const INSTANCE_ID = 'bench-rollout';

/**
 * Other operators that would reconcile the bench's models too: same instance id, watching the
 * bench's namespace (or every one). None is expected; a run that saw one is marked.
 */
export function foreignOperators(mine: number | undefined, namespace: string): string[] {
  const out: string[] = [];
  for (const pid of fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    if (Number(pid) === mine) continue;
    let args: string[];
    try {
      args = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    if (!args.some((a) => a.endsWith('operator/src/main.ts')) || !args.includes('run')) continue;
    const flag = (name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
    const ns = flag('--namespace');
    if (flag('--instance-id') === INSTANCE_ID && (ns === undefined || ns === namespace))
      out.push(`${pid}:${flag('--leader-election-id') ?? 'onnx-operator'}`);
  }
  return out;
}

/** fn over items, at most n at once; the results in the items' order. */
export async function pool<T, R>(items: readonly T[], n: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i] as T);
      }
    }),
  );
  return out;
}

/** CPU seconds (user + system) of a process, from /proc/<pid>/stat (clock ticks of 1/100 s). */
export function processCpuSeconds(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const [utime, stime] = stat
    .slice(stat.lastIndexOf(')') + 2)
    .split(' ')
    .slice(11, 13)
    .map(Number);
  return ((utime ?? 0) + (stime ?? 0)) / 100;
}

export interface ModelFile {
  path: string;
  digest: string;
}

export interface RunContext {
  namespace: string;
  watch: Watch;
  prometheus: BenchPrometheus;
  operatorPid: () => number | undefined;
  stable: ModelFile;
  canaryFile: (run: RunDef) => ModelFile;
  spec: Record<string, unknown>;
  /** From the canary's apply to the end of the run, at most. */
  capMs: number;
  log: (msg: string) => void;
}

export const promoted = (s: ModelState, digest: string): boolean =>
  s.phase === 'Stable' && !s.canary && s.stable?.digest === digest;
const ended = (s: ModelState, digest: string): boolean =>
  s.phase === 'RolledBack' || promoted(s, digest) || s.rollout?.state === 'Paused';

export async function applyModel(
  ctx: Pick<RunContext, 'namespace'>,
  name: string,
  file: ModelFile,
  spec: Record<string, unknown>,
  extra: Record<string, unknown> = {},
): Promise<void> {
  const obj = {
    apiVersion: 'serving.onnxop.io/v1alpha1',
    kind: 'OnnxModel',
    metadata: { name, namespace: ctx.namespace, labels: { [LABEL_CONTROLLER_INSTANCE]: INSTANCE_ID } },
    spec: {
      model: {
        uri: file.path.startsWith('https://') ? file.path : `file://${file.path}`,
        digest: file.digest,
        name: 'm',
      },
      runtime: { replicas: 1 },
      traffic: { gatewayAPI: { hostnames: [`${name}.${ctx.namespace}.lab`] } },
      rollout: spec,
      ...extra,
    },
  };
  await kubectl(['apply', '--server-side', '--force-conflicts', '-f', '-'], stringify(obj));
}

function revisionLoad(g: GroupStats | undefined): RevisionLoad | undefined {
  return g
    ? {
        requests: g.count,
        serverErrors: g.serverError,
        poisoned: g.poisoned,
        p50Ms: g.latencyMs.p50,
        p99Ms: g.latencyMs.p99,
      }
    : undefined;
}

/** Prometheus' counts for both revisions over the canary's life, per SLO (the analysis' own queries). */
async function lifeCounts(
  ctx: RunContext,
  canary: { revision: string; since: string },
  stable: string,
): Promise<{ canary: Ratios; stable: Ratios }> {
  const now = new Date();
  const plan = planMeasurements({
    analysis: benchAnalysis(),
    namespace: ctx.namespace,
    servedModelName: 'm',
    canary,
    stable: { revision: stable },
    now,
    scrapeIntervalSeconds: 2,
  });
  const out: { canary: Ratios; stable: Ratios } = { canary: {}, stable: {} };
  // The longest window of each SLO and role: the canary's whole life once capped at its age.
  for (const r of [...plan.requests].sort((a, b) => b.windowSeconds - a.windowSeconds)) {
    const slo = r.slo as 'availability' | 'latency';
    if (out[r.role][slo]) continue;
    const [good, total] = await Promise.all([
      ctx.prometheus.value(r.goodQuery, now),
      ctx.prometheus.value(r.totalQuery, now),
    ]);
    const requests = Math.round(total ?? 0);
    out[r.role][slo] = {
      requests,
      bad: Math.max(0, Math.min(requests, Math.round((total ?? 0) - (good ?? 0)))),
    };
  }
  return out;
}

/**
 * One scenario: the model serves logreg, load starts (if any), the spec moves to the canary's
 * digest, and the run ends at a rollback, a promotion or a pause (or the cap). Times come from the
 * route watch: the canary's first weight > 0 is the fault's start, the first route after it without
 * the canary is "all traffic on stable".
 */
export async function runScenario(
  run: RunDef,
  ctx: RunContext,
  outage?: { stoppedAt: () => number | undefined },
): Promise<RunResult> {
  const { name } = run;
  const result: RunResult = { name, cls: run.cls.id, outcome: 'failed' };
  const foreign = new Set<string>();
  const sample = () => foreignOperators(ctx.operatorPid(), ctx.namespace).forEach((f) => foreign.add(f));
  const sampler = setInterval(sample, 5000);
  sample();
  const canary = ctx.canaryFile(run);
  const ac = new AbortController();
  let load: Promise<LoadResult> | undefined;
  let stableRevision = '';
  let canaryInfo: { revision: string; since: string } | undefined;
  try {
    await applyModel(ctx, name, ctx.stable, ctx.spec);
    stableRevision =
      (
        await ctx.watch.waitFor(
          name,
          'stable phase',
          (s) => s.phase === 'Stable' && s.stable?.digest === ctx.stable.digest,
          180_000,
        )
      ).stable?.revision ?? '';
    if (run.cls.rate > 0) {
      load = runLoad({
        ...inferThroughGateway(`${name}.${ctx.namespace}.lab`, [run.features]),
        rate: run.cls.rate,
        maxRequests: Math.ceil(run.cls.rate * (ctx.capMs / 1000 + 60)),
        durationMs: ctx.capMs + 60_000,
        ...(run.cls.poison > 0 ? { poisonRatio: run.cls.poison } : {}),
        signal: ac.signal,
      });
      await sleep(5000); // the stable revision serves before the canary appears, as in production
    }
    await applyModel(ctx, name, canary, ctx.spec);
    const end = await ctx.watch.waitFor(
      name,
      'rollback, promotion or pause',
      (s) => {
        if (s.canary && s.canary.digest === canary.digest)
          canaryInfo = { revision: s.canary.revision, since: s.canary.since };
        return ended(s, canary.digest);
      },
      ctx.capMs,
    );
    result.outcome =
      end.phase === 'RolledBack' ? 'rolledBack' : promoted(end, canary.digest) ? 'promoted' : 'paused';
    const reason = end.phase === 'RolledBack' ? end.lastRollback?.reason : end.rollout?.pauseReason;
    if (typeof reason === 'string') result.reason = reason;
    if (end.lastRollback && end.phase === 'RolledBack') result.lastRollback = end.lastRollback;
    if (end.lastAnalysis)
      result.lastAnalysis = {
        verdict: end.lastAnalysis.verdict,
        ...(end.lastAnalysis.reason ? { reason: end.lastAnalysis.reason } : {}),
        ...(end.lastAnalysis.message ? { message: end.lastAnalysis.message } : {}),
      };
    // Measurements of this canary: the deciding one is written with the outcome, never as a look in status.rollout.
    const rev = canaryInfo?.revision;
    result.looks = new Set(
      (ctx.watch.status.get(name) ?? []).flatMap((x) =>
        x.v.lastAnalysis && x.v.lastAnalysis.revision === rev ? [x.v.lastAnalysis.time] : [],
      ),
    ).size;
  } catch (err) {
    result.outcome = err instanceof TimeoutError ? 'undecided' : 'failed';
    result.reason = err instanceof Error ? err.message : String(err);
  } finally {
    clearInterval(sampler);
    ac.abort();
  }
  if (load) {
    const l = await load;
    const c = canaryInfo ? revisionLoad(l.byGroup[canaryInfo.revision]) : undefined;
    const s = revisionLoad(l.byGroup[stableRevision]);
    result.load = {
      sent: l.sent,
      seconds: Math.round(l.durationMs / 100) / 10,
      rate: Math.round(l.throughput * 10) / 10,
      ...(c ? { canary: c } : {}),
      ...(s ? { stable: s } : {}),
    };
  }
  // Times, from the route's history.
  const routes = ctx.watch.routes.get(name) ?? [];
  const stableBackend = `${name}-${stableRevision}`;
  const live = (b: Backends) => b.filter((x) => x.weight > 0).map((x) => x.name);
  const start = routes.find((r) => live(r.v).some((n) => n !== stableBackend))?.t;
  if (start !== undefined) {
    const after = routes.filter((r) => r.t >= start);
    const back = after.find((r) => live(r.v).length > 0 && live(r.v).every((n) => n === stableBackend))?.t;
    const all = after.find((r) => live(r.v).length > 0 && live(r.v).every((n) => n !== stableBackend))?.t;
    const paused = (ctx.watch.status.get(name) ?? []).find(
      (x) => x.t >= start && x.v.rollout?.state === 'Paused',
    )?.t;
    const secs = (t: number) => Math.round((t - start) / 100) / 10;
    if (result.outcome === 'rolledBack' && back !== undefined) result.faultToStable = secs(back);
    if (result.outcome === 'promoted' && all !== undefined) result.faultToPromoted = secs(all);
    if (result.outcome === 'paused' && paused !== undefined) result.faultToPaused = secs(paused);
    const stoppedAt = outage?.stoppedAt();
    if (stoppedAt !== undefined && back !== undefined && back >= stoppedAt)
      result.outageToStable = Math.round((back - stoppedAt) / 100) / 10;
  }
  if (canaryInfo && run.cls.rate > 0 && !run.cls.outage) {
    try {
      await sleep(4500); // two scrapes: the last requests reach Prometheus
      const counts = await lifeCounts(ctx, canaryInfo, stableRevision);
      result.canaryCounts = counts.canary;
      result.stableCounts = counts.stable;
    } catch (err) {
      ctx.log(`${name}: no counts from Prometheus: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  if (foreign.size > 0) result.foreignOperators = [...foreign];
  await kubectl([
    '-n',
    ctx.namespace,
    'delete',
    'onnxmodel',
    name,
    '--wait=false',
    '--ignore-not-found',
  ]).catch(() => undefined);
  ctx.watch.forget(name);
  return result;
}
