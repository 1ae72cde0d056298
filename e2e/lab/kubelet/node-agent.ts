// Node registration and heartbeats (thin adapter over node-status.ts): create the Node if absent,
// keep its labels/taints, patch status when it changes and at least every status interval, and
// renew its Lease in kube-node-lease so the node-lifecycle controller keeps it Ready.
import type { Logger } from 'pino';
import type { LabNode } from '../lab-config.ts';
import { errorMessage } from './errors.ts';
import { ApiError, mergePatch, type KubeApi } from './kube-api.ts';
import { leaseObject, nodeLabels, nodeObject, nodeStatus, nodeStatusDiffers, nodeTaints } from './node-status.ts';

interface NodeJson {
  metadata: { uid: string; labels?: Record<string, string> };
  spec?: { podCIDR?: string; taints?: { key: string; value?: string; effect: string }[] };
  status?: { conditions?: { type: string; status?: string; lastTransitionTime?: string }[]; capacity?: Record<string, string>; allocatable?: Record<string, string>; addresses?: unknown; nodeInfo?: Record<string, string> };
}

const leaseDurationSeconds = 40;

export class NodeAgent {
  readonly node: LabNode;
  private readonly nodes: readonly LabNode[];
  private readonly api: KubeApi;
  private readonly log: Logger;
  private readonly kubeletVersion: string;
  private readonly healthPort: number;
  private uid: string | undefined;
  private lastStatusAt = 0;
  private timers: NodeJS.Timeout[] = [];
  registered = false;
  lastLeaseRenewAt = 0;

  constructor(opts: { node: LabNode; nodes: readonly LabNode[]; api: KubeApi; log: Logger; kubeletVersion: string; healthPort: number }) {
    this.node = opts.node;
    this.nodes = opts.nodes;
    this.api = opts.api;
    this.log = opts.log.child({ node: opts.node.name });
    this.kubeletVersion = opts.kubeletVersion;
    this.healthPort = opts.healthPort;
  }

  async register(): Promise<void> {
    const path = `/api/v1/nodes/${this.node.name}`;
    let current = await this.api.get<NodeJson>(path);
    if (!current) {
      try {
        current = await this.api.request<NodeJson>('POST', '/api/v1/nodes', nodeObject(this.node));
        this.log.info('node registered');
      } catch (err) {
        if (!(err instanceof ApiError && err.status === 409)) throw err;
        current = await this.api.request<NodeJson>('GET', path);
      }
    } else {
      // Existing node (kubelet restart): make sure our labels and taint are on it; never remove
      // labels/taints someone else added.
      const labels = nodeLabels(this.node);
      const missingLabels = Object.entries(labels).some(([k, v]) => current!.metadata.labels?.[k] !== v);
      const taints = current.spec?.taints ?? [];
      const missingTaints = nodeTaints(this.node).filter((t) => !taints.some((x) => x.key === t.key && x.effect === t.effect));
      if (missingLabels || missingTaints.length > 0) {
        current = await this.api.request<NodeJson>('PATCH', path, {
          metadata: { labels },
          ...(missingTaints.length > 0 ? { spec: { taints: [...taints, ...missingTaints] } } : {}),
        }, mergePatch);
      }
      this.log.info('node already registered');
    }
    this.uid = current.metadata.uid;
    await this.heartbeat(true, current);
    await this.renewLease();
    this.registered = true;
  }

  start(leaseIntervalMs: number, statusIntervalMs: number): void {
    this.timers.push(setInterval(() => void this.renewLease().catch((err) => this.log.warn({ err: errorMessage(err) }, 'lease renewal failed')), leaseIntervalMs));
    // Check often, write only when the status changed or the interval passed.
    this.timers.push(setInterval(() => void this.heartbeat(Date.now() - this.lastStatusAt >= statusIntervalMs).catch((err) => this.log.warn({ err: errorMessage(err) }, 'node status update failed')), Math.min(statusIntervalMs, 10000)));
  }

  stop(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
  }

  private async heartbeat(force: boolean, known?: NodeJson): Promise<void> {
    const current = known ?? (await this.api.request<NodeJson>('GET', `/api/v1/nodes/${this.node.name}`));
    this.uid = current.metadata.uid;
    const next = nodeStatus(this.node, this.nodes, current.status?.conditions ?? [], this.kubeletVersion, this.healthPort, Date.now());
    if (!force && !nodeStatusDiffers(current.status, next)) return;
    // Strategic merge keys conditions/addresses by type, so the whole set is replaced consistently.
    await this.api.request('PATCH', `/api/v1/nodes/${this.node.name}/status`, { status: next }, 'application/strategic-merge-patch+json');
    this.lastStatusAt = Date.now();
    this.log.debug('node status posted');
  }

  private async renewLease(): Promise<void> {
    const path = `/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/${this.node.name}`;
    const body = leaseObject(this.node.name, this.uid, Date.now(), leaseDurationSeconds);
    try {
      await this.api.request('PATCH', path, { spec: body.spec }, mergePatch);
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 404)) throw err;
      await this.api.request('POST', '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases', body);
      this.log.info('node lease created');
    }
    this.lastLeaseRenewAt = Date.now();
  }
}
