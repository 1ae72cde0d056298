// One pod on one lab node: admission, sandbox (netns + IP), init containers in order, then the
// containers; status recomputed on every change and written only when it differs; graceful
// termination and the final delete with grace period 0.
import type { Logger } from 'pino';
import type { LabNode } from '../lab-config.ts';
import { admitPod } from './admission.ts';
import type { BackoffPolicy } from './backoff.ts';
import { ContainerRunner, type RunnerContext } from './container-runner.ts';
import type { EnvSources } from './container-spec.ts';
import type { ContainerEngine } from './engine.ts';
import { errorMessage } from './errors.ts';
import type { IpamStore } from './ip-allocator.ts';
import { ApiError, mergePatch, type KubeApi } from './kube-api.ts';
import { createSandbox, deleteSandbox, sandboxNames, type SandboxNames } from './netns.ts';
import { computePodStatus, statusPatch, type ObservedContainer, type ObservedPod } from './pod-status.ts';
import type { Pod } from './types.ts';
import { rfc3339 } from './types.ts';

export interface WorkerDeps {
  api: KubeApi;
  log: Logger;
  node: LabNode;
  hostIP: string;
  nodeCapacity: Record<string, string>;
  ipam: IpamStore;
  engine: ContainerEngine;
  logDir: string;
  backoff: BackoffPolicy;
  /** Other pods already admitted on this node (for device admission). */
  admittedPods: () => Pod[];
  /** The worker is finished (pod deleted and cleaned up). */
  onDone: (uid: string) => void;
}

function resourceVersionNumber(pod: Pod): number {
  return Number(pod.metadata.resourceVersion ?? 0);
}

/**
 * What survives of a container from a previous kubelet run: a container that had started is
 * re-run as a restart (restartCount + 1, lastState Unknown/255 like a real node reboot); one that
 * had already completed and will not be restarted keeps its terminated state.
 */
export function carriedContainer(pod: Pod, name: string, kind: 'init' | 'regular', nowMs: number): ObservedContainer | undefined {
  const statuses = kind === 'init' ? pod.status?.initContainerStatuses : pod.status?.containerStatuses;
  const s = statuses?.find((c) => c.name === name);
  if (!s || (!s.containerID && !s.lastState?.terminated)) return undefined;
  const policy = pod.spec.restartPolicy ?? 'Always';
  const base = { name, image: s.image, imageID: s.imageID ?? '', restartCount: s.restartCount ?? 0, ready: false, started: false };
  const t = s.state?.terminated;
  if (t && (kind === 'init' ? t.exitCode === 0 : policy === 'Never' || (policy === 'OnFailure' && t.exitCode === 0))) {
    return { ...base, state: { kind: 'terminated', ...t }, ...(s.lastState?.terminated ? { lastTerminated: s.lastState.terminated } : {}) };
  }
  const now = rfc3339(nowMs);
  const lastTerminated = s.state?.running
    ? { exitCode: 255, reason: 'Unknown', message: 'The container could not be located when the pod was restarted (lab kubelet restart)', startedAt: s.state.running.startedAt, finishedAt: now, ...(s.containerID ? { containerID: s.containerID } : {}) }
    : (t ?? s.lastState?.terminated);
  if (!lastTerminated) return undefined;
  return { ...base, state: { kind: 'waiting', reason: 'ContainerCreating' }, lastTerminated };
}

export class PodWorker {
  pod: Pod;
  readonly uid: string;
  private readonly deps: WorkerDeps;
  private readonly log: Logger;
  private readonly names: SandboxNames;
  private observed: ObservedPod;
  private init: ContainerRunner[] = [];
  private containers: ContainerRunner[] = [];
  private terminating: Promise<void> | undefined;
  private sandbox = false;
  private syncTimer: NodeJS.Timeout | undefined;
  private syncing: Promise<void> | undefined;
  private syncAgain = false;
  private writesEnabled = true;
  admitted = false;

  constructor(pod: Pod, deps: WorkerDeps) {
    this.pod = pod;
    this.uid = pod.metadata.uid;
    this.deps = deps;
    this.log = deps.log.child({ namespace: pod.metadata.namespace, name: pod.metadata.name, node: deps.node.name });
    this.names = sandboxNames(this.uid);
    this.observed = {
      sandboxReady: false,
      hostIP: deps.hostIP,
      startTime: pod.status?.startTime ?? rfc3339(Date.now()),
      initContainers: [],
      containers: [],
    };
  }

  get isTerminal(): boolean {
    return this.pod.status?.phase === 'Succeeded' || this.pod.status?.phase === 'Failed';
  }

  /** A newer version of the pod from the watch. */
  update(pod: Pod): void {
    if (resourceVersionNumber(pod) < resourceVersionNumber(this.pod)) return;
    this.pod = pod;
    if (pod.metadata.deletionTimestamp) {
      void this.terminate({ reason: 'deleted', deletePod: true });
      return;
    }
    this.requestSync();
  }

  async start(): Promise<void> {
    if (this.pod.metadata.deletionTimestamp) {
      await this.terminate({ reason: 'deleted', deletePod: true });
      return;
    }
    if (this.isTerminal) {
      // Finished before this kubelet saw it (or before it restarted): nothing runs again.
      this.log.debug('pod is terminal; not running it');
      return;
    }
    const verdict = admitPod(this.pod, this.deps.nodeCapacity, this.deps.admittedPods());
    if (!verdict.ok) {
      this.log.warn({ reason: verdict.reason }, verdict.message);
      this.observed = { ...this.observed, rejected: { reason: verdict.reason, message: verdict.message } };
      this.requestSync();
      return;
    }
    this.admitted = true;
    let podIP: string;
    try {
      podIP = this.deps.ipam.allocate(this.uid);
      await createSandbox(this.names, podIP);
    } catch (err) {
      this.log.error({ err: errorMessage(err) }, 'pod sandbox creation failed');
      this.observed = { ...this.observed, rejected: { reason: 'SandboxCreationFailed', message: errorMessage(err) } };
      this.deps.ipam.release(this.uid);
      this.requestSync();
      return;
    }
    this.sandbox = true;
    if (this.terminating) {
      // Deleted while the sandbox was being made: terminate() may have run before it existed.
      await this.terminating;
      await this.releaseSandbox();
      return;
    }
    this.observed = { ...this.observed, sandboxReady: true, podIP };
    this.log.info({ podIP, netns: this.names.netns }, 'pod sandbox ready');
    const ctx = this.runnerContext(podIP);
    const now = Date.now();
    this.init = (this.pod.spec.initContainers ?? []).map((c) => new ContainerRunner(c, 'init', ctx, carriedContainer(this.pod, c.name, 'init', now)));
    this.containers = this.pod.spec.containers.map((c) => new ContainerRunner(c, 'regular', ctx, carriedContainer(this.pod, c.name, 'regular', now)));
    this.collect();
    this.requestSync();
    void this.runContainers();
  }

  private runnerContext(podIP: string): RunnerContext {
    return {
      pod: () => this.pod,
      netns: this.names.netns,
      podIP,
      hostIP: this.deps.hostIP,
      nodeAllocatable: this.deps.nodeCapacity,
      engine: this.deps.engine,
      logDir: this.deps.logDir,
      backoff: this.deps.backoff,
      fetchEnvSources: (ns, refs) => this.fetchEnvSources(ns, refs),
      onChange: () => {
        this.collect();
        this.requestSync();
      },
      log: this.log,
    };
  }

  private async runContainers(): Promise<void> {
    for (const runner of this.init) {
      if (runner.observed.state.kind === 'terminated' && runner.observed.state.exitCode === 0) continue;
      const outcome = await runner.run();
      if (outcome !== 'succeeded') return; // failed under Never (pod Failed) or stopped
    }
    const outcomes = await Promise.all(this.containers.map((r) =>
      r.observed.state.kind === 'terminated' ? Promise.resolve('done') : r.run()));
    if (this.terminating || outcomes.includes('stopped')) return;
    // Every container finished for good: the pod is terminal, its sandbox goes (its IP stays in status).
    this.log.info('all containers finished; releasing the pod sandbox');
    await this.releaseSandbox();
  }

  private collect(): void {
    this.observed = {
      ...this.observed,
      initContainers: this.init.map((r) => r.observed),
      containers: this.containers.map((r) => r.observed),
    };
  }

  private async fetchEnvSources(namespace: string, refs: { configMaps: string[]; secrets: string[] }): Promise<EnvSources> {
    const sources: EnvSources = { configMaps: {}, secrets: {} };
    for (const name of refs.configMaps) {
      const cm = await this.deps.api.get<{ data?: Record<string, string> }>(`/api/v1/namespaces/${namespace}/configmaps/${name}`);
      sources.configMaps[name] = cm ? (cm.data ?? {}) : undefined;
    }
    for (const name of refs.secrets) {
      const s = await this.deps.api.get<{ data?: Record<string, string> }>(`/api/v1/namespaces/${namespace}/secrets/${name}`);
      sources.secrets[name] = s
        ? Object.fromEntries(Object.entries(s.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]))
        : undefined;
    }
    return sources;
  }

  /** Coalesces bursts of changes into one status computation. */
  requestSync(): void {
    if (!this.writesEnabled || this.syncTimer) return;
    this.syncTimer = setTimeout(() => {
      this.syncTimer = undefined;
      void this.sync();
    }, 20);
  }

  private async sync(): Promise<void> {
    if (this.syncing) {
      this.syncAgain = true;
      return;
    }
    this.syncing = (async () => {
      do {
        this.syncAgain = false;
        await this.writeStatus();
      } while (this.syncAgain && this.writesEnabled);
    })();
    await this.syncing;
    this.syncing = undefined;
  }

  private async writeStatus(): Promise<void> {
    if (!this.writesEnabled) return;
    const next = computePodStatus(this.pod, this.observed, Date.now());
    const patch = statusPatch(this.pod.status, next);
    if (!patch) return;
    const { namespace, name } = this.pod.metadata;
    try {
      const updated = await this.deps.api.request<Pod>('PATCH', `/api/v1/namespaces/${namespace}/pods/${name}/status`, patch, mergePatch);
      if (updated.metadata.uid === this.uid && resourceVersionNumber(updated) >= resourceVersionNumber(this.pod)) this.pod = updated;
      if (patch.status.phase) this.log.info({ phase: patch.status.phase }, 'pod phase changed');
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) return; // deleted meanwhile
      this.log.warn({ err: errorMessage(err) }, 'pod status write failed; retrying');
      setTimeout(() => this.requestSync(), 1000);
    }
  }

  /** Idempotent: also cleans a half-made sandbox and an allocated-but-unused IP. */
  private async releaseSandbox(): Promise<void> {
    this.sandbox = false;
    try {
      await deleteSandbox(this.names);
    } catch (err) {
      this.log.warn({ err: errorMessage(err) }, 'pod sandbox removal failed');
    }
    try {
      await this.deps.engine.releasePod(this.uid);
    } catch (err) {
      this.log.warn({ err: errorMessage(err) }, 'pod volume removal failed');
    }
    this.deps.ipam.release(this.uid);
  }

  /**
   * Graceful termination: preStop hooks, SIGTERM, wait up to the grace period, SIGKILL, remove
   * the sandbox, then (for a deletion) delete the pod with grace period 0 as the real kubelet does.
   */
  terminate(opts: { reason: 'deleted' | 'gone' | 'shutdown'; deletePod: boolean; graceMs?: number }): Promise<void> {
    if (this.terminating) return this.terminating;
    this.terminating = (async () => {
      const graceSeconds = this.pod.metadata.deletionGracePeriodSeconds ?? this.pod.spec.terminationGracePeriodSeconds ?? 30;
      const graceMs = opts.graceMs ?? graceSeconds * 1000;
      this.log.info({ reason: opts.reason, graceMs }, 'stopping pod');
      if (opts.reason === 'shutdown') this.writesEnabled = false;
      const deadline = Date.now() + graceMs;
      const runners = [...this.containers, ...this.init];
      await Promise.all(runners.map((r) => r.preStop(Math.max(0, deadline - Date.now()))));
      await Promise.all(runners.map((r) => r.stop(Math.max(0, deadline - Date.now()))));
      await this.releaseSandbox();
      if (opts.reason === 'deleted' && this.writesEnabled) {
        this.collect();
        await this.writeStatus();
      }
      this.writesEnabled = false;
      if (this.syncTimer) clearTimeout(this.syncTimer);
      if (opts.deletePod) {
        const { namespace, name } = this.pod.metadata;
        try {
          await this.deps.api.request('DELETE', `/api/v1/namespaces/${namespace}/pods/${name}?gracePeriodSeconds=0`, {
            apiVersion: 'v1', kind: 'DeleteOptions', gracePeriodSeconds: 0, preconditions: { uid: this.uid },
          });
          this.log.info('pod deleted');
        } catch (err) {
          if (!(err instanceof ApiError && (err.status === 404 || err.status === 409))) this.log.warn({ err: errorMessage(err) }, 'final pod delete failed');
        }
      }
      this.deps.onDone(this.uid);
    })();
    return this.terminating;
  }

  /** Pids of running containers (for the debug endpoint). */
  snapshot(): Record<string, unknown> {
    return {
      namespace: this.pod.metadata.namespace, name: this.pod.metadata.name, uid: this.uid, node: this.deps.node.name,
      podIP: this.observed.podIP, netns: this.sandbox ? this.names.netns : undefined,
      containers: [...this.init, ...this.containers].map((r) => ({ name: r.spec.name, pid: r.pid, state: r.observed.state, restartCount: r.observed.restartCount, ready: r.observed.ready })),
    };
  }
}
