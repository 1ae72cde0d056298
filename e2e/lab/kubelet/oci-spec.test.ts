import type { V1Container } from '@kubernetes/client-node';
import { KubeletError } from './errors.ts';
import { capabilities, cgroupResources, containerArgv, defaultCapabilities, effectiveSecurity, imageArgv, imageEnv, imageUser, processUser, runtimeSpec, type SpecInput } from './oci-spec.ts';
import type { Pod } from './types.ts';

const passwd = 'root:x:0:0:root:/root:/bin/bash\nnode:x:1000:1000::/home/node:/bin/bash\nnonroot:x:65532:65532::/home/nonroot:/sbin/nologin\n';
const group = 'root:x:0:\nnode:x:1000:\nnonroot:x:65532:\nstaff:x:50:\n';

describe('imageUser (USER resolved against the image)', () => {
  const cases: [string | undefined, { uid: number; gid: number | undefined; name?: string }][] = [
    [undefined, { uid: 0, gid: 0 }],
    ['65532:65532', { uid: 65532, gid: 65532 }],
    ['1000', { uid: 1000, gid: 1000 }],
    ['4242', { uid: 4242, gid: undefined }],
    ['node', { uid: 1000, gid: 1000, name: 'node' }],
    ['node:staff', { uid: 1000, gid: 50, name: 'node' }],
  ];
  test.each(cases)('USER %s', (user, want) => {
    expect(imageUser(user, passwd, group)).toEqual(want);
  });
  test('a name the image does not know is a config error naming the fix', () => {
    expect(() => imageUser('ghost', passwd, group)).toThrow(/not in its \/etc\/passwd; set securityContext.runAsUser/);
  });
});

const pod = (over: Partial<Pod['spec']> = {}, container: Partial<V1Container> = {}): Pod => ({
  metadata: { name: 'p', namespace: 'ns', uid: 'u-1' },
  spec: { containers: [{ name: 'c', image: 'i', ...container }], ...over },
});

describe('processUser and runAsNonRoot', () => {
  test('securityContext wins over the image; the container over the pod; fsGroup and supplementalGroups join', () => {
    const p = pod({ securityContext: { runAsUser: 2000, runAsGroup: 3000, fsGroup: 4000, supplementalGroups: [5000, 3000] } }, { securityContext: { runAsUser: 2100 } });
    const sc = effectiveSecurity(p, p.spec.containers[0]!);
    expect(processUser(sc, imageUser('65532:65532', passwd, group), '65532:65532')).toEqual({ uid: 2100, gid: 3000, additionalGids: [4000, 5000] });
  });
  test("the image's user and group when the pod sets none", () => {
    const p = pod();
    expect(processUser(effectiveSecurity(p, p.spec.containers[0]!), imageUser('65532:65532', passwd, group), '65532:65532')).toEqual({ uid: 65532, gid: 65532, additionalGids: [] });
  });
  test('runAsNonRoot refuses root and an unverifiable user name, as the kubelet does', () => {
    const p = pod({ securityContext: { runAsNonRoot: true } });
    const sc = effectiveSecurity(p, p.spec.containers[0]!);
    expect(() => processUser(sc, imageUser(undefined, passwd, group), undefined)).toThrow(/runAsNonRoot and image will run as root/);
    expect(() => processUser(sc, imageUser('node', passwd, group), 'node')).toThrow(/non-numeric user \(node\)/);
    expect(processUser(sc, imageUser('65532', passwd, group), '65532').uid).toBe(65532);
  });
});

describe('capabilities', () => {
  test('containerd defaults, drop ALL, add after drop, unknown names refused', () => {
    expect(capabilities({})).toEqual([...defaultCapabilities]);
    expect(capabilities({ capabilities: { drop: ['ALL'] } })).toEqual([]);
    expect(capabilities({ capabilities: { drop: ['ALL'], add: ['NET_BIND_SERVICE'] } })).toEqual(['CAP_NET_BIND_SERVICE']);
    expect(capabilities({ capabilities: { drop: ['NET_RAW', 'cap_chown'] } })).not.toContain('CAP_NET_RAW');
    expect(capabilities({ capabilities: { drop: ['NET_RAW', 'cap_chown'] } })).not.toContain('CAP_CHOWN');
    expect(() => capabilities({ capabilities: { add: ['WARP_DRIVE'] } })).toThrow(KubeletError);
  });
});

describe('cgroupResources', () => {
  test('memory limit (no extra swap), CPU quota from the limit, shares from the request', () => {
    expect(cgroupResources({ name: 'c', resources: { limits: { cpu: '500m', memory: '256Mi' }, requests: { cpu: '250m' } } })).toEqual({
      devices: [{ allow: false, access: 'rwm' }],
      memory: { limit: 268435456, swap: 268435456 },
      cpu: { shares: 256, period: 100000, quota: 50000 },
    });
    expect(cgroupResources({ name: 'c' })).toEqual({ devices: [{ allow: false, access: 'rwm' }] });
  });
});

describe('imageArgv and imageEnv', () => {
  const image = { Entrypoint: ['node', 'main.ts'], Cmd: ['serve'], Env: ['PATH=/usr/local/bin:/bin', 'A=1', 'A=2'] };
  test.each([
    [undefined, undefined, ['node', 'main.ts', 'serve']],
    [undefined, ['run', '--x'], ['node', 'main.ts', 'run', '--x']],
    [['sh', '-c', 'x'], undefined, ['sh', '-c', 'x']],
    [['sh'], ['-c', 'y'], ['sh', '-c', 'y']],
  ] as const)('command %j args %j', (command, args, want) => {
    expect(imageArgv(image, command ? [...command] : undefined, args ? [...args] : undefined)).toEqual(want);
  });
  test.each([
    ['image defaults', {}, ['node', 'srv.ts', '--port', '80']],
    ['args replace CMD, $(VAR) expanded', { args: ['--port', '$(PORT)'] }, ['node', 'srv.ts', '--port', '9090']],
    ['command replaces ENTRYPOINT and drops CMD', { command: ['sh', '-c', 'echo $(NAME)'] }, ['sh', '-c', 'echo n']],
    ['command and args, $$ escapes', { command: ['node', 'x.ts'], args: ['$$(PORT)'] }, ['node', 'x.ts', '$(PORT)']],
  ] as [string, Partial<V1Container>, string[]][])('containerArgv: %s', (_n, over, want) => {
    expect(containerArgv({ Entrypoint: ['node', 'srv.ts'], Cmd: ['--port', '80'] }, over, { PORT: '9090', NAME: 'n' })).toEqual(want);
  });
  test('ENV lines, later ones winning', () => {
    expect(imageEnv(image)).toEqual({ PATH: '/usr/local/bin:/bin', A: '2' });
  });
});

describe('runtimeSpec', () => {
  const input = (p: Pod): SpecInput => ({
    pod: p, container: p.spec.containers[0]!, image: { User: '65532:65532', WorkingDir: '/app' }, passwd, group,
    argv: ['node', 'x.ts'], env: { PATH: '/bin', A: 'b' }, rootfs: '/b/rootfs', netnsPath: '/run/netns/olab-x', cgroupsPath: '/onnxop-lab/x',
    mounts: [{ destination: '/tmp', type: 'bind', source: '/v/tmp', options: ['rbind', 'rprivate', 'rw'] }],
    seccomp: (caps) => ({ defaultAction: 'SCMP_ACT_ERRNO', architectures: [], syscalls: [{ names: [`caps:${caps.length}`], action: 'SCMP_ACT_ALLOW' }] }),
  });
  test("the operator's hardened runtime container: non-root, read-only root, no caps, no_new_privs, RuntimeDefault", () => {
    const p = pod(
      { securityContext: { runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, fsGroup: 65532, seccompProfile: { type: 'RuntimeDefault' } } },
      { securityContext: { readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } }, resources: { limits: { memory: '1Gi' } } },
    );
    const spec = runtimeSpec(input(p));
    expect(spec.process.user).toEqual({ uid: 65532, gid: 65532 });
    expect(spec.root).toEqual({ path: '/b/rootfs', readonly: true });
    expect(spec.process.capabilities.effective).toEqual([]);
    expect(spec.process.noNewPrivileges).toBe(true);
    expect(spec.process.cwd).toBe('/app');
    expect(spec.process.env).toEqual(['PATH=/bin', 'A=b']);
    expect(spec.linux.seccomp?.syscalls[0]?.names).toEqual(['caps:0']);
    expect(spec.linux.namespaces).toContainEqual({ type: 'network', path: '/run/netns/olab-x' });
    expect(spec.linux.resources.memory?.limit).toBe(1073741824);
    expect(spec.mounts.map((m) => m.destination)).toEqual(['/proc', '/dev', '/dev/pts', '/dev/shm', '/dev/mqueue', '/sys', '/sys/fs/cgroup', '/tmp']);
    expect(spec.hostname).toBe('p');
  });
  test('defaults: writable root, privilege escalation allowed, no seccomp (Unconfined), default caps', () => {
    const spec = runtimeSpec(input(pod()));
    expect(spec.root.readonly).toBe(false);
    expect(spec.process.noNewPrivileges).toBe(false);
    expect(spec.linux.seccomp).toBeUndefined();
    expect(spec.process.capabilities.bounding).toEqual([...defaultCapabilities]);
  });
  test('privileged, Localhost seccomp and an image without a command are refused with the fix', () => {
    expect(() => runtimeSpec(input(pod({}, { securityContext: { privileged: true } })))).toThrow(/privileged containers are not run/);
    expect(() => runtimeSpec(input(pod({}, { securityContext: { seccompProfile: { type: 'Localhost', localhostProfile: 'x.json' } } })))).toThrow(/Localhost is not supported/);
    expect(() => runtimeSpec({ ...input(pod()), argv: [] })).toThrow(/neither the pod nor the image gives a command/);
  });
});
