// The OCI runtime configuration (config.json for runc) of one container, from the image's config and
// the pod spec (pure). It follows what the kubelet asks containerd for: the image's entrypoint and
// cmd replaced by the pod's command/args, the image's env under the pod's, the user from
// securityContext (or the image's USER, checked against runAsNonRoot), containerd's default
// capabilities less `drop` plus `add`, no_new_privs for allowPrivilegeEscalation: false, the
// RuntimeDefault seccomp profile, a read-only root when asked, the pod's network namespace, the
// volumes bound where the pod mounts them, and limits as cgroup settings.
import type { V1Container, V1SecurityContext } from '@kubernetes/client-node';
import { expand } from './container-spec.ts';
import { KubeletError } from './errors.ts';
import type { ImageConfig } from './image-store.ts';
import { parseQuantity } from './quantity.ts';
import type { Pod } from './types.ts';

/** containerd's default capability set (what a container gets before `drop` and `add`). */
export const defaultCapabilities = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW', 'CAP_SETGID', 'CAP_SETUID',
  'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE',
] as const;

/** Every capability the kernel knows (for `add: [ALL]`). */
export const allCapabilities = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL', 'CAP_SETGID', 'CAP_SETUID',
  'CAP_SETPCAP', 'CAP_LINUX_IMMUTABLE', 'CAP_NET_BIND_SERVICE', 'CAP_NET_BROADCAST', 'CAP_NET_ADMIN', 'CAP_NET_RAW',
  'CAP_IPC_LOCK', 'CAP_IPC_OWNER', 'CAP_SYS_MODULE', 'CAP_SYS_RAWIO', 'CAP_SYS_CHROOT', 'CAP_SYS_PTRACE', 'CAP_SYS_PACCT',
  'CAP_SYS_ADMIN', 'CAP_SYS_BOOT', 'CAP_SYS_NICE', 'CAP_SYS_RESOURCE', 'CAP_SYS_TIME', 'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD',
  'CAP_LEASE', 'CAP_AUDIT_WRITE', 'CAP_AUDIT_CONTROL', 'CAP_SETFCAP', 'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG',
  'CAP_WAKE_ALARM', 'CAP_BLOCK_SUSPEND', 'CAP_AUDIT_READ', 'CAP_PERFMON', 'CAP_BPF', 'CAP_CHECKPOINT_RESTORE',
] as const;

/** containerd's masked and read-only paths under /proc and /sys. */
export const maskedPaths = [
  '/proc/acpi', '/proc/asound', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list', '/proc/timer_stats',
  '/proc/sched_debug', '/proc/scsi', '/sys/firmware', '/sys/devices/virtual/powercap',
];
export const readonlyPaths = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

export interface OciMount {
  destination: string;
  type: string;
  source: string;
  options: string[];
}

export interface Seccomp {
  defaultAction: string;
  defaultErrnoRet?: number;
  architectures: string[];
  syscalls: { names: string[]; action: string; errnoRet?: number; args?: unknown[] }[];
}

export interface OciSpec {
  ociVersion: string;
  process: {
    terminal: boolean;
    user: { uid: number; gid: number; additionalGids?: number[] };
    args: string[];
    env: string[];
    cwd: string;
    capabilities: Record<'bounding' | 'effective' | 'permitted', string[]>;
    noNewPrivileges: boolean;
    oomScoreAdj?: number;
  };
  root: { path: string; readonly: boolean };
  hostname: string;
  mounts: OciMount[];
  linux: {
    namespaces: { type: string; path?: string }[];
    cgroupsPath: string;
    resources: {
      devices: { allow: boolean; access: string }[];
      memory?: { limit: number; swap?: number };
      cpu?: { shares?: number; quota?: number; period?: number };
      pids?: { limit: number };
    };
    maskedPaths: string[];
    readonlyPaths: string[];
    seccomp?: Seccomp;
  };
}

/** The user an image's USER line names, resolved against the image's /etc/passwd and /etc/group. */
export function imageUser(user: string | undefined, passwd: string, group: string): { uid: number; gid: number | undefined; name?: string } {
  if (user === undefined || user === '') return { uid: 0, gid: 0 };
  const [u = '', g] = user.split(':', 2);
  const passwdLines = passwd.split('\n').map((l) => l.split(':'));
  let uid: number;
  let primaryGid: number | undefined;
  let name: string | undefined;
  if (/^\d+$/.test(u)) {
    uid = Number(u);
    const line = passwdLines.find((p) => p[2] === u);
    if (line?.[3] !== undefined) primaryGid = Number(line[3]);
  } else {
    const line = passwdLines.find((p) => p[0] === u);
    if (!line || line[2] === undefined) {
      throw new KubeletError('SECURITY_CONTEXT_INVALID', `the image's USER "${user}" is not in its /etc/passwd; set securityContext.runAsUser or fix the image`);
    }
    uid = Number(line[2]);
    primaryGid = line[3] !== undefined ? Number(line[3]) : undefined;
    name = u;
  }
  let gid = primaryGid;
  if (g !== undefined) {
    if (/^\d+$/.test(g)) gid = Number(g);
    else {
      const line = group.split('\n').map((l) => l.split(':')).find((p) => p[0] === g);
      if (!line || line[2] === undefined) throw new KubeletError('SECURITY_CONTEXT_INVALID', `the image's USER group "${g}" is not in its /etc/group; set securityContext.runAsGroup or fix the image`);
      gid = Number(line[2]);
    }
  }
  return name !== undefined ? { uid, gid, name } : { uid, gid };
}

/** The effective security context: the container's fields over the pod's. */
export function effectiveSecurity(pod: Pod, container: V1Container): V1SecurityContext & { supplementalGroups?: number[]; fsGroup?: number } {
  const p = pod.spec.securityContext ?? {};
  const c = container.securityContext ?? {};
  const out: V1SecurityContext & { supplementalGroups?: number[]; fsGroup?: number } = { ...c };
  if (out.runAsUser === undefined && p.runAsUser !== undefined) out.runAsUser = p.runAsUser;
  if (out.runAsGroup === undefined && p.runAsGroup !== undefined) out.runAsGroup = p.runAsGroup;
  if (out.runAsNonRoot === undefined && p.runAsNonRoot !== undefined) out.runAsNonRoot = p.runAsNonRoot;
  if (out.seccompProfile === undefined && p.seccompProfile !== undefined) out.seccompProfile = p.seccompProfile;
  if (p.supplementalGroups !== undefined) out.supplementalGroups = p.supplementalGroups;
  if (p.fsGroup !== undefined) out.fsGroup = p.fsGroup;
  return out;
}

/** uid/gid/groups the container runs as; runAsNonRoot refuses root as the real kubelet does. */
export function processUser(
  sc: ReturnType<typeof effectiveSecurity>,
  fromImage: ReturnType<typeof imageUser>,
  imageUserText: string | undefined,
): { uid: number; gid: number; additionalGids: number[] } {
  const uid = sc.runAsUser ?? fromImage.uid;
  if (sc.runAsNonRoot) {
    if (sc.runAsUser === undefined && fromImage.name !== undefined) {
      throw new KubeletError('SECURITY_CONTEXT_INVALID', `container has runAsNonRoot and image has non-numeric user (${fromImage.name}), cannot verify user is non-root; set securityContext.runAsUser`);
    }
    if (uid === 0) {
      throw new KubeletError('SECURITY_CONTEXT_INVALID', `container has runAsNonRoot and image will run as root (USER ${imageUserText ?? 'unset'}); set securityContext.runAsUser to a non-zero uid or give the image a non-root USER`);
    }
  }
  const gid = sc.runAsGroup ?? (sc.runAsUser !== undefined ? 0 : (fromImage.gid ?? 0));
  const groups = new Set<number>([...(sc.supplementalGroups ?? []), ...(sc.fsGroup !== undefined ? [sc.fsGroup] : [])]);
  groups.delete(gid);
  return { uid, gid, additionalGids: [...groups].sort((a, b) => a - b) };
}

function capName(c: string): string {
  const up = c.toUpperCase();
  return up.startsWith('CAP_') ? up : `CAP_${up}`;
}

/** containerd's defaults, less `drop`, plus `add` (ALL in either means every capability). */
export function capabilities(sc: V1SecurityContext): string[] {
  const drop = (sc.capabilities?.drop ?? []).map(capName);
  const add = (sc.capabilities?.add ?? []).map(capName);
  if (sc.privileged) return [...allCapabilities];
  let caps: string[] = drop.includes('CAP_ALL') ? [] : defaultCapabilities.filter((c) => !drop.includes(c));
  if (add.includes('CAP_ALL')) caps = [...allCapabilities];
  else for (const c of add) if (!caps.includes(c)) caps.push(c);
  for (const c of caps) {
    if (!(allCapabilities as readonly string[]).includes(c)) throw new KubeletError('SECURITY_CONTEXT_INVALID', `securityContext.capabilities: unknown capability ${c}; use names like NET_BIND_SERVICE`);
  }
  return caps;
}

/** cgroup settings from resources: memory and CPU limits, CPU shares from the request. */
export function cgroupResources(container: V1Container): OciSpec['linux']['resources'] {
  const limits = container.resources?.limits ?? {};
  const requests = container.resources?.requests ?? {};
  const out: OciSpec['linux']['resources'] = { devices: [{ allow: false, access: 'rwm' }] };
  if (limits['memory'] !== undefined) {
    const bytes = Math.floor(parseQuantity(limits['memory']));
    // Swap equal to the limit: no swap beyond it, as the kubelet sets it.
    out.memory = { limit: bytes, swap: bytes };
  }
  const cpu: { shares?: number; quota?: number; period?: number } = {};
  const request = requests['cpu'] ?? limits['cpu'];
  if (request !== undefined) cpu.shares = Math.max(2, Math.round(parseQuantity(request) * 1024));
  if (limits['cpu'] !== undefined) {
    cpu.period = 100_000;
    cpu.quota = Math.max(1000, Math.round(parseQuantity(limits['cpu']) * 100_000));
  }
  if (Object.keys(cpu).length > 0) out.cpu = cpu;
  return out;
}

/**
 * argv: the pod's command replaces the image's ENTRYPOINT and its args the image's CMD; a command
 * alone drops the CMD (Kubernetes' rule), and $(VAR) references are expanded by the caller.
 */
export function imageArgv(image: ImageConfig, command: string[] | undefined, args: string[] | undefined): string[] {
  const entrypoint = command && command.length > 0 ? command : (image.Entrypoint ?? []);
  const rest = args && args.length > 0 ? args : command && command.length > 0 ? [] : (image.Cmd ?? []);
  return [...entrypoint, ...rest];
}

/** imageArgv after Kubernetes' $(VAR) expansion of the pod's command and args against the container's env. */
export function containerArgv(image: ImageConfig, container: Pick<V1Container, 'command' | 'args'>, env: Record<string, string>): string[] {
  const lookup = (n: string): string | undefined => env[n];
  return imageArgv(image, container.command?.map((s) => expand(s, lookup)), container.args?.map((s) => expand(s, lookup)));
}

/** The image's ENV lines as a map (later lines win). */
export function imageEnv(image: ImageConfig): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of image.Env ?? []) {
    const eq = line.indexOf('=');
    if (eq > 0) env[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return env;
}

export interface SpecInput {
  pod: Pod;
  container: V1Container;
  image: ImageConfig;
  /** The image's /etc/passwd and /etc/group ('' when absent). */
  passwd: string;
  group: string;
  /** Fully resolved: argv after $(VAR) expansion, env after the pod's env and envFrom. */
  argv: string[];
  env: Record<string, string>;
  rootfs: string;
  netnsPath: string;
  cgroupsPath: string;
  /** Volume and kubelet-file mounts, in order. */
  mounts: OciMount[];
  /** The RuntimeDefault profile for this container's capabilities (see seccomp.ts), if it asks for it. */
  seccomp: (caps: string[]) => Seccomp;
}

export function runtimeSpec(input: SpecInput): OciSpec {
  const { pod, container, image } = input;
  const sc = effectiveSecurity(pod, container);
  if (sc.privileged) throw new KubeletError('SECURITY_CONTEXT_INVALID', `container ${container.name}: privileged containers are not run by the lab kubelet; drop securityContext.privileged`);
  const profile = sc.seccompProfile?.type;
  if (profile === 'Localhost') throw new KubeletError('SECURITY_CONTEXT_INVALID', `container ${container.name}: seccompProfile Localhost is not supported by the lab kubelet; use RuntimeDefault or Unconfined`);
  const user = processUser(sc, imageUser(image.User, input.passwd, input.group), image.User);
  const caps = capabilities(sc);
  if (input.argv.length === 0) throw new KubeletError('ENV_INVALID', `container ${container.name}: neither the pod nor the image gives a command to run; set command or use an image with an ENTRYPOINT/CMD`);
  const spec: OciSpec = {
    ociVersion: '1.0.2',
    process: {
      terminal: false,
      user: user.additionalGids.length > 0 ? user : { uid: user.uid, gid: user.gid },
      args: input.argv,
      env: Object.entries(input.env).map(([k, v]) => `${k}=${v}`),
      cwd: container.workingDir || image.WorkingDir || '/',
      capabilities: { bounding: caps, effective: caps, permitted: caps },
      noNewPrivileges: sc.allowPrivilegeEscalation === false,
    },
    root: { path: input.rootfs, readonly: sc.readOnlyRootFilesystem === true },
    hostname: pod.spec.hostname ?? pod.metadata.name,
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
      { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
      { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
      { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
      { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'] },
      ...input.mounts,
    ],
    linux: {
      namespaces: [{ type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }, { type: 'network', path: input.netnsPath }],
      cgroupsPath: input.cgroupsPath,
      resources: cgroupResources(container),
      maskedPaths,
      readonlyPaths,
    },
  };
  if (profile === 'RuntimeDefault') spec.linux.seccomp = input.seccomp(caps);
  return spec;
}
