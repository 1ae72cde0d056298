// The lab kubelet for all lab nodes: node agents, the pod watch and one worker per pod.
import fs from 'node:fs';
import os from 'node:os';
import type { Logger } from 'pino';
import { labNetwork, labNodes, labPorts, repoRoot, k8sVersionFile, type LabNode } from '../lab-config.ts';
import { ApiForwarder } from './api-forwarder.ts';
import type { ContainerEngine } from './engine.ts';
import { errorMessage } from './errors.ts';
import type { KubeletFlags } from './flags.ts';
import { ImageStore } from './image-store.ts';
import { IpamStore } from './ip-allocator.ts';
import type { KubeApi } from './kube-api.ts';
import { bridgeExists, removeStaleSandboxes } from './netns.ts';
import { NodeAgent } from './node-agent.ts';
import { nodeCapacity, nodeInternalIP } from './node-status.ts';
import { PodWatcher } from './pod-watch.ts';
import { PodWorker } from './pod-worker.ts';
import { RuncEngine } from './runc-engine.ts';
import type { Pod } from './types.ts';

export class Kubelet {
  private readonly flags: KubeletFlags;
  private readonly api: KubeApi;
  private readonly log: Logger;
  private readonly nodes: readonly LabNode[];
  private readonly agents: NodeAgent[];
  private readonly ipam = new Map<string, IpamStore>();
  private readonly workers = new Map<string, PodWorker>();
  private readonly watcher: PodWatcher;
  readonly engine: ContainerEngine;
  private readonly forwarder: ApiForwarder;
  private firstSync = true;
  private stopping = false;

  constructor(flags: KubeletFlags, api: KubeApi, log: Logger, nodes: readonly LabNode[] = labNodes) {
    this.flags = flags;
    this.api = api;
    this.log = log;
    this.nodes = nodes;
    const kubeletVersion = flags.kubeletVersion ?? fs.readFileSync(k8sVersionFile, 'utf8').trim();
    this.agents = nodes.map((node) => new NodeAgent({ node, nodes, api, log, kubeletVersion, healthPort: flags.healthPort }));
    for (const n of nodes) this.ipam.set(n.name, new IpamStore(flags.stateDir, n.name, n.podCIDR));
    const apiServer = { host: labNetwork.bridgeAddress, port: labPorts.apiserver };
    this.engine = new RuncEngine({ stateDir: flags.stateDir, images: new ImageStore(flags.imageDir, flags.registry), apiServer, api, hostRoots: [repoRoot, os.tmpdir()] });
    this.forwarder = new ApiForwarder(apiServer, { host: '127.0.0.1', port: labPorts.apiserver }, log);
    this.watcher = new PodWatcher({
      api, log, nodes: new Set(nodes.map((n) => n.name)), watchdogMs: flags.watchdogMs,
      handlers: { onSync: (pods) => this.onSync(pods), onUpsert: (pod) => this.onUpsert(pod), onDelete: (pod) => this.onDelete(pod) },
    });
  }

  async start(): Promise<void> {
    if (!(await bridgeExists())) {
      this.log.warn('bridge olab0 does not exist yet; pod sandboxes will fail until the lab creates it');
    }
    const removed = await removeStaleSandboxes((msg, extra) => this.log.info(extra, msg));
    if (removed > 0) this.log.info({ removed }, 'removed leftovers of a previous kubelet run');
    await this.engine.removeStale((msg, extra) => this.log.info(extra, msg));
    this.forwarder.start();
    this.log.info({ runtime: this.engine.mode }, 'container engine ready');
    for (const agent of this.agents) await agent.register();
    for (const agent of this.agents) agent.start(this.flags.leaseIntervalMs, this.flags.statusIntervalMs);
    void this.watcher.run();
  }

  health(): { ok: boolean; problems: string[] } {
    const problems: string[] = [];
    for (const a of this.agents) {
      if (!a.registered) problems.push(`node ${a.node.name} not registered`);
      else if (Date.now() - a.lastLeaseRenewAt > 3 * this.flags.leaseIntervalMs) problems.push(`node ${a.node.name} lease not renewed for ${Math.round((Date.now() - a.lastLeaseRenewAt) / 1000)} s`);
    }
    if (!this.watcher.synced) problems.push('pod watch not synced yet');
    if (this.stopping) problems.push('shutting down');
    return { ok: problems.length === 0, problems };
  }

  snapshot(): unknown[] {
    return [...this.workers.values()].map((w) => w.snapshot());
  }

  private onSync(pods: Pod[]): void {
    if (this.firstSync) {
      // Only now is it known which allocations belong to live pods (stale sandboxes are gone).
      for (const [node, store] of this.ipam) store.retain(new Set(pods.filter((p) => p.spec.nodeName === node).map((p) => p.metadata.uid)));
      this.firstSync = false;
    }
    const live = new Set(pods.map((p) => p.metadata.uid));
    for (const [uid, w] of this.workers) if (!live.has(uid)) void w.terminate({ reason: 'gone', deletePod: false });
    for (const pod of pods) this.onUpsert(pod);
  }

  private onUpsert(pod: Pod): void {
    if (this.stopping) return;
    const existing = this.workers.get(pod.metadata.uid);
    if (existing) {
      existing.update(pod);
      return;
    }
    const node = this.nodes.find((n) => n.name === pod.spec.nodeName);
    if (!node) return;
    const worker = new PodWorker(pod, {
      api: this.api,
      log: this.log,
      node,
      hostIP: nodeInternalIP(this.nodes, node.name),
      nodeCapacity: nodeCapacity(node),
      ipam: this.ipam.get(node.name)!,
      engine: this.engine,
      logDir: this.flags.logDir,
      backoff: { baseMs: this.flags.backoffBaseMs, maxMs: this.flags.backoffMaxMs },
      admittedPods: () => [...this.workers.values()].filter((w) => w.admitted && !w.isTerminal && w.pod.spec.nodeName === node.name).map((w) => w.pod),
      onDone: (uid) => this.workers.delete(uid),
    });
    this.workers.set(pod.metadata.uid, worker);
    worker.start().catch((err) => this.log.error({ namespace: pod.metadata.namespace, name: pod.metadata.name, err: errorMessage(err) }, 'pod start failed'));
  }

  private onDelete(pod: Pod): void {
    const w = this.workers.get(pod.metadata.uid);
    if (w) void w.terminate({ reason: 'gone', deletePod: false });
  }

  /** Stops every pod (SIGTERM, short grace, SIGKILL), removes every sandbox, leaves the API alone. */
  async shutdown(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.watcher.stop();
    for (const a of this.agents) a.stop();
    await Promise.all([...this.workers.values()].map((w) => w.terminate({ reason: 'shutdown', deletePod: false, graceMs: this.flags.shutdownGraceMs })));
    await removeStaleSandboxes((msg, extra) => this.log.info(extra, msg)).catch((err) => this.log.warn({ err: errorMessage(err) }, 'final sandbox sweep failed'));
    await this.engine.removeStale((msg, extra) => this.log.info(extra, msg)).catch((err) => this.log.warn({ err: errorMessage(err) }, 'final container sweep failed'));
    await this.forwarder.stop();
  }
}
