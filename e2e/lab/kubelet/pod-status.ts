// Pod status as a pure function of (the pod, what the kubelet observed of its processes, the
// clock). Mirrors the real kubelet's getPhase and condition generators so controllers
// (Deployments, EndpointSlices, the node-lifecycle controller) see what they would on a real node.
import type { ContainerStateJson, ContainerStatusJson, Pod, PodConditionJson, PodStatusJson } from './types.ts';
import { rfc3339 } from './types.ts';

export type TerminatedState = NonNullable<ContainerStateJson['terminated']>;

export type ObservedState =
  | { kind: 'waiting'; reason: string; message?: string }
  | { kind: 'running'; startedAt: string; containerID: string }
  | ({ kind: 'terminated' } & TerminatedState);

export interface ObservedContainer {
  name: string;
  image: string;
  imageID: string;
  state: ObservedState;
  lastTerminated?: TerminatedState;
  restartCount: number;
  /** Readiness: true once the readiness probe passed (or, without one, once running). */
  ready: boolean;
  /** Startup: true once the startup probe passed (or, without one, once running). */
  started: boolean;
}

export interface ObservedPod {
  sandboxReady: boolean;
  podIP?: string;
  hostIP: string;
  startTime: string;
  initContainers: ObservedContainer[];
  containers: ObservedContainer[];
  /** Set when the kubelet decided the pod's fate itself (admission rejection). */
  rejected?: { reason: string; message: string };
}

/** Conditions this kubelet owns; any others (PodScheduled, readiness gates, DisruptionTarget) are kept. */
const ownedConditions = ['PodReadyToStartContainers', 'Initialized', 'ContainersReady', 'Ready'] as const;
/** Top-level status fields this kubelet writes; the rest (qosClass, nominatedNodeName…) are kept. */
export const ownedStatusFields = [
  'phase', 'reason', 'message', 'conditions', 'hostIP', 'hostIPs', 'podIP', 'podIPs', 'startTime',
  'initContainerStatuses', 'containerStatuses', 'observedGeneration',
] as const;

function stateJson(s: ObservedState): ContainerStateJson {
  switch (s.kind) {
    case 'waiting':
      return { waiting: s.message ? { reason: s.reason, message: s.message } : { reason: s.reason } };
    case 'running':
      return { running: { startedAt: s.startedAt } };
    case 'terminated': {
      const { kind: _kind, ...t } = s;
      return { terminated: t };
    }
  }
}

function containerID(s: ObservedState): string | undefined {
  return s.kind === 'waiting' ? undefined : s.containerID;
}

function containerStatus(
  specName: string,
  specImage: string,
  observed: ObservedContainer | undefined,
  defaultWaiting: string,
): ContainerStatusJson {
  if (!observed) {
    return {
      name: specName, image: specImage, imageID: '', started: false, ready: false, restartCount: 0,
      state: { waiting: { reason: defaultWaiting } }, lastState: {},
    };
  }
  const out: ContainerStatusJson = {
    name: specName,
    image: specImage,
    imageID: observed.imageID,
    started: observed.state.kind === 'running' && observed.started,
    ready: observed.state.kind === 'running' && observed.ready,
    restartCount: observed.restartCount,
    state: stateJson(observed.state),
    lastState: observed.lastTerminated ? { terminated: observed.lastTerminated } : {},
  };
  const id = containerID(observed.state) ?? observed.lastTerminated?.containerID;
  if (id !== undefined) out.containerID = id;
  return out;
}

/** The real kubelet's getPhase (pkg/kubelet/kubelet_pods.go), without sidecar containers. */
export function podPhase(pod: Pod, init: ContainerStatusJson[], containers: ContainerStatusJson[]): string {
  const policy = pod.spec.restartPolicy ?? 'Always';
  let pendingInit = false;
  let failedInit = false;
  for (const s of init) {
    if (s.state.terminated?.exitCode === 0) continue;
    if (s.state.terminated) failedInit = true;
    else if (s.state.waiting && s.lastState.terminated && s.lastState.terminated.exitCode !== 0) failedInit = true;
    pendingInit = true;
  }
  if (failedInit && policy === 'Never') return 'Failed';
  if (pendingInit) return 'Pending';
  let running = 0, waiting = 0, stopped = 0, succeeded = 0;
  for (const s of containers) {
    if (s.state.running) running++;
    else if (s.state.terminated) {
      stopped++;
      if (s.state.terminated.exitCode === 0) succeeded++;
    } else if (s.lastState.terminated) stopped++;
    else waiting++;
  }
  if (waiting > 0) return 'Pending';
  if (running > 0) return 'Running';
  if (stopped > 0) {
    if (policy === 'Always') return 'Running';
    if (policy === 'OnFailure') return stopped === succeeded ? 'Succeeded' : 'Running';
    return stopped === succeeded ? 'Succeeded' : 'Failed';
  }
  return 'Pending';
}

function condition(type: string, ok: boolean, reason?: string, message?: string): PodConditionJson {
  const c: PodConditionJson = { type, status: ok ? 'True' : 'False' };
  if (!ok && reason) c.reason = reason;
  if (!ok && message) c.message = message;
  return c;
}

/** lastTransitionTime moves only when a condition's status flips. */
function withTransitionTimes(next: PodConditionJson[], prev: PodConditionJson[], now: string, generation: number | undefined): PodConditionJson[] {
  return next.map((c) => {
    const old = prev.find((p) => p.type === c.type);
    const out: PodConditionJson = { ...c, lastProbeTime: null, lastTransitionTime: old && old.status === c.status && old.lastTransitionTime ? old.lastTransitionTime : now };
    if (generation !== undefined) out.observedGeneration = generation;
    return out;
  });
}

export function computePodStatus(pod: Pod, observed: ObservedPod, nowMs: number): PodStatusJson {
  const prev = pod.status ?? {};
  const now = rfc3339(nowMs);
  const generation = pod.metadata.generation;
  const specInit = pod.spec.initContainers ?? [];
  const initDone = (name: string): boolean => observed.initContainers.find((c) => c.name === name)?.state.kind === 'terminated' &&
    (observed.initContainers.find((c) => c.name === name)?.state as TerminatedState).exitCode === 0;
  const allInitDone = specInit.every((c) => initDone(c.name));

  const initStatuses = specInit.map((c) => containerStatus(c.name, c.image ?? '', observed.initContainers.find((o) => o.name === c.name), 'PodInitializing'));
  const statuses = pod.spec.containers.map((c) =>
    containerStatus(c.name, c.image ?? '', observed.containers.find((o) => o.name === c.name), allInitDone ? 'ContainerCreating' : 'PodInitializing'));

  // Terminal phases are final: the real kubelet never moves a pod out of Succeeded/Failed.
  let phase = prev.phase === 'Succeeded' || prev.phase === 'Failed' ? prev.phase : podPhase(pod, initStatuses, statuses);
  let reason: string | undefined;
  let message: string | undefined;
  if (observed.rejected) {
    phase = 'Failed';
    reason = observed.rejected.reason;
    message = observed.rejected.message;
  } else if (prev.phase === phase) {
    reason = prev.reason;
    message = prev.message;
  }

  const incompleteInit = specInit.filter((c) => !initDone(c.name)).map((c) => c.name);
  const unready = statuses.filter((s) => !s.ready).map((s) => s.name);
  const completed = phase === 'Succeeded';
  const gates = (pod.spec.readinessGates ?? []).map((g) => g.conditionType);
  const failedGates = gates.filter((g) => prev.conditions?.find((c) => c.type === g)?.status !== 'True');
  const containersReady = unready.length === 0 && !completed;
  const podReady = containersReady && failedGates.length === 0;
  const ours = [
    condition('PodReadyToStartContainers', observed.sandboxReady && !completed && phase !== 'Failed'),
    condition('Initialized', incompleteInit.length === 0, 'ContainersNotInitialized', `containers with incomplete status: [${incompleteInit.join(' ')}]`),
    condition('ContainersReady', containersReady, completed ? 'PodCompleted' : 'ContainersNotReady',
      completed ? undefined : `containers with unready status: [${unready.join(' ')}]`),
    condition('Ready', podReady, completed ? 'PodCompleted' : unready.length > 0 ? 'ContainersNotReady' : 'ReadinessGatesNotReady',
      completed ? undefined : unready.length > 0 ? `containers with unready status: [${unready.join(' ')}]` : `corresponding condition of pod readiness gate "${failedGates[0]}" does not exist.`),
  ];
  const prevConditions = prev.conditions ?? [];
  const kept = prevConditions.filter((c) => !(ownedConditions as readonly string[]).includes(c.type));
  const conditions = [...kept, ...withTransitionTimes(ours, prevConditions, now, generation)];

  const out: PodStatusJson = {};
  for (const [k, v] of Object.entries(prev)) if (!(ownedStatusFields as readonly string[]).includes(k)) out[k] = v;
  out.phase = phase;
  if (reason !== undefined) out.reason = reason;
  if (message !== undefined) out.message = message;
  out.conditions = conditions;
  out.hostIP = observed.hostIP;
  out.hostIPs = [{ ip: observed.hostIP }];
  const podIP = observed.podIP ?? prev.podIP;
  if (podIP !== undefined) {
    out.podIP = podIP;
    out.podIPs = [{ ip: podIP }];
  }
  out.startTime = prev.startTime ?? observed.startTime;
  if (initStatuses.length > 0) out.initContainerStatuses = initStatuses;
  out.containerStatuses = statuses;
  if (generation !== undefined) out.observedGeneration = generation;
  return out;
}

/** Key-order-independent equality of JSON values. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  return stableStringify(a) === stableStringify(b);
}

function stableStringify(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableStringify).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined).sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${stableStringify(x)}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

/**
 * The JSON merge patch that turns `prev` into `next` for the fields this kubelet owns (null
 * removes a field; lists are replaced whole), or undefined when nothing changed.
 */
export function statusPatch(prev: PodStatusJson | undefined, next: PodStatusJson): { status: Record<string, unknown> } | undefined {
  const patch: Record<string, unknown> = {};
  for (const k of ownedStatusFields) {
    const a = prev?.[k];
    const b = next[k];
    if (jsonEqual(a, b)) continue;
    patch[k] = b === undefined ? null : b;
  }
  return Object.keys(patch).length === 0 ? undefined : { status: patch };
}
