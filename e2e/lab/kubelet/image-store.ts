// Pulling and unpacking images (adapter): the OCI distribution API of the lab registry (plain HTTP on
// loopback), every blob checked against its digest, kept in one OCI image layout; each image's root
// filesystem unpacked once per manifest digest by umoci (whiteouts, hard links and owners as
// written) and shared read-only by every container of that image (the lower layer of its overlay).
import crypto from 'node:crypto';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { errorMessage, KubeletError } from './errors.ts';
import { labRepository, manifestReference, parseImageRef, type ImageRef } from './image-ref.ts';

const run = promisify(execFile);

export const mediaTypes = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
} as const;

/** The parts of an OCI image configuration a container runs with. */
export interface ImageConfig {
  User?: string;
  Env?: string[];
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  WorkingDir?: string;
  ExposedPorts?: Record<string, unknown>;
  Labels?: Record<string, string> | null;
  StopSignal?: string;
}

export interface PulledImage {
  /** The manifest digest (what a pod pins with @sha256:…). */
  digest: string;
  config: ImageConfig;
  /** The unpacked root filesystem; never written to. */
  rootfs: string;
  /** Compressed bytes of the layers, as the registry serves them. */
  size: number;
}

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { os?: string; architecture?: string };
}

interface Manifest {
  mediaType?: string;
  config: Descriptor;
  layers: Descriptor[];
  manifests?: Descriptor[];
}

function pullError(image: string, why: string, cause?: unknown): KubeletError {
  return new KubeletError('IMAGE_PULL_FAILED', `failed to pull image "${image}": ${why}`, cause === undefined ? undefined : { cause });
}

const hexOf = (digest: string): string => digest.slice('sha256:'.length);

export class ImageStore {
  readonly dir: string;
  readonly registry: string;
  private readonly layout: string;
  private readonly inflight = new Map<string, Promise<PulledImage>>();
  private indexWrite: Promise<void> = Promise.resolve();

  /** `registry` is host:port of the lab registry (plain HTTP on loopback). */
  constructor(dir: string, registry: string) {
    this.dir = dir;
    this.registry = registry;
    this.layout = path.join(dir, 'layout');
    fs.mkdirSync(path.join(this.layout, 'blobs', 'sha256'), { recursive: true });
    fs.mkdirSync(path.join(dir, 'rootfs'), { recursive: true });
    if (!fs.existsSync(path.join(this.layout, 'oci-layout'))) fs.writeFileSync(path.join(this.layout, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
    if (!fs.existsSync(path.join(this.layout, 'index.json'))) fs.writeFileSync(path.join(this.layout, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [] }));
  }

  /**
   * Resolves the image to a manifest digest at the lab registry (a tag is asked for every time, so a
   * re-pushed tag is seen; a digest is trusted from the cache), then pulls and unpacks what is missing.
   */
  async pull(image: string): Promise<PulledImage> {
    const ref = parseImageRef(image);
    const cached = ref.digest !== undefined ? this.cachedImage(ref.digest) : undefined;
    if (cached) return cached;
    const { digest, manifest } = await this.resolve(image, ref);
    const done = this.cachedImage(digest);
    if (done) return done;
    let p = this.inflight.get(digest);
    if (!p) {
      p = this.fetchAndUnpack(image, ref, digest, manifest).finally(() => this.inflight.delete(digest));
      this.inflight.set(digest, p);
    }
    return p;
  }

  private rootfsDir(digest: string): string {
    return path.join(this.dir, 'rootfs', hexOf(digest));
  }

  private blobPath(digest: string): string {
    return path.join(this.layout, 'blobs', 'sha256', hexOf(digest));
  }

  /** An image pulled and unpacked before (the `.done` marker is written last). */
  cachedImage(digest: string): PulledImage | undefined {
    const dir = this.rootfsDir(digest);
    try {
      const meta = JSON.parse(fs.readFileSync(`${dir}.done`, 'utf8')) as { config: ImageConfig; size: number };
      return { digest, config: meta.config, rootfs: dir, size: meta.size };
    } catch {
      return undefined;
    }
  }

  private url(repo: string, kind: 'manifests' | 'blobs', reference: string): string {
    return `http://${this.registry}/v2/${repo}/${kind}/${reference}`;
  }

  private async get(image: string, url: string, accept?: string): Promise<Response> {
    let res: Response;
    try {
      res = await fetch(url, { headers: accept ? { accept } : {}, signal: AbortSignal.timeout(600_000) });
    } catch (err) {
      throw pullError(image, `the lab registry ${this.registry} did not answer (${errorMessage((err as { cause?: unknown }).cause ?? err)}); is the lab up (npm run lab -- up)?`, err);
    }
    return res;
  }

  private async resolve(image: string, ref: ImageRef): Promise<{ digest: string; manifest: Manifest }> {
    const repo = labRepository(ref, this.registry);
    const accept = Object.values(mediaTypes).join(', ');
    let reference = manifestReference(ref);
    for (let depth = 0; depth < 2; depth++) {
      const res = await this.get(image, this.url(repo, 'manifests', reference), accept);
      const body = Buffer.from(await res.arrayBuffer());
      if (res.status === 404) {
        const what = reference.startsWith('sha256:') ? `manifest ${reference}` : `tag "${reference}"`;
        throw pullError(image, `${what} not found in repository ${repo} of the lab registry ${this.registry} (manifest unknown); build and push it (npm run lab -- images) or fix the image name`);
      }
      if (!res.ok) throw pullError(image, `the lab registry answered ${res.status} for ${repo}:${reference}: ${body.toString('utf8').slice(0, 200)}`);
      const digest = `sha256:${crypto.createHash('sha256').update(body).digest('hex')}`;
      if (reference.startsWith('sha256:') && digest !== reference) {
        throw pullError(image, `the registry sent a manifest whose digest is ${digest}, not the ${reference} asked for`);
      }
      const manifest = JSON.parse(body.toString('utf8')) as Manifest;
      const type = manifest.mediaType ?? res.headers.get('content-type') ?? '';
      if (type === mediaTypes.ociIndex || type === mediaTypes.dockerList || manifest.manifests !== undefined) {
        const pick = manifest.manifests?.find((m) => m.platform?.os === 'linux' && m.platform.architecture === 'amd64');
        if (!pick) throw pullError(image, 'its index has no linux/amd64 manifest');
        reference = pick.digest;
        continue;
      }
      await this.writeBlob(digest, body);
      return { digest, manifest };
    }
    throw pullError(image, 'an index points at another index');
  }

  private async writeBlob(digest: string, bytes: Buffer): Promise<void> {
    const file = this.blobPath(digest);
    if (fs.existsSync(file)) return;
    const tmp = `${file}.${process.pid}.${crypto.randomBytes(4).toString('hex')}`;
    await fs.promises.writeFile(tmp, bytes);
    await fs.promises.rename(tmp, file);
  }

  /** Downloads a blob unless present, checking its sha256 while it streams to disk. */
  private async fetchBlob(image: string, repo: string, d: Descriptor): Promise<void> {
    const file = this.blobPath(d.digest);
    if (fs.existsSync(file)) return;
    const res = await this.get(image, this.url(repo, 'blobs', d.digest));
    if (!res.ok || !res.body) throw pullError(image, `blob ${d.digest} of ${repo}: the lab registry answered ${res.status}`);
    const tmp = `${file}.${process.pid}.${crypto.randomBytes(4).toString('hex')}`;
    const hash = crypto.createHash('sha256');
    const source = Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>);
    source.on('data', (chunk: Buffer) => hash.update(chunk));
    try {
      await pipeline(source, fs.createWriteStream(tmp));
    } catch (err) {
      fs.rmSync(tmp, { force: true });
      throw pullError(image, `downloading blob ${d.digest} failed: ${errorMessage(err)}`, err);
    }
    const got = `sha256:${hash.digest('hex')}`;
    if (got !== d.digest) {
      fs.rmSync(tmp, { force: true });
      throw pullError(image, `blob ${d.digest} arrived with digest ${got}; the registry's copy is corrupt`);
    }
    await fs.promises.rename(tmp, file);
  }

  /** Adds `name` → manifest to the layout's index.json (serialized: one writer at a time). */
  private tag(name: string, digest: string, size: number): Promise<void> {
    this.indexWrite = this.indexWrite.then(async () => {
      const file = path.join(this.layout, 'index.json');
      const index = JSON.parse(await fs.promises.readFile(file, 'utf8')) as { schemaVersion: number; manifests: (Descriptor & { annotations?: Record<string, string> })[] };
      index.manifests = index.manifests.filter((m) => m.annotations?.['org.opencontainers.image.ref.name'] !== name);
      index.manifests.push({ mediaType: mediaTypes.ociManifest, digest, size, annotations: { 'org.opencontainers.image.ref.name': name } });
      await fs.promises.writeFile(`${file}.tmp`, JSON.stringify(index));
      await fs.promises.rename(`${file}.tmp`, file);
    });
    return this.indexWrite;
  }

  private async fetchAndUnpack(image: string, ref: ImageRef, digest: string, manifest: Manifest): Promise<PulledImage> {
    const repo = labRepository(ref, this.registry);
    for (const d of [manifest.config, ...manifest.layers]) await this.fetchBlob(image, repo, d);
    const configJson = JSON.parse(fs.readFileSync(this.blobPath(manifest.config.digest), 'utf8')) as { config?: ImageConfig; os?: string; architecture?: string };
    if (configJson.architecture !== undefined && configJson.architecture !== 'amd64') {
      throw pullError(image, `it is built for ${configJson.os ?? '?'}/${configJson.architecture}, this lab node is linux/amd64`);
    }
    // umoci reads OCI manifests; a Docker v2 manifest has the same shape and is stored as written.
    const name = `d-${hexOf(digest)}`;
    await this.tag(name, digest, fs.statSync(this.blobPath(digest)).size);
    const rootfs = this.rootfsDir(digest);
    const tmp = `${rootfs}.unpacking`;
    fs.rmSync(tmp, { recursive: true, force: true });
    try {
      await run('umoci', ['raw', 'unpack', '--image', `${this.layout}:${name}`, tmp], { maxBuffer: 16 * 1024 * 1024 });
    } catch (err) {
      fs.rmSync(tmp, { recursive: true, force: true });
      const stderr = (err as { stderr?: string }).stderr?.trim();
      throw new KubeletError('IMAGE_UNPACK_FAILED', `unpacking image "${image}" (${digest}) failed: ${stderr || errorMessage(err)}; is umoci installed (Debian package umoci)?`, { cause: err });
    }
    fs.rmSync(rootfs, { recursive: true, force: true });
    fs.renameSync(tmp, rootfs);
    const size = manifest.layers.reduce((sum, l) => sum + l.size, 0);
    const config = configJson.config ?? {};
    fs.writeFileSync(`${rootfs}.done`, JSON.stringify({ image, config, size }));
    return { digest, config, rootfs, size };
  }
}
