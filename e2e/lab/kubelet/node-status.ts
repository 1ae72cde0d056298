// The lab Node objects (pure): what the kubelet registers, the status it reports and the Lease it
// renews. A real kubelet's shape, so the scheduler and the node-lifecycle controller treat these
// nodes like any other.
import { gpuNode, type LabNode } from '../lab-config.ts';
import { rfc3339 } from './types.ts';

export interface NodeConditionJson {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  lastHeartbeatTime: string;
  lastTransitionTime: string;
}

export interface NodeStatusJson {
  capacity: Record<string, string>;
  allocatable: Record<string, string>;
  conditions: NodeConditionJson[];
  addresses: { type: string; address: string }[];
  nodeInfo: Record<string, string>;
  daemonEndpoints: { kubeletEndpoint: { Port: number } };
}

/** Distinct per-node addresses on the lab bridge network (10.244.0.11, .12, …). */
export function nodeInternalIP(nodes: readonly LabNode[], name: string): string {
  const i = nodes.findIndex((n) => n.name === name);
  if (i < 0) throw new Error(`node ${name} is not a lab node`);
  return `10.244.0.${11 + i}`;
}

export function nodeLabels(node: LabNode): Record<string, string> {
  return {
    'kubernetes.io/hostname': node.name,
    'kubernetes.io/os': 'linux',
    'kubernetes.io/arch': 'amd64',
    'beta.kubernetes.io/os': 'linux',
    'beta.kubernetes.io/arch': 'amd64',
    'node.kubernetes.io/instance-type': 'lab',
    ...(node.gpu ? gpuNode.labels : {}),
  };
}

export function nodeTaints(node: LabNode): { key: string; value: string; effect: string }[] {
  return node.gpu ? [{ ...gpuNode.taint }] : [];
}

export function nodeObject(node: LabNode): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: node.name, labels: nodeLabels(node), annotations: { 'node.alpha.kubernetes.io/ttl': '0', 'onnxop.io/lab-kubelet': 'true' } },
    spec: { podCIDR: node.podCIDR, podCIDRs: [node.podCIDR], taints: nodeTaints(node) },
  };
}

export function nodeCapacity(node: LabNode): Record<string, string> {
  return {
    cpu: '4',
    memory: '8Gi',
    pods: '110',
    'ephemeral-storage': '100Gi',
    'hugepages-2Mi': '0',
    ...(node.gpu ? { [gpuNode.resource]: gpuNode.count } : {}),
  };
}

const conditionSpecs: { type: string; status: 'True' | 'False'; reason: string; message: string }[] = [
  { type: 'MemoryPressure', status: 'False', reason: 'KubeletHasSufficientMemory', message: 'kubelet has sufficient memory available' },
  { type: 'DiskPressure', status: 'False', reason: 'KubeletHasNoDiskPressure', message: 'kubelet has no disk pressure' },
  { type: 'PIDPressure', status: 'False', reason: 'KubeletHasSufficientPID', message: 'kubelet has sufficient PID available' },
  { type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'lab process kubelet is posting ready status' },
];

/**
 * Status with every heartbeat at `nowMs`; a condition keeps its lastTransitionTime when its status
 * did not flip (e.g. a NotReady the controller set while the kubelet was down does flip back).
 */
export function nodeStatus(
  node: LabNode,
  nodes: readonly LabNode[],
  prevConditions: readonly { type: string; status?: string; lastTransitionTime?: string }[],
  kubeletVersion: string,
  healthPort: number,
  nowMs: number,
): NodeStatusJson {
  const now = rfc3339(nowMs);
  const capacity = nodeCapacity(node);
  return {
    capacity,
    allocatable: { ...capacity },
    conditions: conditionSpecs.map((c) => {
      const prev = prevConditions.find((p) => p.type === c.type);
      return { ...c, lastHeartbeatTime: now, lastTransitionTime: prev?.status === c.status && prev.lastTransitionTime ? prev.lastTransitionTime : now };
    }),
    addresses: [
      { type: 'InternalIP', address: nodeInternalIP(nodes, node.name) },
      { type: 'Hostname', address: node.name },
    ],
    nodeInfo: {
      machineID: `lab-${node.name}`,
      systemUUID: `lab-${node.name}`,
      bootID: `lab-${node.name}`,
      kernelVersion: 'lab',
      osImage: 'onnx-operator lab (lab kubelet)',
      containerRuntimeVersion: 'runc://1.1',
      kubeletVersion,
      kubeProxyVersion: '',
      operatingSystem: 'linux',
      architecture: 'amd64',
    },
    daemonEndpoints: { kubeletEndpoint: { Port: healthPort } },
  };
}

/** True when the server's status lacks something we report (a real change, not a heartbeat). */
export function nodeStatusDiffers(
  server: { conditions?: { type: string; status?: string }[]; capacity?: Record<string, string>; allocatable?: Record<string, string>; addresses?: unknown; nodeInfo?: Record<string, string> } | undefined,
  next: NodeStatusJson,
): boolean {
  if (!server) return true;
  for (const c of next.conditions) if (server.conditions?.find((s) => s.type === c.type)?.status !== c.status) return true;
  for (const [k, v] of Object.entries(next.capacity)) if (server.capacity?.[k] !== v || server.allocatable?.[k] !== next.allocatable[k]) return true;
  if (JSON.stringify(server.addresses) !== JSON.stringify(next.addresses)) return true;
  return server.nodeInfo?.kubeletVersion !== next.nodeInfo.kubeletVersion;
}

export function leaseObject(nodeName: string, nodeUid: string | undefined, nowMs: number, durationSeconds: number): Record<string, unknown> {
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: {
      name: nodeName,
      namespace: 'kube-node-lease',
      ...(nodeUid ? { ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: nodeName, uid: nodeUid }] } : {}),
    },
    spec: { holderIdentity: nodeName, leaseDurationSeconds: durationSeconds, renewTime: new Date(nowMs).toISOString().replace('Z', '000Z') },
  };
}
