// Pod volumes for containers run by runc: emptyDir (a directory per pod, or tmpfs for medium
// Memory), and the file volumes configMap, secret, downwardAPI and projected (including the
// serviceAccountToken the API server's ServiceAccount admission adds to every pod as
// kube-api-access-*, with a token from the TokenRequest API). The files a volume holds are computed
// by a pure function; the adapter writes them and says where each container mount binds.
import fs from 'node:fs';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { V1Container, V1KeyToPath, V1Volume } from '@kubernetes/client-node';
import { KubeletError } from './errors.ts';
import type { OciMount } from './oci-spec.ts';
import type { Pod } from './types.ts';

const run = promisify(execFile);

export interface VolumeFile {
  /** Relative to the volume's root. */
  path: string;
  content: Buffer;
  mode: number;
}

/** What a file volume needs from the API, fetched by the caller. */
export interface VolumeSources {
  configMaps: Record<string, Record<string, Buffer> | undefined>;
  secrets: Record<string, Record<string, Buffer> | undefined>;
  /** Tokens by `<audience>|<expirationSeconds>`. */
  tokens: Record<string, string>;
}

export interface TokenNeed {
  audience: string;
  expirationSeconds: number;
}

export const tokenKey = (t: TokenNeed): string => `${t.audience}|${t.expirationSeconds}`;

/** The ConfigMaps, Secrets and tokens the volumes that a container mounts need. */
export function volumeReferences(pod: Pod, container: V1Container): { configMaps: string[]; secrets: string[]; tokens: TokenNeed[] } {
  const configMaps = new Set<string>();
  const secrets = new Set<string>();
  const tokens = new Map<string, TokenNeed>();
  for (const v of mountedVolumes(pod, container)) {
    if (v.configMap?.name) configMaps.add(v.configMap.name);
    if (v.secret?.secretName) secrets.add(v.secret.secretName);
    for (const s of v.projected?.sources ?? []) {
      if (s.configMap?.name) configMaps.add(s.configMap.name);
      if (s.secret?.name) secrets.add(s.secret.name);
      if (s.serviceAccountToken) {
        const t = { audience: s.serviceAccountToken.audience ?? '', expirationSeconds: s.serviceAccountToken.expirationSeconds ?? 3600 };
        tokens.set(tokenKey(t), t);
      }
    }
  }
  return { configMaps: [...configMaps], secrets: [...secrets], tokens: [...tokens.values()] };
}

function mountedVolumes(pod: Pod, container: V1Container): V1Volume[] {
  const names = new Set((container.volumeMounts ?? []).map((m) => m.name));
  return (pod.spec.volumes ?? []).filter((v) => names.has(v.name));
}

function checkedPath(volume: string, p: string): string {
  const norm = path.posix.normalize(p);
  if (p === '' || path.posix.isAbsolute(p) || norm.startsWith('..')) {
    throw new KubeletError('VOLUME_INVALID', `volume ${volume}: item path "${p}" must be relative and stay inside the volume`);
  }
  return norm;
}

function keyedFiles(
  volume: string,
  kind: 'ConfigMap' | 'Secret',
  name: string,
  data: Record<string, Buffer> | undefined,
  items: V1KeyToPath[] | undefined,
  optional: boolean | undefined,
  defaultMode: number,
): VolumeFile[] {
  if (data === undefined) {
    if (optional) return [];
    throw new KubeletError('CONFIG_REF_NOT_FOUND', `volume ${volume}: ${kind.toLowerCase()} "${name}" not found; create it or mark the volume optional`);
  }
  if (!items || items.length === 0) return Object.entries(data).map(([k, v]) => ({ path: checkedPath(volume, k), content: v, mode: defaultMode }));
  const out: VolumeFile[] = [];
  for (const item of items) {
    const value = data[item.key];
    if (value === undefined) {
      if (optional) continue;
      throw new KubeletError('CONFIG_REF_NOT_FOUND', `volume ${volume}: ${kind} ${name} has no key "${item.key}"; add the key or mark the volume optional`);
    }
    out.push({ path: checkedPath(volume, item.path), content: value, mode: item.mode ?? defaultMode });
  }
  return out;
}

function downwardValue(volume: string, fieldPath: string, pod: Pod): string {
  switch (fieldPath) {
    case 'metadata.name': return pod.metadata.name;
    case 'metadata.namespace': return pod.metadata.namespace ?? '';
    case 'metadata.uid': return pod.metadata.uid;
    case 'metadata.labels': return Object.entries(pod.metadata.labels ?? {}).map(([k, v]) => `${k}="${v}"`).join('\n');
    case 'metadata.annotations': return Object.entries(pod.metadata.annotations ?? {}).map(([k, v]) => `${k}="${v}"`).join('\n');
  }
  const m = /^metadata\.(labels|annotations)\['(.*)'\]$/.exec(fieldPath);
  if (m) return (m[1] === 'labels' ? pod.metadata.labels : pod.metadata.annotations)?.[m[2] ?? ''] ?? '';
  throw new KubeletError('VOLUME_INVALID', `volume ${volume}: downwardAPI fieldPath "${fieldPath}" is not supported by the lab kubelet; use metadata.name/namespace/uid/labels/annotations`);
}

/** The files of a configMap, secret, downwardAPI or projected volume (pure). */
export function volumeFiles(volume: V1Volume, pod: Pod, sources: VolumeSources): VolumeFile[] {
  const name = volume.name;
  if (volume.configMap) {
    const c = volume.configMap;
    return keyedFiles(name, 'ConfigMap', c.name ?? '', sources.configMaps[c.name ?? ''], c.items, c.optional, c.defaultMode ?? 0o644);
  }
  if (volume.secret) {
    const s = volume.secret;
    return keyedFiles(name, 'Secret', s.secretName ?? '', sources.secrets[s.secretName ?? ''], s.items, s.optional, s.defaultMode ?? 0o644);
  }
  if (volume.downwardAPI) {
    const mode = volume.downwardAPI.defaultMode ?? 0o644;
    return (volume.downwardAPI.items ?? []).map((i) => {
      if (!i.fieldRef) throw new KubeletError('VOLUME_INVALID', `volume ${name}: downwardAPI item ${i.path} needs fieldRef (resourceFieldRef is not supported by the lab kubelet)`);
      return { path: checkedPath(name, i.path), content: Buffer.from(downwardValue(name, i.fieldRef.fieldPath, pod)), mode: i.mode ?? mode };
    });
  }
  if (volume.projected) {
    const mode = volume.projected.defaultMode ?? 0o644;
    const out: VolumeFile[] = [];
    for (const s of volume.projected.sources ?? []) {
      if (s.configMap) out.push(...keyedFiles(name, 'ConfigMap', s.configMap.name ?? '', sources.configMaps[s.configMap.name ?? ''], s.configMap.items, s.configMap.optional, mode));
      else if (s.secret) out.push(...keyedFiles(name, 'Secret', s.secret.name ?? '', sources.secrets[s.secret.name ?? ''], s.secret.items, s.secret.optional, mode));
      else if (s.downwardAPI) out.push(...volumeFiles({ name, downwardAPI: { ...s.downwardAPI, defaultMode: mode } }, pod, sources));
      else if (s.serviceAccountToken) {
        const key = tokenKey({ audience: s.serviceAccountToken.audience ?? '', expirationSeconds: s.serviceAccountToken.expirationSeconds ?? 3600 });
        const token = sources.tokens[key];
        if (token === undefined) throw new KubeletError('VOLUME_INVALID', `volume ${name}: no token was issued for the service account`);
        out.push({ path: checkedPath(name, s.serviceAccountToken.path), content: Buffer.from(token), mode: 0o600 });
      } else {
        throw new KubeletError('VOLUME_INVALID', `volume ${name}: a projected source other than configMap, secret, downwardAPI or serviceAccountToken is not supported by the lab kubelet`);
      }
    }
    return out;
  }
  throw new KubeletError('VOLUME_INVALID', `volume ${name}: only emptyDir, configMap, secret, downwardAPI and projected volumes are supported by the lab kubelet`);
}

/** The host side of every pod's volumes: `<dir>/<pod uid>/volumes/<name>`. */
export class PodVolumes {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  podDir(uid: string): string {
    return path.join(this.dir, uid);
  }

  /**
   * Makes the container's volumes ready (file volumes are written afresh at every start) and
   * returns its bind mounts in the order of volumeMounts. Token files are written for the
   * container's user; everything else keeps the volume's modes (fsGroup owns the files, as on a node).
   */
  async mountsFor(pod: Pod, container: V1Container, sources: VolumeSources, owner: { uid: number; fsGroup: number | undefined }): Promise<OciMount[]> {
    const mounts: OciMount[] = [];
    for (const m of container.volumeMounts ?? []) {
      const volume = (pod.spec.volumes ?? []).find((v) => v.name === m.name);
      if (!volume) throw new KubeletError('VOLUME_INVALID', `container ${container.name}: volumeMount "${m.name}" names no volume of the pod; add it to spec.volumes`);
      const root = path.join(this.podDir(pod.metadata.uid), 'volumes', volume.name);
      let readOnly = m.readOnly === true;
      if (volume.emptyDir) {
        await this.emptyDir(root, volume.emptyDir.medium === 'Memory', owner.fsGroup);
      } else {
        await this.writeFiles(root, volumeFiles(volume, pod, sources), owner);
        readOnly = true;
      }
      let source = root;
      if (m.subPath) {
        const sub = checkedPath(volume.name, m.subPath);
        source = path.join(root, sub);
        if (!fs.existsSync(source)) fs.mkdirSync(source, { recursive: true, mode: 0o777 });
      }
      if (!path.posix.isAbsolute(m.mountPath)) throw new KubeletError('VOLUME_INVALID', `container ${container.name}: mountPath "${m.mountPath}" must be absolute`);
      mounts.push({ destination: m.mountPath, type: 'bind', source, options: ['rbind', 'rprivate', readOnly ? 'ro' : 'rw'] });
    }
    return mounts;
  }

  private async emptyDir(root: string, memory: boolean, fsGroup: number | undefined): Promise<void> {
    if (fs.existsSync(root)) return;
    fs.mkdirSync(root, { recursive: true });
    if (memory) await run('mount', ['-t', 'tmpfs', '-o', 'mode=1777,size=64m', 'tmpfs', root]);
    // World-writable as the kubelet makes it; with fsGroup the group owns it and new files inherit it.
    fs.chmodSync(root, 0o777);
    if (fsGroup !== undefined) {
      fs.chownSync(root, 0, fsGroup);
      fs.chmodSync(root, 0o2777);
    }
  }

  private async writeFiles(root: string, files: VolumeFile[], owner: { uid: number; fsGroup: number | undefined }): Promise<void> {
    const next = `${root}.next`;
    fs.rmSync(next, { recursive: true, force: true });
    fs.mkdirSync(next, { recursive: true, mode: 0o755 });
    for (const f of files) {
      const file = path.join(next, f.path);
      fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o755 });
      await fs.promises.writeFile(file, f.content, { mode: f.mode });
      fs.chmodSync(file, f.mode);
      // The token is the only file readable by its owner alone: the container's user owns it.
      if (f.mode === 0o600) fs.chownSync(file, owner.uid, owner.fsGroup ?? 0);
      else if (owner.fsGroup !== undefined) fs.chownSync(file, 0, owner.fsGroup);
    }
    // A running container keeps the directory it has; the next start binds the new one.
    const old = `${root}.old`;
    fs.rmSync(old, { recursive: true, force: true });
    if (fs.existsSync(root)) fs.renameSync(root, old);
    fs.renameSync(next, root);
  }

  /** Removes the pod's volume directories (unmounting tmpfs ones first). */
  async release(uid: string): Promise<void> {
    const dir = this.podDir(uid);
    if (!fs.existsSync(dir)) return;
    await unmountUnder(dir);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Unmounts every mount at or below `dir`, deepest first (lazily, so a busy one still goes). */
export async function unmountUnder(dir: string): Promise<number> {
  const prefix = path.resolve(dir);
  const mounts = fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((p): p is string => p !== undefined && (p === prefix || p.startsWith(`${prefix}/`)))
    .map((p) => p.replace(/\\040/g, ' '))
    .sort((a, b) => b.length - a.length);
  for (const p of mounts) await run('umount', ['-l', p]).catch(() => undefined);
  return mounts.length;
}
