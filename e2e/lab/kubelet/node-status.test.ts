import { labNodes } from '../lab-config.ts';
import { leaseObject, nodeInternalIP, nodeObject, nodeStatus, nodeStatusDiffers } from './node-status.ts';

const cpu = labNodes.find((n) => !n.gpu)!;
const gpu = labNodes.find((n) => n.gpu)!;

describe('node objects', () => {
  test('registration: labels, podCIDR, GPU labels and taint', () => {
    const n = nodeObject(gpu) as { metadata: { labels: Record<string, string> }; spec: Record<string, unknown> };
    expect(n.metadata.labels).toMatchObject({ 'kubernetes.io/hostname': gpu.name, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64', 'node.kubernetes.io/instance-type': 'lab', 'nvidia.com/gpu.present': 'true' });
    expect(n.spec).toEqual({ podCIDR: gpu.podCIDR, podCIDRs: [gpu.podCIDR], taints: [{ key: 'nvidia.com/gpu', value: 'present', effect: 'NoSchedule' }] });
    expect((nodeObject(cpu) as { spec: { taints: unknown[] } }).spec.taints).toEqual([]);
  });

  test('distinct InternalIPs', () => {
    const ips = labNodes.map((n) => nodeInternalIP(labNodes, n.name));
    expect(new Set(ips).size).toBe(labNodes.length);
    expect(ips[0]).toBe('10.244.0.11');
  });

  test('status: capacity, Ready, pressure conditions, transition times kept', () => {
    const t = Date.parse('2026-01-01T00:00:00Z');
    const s = nodeStatus(gpu, labNodes, [{ type: 'Ready', status: 'True', lastTransitionTime: 'EARLIER' }, { type: 'DiskPressure', status: 'True', lastTransitionTime: 'X' }], 'v1.36.3', 17248, t);
    expect(s.capacity).toMatchObject({ cpu: '4', memory: '8Gi', pods: '110', 'nvidia.com/gpu': '2' });
    expect(s.allocatable).toEqual(s.capacity);
    const ready = s.conditions.find((c) => c.type === 'Ready')!;
    expect(ready).toMatchObject({ status: 'True', reason: 'KubeletReady', lastTransitionTime: 'EARLIER', lastHeartbeatTime: '2026-01-01T00:00:00Z' });
    expect(s.conditions.find((c) => c.type === 'DiskPressure')).toMatchObject({ status: 'False', lastTransitionTime: '2026-01-01T00:00:00Z' });
    expect(s.nodeInfo.kubeletVersion).toBe('v1.36.3');
    expect(nodeStatus(cpu, labNodes, [], 'v', 1, t).capacity['nvidia.com/gpu']).toBeUndefined();
  });

  test('nodeStatusDiffers ignores heartbeats but sees a NotReady', () => {
    const s = nodeStatus(cpu, labNodes, [], 'v1', 1, 0);
    expect(nodeStatusDiffers({ ...s }, nodeStatus(cpu, labNodes, [], 'v1', 1, 99000))).toBe(false);
    expect(nodeStatusDiffers({ ...s, conditions: s.conditions.map((c) => (c.type === 'Ready' ? { ...c, status: 'Unknown' } : c)) }, s)).toBe(true);
    expect(nodeStatusDiffers(undefined, s)).toBe(true);
  });

  test('lease: micro-time renewTime, holder, owner', () => {
    const l = leaseObject('lab-cpu-1', 'uid', Date.parse('2026-01-01T00:00:00.123Z'), 40) as { spec: Record<string, unknown>; metadata: Record<string, unknown> };
    expect(l.spec).toEqual({ holderIdentity: 'lab-cpu-1', leaseDurationSeconds: 40, renewTime: '2026-01-01T00:00:00.123000Z' });
    expect(l.metadata.namespace).toBe('kube-node-lease');
  });
});
