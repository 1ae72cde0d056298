// The lab side of `npm run bench:peers` shared by every tool: the tool interface, the peers' programs
// as local processes (like our operator in the tests), their manifests with placeholders filled in,
// watches of a namespace's objects, and one scenario run — the stable version serving, load through
// the lab gateway, the new version applied, the tool's weights and decision watched until it ends.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { KubeConfig } from '@kubernetes/client-node';
import pino from 'pino';
import { parseAllDocuments } from 'yaml';
import { labPaths, repoRoot } from '../../e2e/lab/lab-config.ts';
import { runLoad, type LoadResult } from '../../e2e/lab/loadgen/run-load.ts';
import { RUNTIME_ENV } from '../../lib/contract/index.ts';
import { Informer } from '../../operator/src/kube/informer.ts';
import type { KubeObject } from '../../operator/src/kube/object-meta.ts';
import type { ResourceType } from '../../operator/src/kube/resources.ts';
import { RestKubeClient } from '../../operator/src/kube/rest-client.ts';
import { kubectl } from '../../test/lab-helpers.ts';
import { inferThroughGateway, type BenchPrometheus, type ModelFile } from '../rollout-lab.ts';
import {
  bucketize,
  isError,
  LEAD_S,
  newVersionRequests,
  OUTAGE_AFTER_S,
  timesOf,
  type ClientSample,
  type ModelName,
  type Outcome,
  type PeerRunDef,
  type PeerRunResult,
  type ToolDef,
  type WeightPoint,
} from './scenarios.ts';

/** What a tool shows of one workload at a moment. */
export interface Observation {
  /** stable: the first version serves and the tool waits for a change; the rest after the change. */
  state: 'pending' | 'stable' | 'progressing' | 'promoted' | 'rolledBack' | 'paused';
  /** The new version's share of traffic as the tool set it, percent (0 before it has any). */
  weight: number;
  /** The tool's own words (a status reason or message). */
  reason?: string;
  /** The x-onnxop-revision the new version answers with, once known. */
  newVersion?: string;
}

export interface ToolContext {
  namespace: string;
  prometheusUrl: string;
  log: (m: string) => void;
}

export interface PeerTool {
  readonly def: ToolDef;
  /** Its CRDs, its process (watching only `namespace`) and what the namespace shares (templates). */
  start(ctx: ToolContext): Promise<void>;
  stop(): Promise<void>;
  /** v1: creates the workload serving `file`; v2: moves it to `file`, as a user's change would. */
  deploy(run: PeerRunDef, version: 'v1' | 'v2', file: ModelFile): Promise<void>;
  observe(name: string): Observation;
  /** Called on every change of a watched object, until the returned function is called. */
  onChange(fn: () => void): () => void;
  remove(name: string): Promise<void>;
  /** The process' log, for failures. */
  readonly logFile: string;
}

/** What every tool here shares: its definition, the namespace it runs in, a watch on it, its process. */
export abstract class WatchingTool implements PeerTool {
  readonly def: ToolDef;
  protected ctx: ToolContext | undefined;
  protected watch: NamespaceWatch | undefined;
  protected process: { logFile: string; stop(): Promise<void> } | undefined;

  constructor(def: ToolDef, peer: ToolDef['peer']) {
    if (def.peer !== peer) throw new Error(`${def.id} is not ${peer}`);
    this.def = def;
  }

  get logFile(): string {
    return this.process?.logFile ?? '';
  }

  abstract start(ctx: ToolContext): Promise<void>;
  abstract deploy(run: PeerRunDef, version: 'v1' | 'v2', file: ModelFile): Promise<void>;
  abstract observe(name: string): Observation;
  abstract remove(name: string): Promise<void>;

  async stop(): Promise<void> {
    await this.process?.stop();
    await this.watch?.stop();
  }

  onChange(fn: () => void): () => void {
    if (!this.watch) throw new Error('not started');
    return this.watch.onChange(fn);
  }

  protected get ns(): string {
    if (!this.ctx) throw new Error('not started');
    return this.ctx.namespace;
  }
}

/** A peer's program as a local process with the lab's kubeconfig; its output goes to a log file. */
export class PeerProcess {
  child: ChildProcess | undefined;
  readonly logFile: string;
  readonly #binary: string;
  readonly #args: string[];
  readonly #env: Record<string, string>;

  constructor(name: string, binary: string, args: string[], env: Record<string, string> = {}) {
    this.logFile = path.join(labPaths.logs, `${name}.log`);
    this.#binary = binary;
    this.#args = args;
    this.#env = env;
  }

  /** Starts it; resolves once `ready` answers true (or throws with the log's tail). */
  async start(ready: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
    const out = fs.openSync(this.logFile, 'a');
    this.child = spawn(this.#binary, this.#args, {
      stdio: ['ignore', out, out],
      env: { ...process.env, ...this.#env },
    });
    fs.closeSync(out);
    const deadline = Date.now() + timeoutMs;
    while (!(await ready().catch(() => false))) {
      if (this.child.exitCode !== null || Date.now() > deadline)
        throw new Error(
          `${path.basename(this.#binary)} did not become ready (exit ${this.child.exitCode}): ${this.tail()}`,
        );
      await sleep(500);
    }
  }

  tail(chars = 2000): string {
    try {
      return fs.readFileSync(this.logFile, 'utf8').slice(-chars);
    } catch {
      return '(no log)';
    }
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await Promise.race([exited, sleep(10_000)]);
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  }
}

/** The cached peer binary, built from the Go module proxy if missing (bench/peers/build.sh). */
export function peerBinary(peer: 'flagger' | 'argo-rollouts'): string {
  return execFileSync('bash', [path.join(repoRoot, 'bench/peers/build.sh'), peer], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  }).trim();
}

/** The peer's module source next to its binary (CRDs, docs). */
export const peerSource = (binary: string): string => path.join(path.dirname(binary), 'src');

/** A manifest of bench/peers with its ${VAR} placeholders filled in; refuses one left unfilled. */
export function renderManifest(file: string, vars: Record<string, string>): KubeObject[] {
  const text = fs
    .readFileSync(path.join(repoRoot, 'bench/peers', file), 'utf8')
    .replace(/\$\{([A-Z_]+)\}/g, (m: string, k: string) => {
      const v = vars[k];
      if (v === undefined) throw new Error(`${file}: no value for ${m}`);
      return v;
    });
  return parseAllDocuments(text)
    .map((d) => d.toJSON() as KubeObject | null)
    .filter((d): d is KubeObject => d !== null);
}

/** Server-side apply under the benchmark's field manager. */
export async function apply(objects: readonly KubeObject[], force = false): Promise<void> {
  await kubectl(
    [
      'apply',
      '--server-side',
      '--field-manager',
      'bench-peers',
      ...(force ? ['--force-conflicts'] : []),
      '-f',
      '-',
    ],
    objects.map((o) => JSON.stringify(o)).join('\n'),
  );
}

/** CRDs from files (server-side, forced: they are the peer's own), then waits until they are served. */
export async function applyCrds(files: readonly string[]): Promise<void> {
  for (const f of files) await kubectl(['apply', '--server-side', '--force-conflicts', '-f', f]);
  const names = (await kubectl(['get', ...files.flatMap((f) => ['-f', f]), '-o', 'name'])).trim().split('\n');
  await kubectl(['wait', '--for=condition=Established', ...names, '--timeout=60s']);
}

/** Informers on a namespace's objects of the given kinds, each change reported to every listener. */
export class NamespaceWatch {
  readonly #informers = new Map<string, Informer>();
  readonly #listeners: (() => void)[] = [];

  constructor(namespace: string, types: Record<string, ResourceType>) {
    const kc = new KubeConfig();
    kc.loadFromFile(labPaths.kubeconfig);
    const client = new RestKubeClient(kc, { userAgent: 'onnxop-bench-peers' });
    const log = pino({ level: 'warn' }, pino.destination(2));
    for (const [key, resource] of Object.entries(types)) {
      const inf = new Informer({ client, resource, namespace, log });
      inf.onChange(() => this.#listeners.forEach((l) => l()));
      this.#informers.set(key, inf);
    }
  }

  onChange(fn: () => void): () => void {
    this.#listeners.push(fn);
    return () => {
      const i = this.#listeners.indexOf(fn);
      if (i >= 0) this.#listeners.splice(i, 1);
    };
  }

  get(type: string, namespace: string, name: string): KubeObject | undefined {
    return this.#informers.get(type)?.get(namespace, name);
  }

  list(type: string): KubeObject[] {
    return this.#informers.get(type)?.list() ?? [];
  }

  async start(): Promise<void> {
    await Promise.all([...this.#informers.values()].map((i) => i.start()));
  }

  async stop(): Promise<void> {
    await Promise.all([...this.#informers.values()].map((i) => i.stop()));
  }
}

/** The runtime's revision (ONNXOP_REVISION) in a pod spec: which version a pod or template runs. */
export function revisionOf(podSpec: unknown): string | undefined {
  const containers = (podSpec as { containers?: { env?: { name: string; value?: string }[] }[] } | undefined)
    ?.containers;
  return containers?.[0]?.env?.find((e) => e.name === RUNTIME_ENV.revision)?.value;
}

/** Weights of an HTTPRoute's first rule, by backend name (an unset weight is 1, as Gateway API says). */
export function routeWeights(route: KubeObject | undefined): Map<string, number> {
  const rules = (
    route as { spec?: { rules?: { backendRefs?: { name: string; weight?: number }[] }[] } } | undefined
  )?.spec?.rules;
  return new Map((rules?.[0]?.backendRefs ?? []).map((b) => [b.name, b.weight ?? 1]));
}

export interface ScenarioContext {
  namespace: string;
  files: Record<ModelName, ModelFile>;
  prometheus: BenchPrometheus;
  log: (m: string) => void;
  /** Whether this run may stop Prometheus (it runs alone). */
  outage?: boolean;
}

const TERMINAL: readonly Observation['state'][] = ['promoted', 'rolledBack', 'paused'];

/**
 * One run: v1 serving (and the tool ready for a change), load through the gateway for LEAD_S, v2
 * applied; then every change the tool makes is timestamped until it promotes, rolls back or pauses
 * (or the tool's cap). A rollback ends once the weight is 0 too. The outage class stops Prometheus
 * OUTAGE_AFTER_S after the fault starts and starts it again at the end.
 */
export async function runPeerScenario(
  tool: PeerTool,
  run: PeerRunDef,
  ctx: ScenarioContext,
): Promise<PeerRunResult> {
  const { name, cls } = run;
  /** Client requests with their completion time (Date.now()). */
  const answered: (Omit<ClientSample, 'atMs'> & { at: number })[] = [];
  const weights: WeightPoint[] = [];
  let t0 = 0;
  let outcome: Outcome = 'failed';
  let reason: string | undefined;
  let outageAt: number | undefined;
  let end = 0;
  let last: Observation = { state: 'pending', weight: 0 };
  const ac = new AbortController();
  let load: Promise<LoadResult> | undefined;
  const record = () => {
    if (t0 === 0) return;
    const o = tool.observe(name);
    last = o;
    if (o.weight !== (weights.at(-1)?.[1] ?? 0)) weights.push([(Date.now() - t0) / 1000, o.weight]);
  };
  const unsubscribe = tool.onChange(record);
  try {
    await tool.deploy(run, 'v1', ctx.files[cls.stable]);
    const readyBy = Date.now() + 5 * 60_000;
    while (tool.observe(name).state !== 'stable') {
      if (Date.now() > readyBy)
        throw new Error(`${name}: the first version was not serving within 5 minutes`);
      await sleep(500);
    }
    if (cls.rate > 0) {
      load = runLoad({
        ...inferThroughGateway(`${name}.${ctx.namespace}.lab`, run.rows),
        rate: cls.rate,
        maxRequests: Math.ceil(cls.rate * (tool.def.capMs / 1000 + 120)),
        durationMs: tool.def.capMs + 120_000,
        // At random (from the run's seed, the same for every tool): the pods behind a Service are
        // round-robined, and an evenly spread poison would line up with them.
        ...(cls.poison > 0 ? { poisonRatio: cls.poison, poisonSeed: run.poisonSeed } : {}),
        signal: ac.signal,
        onSample: (s, at) => answered.push({ at, group: s.group, ...(s.status ? { status: s.status } : {}) }),
      });
      await sleep(LEAD_S * 1000);
    }
    t0 = Date.now();
    await tool.deploy(run, 'v2', ctx.files[cls.canary]);
    const deadline = t0 + tool.def.capMs;
    let terminalSince: number | undefined;
    for (;;) {
      record();
      const now = Date.now();
      if (ctx.outage && outageAt === undefined) {
        const start = weights.find(([, w]) => w > 0)?.[0];
        if (start !== undefined && now - t0 >= (start + OUTAGE_AFTER_S) * 1000) {
          outageAt = (now - t0) / 1000;
          ctx.log(`${tool.def.id}/${name}: stopping Prometheus`);
          await ctx.prometheus.stop();
        }
      }
      if (TERMINAL.includes(last.state)) {
        terminalSince ??= now;
        // A rollback is over when the traffic is back (a tool may write its status first); give it a minute.
        if (last.state !== 'rolledBack' || last.weight === 0 || now - terminalSince > 60_000) break;
      }
      if (now > deadline) break;
      await sleep(250);
    }
    end = (Date.now() - t0) / 1000;
    outcome = TERMINAL.includes(last.state) ? (last.state as Outcome) : 'stuck';
    reason = last.reason;
  } catch (err) {
    outcome = 'failed';
    reason = err instanceof Error ? err.message : String(err);
    end = t0 ? (Date.now() - t0) / 1000 : 0;
    ctx.log(`${tool.def.id}/${name}: ${reason} (log: ${tool.logFile})`);
  } finally {
    unsubscribe();
    ac.abort();
    if (outageAt !== undefined) await ctx.prometheus.start();
  }
  const result = load ? await load : undefined;
  const samples: ClientSample[] = answered.map(({ at, ...s }) => ({ ...s, atMs: at - (t0 || at) }));
  const newVersion = last.newVersion;
  const during = samples.filter((s) => s.atMs >= 0 && s.atMs <= end * 1000);
  const buckets = bucketize(
    samples.filter((s) => s.atMs <= end * 1000),
    newVersion,
    cls.bad,
  );
  const round = (x: number) => Math.round(x * 10) / 10;
  const out: PeerRunResult = {
    tool: tool.def.id,
    cls: cls.id,
    name,
    outcome,
    ...(reason ? { reason } : {}),
    times: timesOf(weights, outcome, end),
    seconds: round(end),
    ...(outageAt !== undefined ? { outageAt: round(outageAt) } : {}),
    weights: weights.map(([t, w]) => [round(t), Math.round(w * 10) / 10]),
    buckets,
  };
  if (result) {
    out.newVersionRequests = newVersionRequests(buckets, weights, outcome);
    out.load = {
      sent: result.sent,
      rate: result.throughput,
      errors: during.filter(isError).length,
      newVersion: during.filter((s) => newVersion !== undefined && s.group === newVersion).length,
      errorStatuses: during.filter(isError).reduce<Record<string, number>>((m, s) => {
        const k = String(s.status ?? 'none');
        m[k] = (m[k] ?? 0) + 1;
        return m;
      }, {}),
    };
  }
  await tool.remove(name).catch(() => undefined);
  return out;
}
