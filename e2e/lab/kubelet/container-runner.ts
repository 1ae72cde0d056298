// One container of one pod: prepare (image, env, through the container engine), start, probe,
// observe its exit, restart per restartPolicy with crash-loop back-off, stop on request. Every state
// change is reported through `onChange` so the pod worker recomputes and writes status.
import type { V1Container, V1Probe } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { initialBackoff, nextRestart, type BackoffPolicy, type BackoffState } from './backoff.ts';
import { envReferences, resolveEnv, type EnvSources } from './container-spec.ts';
import { waitingReason, type ContainerEngine, type PreparedContainer, type StartedContainer } from './engine.ts';
import { errorMessage } from './errors.ts';
import type { ObservedContainer, ObservedState, TerminatedState } from './pod-status.ts';
import { runHandler, type ProbeTarget } from './probe-runners.ts';
import { initialProbeState, nextProbeDelayMs, observeProbe, probeSettings, probeVerdict, type ProbeKind, type ProbeSettings, type ProbeState } from './probes.ts';
import { containerLogPath, writeLogLine } from './container-log.ts';
import type { Pod } from './types.ts';
import { rfc3339 } from './types.ts';

export interface RunnerContext {
  pod: () => Pod;
  netns: string;
  podIP: string;
  hostIP: string;
  nodeAllocatable: Record<string, string>;
  engine: ContainerEngine;
  logDir: string;
  backoff: BackoffPolicy;
  fetchEnvSources: (namespace: string, refs: { configMaps: string[]; secrets: string[] }) => Promise<EnvSources>;
  onChange: () => void;
  log: Logger;
}

export type RunOutcome = 'succeeded' | 'failed' | 'stopped';

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done);
  });
}

export class ContainerRunner {
  readonly spec: V1Container;
  readonly kind: 'init' | 'regular';
  observed: ObservedContainer;
  env: Record<string, string> = {};
  private readonly ctx: RunnerContext;
  private readonly log: Logger;
  private readonly stopController = new AbortController();
  private proc: StartedContainer | undefined;
  private prepared: PreparedContainer | undefined;
  private backoffState: BackoffState = initialBackoff;
  private pullFailures = 0;
  /** The next start is a restart (restartCount + 1). */
  private pendingRestart: boolean;
  private probeTimers: NodeJS.Timeout[] = [];
  private killMessage: string | undefined;

  constructor(spec: V1Container, kind: 'init' | 'regular', ctx: RunnerContext, carried: ObservedContainer | undefined) {
    this.spec = spec;
    this.kind = kind;
    this.ctx = ctx;
    this.log = ctx.log.child({ container: spec.name });
    this.observed = carried ?? {
      name: spec.name, image: spec.image ?? '', imageID: '', restartCount: 0, ready: false, started: false,
      state: { kind: 'waiting', reason: kind === 'init' ? 'PodInitializing' : 'ContainerCreating' },
    };
    this.pendingRestart = carried !== undefined && carried.lastTerminated !== undefined && carried.state.kind === 'waiting';
  }

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  get logFile(): string {
    const meta = this.ctx.pod().metadata;
    return containerLogPath(this.ctx.logDir, meta.namespace ?? 'default', meta.name, this.spec.name);
  }

  private set(patch: Partial<ObservedContainer>): void {
    this.observed = { ...this.observed, ...patch };
    this.ctx.onChange();
  }

  private get stopping(): boolean {
    return this.stopController.signal.aborted;
  }

  /** Resolves once the container will not run again. */
  async run(): Promise<RunOutcome> {
    const policy = this.ctx.pod().spec.restartPolicy ?? 'Always';
    while (!this.stopping) {
      const prepared = await this.prepare();
      if (this.stopping) break;
      if ('waiting' in prepared) {
        // Image "pull" and config errors retry with back-off like the real kubelet; the first
        // report is ErrImagePull / CreateContainerConfigError, later ones ImagePullBackOff.
        this.pullFailures++;
        const reason = prepared.waiting.reason === 'ErrImagePull' && this.pullFailures > 1 ? 'ImagePullBackOff' : prepared.waiting.reason;
        this.set({ state: { kind: 'waiting', reason, message: prepared.waiting.message }, ready: false, started: false });
        if (this.pullFailures === 1) this.log.warn({ reason, err: prepared.waiting.message }, 'container cannot start');
        const delay = Math.min(this.ctx.backoff.baseMs * 2 ** Math.min(this.pullFailures - 1, 20), this.ctx.backoff.maxMs);
        await sleep(delay, this.stopController.signal);
        continue;
      }
      this.pullFailures = 0;
      const terminated = await this.runOnce(prepared.container);
      if (this.stopping) {
        this.set({ state: { kind: 'terminated', ...terminated }, ready: false });
        return 'stopped';
      }
      const failed = terminated.exitCode !== 0;
      const restart = this.kind === 'init' ? failed && policy !== 'Never' : policy === 'Always' || (policy === 'OnFailure' && failed);
      if (!restart) {
        this.set({ state: { kind: 'terminated', ...terminated }, ready: false });
        return failed ? 'failed' : 'succeeded';
      }
      const ranFor = Date.parse(terminated.finishedAt) - Date.parse(terminated.startedAt);
      const next = nextRestart(this.backoffState, this.ctx.backoff, ranFor);
      this.backoffState = next.state;
      this.pendingRestart = true;
      if (next.delayMs > 0) {
        const meta = this.ctx.pod().metadata;
        const message = `back-off ${Math.round(next.delayMs / 1000)}s restarting failed container=${this.spec.name} pod=${meta.name}_${meta.namespace}(${meta.uid})`;
        this.set({ state: { kind: 'waiting', reason: 'CrashLoopBackOff', message }, lastTerminated: terminated, ready: false, started: false });
        await sleep(next.delayMs, this.stopController.signal);
      } else {
        this.set({ state: { kind: 'terminated', ...terminated }, lastTerminated: terminated, ready: false, started: false });
      }
    }
    return 'stopped';
  }

  private async prepare(): Promise<{ container: PreparedContainer } | { waiting: { reason: string; message: string } }> {
    const pod = this.ctx.pod();
    const image = this.spec.image ?? '';
    try {
      const container = await this.ctx.engine.prepare({
        pod,
        container: this.spec,
        netns: this.ctx.netns,
        podIP: this.ctx.podIP,
        resolveEnv: async (base) => {
          const sources = await this.ctx.fetchEnvSources(pod.metadata.namespace ?? 'default', envReferences(this.spec));
          return resolveEnv(this.spec, { pod, podIP: this.ctx.podIP, hostIP: this.ctx.hostIP, nodeAllocatable: this.ctx.nodeAllocatable, base }, sources);
        },
      });
      this.env = container.env;
      this.observed = { ...this.observed, imageID: container.imageID };
      return { container };
    } catch (err) {
      const reason = waitingReason(err);
      const message = reason === 'ErrImagePull' && !errorMessage(err).startsWith('failed to pull')
        ? `Failed to pull image "${image}": ${errorMessage(err)}`
        : errorMessage(err);
      return { waiting: { reason, message } };
    }
  }

  private async runOnce(prepared: PreparedContainer): Promise<TerminatedState> {
    const restartCount = this.pendingRestart ? this.observed.restartCount + 1 : this.observed.restartCount;
    this.pendingRestart = false;
    this.killMessage = undefined;
    let proc: StartedContainer;
    try {
      proc = await prepared.start(this.logFile);
    } catch (err) {
      const now = rfc3339(Date.now());
      this.log.error({ err: errorMessage(err) }, 'container start failed');
      await prepared.release().catch(() => undefined);
      return { exitCode: 128, reason: 'StartError', message: errorMessage(err), startedAt: now, finishedAt: now };
    }
    this.proc = proc;
    this.prepared = prepared;
    const { containerID } = proc;
    const startedAt = rfc3339(proc.startedAtMs);
    const hasStartup = this.kind === 'regular' && this.spec.startupProbe !== undefined;
    const hasReadiness = this.kind === 'regular' && this.spec.readinessProbe !== undefined;
    this.set({
      state: { kind: 'running', startedAt, containerID },
      restartCount,
      started: !hasStartup,
      ready: !hasReadiness,
    });
    this.log.info({ pid: proc.pid, containerID, argv: prepared.argv, restartCount }, 'container started');
    if (this.stopping) void proc.kill('SIGKILL');
    if (this.kind === 'regular') this.startProbes(proc, hasStartup);
    const exit = await proc.exited;
    this.stopProbes();
    this.proc = undefined;
    await prepared.release().catch((err: unknown) => this.log.warn({ err: errorMessage(err) }, 'releasing the container failed'));
    const reason = exit.startError !== undefined ? 'StartError' : exit.exitCode === 0 ? 'Completed' : 'Error';
    this.log.info({ pid: proc.pid, exitCode: exit.exitCode, signal: exit.signal, reason, killedBecause: this.killMessage, startError: exit.startError }, 'container exited');
    const t: TerminatedState = { exitCode: exit.exitCode, reason, startedAt, finishedAt: rfc3339(exit.finishedAtMs), containerID };
    if (exit.signal !== undefined) t.signal = exit.signal;
    if (this.killMessage !== undefined) t.message = this.killMessage;
    else if (exit.startError !== undefined) t.message = exit.startError;
    return t;
  }

  probeTarget(): ProbeTarget {
    const ports: Record<string, number> = {};
    for (const p of this.spec.ports ?? []) if (p.name) ports[p.name] = p.containerPort;
    const prepared = this.prepared;
    return {
      podIP: this.ctx.podIP,
      ports,
      exec: (argv, timeoutMs) => (prepared ? prepared.exec(argv, timeoutMs) : Promise.resolve({ ok: false, detail: 'the container is not running' })),
    };
  }

  private startProbes(proc: StartedContainer, hasStartup: boolean): void {
    if (hasStartup) this.probeLoop('startup', this.spec.startupProbe!, proc);
    else this.startMainProbes(proc);
  }

  private startMainProbes(proc: StartedContainer): void {
    if (this.spec.readinessProbe) this.probeLoop('readiness', this.spec.readinessProbe, proc);
    if (this.spec.livenessProbe) this.probeLoop('liveness', this.spec.livenessProbe, proc);
  }

  private probeLoop(kind: ProbeKind, probe: V1Probe, proc: StartedContainer): void {
    const settings: ProbeSettings = probeSettings(probe, kind);
    let state: ProbeState = initialProbeState;
    let lastAt: number | undefined;
    const schedule = (): void => {
      if (this.proc !== proc || this.stopping) return;
      const t = setTimeout(() => void tick(), nextProbeDelayMs(settings, proc.startedAtMs, lastAt, Date.now()));
      this.probeTimers.push(t);
    };
    const tick = async (): Promise<void> => {
      if (this.proc !== proc || this.stopping) return;
      lastAt = Date.now();
      const { outcome, detail } = await runHandler(probe, this.probeTarget(), settings.timeoutSeconds * 1000);
      if (this.proc !== proc || this.stopping) return;
      const before = state;
      state = observeProbe(state, outcome, settings);
      if (outcome === 'failure') this.log.debug({ probe: kind, detail, failures: state.failures }, 'probe failed');
      const verdict = probeVerdict(kind, before, state, settings, detail);
      switch (verdict.action) {
        case 'started':
          this.set({ started: true });
          this.startMainProbes(proc);
          return; // the startup probe stops once it succeeded
        case 'ready':
          this.log.info({ ready: verdict.ready, detail }, 'readiness changed');
          this.set({ ready: verdict.ready });
          break;
        case 'kill':
          this.log.warn({ probe: kind, detail }, 'probe failed past failureThreshold; killing container');
          writeLogLine(this.logFile, `[lab-kubelet] ${verdict.message}, will be restarted`);
          this.killInstance(proc, verdict.message);
          return;
        case 'none':
          break;
      }
      schedule();
    };
    schedule();
  }

  private stopProbes(): void {
    for (const t of this.probeTimers) clearTimeout(t);
    this.probeTimers = [];
  }

  private killInstance(proc: StartedContainer, message: string): void {
    this.killMessage = message;
    this.set({ ready: false });
    const graceMs = (this.ctx.pod().spec.terminationGracePeriodSeconds ?? 30) * 1000;
    void proc.kill('SIGTERM');
    const t = setTimeout(() => void proc.kill('SIGKILL'), graceMs);
    void proc.exited.then(() => clearTimeout(t));
  }

  /** preStop hook (exec or httpGet or sleep), bounded by the grace period. */
  async preStop(timeoutMs: number): Promise<void> {
    const hook = this.spec.lifecycle?.preStop;
    if (!hook || !this.proc) return;
    const sleepSeconds = (hook as { sleep?: { seconds?: number } }).sleep?.seconds;
    if (sleepSeconds !== undefined) {
      await new Promise((r) => setTimeout(r, Math.min(sleepSeconds * 1000, timeoutMs)));
      return;
    }
    const result = await runHandler(hook as Pick<V1Probe, 'httpGet' | 'tcpSocket' | 'exec'>, this.probeTarget(), timeoutMs);
    if (result.outcome === 'failure') this.log.warn({ detail: result.detail }, 'preStop hook failed');
  }

  /** Stops for good: no restart. SIGTERM now, SIGKILL after `graceMs`; resolves once it exited. */
  async stop(graceMs: number): Promise<void> {
    this.stopController.abort();
    this.stopProbes();
    const proc = this.proc;
    if (!proc) return;
    void proc.kill('SIGTERM');
    const t = setTimeout(() => void proc.kill('SIGKILL'), graceMs);
    await proc.exited;
    clearTimeout(t);
    // Idempotent: the run loop releases it too; the pod's sandbox goes only after this.
    await this.prepared?.release().catch(() => undefined);
  }
}

export function waitingState(reason: string, message?: string): ObservedState {
  return message ? { kind: 'waiting', reason, message } : { kind: 'waiting', reason };
}
