// Builds the project's images and the lab's test images with buildah from the same Dockerfiles users
// build with `docker build` (no Docker engine: a private buildah store, chroot isolation, bases made
// locally by base.sh and never pulled), caches each by a hash of its inputs, and pushes them to a
// registry.
//
//   node e2e/lab/image-build/build.ts [--only runtime,echo] [--push 127.0.0.1:17500] [--json]
//
// An image whose inputs (its Dockerfile, target, the base images' IDs and every build-context file
// its stages COPY, less .dockerignore) are unchanged is not rebuilt: its cache tag
// localhost/onnxop-cache/<name>:<hash> is reused. docs/images.md has sizes and timings.
import crypto from 'node:crypto';
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { labPushName, parseImageRef } from '../kubelet/image-ref.ts';
import { repoRoot } from '../lab-config.ts';
import { isIgnored, parseDockerfile, parseIgnore, targetInputs } from './dockerfile.ts';

const run = promisify(execFile);

export interface LabImage {
  name: string;
  dockerfile: string;
  target: string;
  /** The public name users know it by; the lab registry mirrors it under this name. */
  tag: string;
}

/** Every image the lab builds, relative to the repository root (the build context). */
export const labImages: readonly LabImage[] = [
  { name: 'operator', dockerfile: 'Dockerfile', target: 'operator', tag: 'ghcr.io/onnx-operator/operator:dev' },
  { name: 'runtime', dockerfile: 'Dockerfile', target: 'runtime', tag: 'ghcr.io/onnx-operator/runtime:dev' },
  { name: 'runtime-gpu', dockerfile: 'Dockerfile', target: 'runtime-gpu', tag: 'ghcr.io/onnx-operator/runtime:dev-gpu' },
  { name: 'echo', dockerfile: 'e2e/lab/images/Dockerfile', target: 'echo', tag: 'lab.onnxop.io/echo:v1' },
  { name: 'echo-v2', dockerfile: 'e2e/lab/images/Dockerfile', target: 'echo-v2', tag: 'lab.onnxop.io/echo:v2' },
  { name: 'crash', dockerfile: 'e2e/lab/images/Dockerfile', target: 'crash', tag: 'lab.onnxop.io/crash:v1' },
];

/** Bumped when the way images are built changes (flags, mounts), so every cache key changes. */
const recipe = 'buildah-chroot-layers-v1';

export const imageCache = path.join(process.env.ONNXOP_CACHE ?? path.join(os.homedir(), '.cache', 'onnx-operator'), 'images');
export const imageStore = process.env.ONNXOP_IMAGE_STORE ?? path.join(imageCache, 'storage');
/** overlay: layers as diffs (vfs copies the whole root filesystem per layer; use it only without overlayfs). */
export const storageDriver = process.env.ONNXOP_IMAGE_STORAGE_DRIVER ?? 'overlay';

export class ImageBuildError extends Error {
  readonly code: 'IMAGE_BUILD_FAILED' | 'IMAGE_PUSH_FAILED' | 'IMAGE_TOOLS_MISSING';
  constructor(code: ImageBuildError['code'], message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

export function buildah(...args: string[]): string[] {
  return ['--root', imageStore, '--runroot', path.join(imageStore, 'run'), '--storage-driver', storageDriver, ...args];
}

async function buildahOut(...args: string[]): Promise<string> {
  const { stdout } = await run('buildah', buildah(...args), { maxBuffer: 64 * 1024 * 1024 });
  return stdout.trim();
}

/** The image's ID in the lab store, or undefined. */
export async function localImageId(name: string): Promise<string | undefined> {
  try {
    const out = await buildahOut('inspect', '--type', 'image', '--format', '{{.FromImageID}}', name);
    return out || undefined;
  } catch {
    return undefined;
  }
}

function listFiles(root: string, rel: string, rules: ReturnType<typeof parseIgnore>, out: string[]): void {
  const abs = path.join(root, rel);
  const st = fs.lstatSync(abs, { throwIfNoEntry: false });
  if (!st || (rel !== '.' && isIgnored(rules, rel))) return;
  if (st.isDirectory()) {
    for (const e of fs.readdirSync(abs).sort()) listFiles(root, rel === '.' ? e : `${rel}/${e}`, rules, out);
  } else out.push(rel);
}

/** The cache key of one image: sha256 over its Dockerfile, target, base image IDs and context files. */
export async function inputsHash(image: LabImage, context = repoRoot): Promise<{ hash: string; files: number; bases: string[] }> {
  const dockerfileText = fs.readFileSync(path.join(context, image.dockerfile), 'utf8');
  const inputs = targetInputs(parseDockerfile(dockerfileText), image.target);
  const ignoreFile = path.join(context, '.dockerignore');
  const rules = parseIgnore(fs.existsSync(ignoreFile) ? fs.readFileSync(ignoreFile, 'utf8') : '');
  const h = crypto.createHash('sha256').update(`${recipe}\n${image.dockerfile}\n${image.target}\n${dockerfileText}\n`);
  for (const base of inputs.images) {
    const id = await localImageId(base);
    if (!id) throw new ImageBuildError('IMAGE_BUILD_FAILED', `base image ${base} of ${image.name} is not in the lab image store; run bash e2e/lab/image-build/base.sh`);
    h.update(`base ${base} ${id}\n`);
  }
  const files: string[] = [];
  for (const p of inputs.contextPaths) listFiles(context, p, rules, files);
  for (const f of [...new Set(files)].sort()) {
    const abs = path.join(context, f);
    const st = fs.lstatSync(abs);
    const content = st.isSymbolicLink() ? fs.readlinkSync(abs) : fs.readFileSync(abs);
    h.update(`file ${f} ${st.mode & 0o111 ? 'x' : '-'} ${crypto.createHash('sha256').update(content).digest('hex')}\n`);
  }
  return { hash: h.digest('hex'), files: files.length, bases: inputs.images };
}

export const cacheTag = (image: LabImage, hash: string): string => `localhost/onnxop-cache/${image.name}:${hash.slice(0, 16)}`;

/**
 * Mounts for RUN steps on a machine whose TLS is intercepted (a CA beyond the public ones, as npm's
 * `cafile` or NODE_EXTRA_CA_CERTS says): npm and pip inside the build trust it too. The npm cache
 * is shared with the host's, like a BuildKit cache mount. None of it lands in an image: only build
 * stages run npm or pip, and the images copy their results.
 */
function buildMounts(): string[] {
  const mounts: string[] = [];
  const ca = process.env.NODE_EXTRA_CA_CERTS ?? process.env.npm_config_cafile;
  const work = path.join(imageCache, 'build-config');
  fs.mkdirSync(work, { recursive: true });
  if (ca && fs.existsSync(ca)) {
    fs.writeFileSync(path.join(work, 'npmrc'), 'cafile=/run/onnxop-build-ca.crt\n');
    fs.writeFileSync(path.join(work, 'pip.conf'), '[global]\ncert = /run/onnxop-build-ca.crt\n');
    mounts.push('-v', `${ca}:/run/onnxop-build-ca.crt:ro`, '-v', `${path.join(work, 'npmrc')}:/usr/local/etc/npmrc:ro`, '-v', `${path.join(work, 'pip.conf')}:/etc/pip.conf:ro`);
  }
  const npmCache = path.join(os.homedir(), '.npm');
  fs.mkdirSync(npmCache, { recursive: true });
  mounts.push('-v', `${npmCache}:/root/.npm`);
  return mounts;
}

function runLogged(args: string[], logFile: string): Promise<void> {
  fs.mkdirSync(path.dirname(logFile), { recursive: true });
  const fd = fs.openSync(logFile, 'w');
  return new Promise((resolve, reject) => {
    const child = spawn('buildah', args, { stdio: ['ignore', fd, fd] });
    child.on('error', (err) => reject(err));
    child.on('exit', (code) => {
      fs.closeSync(fd);
      if (code === 0) resolve();
      else reject(new Error(`buildah exited with ${code}: ${fs.readFileSync(logFile, 'utf8').trim().split('\n').slice(-15).join('\n')}`));
    });
  });
}

export interface BuiltImage {
  name: string;
  tag: string;
  hash: string;
  imageId: string;
  /** Uncompressed size in bytes, as buildah reports it. */
  size: number;
  /** False when the cached image was reused. */
  built: boolean;
  seconds: number;
  /** After a push: the manifest digest the registry holds and the digest reference pods use. */
  digest?: string;
  ref?: string;
}

const units: Record<string, number> = { B: 1, kB: 1e3, KB: 1e3, MB: 1e6, GB: 1e9 };

/** buildah reports sizes as text ("717 MB"); bytes, to the precision it gives. */
export function parseSize(text: string): number {
  const m = /^([\d.]+)\s*([kKMG]?B)$/.exec(text.trim());
  return m && m[1] && m[2] ? Math.round(Number(m[1]) * (units[m[2]] ?? 1)) : 0;
}

async function imageSize(name: string): Promise<number> {
  const list = JSON.parse(await buildahOut('images', '--json', name)) as { size?: string }[];
  return parseSize(list[0]?.size ?? '');
}

export async function buildImage(image: LabImage, log: (msg: string) => void): Promise<BuiltImage> {
  const { hash } = await inputsHash(image);
  const cached = cacheTag(image, hash);
  const started = Date.now();
  let built = false;
  if ((await localImageId(cached)) === undefined) {
    log(`building ${image.name} (${image.dockerfile} --target ${image.target})`);
    const logFile = path.join(imageCache, 'logs', `${image.name}.log`);
    try {
      await runLogged(
        buildah('bud', '--isolation', 'chroot', '--pull=never', '--layers', ...buildMounts(), '-f', path.join(repoRoot, image.dockerfile), '--target', image.target, '-t', cached, repoRoot),
        logFile,
      );
    } catch (err) {
      throw new ImageBuildError('IMAGE_BUILD_FAILED', `building ${image.name} failed (full log ${logFile}):\n${(err as Error).message}`, { cause: err });
    }
    built = true;
  }
  await buildahOut('tag', cached, image.tag);
  // Older builds of this image go; their layers with them once nothing else uses them (prune below).
  const prefix = `localhost/onnxop-cache/${image.name}:`;
  const old = (await buildahOut('images', '--noheading', '--format', '{{.Name}}:{{.Tag}}', '--filter', `reference=${prefix}*`))
    .split('\n')
    .filter((n) => n.startsWith(prefix) && n !== cached);
  if (old.length > 0) await buildahOut('rmi', ...old).catch(() => '');
  const imageId = (await localImageId(cached)) ?? '';
  const seconds = (Date.now() - started) / 1000;
  const size = await imageSize(cached);
  log(`${image.name}: ${built ? `built in ${seconds.toFixed(0)} s` : 'unchanged, reused'} (${(size / 1e6).toFixed(0)} MB, inputs ${hash.slice(0, 12)})`);
  return { name: image.name, tag: image.tag, hash, imageId, size, built, seconds };
}

/** Pushes to the lab registry under the image's public name (see image-ref.ts) and returns the digest. */
export async function pushImage(image: BuiltImage, registry: string): Promise<BuiltImage> {
  const dest = labPushName(image.tag, registry);
  const digestFile = path.join(imageCache, `push-${image.name}-${process.pid}.digest`);
  try {
    await run('buildah', buildah('push', '--quiet', '--tls-verify=false', '--digestfile', digestFile, cacheTag(labImages.find((i) => i.name === image.name)!, image.hash), `docker://${dest}`), { maxBuffer: 16 * 1024 * 1024 });
  } catch (err) {
    throw new ImageBuildError('IMAGE_PUSH_FAILED', `pushing ${image.name} to ${registry} failed: ${(err as { stderr?: string }).stderr?.trim() || String(err)}; is the lab registry up (npm run lab -- up)?`, { cause: err });
  }
  const digest = fs.readFileSync(digestFile, 'utf8').trim();
  fs.rmSync(digestFile, { force: true });
  const ref = parseImageRef(image.tag);
  return { ...image, digest, ref: `${ref.domain}/${ref.path}@${digest}` };
}

/** Serializes builds between processes (two test runs at once share one store). */
async function withLock<T>(fn: () => Promise<T>): Promise<T> {
  fs.mkdirSync(imageCache, { recursive: true });
  const lock = path.join(imageCache, '.build.lock');
  for (;;) {
    try {
      fs.writeFileSync(lock, String(process.pid), { flag: 'wx' });
      break;
    } catch {
      const holder = Number(fs.readFileSync(lock, 'utf8').trim());
      let alive = false;
      try {
        process.kill(holder, 0);
        alive = holder !== process.pid;
      } catch {
        alive = false;
      }
      if (!alive) fs.rmSync(lock, { force: true });
      else await new Promise((r) => setTimeout(r, 1000));
    }
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(lock, { force: true });
  }
}

export async function ensureBases(log: (msg: string) => void): Promise<void> {
  for (const tool of ['buildah', 'mmdebstrap', 'umoci']) {
    const found = await run('bash', ['-c', `command -v ${tool}`]).then(() => true, () => false);
    if (!found) throw new ImageBuildError('IMAGE_TOOLS_MISSING', `${tool} is missing; run 'npm run setup' (installs the Debian packages buildah, mmdebstrap, umoci, runc, docker-registry)`);
  }
  const started = Date.now();
  await new Promise<void>((resolve, reject) => {
    const child = spawn('bash', [path.join(repoRoot, 'e2e/lab/image-build/base.sh')], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      for (const line of d.toString().trim().split('\n')) if (line.startsWith('[image-base]')) log(line.replace('[image-base] ', ''));
    });
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new ImageBuildError('IMAGE_BUILD_FAILED', `base.sh failed:\n${err.trim().split('\n').slice(-15).join('\n')}`))));
  });
  if (Date.now() - started > 5000) log(`bases ready in ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

export async function buildImages(opts: { only?: string[]; registry?: string; log: (msg: string) => void }): Promise<BuiltImage[]> {
  return withLock(async () => {
    await ensureBases(opts.log);
    // Working containers a killed build left behind.
    await buildahOut('rm', '--all').catch(() => '');
    const chosen = labImages.filter((i) => !opts.only || opts.only.includes(i.name));
    const out: BuiltImage[] = [];
    for (const image of chosen) {
      let built = await buildImage(image, opts.log);
      if (opts.registry) built = await pushImage(built, opts.registry);
      out.push(built);
    }
    // No `rmi --prune`: the results of build-only stages (deps, cuda) look dangling to it (only
    // COPY --from uses them) and are exactly the layers worth keeping (npm ci, 1.3 GB of wheels).
    return out;
  });
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const value = (flag: string): string | undefined => {
    const i = args.indexOf(flag);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const only = value('--only')?.split(',');
  const registry = value('--push');
  const images = await buildImages({ ...(only ? { only } : {}), ...(registry ? { registry } : {}), log: (m) => process.stderr.write(`[images] ${m}\n`) });
  if (args.includes('--json')) process.stdout.write(`${JSON.stringify(images, null, 2)}\n`);
  else for (const i of images) process.stdout.write(`${i.name.padEnd(12)} ${(i.size / 1e6).toFixed(0).padStart(6)} MB  ${i.built ? `built ${i.seconds.toFixed(0)} s` : 'reused'}  ${i.ref ?? i.tag}\n`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  main().catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
