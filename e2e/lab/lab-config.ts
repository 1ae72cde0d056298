// The lab's fixed layout: where its files live, which loopback ports and which lab-only addresses it
// uses. Every lab part imports this one module so the pieces agree.
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const labDir = process.env.ONNXOP_LAB_DIR ?? path.join(repoRoot, '.lab');

export const labPaths = {
  dir: labDir,
  kubeconfig: path.join(labDir, 'kubeconfig'),
  operatorKubeconfig: path.join(labDir, 'operator.kubeconfig'),
  auditLog: path.join(labDir, 'logs', 'audit.log'),
  auditPolicy: path.join(labDir, 'audit-policy.yaml'),
  env: path.join(labDir, 'env'),
  bin: path.join(labDir, 'bin'),
  logs: path.join(labDir, 'logs'),
  podLogs: path.join(labDir, 'logs', 'pods'),
  pki: path.join(labDir, 'pki'),
  run: path.join(labDir, 'run'),
  etcdData: path.join(labDir, 'etcd'),
  prometheusData: path.join(labDir, 'prometheus'),
  kubelet: path.join(labDir, 'kubelet'),
  kafkaData: path.join(labDir, 'kafka'),
} as const;

const base = Number(process.env.ONNXOP_LAB_PORT_BASE ?? 17000);
/** Every host-side listener of the lab is on 127.0.0.1 at one of these ports. */
export const labPorts = {
  etcdClient: base + 79,
  etcdPeer: base + 80,
  apiserver: base + 443,
  controllerManager: base + 257,
  scheduler: base + 259,
  prometheus: base + 90,
  gateway: base + 81,
  kubeletHealth: base + 248,
  /** The operator's /metrics when the demo runs it. */
  operator: base + 464,
  /** The lab registry (docker-registry, plain HTTP): images pods run are pulled from it. */
  registry: base + 500,
  /** Jaeger (the trace backend): its query API and UI (/api/traces), health check, and query gRPC. */
  jaegerQuery: base + 686,
  jaegerHealth: base + 133,
  jaegerQueryGrpc: base + 685,
  /** Jaeger's OTLP/HTTP receiver: on the bridge address (pods send there), not on loopback. */
  jaegerOtlp: base + 318,
  /** Apache Kafka (the prediction store): clients on 127.0.0.1 and, for pods, on the bridge address. */
  kafka: base + 92,
  /** Kafka's KRaft controller, 127.0.0.1 only. */
  kafkaController: base + 93,
  /** Kafka's listener for pods, on the bridge address: Kafka refuses two IPv4 listeners on one port. */
  kafkaPods: base + 94,
} as const;

/**
 * The lab network: one Linux bridge with the host end at `bridgeAddress`; each node gets a /24 pod
 * CIDR out of `podNetwork`, each pod its own network namespace with a veth on the bridge. These
 * addresses exist only inside this machine; nothing is routed beyond the bridge.
 */
export const labNetwork = {
  bridge: 'olab0',
  podNetwork: '10.244.0.0/16',
  bridgeAddress: '10.244.0.1',
  prefixLength: 16,
  serviceCIDR: '10.96.0.0/16',
  netnsPrefix: 'olab-',
  vethPrefix: 'olv',
} as const;

export interface LabNode {
  name: string;
  podCIDR: string;
  gpu: boolean;
}

export const labNodes: readonly LabNode[] = [
  { name: 'lab-cpu-1', podCIDR: '10.244.1.0/24', gpu: false },
  { name: 'lab-cpu-2', podCIDR: '10.244.2.0/24', gpu: false },
  { name: 'lab-gpu-1', podCIDR: '10.244.3.0/24', gpu: true },
];

/** Labels and taint of the GPU node, the ones GPU operators (NVIDIA's) put on real GPU nodes. */
export const gpuNode = {
  resource: 'nvidia.com/gpu',
  count: '2',
  labels: { 'nvidia.com/gpu.present': 'true', 'onnxop.io/accelerator': 'gpu' },
  taint: { key: 'nvidia.com/gpu', value: 'present', effect: 'NoSchedule' },
} as const;

export const k8sVersionFile = path.join(repoRoot, 'e2e', 'lab', 'k8s', 'VERSION');

/** host:port of the lab registry, as image references name it. */
export const labRegistry = `127.0.0.1:${labPorts.registry}`;
const cacheDir = process.env.ONNXOP_CACHE ?? path.join(os.homedir(), '.cache', 'onnx-operator');
/** The registry's storage and the kubelet's pulled images: kept across lab restarts (content-addressed). */
export const registryDataDir = path.join(cacheDir, 'images', 'registry');
export const labImageDir = path.join(cacheDir, 'images', 'pulled');
/** The digests the lab pushed last (`npm run lab -- up` writes it; tests and the demo read it). */
export const labImageDigestsFile = path.join(labDir, 'image-digests.json');
