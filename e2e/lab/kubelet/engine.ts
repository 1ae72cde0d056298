// How the kubelet runs a container, whatever runs it: a container engine prepares one container
// instance (image, environment, command line), starts it with its output appended to the container's
// log, signals it, runs probe commands inside it, and releases what the instance held after it
// exited. The lab's engine is runc-engine.ts (the image pulled from the lab registry, run by runc);
// the interface keeps the pod and container logic apart from it.
import type { V1Container } from '@kubernetes/client-node';
import { KubeletError } from './errors.ts';
import type { Pod } from './types.ts';

export interface ExitStatus {
  exitCode: number;
  signal: number | undefined;
  finishedAtMs: number;
  /** The container never ran: the runtime refused it (a bad mount, a missing binary). */
  startError?: string;
}

export interface StartedContainer {
  /** As reported in containerStatuses[].containerID, e.g. runc://olab-…. */
  containerID: string;
  pid: number;
  startedAtMs: number;
  exited: Promise<ExitStatus>;
  /** Best effort: false when it is already gone. */
  kill(signal: 'SIGTERM' | 'SIGKILL'): Promise<boolean>;
}

export interface PreparedContainer {
  /** containerStatuses[].imageID, e.g. ghcr.io/onnx-operator/runtime@sha256:…. */
  imageID: string;
  env: Record<string, string>;
  argv: string[];
  start(logFile: string): Promise<StartedContainer>;
  /** A command inside the running container (exec probes and hooks). */
  exec(argv: string[], timeoutMs: number): Promise<{ ok: boolean; detail: string }>;
  /** After it exited: what this instance held (runtime state, its writable layer). */
  release(): Promise<void>;
}

export interface PrepareRequest {
  pod: Pod;
  container: V1Container;
  netns: string;
  podIP: string;
  /** The pod's env and envFrom resolved over `base` (ConfigMaps and Secrets fetched). */
  resolveEnv: (base: Record<string, string>) => Promise<Record<string, string>>;
}

export interface ContainerEngine {
  readonly mode: string;
  prepare(req: PrepareRequest): Promise<PreparedContainer>;
  /** The pod is gone: its volumes and per-pod files. */
  releasePod(podUid: string): Promise<void>;
  /** Leftovers of a previous kubelet run (containers, mounts). */
  removeStale(log: (msg: string, extra: Record<string, unknown>) => void): Promise<void>;
}

/** The waiting reason a failed preparation reports, as the real kubelet names them. */
export function waitingReason(err: unknown): 'ErrImagePull' | 'InvalidImageName' | 'CreateContainerConfigError' {
  if (err instanceof KubeletError) {
    if (err.code === 'IMAGE_REF_INVALID') return 'InvalidImageName';
    if (err.code === 'IMAGE_PULL_FAILED' || err.code === 'IMAGE_UNPACK_FAILED') return 'ErrImagePull';
  }
  return 'CreateContainerConfigError';
}
