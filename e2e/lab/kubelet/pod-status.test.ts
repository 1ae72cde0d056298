import { computePodStatus, podPhase, statusPatch, type ObservedContainer, type ObservedPod } from './pod-status.ts';
import type { ContainerStatusJson, Pod } from './types.ts';

const t0 = Date.parse('2026-01-01T00:00:00Z');
const T0 = '2026-01-01T00:00:00Z';
const T1 = '2026-01-01T00:00:10Z';

function pod(over: Partial<Pod['spec']> = {}, status?: Pod['status']): Pod {
  return {
    metadata: { name: 'p', namespace: 'ns', uid: 'u1', generation: 1 },
    spec: { containers: [{ name: 'a', image: 'img:a' }], ...over },
    ...(status ? { status } : {}),
  };
}

const running = (name: string, extra: Partial<ObservedContainer> = {}): ObservedContainer => ({
  name, image: 'img:a', imageID: 'img@sha256:1', restartCount: 0, ready: true, started: true,
  state: { kind: 'running', startedAt: T0, containerID: 'lab://1' }, ...extra,
});
const terminated = (name: string, exitCode: number): ObservedContainer => ({
  name, image: 'img:a', imageID: 'img@sha256:1', restartCount: 0, ready: false, started: false,
  state: { kind: 'terminated', exitCode, reason: exitCode === 0 ? 'Completed' : 'Error', startedAt: T0, finishedAt: T0, containerID: 'lab://1' },
});
const observed = (over: Partial<ObservedPod> = {}): ObservedPod => ({
  sandboxReady: true, podIP: '10.244.1.2', hostIP: '10.244.0.11', startTime: T0, initContainers: [], containers: [], ...over,
});

function cs(state: ContainerStatusJson['state'], lastState: ContainerStatusJson['lastState'] = {}): ContainerStatusJson {
  return { name: 'a', image: 'i', imageID: '', started: false, ready: false, restartCount: 0, state, lastState };
}
const term = (exitCode: number) => ({ terminated: { exitCode, reason: 'x', startedAt: T0, finishedAt: T0 } });

describe('podPhase (the real kubelet getPhase)', () => {
  const cases: [string, string, ContainerStatusJson[], ContainerStatusJson[], string][] = [
    ['waiting container', 'Always', [], [cs({ waiting: { reason: 'ContainerCreating' } })], 'Pending'],
    ['running container', 'Always', [], [cs({ running: { startedAt: T0 } })], 'Running'],
    ['crash-looping under Always', 'Always', [], [cs({ waiting: { reason: 'CrashLoopBackOff' } }, term(1))], 'Running'],
    ['exited 0 under Always', 'Always', [], [cs(term(0))], 'Running'],
    ['exited 0 under OnFailure', 'OnFailure', [], [cs(term(0))], 'Succeeded'],
    ['exited 1 under OnFailure', 'OnFailure', [], [cs(term(1))], 'Running'],
    ['exited 1 under Never', 'Never', [], [cs(term(1))], 'Failed'],
    ['exited 0 under Never', 'Never', [], [cs(term(0))], 'Succeeded'],
    ['one running one exited under Never', 'Never', [], [cs(term(1)), cs({ running: { startedAt: T0 } })], 'Running'],
    ['init running', 'Always', [cs({ running: { startedAt: T0 } })], [cs({ waiting: { reason: 'PodInitializing' } })], 'Pending'],
    ['init failed under Never', 'Never', [cs(term(1))], [cs({ waiting: { reason: 'PodInitializing' } })], 'Failed'],
    ['init failed under Always', 'Always', [cs(term(1))], [cs({ waiting: { reason: 'PodInitializing' } })], 'Pending'],
    ['init done, container running', 'Always', [cs(term(0))], [cs({ running: { startedAt: T0 } })], 'Running'],
  ];
  test.each(cases)('%s', (_name, restartPolicy, init, containers, want) => {
    expect(podPhase(pod({ restartPolicy }), init, containers)).toBe(want);
  });
});

describe('computePodStatus', () => {
  test('a fresh pod before containers start is Pending with ContainerCreating and sandbox ready', () => {
    const s = computePodStatus(pod(), observed({ containers: [] }), t0);
    expect(s.phase).toBe('Pending');
    expect(s.containerStatuses?.[0]?.state).toEqual({ waiting: { reason: 'ContainerCreating' } });
    expect(s.conditions?.find((c) => c.type === 'PodReadyToStartContainers')?.status).toBe('True');
    expect(s.conditions?.find((c) => c.type === 'Ready')).toMatchObject({ status: 'False', reason: 'ContainersNotReady', message: 'containers with unready status: [a]' });
    expect(s.podIP).toBe('10.244.1.2');
    expect(s.podIPs).toEqual([{ ip: '10.244.1.2' }]);
    expect(s.hostIPs).toEqual([{ ip: '10.244.0.11' }]);
    expect(s.startTime).toBe(T0);
    expect(s.observedGeneration).toBe(1);
  });

  test('a running ready container makes the pod Running and Ready with containerID and started', () => {
    const s = computePodStatus(pod(), observed({ containers: [running('a')] }), t0);
    expect(s.phase).toBe('Running');
    expect(s.containerStatuses?.[0]).toMatchObject({ ready: true, started: true, containerID: 'lab://1', imageID: 'img@sha256:1', state: { running: { startedAt: T0 } } });
    for (const type of ['Initialized', 'ContainersReady', 'Ready']) expect(s.conditions?.find((c) => c.type === type)?.status).toBe('True');
  });

  test('running but not ready keeps Ready False', () => {
    const s = computePodStatus(pod(), observed({ containers: [running('a', { ready: false })] }), t0);
    expect(s.phase).toBe('Running');
    expect(s.conditions?.find((c) => c.type === 'ContainersReady')?.status).toBe('False');
  });

  test('lastTransitionTime moves only when the status flips; PodScheduled and unknown conditions are kept', () => {
    const first = computePodStatus(pod({}, { conditions: [{ type: 'PodScheduled', status: 'True', lastTransitionTime: 'S' }, { type: 'Custom', status: 'True' }] }),
      observed({ containers: [running('a', { ready: false })] }), t0);
    const second = computePodStatus(pod({}, first), observed({ containers: [running('a', { ready: true })] }), t0 + 10000);
    const byType = (s: typeof first, t: string) => s.conditions?.find((c) => c.type === t);
    expect(byType(second, 'PodScheduled')).toEqual({ type: 'PodScheduled', status: 'True', lastTransitionTime: 'S' });
    expect(byType(second, 'Custom')?.status).toBe('True');
    expect(byType(second, 'Initialized')?.lastTransitionTime).toBe(T0);
    expect(byType(second, 'Ready')?.lastTransitionTime).toBe(T1);
    expect(byType(second, 'Ready')?.reason).toBeUndefined();
  });

  test('readiness gates hold Ready back', () => {
    const p = pod({ readinessGates: [{ conditionType: 'example.com/gate' }] });
    const s = computePodStatus(p, observed({ containers: [running('a')] }), t0);
    expect(s.conditions?.find((c) => c.type === 'ContainersReady')?.status).toBe('True');
    expect(s.conditions?.find((c) => c.type === 'Ready')).toMatchObject({ status: 'False', reason: 'ReadinessGatesNotReady' });
  });

  test('CrashLoopBackOff shows waiting, lastState and restartCount; phase Running', () => {
    const c: ObservedContainer = {
      ...terminated('a', 1), restartCount: 3,
      state: { kind: 'waiting', reason: 'CrashLoopBackOff', message: 'back-off 4s' },
      lastTerminated: { exitCode: 1, reason: 'Error', startedAt: T0, finishedAt: T0, containerID: 'lab://9' },
    };
    const s = computePodStatus(pod(), observed({ containers: [c] }), t0);
    expect(s.phase).toBe('Running');
    expect(s.containerStatuses?.[0]).toMatchObject({
      restartCount: 3, ready: false, started: false, containerID: 'lab://9',
      state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 4s' } },
      lastState: { terminated: { exitCode: 1, reason: 'Error' } },
    });
  });

  test('a completed pod under Never is Succeeded with PodCompleted', () => {
    const s = computePodStatus(pod({ restartPolicy: 'Never' }), observed({ containers: [terminated('a', 0)] }), t0);
    expect(s.phase).toBe('Succeeded');
    expect(s.conditions?.find((c) => c.type === 'Ready')).toMatchObject({ status: 'False', reason: 'PodCompleted' });
    expect(s.conditions?.find((c) => c.type === 'PodReadyToStartContainers')?.status).toBe('False');
  });

  test('terminal phases are final', () => {
    const s = computePodStatus(pod({}, { phase: 'Failed' }), observed({ containers: [running('a')] }), t0);
    expect(s.phase).toBe('Failed');
  });

  test('admission rejection fails the pod with reason and message', () => {
    const s = computePodStatus(pod(), observed({ sandboxReady: false, containers: [], rejected: { reason: 'OutOfnvidia.com/gpu', message: 'no gpu' } }), t0);
    expect(s).toMatchObject({ phase: 'Failed', reason: 'OutOfnvidia.com/gpu', message: 'no gpu' });
  });

  test('init containers: pending ones make containers PodInitializing and Initialized False', () => {
    const p = pod({ initContainers: [{ name: 'i1', image: 'img:i' }, { name: 'i2', image: 'img:i' }] });
    const s = computePodStatus(p, observed({ initContainers: [terminated('i1', 0)], containers: [] }), t0);
    expect(s.phase).toBe('Pending');
    expect(s.initContainerStatuses?.map((c) => Object.keys(c.state)[0])).toEqual(['terminated', 'waiting']);
    expect(s.containerStatuses?.[0]?.state).toEqual({ waiting: { reason: 'PodInitializing' } });
    expect(s.conditions?.find((c) => c.type === 'Initialized')).toMatchObject({ status: 'False', message: 'containers with incomplete status: [i2]' });
  });

  test('fields the kubelet does not own (qosClass) are kept', () => {
    const s = computePodStatus(pod({}, { qosClass: 'BestEffort' }), observed(), t0);
    expect(s.qosClass).toBe('BestEffort');
  });
});

describe('statusPatch', () => {
  test('no change, no write', () => {
    const s = computePodStatus(pod(), observed({ containers: [running('a')] }), t0);
    const again = computePodStatus(pod({}, s), observed({ containers: [running('a')] }), t0 + 60000);
    expect(statusPatch(s, again)).toBeUndefined();
  });

  test('only changed owned fields are sent; removed ones become null', () => {
    const prev = { ...computePodStatus(pod(), observed(), t0), reason: 'R', message: 'M' };
    expect(prev.phase).toBe('Pending');
    const next = computePodStatus(pod({}, prev), observed({ containers: [running('a')] }), t0);
    const patch = statusPatch(prev, next);
    expect(patch?.status.reason).toBeNull();
    expect(patch?.status.podIP).toBeUndefined();
    expect(patch?.status.containerStatuses).toBeDefined();
  });
});
