// The runc engine: each container runs from its image, pulled from
// the lab registry and unpacked once per digest, with runc inside the pod's network namespace. Its
// root is an overlay (the image's unpacked layers read-only below, a fresh writable layer per
// container instance above, mounted read-only when readOnlyRootFilesystem asks); its config.json
// comes from oci-spec.ts; its output goes to the container's log file. `runc run` stays in the
// foreground, so its exit is the container's exit.
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { ContainerEngine, ExitStatus, PreparedContainer, PrepareRequest, StartedContainer } from './engine.ts';
import { errorMessage, KubeletError } from './errors.ts';
import { parseImageRef, repoDigest } from './image-ref.ts';
import type { ImageStore } from './image-store.ts';
import { containerArgv, effectiveSecurity, imageEnv, imageUser, runtimeSpec, type OciMount, type OciSpec } from './oci-spec.ts';
import { loadDefaultProfile, toOciSeccomp } from './seccomp.ts';
import type { Pod } from './types.ts';
import { PodVolumes, tokenKey, unmountUnder, volumeReferences, type VolumeSources } from './volumes.ts';

const run = promisify(execFile);
export const runcBin = 'runc';

export interface RuncEngineOptions {
  /** Kubelet state: containers/<id> (bundles), pods/<uid> (volumes, /etc files), runc/ (runc's state). */
  stateDir: string;
  images: ImageStore;
  /** Where containers reach the API server (the `kubernetes` Service's stand-in): host and port. */
  apiServer: { host: string; port: number };
  /** Plain absolute paths in a container's env below these are bound too (see fileUriMounts). */
  hostRoots?: readonly string[];
  /** Reads ConfigMaps/Secrets (undefined when absent) and issues service-account tokens. */
  api: {
    get<T>(p: string): Promise<T | undefined>;
    request<T>(method: string, p: string, body?: unknown): Promise<T>;
  };
}

/** runc container IDs: unique per pod and container, recognisable as the lab's. */
export function containerId(podUid: string, container: string): string {
  return `olab-${podUid.replace(/-/g, '').slice(0, 12)}-${container}`;
}

/**
 * The lab's file convention: a `file:///` URI in a container's environment names a file (or, ending
 * in `/`, a directory) on the lab machine — where a real cluster's image would have it baked in — and
 * so does a plain absolute path below one of `roots` (this checkout, the system temp directory: where
 * tests write models and profiles). Each that exists is bound read-only at the same path, after the
 * pod's volumes (pure).
 */
export function fileUriMounts(env: Record<string, string>, exists: (p: string) => boolean, roots: readonly string[] = []): OciMount[] {
  const seen = new Set<string>();
  const out: OciMount[] = [];
  for (const value of Object.values(env)) {
    let p: string;
    if (value.startsWith('file:///')) {
      try {
        p = decodeURIComponent(new URL(value).pathname);
      } catch {
        continue;
      }
    } else if (value.startsWith('/') && !value.includes(':') && roots.some((r) => value.startsWith(`${r.replace(/\/$/, '')}/`))) {
      p = value;
    } else continue;
    p = path.posix.normalize(p).replace(/\/$/, '') || '/';
    if (p === '/' || /^\/(proc|sys|dev|run|etc)(\/|$)/.test(p) || seen.has(p) || !exists(p)) continue;
    seen.add(p);
    out.push({ destination: p, type: 'bind', source: p, options: ['rbind', 'rprivate', 'ro'] });
  }
  return out;
}

/** /etc/hosts, /etc/hostname and /etc/resolv.conf of a pod, as the kubelet writes them (pure). */
export function podEtcFiles(pod: Pod, podIP: string): Record<'hosts' | 'hostname' | 'resolv.conf', string> {
  const hostname = pod.spec.hostname ?? pod.metadata.name;
  const ns = pod.metadata.namespace ?? 'default';
  return {
    hosts: `# Kubernetes-managed hosts file (lab kubelet).\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n${podIP}\t${hostname}\n`,
    hostname: `${hostname}\n`,
    // The lab runs no cluster DNS: names do not resolve, as on a cluster without CoreDNS.
    'resolv.conf': `search ${ns}.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n`,
  };
}

function readOr(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

async function runc(root: string, args: string[]): Promise<string> {
  try {
    const { stdout } = await run(runcBin, ['--root', root, ...args], { maxBuffer: 8 * 1024 * 1024 });
    return stdout;
  } catch (cause) {
    const stderr = (cause as { stderr?: string }).stderr?.trim();
    throw new KubeletError('RUNC_FAILED', `runc ${args.join(' ')} failed: ${stderr || String(cause)}`, { cause });
  }
}

/** The last error runc logged (its --log file, JSON lines), if any. */
function runcError(logFile: string): string | undefined {
  let last: string | undefined;
  for (const line of readOr(logFile).split('\n')) {
    try {
      const rec = JSON.parse(line) as { level?: string; msg?: string };
      if ((rec.level === 'error' || rec.level === 'fatal') && rec.msg) last = rec.msg;
    } catch {
      // Not a JSON line.
    }
  }
  return last;
}

/**
 * A command inside a running container, as its own process would run (user, capabilities, env,
 * no_new_privs, the same seccomp filter): what exec probes use, and the lab's `kubectl exec`.
 */
export async function runcExec(root: string, id: string, proc: OciSpec['process'], scratchDir: string, command: string[], timeoutMs: number): Promise<{ ok: boolean; stdout: string; detail: string }> {
  const processFile = path.join(scratchDir, `exec-${process.pid}-${Date.now()}-${Math.random().toString(16).slice(2, 8)}.json`);
  fs.writeFileSync(processFile, JSON.stringify({ ...proc, args: command }));
  try {
    const { stdout } = await run(runcBin, ['--root', root, 'exec', '--process', processFile, id], { timeout: timeoutMs, maxBuffer: 1024 * 1024 });
    return { ok: true, stdout, detail: '' };
  } catch (err) {
    const e = err as { code?: number | string; stdout?: string; stderr?: string };
    return { ok: false, stdout: e.stdout ?? '', detail: `command ${JSON.stringify(command)} exited with ${e.code ?? 'error'}: ${`${e.stdout ?? ''}${e.stderr ?? ''}`.trim().slice(0, 200)}` };
  } finally {
    fs.rmSync(processFile, { force: true });
  }
}

/** `kubectl exec` for a container the lab kubelet (state dir `stateDir`) runs with runc. */
export function execInContainer(stateDir: string, podUid: string, container: string, command: string[], timeoutMs = 30_000): Promise<{ ok: boolean; stdout: string; detail: string }> {
  const id = containerId(podUid, container);
  const bundle = path.join(stateDir, 'containers', id);
  const spec = JSON.parse(fs.readFileSync(path.join(bundle, 'config.json'), 'utf8')) as OciSpec;
  return runcExec(path.join(stateDir, 'runc'), id, spec.process, bundle, command, timeoutMs);
}

export class RuncEngine implements ContainerEngine {
  readonly mode = 'runc' as const;
  private readonly opts: RuncEngineOptions;
  private readonly runcRoot: string;
  private readonly containersDir: string;
  private readonly volumes: PodVolumes;

  constructor(opts: RuncEngineOptions) {
    this.opts = opts;
    this.runcRoot = path.join(opts.stateDir, 'runc');
    this.containersDir = path.join(opts.stateDir, 'containers');
    this.volumes = new PodVolumes(path.join(opts.stateDir, 'pods'));
    for (const d of [this.runcRoot, this.containersDir, this.volumes.dir]) fs.mkdirSync(d, { recursive: true });
  }

  private async volumeSources(pod: Pod, refs: ReturnType<typeof volumeReferences>): Promise<VolumeSources> {
    const ns = pod.metadata.namespace ?? 'default';
    const sources: VolumeSources = { configMaps: {}, secrets: {}, tokens: {} };
    for (const name of refs.configMaps) {
      const cm = await this.opts.api.get<{ data?: Record<string, string>; binaryData?: Record<string, string> }>(`/api/v1/namespaces/${ns}/configmaps/${name}`);
      sources.configMaps[name] = cm
        ? { ...Object.fromEntries(Object.entries(cm.data ?? {}).map(([k, v]) => [k, Buffer.from(v)])), ...Object.fromEntries(Object.entries(cm.binaryData ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')])) }
        : undefined;
    }
    for (const name of refs.secrets) {
      const s = await this.opts.api.get<{ data?: Record<string, string> }>(`/api/v1/namespaces/${ns}/secrets/${name}`);
      sources.secrets[name] = s ? Object.fromEntries(Object.entries(s.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')])) : undefined;
    }
    for (const t of refs.tokens) {
      const sa = pod.spec.serviceAccountName ?? 'default';
      const res = await this.opts.api.request<{ status?: { token?: string } }>('POST', `/api/v1/namespaces/${ns}/serviceaccounts/${sa}/token`, {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenRequest',
        spec: {
          audiences: t.audience ? [t.audience] : [],
          expirationSeconds: t.expirationSeconds,
          boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: pod.metadata.name, uid: pod.metadata.uid },
        },
      });
      if (!res.status?.token) throw new KubeletError('VOLUME_INVALID', `the API server issued no token for service account ${ns}/${sa}`);
      sources.tokens[tokenKey(t)] = res.status.token;
    }
    return sources;
  }

  async prepare(req: PrepareRequest): Promise<PreparedContainer> {
    const { pod, container } = req;
    const image = container.image ?? '';
    const ref = parseImageRef(image);
    const pulled = await this.opts.images.pull(image);
    const api = this.opts.apiServer;
    const base: Record<string, string> = {
      PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      ...imageEnv(pulled.config),
      HOSTNAME: pod.spec.hostname ?? pod.metadata.name,
      // The `kubernetes` Service as every container sees it (the lab has no kube-proxy: its address
      // is the API server's own, reached through the lab kubelet's forwarder on the bridge).
      KUBERNETES_SERVICE_HOST: api.host,
      KUBERNETES_SERVICE_PORT: String(api.port),
      KUBERNETES_SERVICE_PORT_HTTPS: String(api.port),
      KUBERNETES_PORT: `tcp://${api.host}:${api.port}`,
      [`KUBERNETES_PORT_${api.port}_TCP`]: `tcp://${api.host}:${api.port}`,
      [`KUBERNETES_PORT_${api.port}_TCP_PROTO`]: 'tcp',
      [`KUBERNETES_PORT_${api.port}_TCP_PORT`]: String(api.port),
      [`KUBERNETES_PORT_${api.port}_TCP_ADDR`]: api.host,
    };
    const sc = effectiveSecurity(pod, container);
    const passwd = readOr(path.join(pulled.rootfs, 'etc', 'passwd'));
    const group = readOr(path.join(pulled.rootfs, 'etc', 'group'));
    const owner = { uid: sc.runAsUser ?? imageUser(pulled.config.User, passwd, group).uid, fsGroup: sc.fsGroup };
    // HOME as containerd sets it: the user's passwd entry, else /.
    base['HOME'] ??= passwd.split('\n').map((l) => l.split(':')).find((f) => f[2] === String(owner.uid))?.[5] || '/';
    const env = await req.resolveEnv(base);
    const argv = containerArgv(pulled.config, container, env);
    const volumeMounts = await this.volumes.mountsFor(pod, container, await this.volumeSources(pod, volumeReferences(pod, container)), owner);
    const podDir = this.volumes.podDir(pod.metadata.uid);
    const etc = podEtcFiles(pod, req.podIP);
    fs.mkdirSync(path.join(podDir, 'etc'), { recursive: true });
    const etcMounts: OciMount[] = [];
    for (const [name, content] of Object.entries(etc)) {
      const file = path.join(podDir, 'etc', name);
      fs.writeFileSync(file, content, { mode: 0o644 });
      const dest = `/etc/${name}`;
      if (!volumeMounts.some((m) => m.destination === dest)) etcMounts.push({ destination: dest, type: 'bind', source: file, options: ['rbind', 'rprivate', name === 'hostname' ? 'ro' : 'rw'] });
    }
    const id = containerId(pod.metadata.uid, container.name);
    const bundle = path.join(this.containersDir, id);
    const spec = runtimeSpec({
      pod, container, image: pulled.config, passwd, group, argv, env,
      rootfs: path.join(bundle, 'rootfs'),
      netnsPath: `/run/netns/${req.netns}`,
      cgroupsPath: `/onnxop-lab/${id}`,
      mounts: [...etcMounts, ...volumeMounts, ...fileUriMounts(env, (p) => fs.existsSync(p), this.opts.hostRoots ?? [])],
      seccomp: (caps) => toOciSeccomp(loadDefaultProfile(), caps),
    });
    return this.prepared(id, bundle, pulled.rootfs, spec, repoDigest(ref, pulled.digest));
  }

  private prepared(id: string, bundle: string, lower: string, spec: OciSpec, imageID: string): PreparedContainer {
    const root = this.runcRoot;
    let released: Promise<void> | undefined;
    const release = (): Promise<void> => {
      released ??= (async () => {
        await runc(root, ['delete', '--force', id]).catch(() => undefined);
        await unmountUnder(bundle);
        fs.rmSync(bundle, { recursive: true, force: true });
      })();
      return released;
    };
    const envMap = Object.fromEntries(spec.process.env.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
    return {
      imageID,
      env: envMap,
      argv: spec.process.args,
      release,
      start: async (logFile: string): Promise<StartedContainer> => {
        // A previous instance of this container that was never released (a kubelet crash).
        await runc(root, ['delete', '--force', id]).catch(() => undefined);
        await unmountUnder(bundle);
        fs.rmSync(bundle, { recursive: true, force: true });
        for (const d of ['upper', 'work', 'rootfs']) fs.mkdirSync(path.join(bundle, d), { recursive: true });
        try {
          await run('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${lower},upperdir=${path.join(bundle, 'upper')},workdir=${path.join(bundle, 'work')}`, path.join(bundle, 'rootfs')]);
        } catch (cause) {
          throw new KubeletError('RUNC_FAILED', `mounting the root filesystem of ${id} failed: ${(cause as { stderr?: string }).stderr?.trim() ?? String(cause)}; the kernel needs overlayfs`, { cause });
        }
        fs.writeFileSync(path.join(bundle, 'config.json'), JSON.stringify(spec, null, 1));
        fs.mkdirSync(path.dirname(logFile), { recursive: true });
        const fd = fs.openSync(logFile, 'a');
        const runcLog = path.join(bundle, 'runc.log');
        return await new Promise<StartedContainer>((resolve, reject) => {
          const child = spawn(runcBin, ['--root', root, '--log', runcLog, '--log-format', 'json', 'run', '--bundle', bundle, id], {
            detached: true,
            stdio: ['ignore', fd, fd],
          });
          const startedAtMs = Date.now();
          const exited = new Promise<ExitStatus>((res) => {
            child.on('exit', (code, signal) => {
              const signum = signal ? os.constants.signals[signal] : undefined;
              const status: ExitStatus = { exitCode: code ?? 128 + (signum ?? 9), signal: signum, finishedAtMs: Date.now() };
              const err = runcError(runcLog);
              if (err !== undefined) status.startError = `runc: ${err}`;
              res(status);
            });
          });
          child.on('spawn', () => {
            fs.closeSync(fd);
            resolve({
              containerID: `runc://${id}`,
              pid: child.pid ?? 0,
              startedAtMs,
              exited,
              kill: (sig) => runc(root, ['kill', id, sig.replace('SIG', '')]).then(() => true, () => false),
            });
          });
          child.on('error', (cause) => {
            try {
              fs.closeSync(fd);
            } catch {
              // Already closed.
            }
            reject(new KubeletError('SPAWN_FAILED', `could not start runc for ${id}: ${cause.message}; install runc (Debian package runc)`, { cause }));
          });
        });
      },
      exec: async (command, timeoutMs) => {
        const r = await runcExec(root, id, spec.process, bundle, command, timeoutMs);
        return { ok: r.ok, detail: r.detail };
      },
    };
  }

  releasePod(podUid: string): Promise<void> {
    return this.volumes.release(podUid);
  }

  removeStale(log: (msg: string, extra: Record<string, unknown>) => void): Promise<void> {
    return removeStaleContainers(this.opts.stateDir, log);
  }
}

/**
 * Everything a kubelet (state dir `stateDir`) left behind: runc containers, overlay and tmpfs
 * mounts, bundles and pod volumes. Used at its start, its shutdown, and by `lab down`.
 */
export async function removeStaleContainers(stateDir: string, log: (msg: string, extra: Record<string, unknown>) => void): Promise<void> {
  const root = path.join(stateDir, 'runc');
  let ids: string[] = [];
  if (fs.existsSync(root)) {
    try {
      ids = (await runc(root, ['list', '-q'])).split('\n').filter((s) => s !== '');
    } catch (err) {
      log('runc list failed', { err: errorMessage(err) });
    }
  }
  for (const id of ids) {
    await runc(root, ['delete', '--force', id]).catch(() => undefined);
    log('removed stale container', { id });
  }
  const unmounted = fs.existsSync(stateDir) ? await unmountUnder(stateDir) : 0;
  if (unmounted > 0) log('unmounted stale container mounts', { count: unmounted });
  for (const d of ['containers', 'pods']) {
    fs.rmSync(path.join(stateDir, d), { recursive: true, force: true });
    fs.mkdirSync(path.join(stateDir, d), { recursive: true });
  }
}
