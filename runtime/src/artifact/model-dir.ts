// A model directory: an ONNX file whose weights live in external-data files next to it, signed as
// a whole with OpenSSF model_signing. Before anything is loaded the runtime re-checks the directory
// against the signed manifest (the in-toto statement in the bundle): the manifest digest must be
// --model-digest, and every file on disk must be listed with its digest, nothing more, nothing less.
// The signature itself was verified by the operator before the pod existed; the runtime needs no
// trust material because --model-digest pins the manifest digest, which binds every file digest.
//
// The ONNX file and the external data it references are read into memory once, hashed, and those
// very bytes go to onnxruntime (in-memory external data: onnxruntime opens no file itself), so a file
// swapped after the check is never loaded. Other files (tokenizers, configs) are hashed from disk.
import { readFile, stat } from 'node:fs/promises';
import { openSync, readSync, closeSync, fstatSync } from 'node:fs';
import { isAbsolute, join, posix, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RuntimeError, errorMessage } from '../errors.ts';
import { externalDataLocations } from '../model/onnx-inspect.ts';
import type { ExternalDataFile } from '../model/worker-protocol.ts';
import { httpGet, redact, withRetries, type FetchOptions } from './fetch.ts';
import type * as Manifest from '../../../lib/verify/manifest.ts';

/** Largest bundle read (a manifest lists one digest per file or shard). */
const MAX_BUNDLE_BYTES = 64 * 1024 * 1024;

export interface ModelDirArtifact {
  bytes: Uint8Array;
  externalData: ExternalDataFile[];
  digest: string;
  source: string;
  /** Files checked against the manifest, and the bytes held for onnxruntime. */
  files: number;
  loadedBytes: number;
}

/** The local path of a file:// URI or plain path; undefined for remote sources. */
export function localPath(uri: string): string | undefined {
  if (uri.startsWith('file://')) return fileURLToPath(uri);
  return uri.includes('://') ? undefined : uri;
}

/** True when the model URI names a local directory. */
export async function isLocalDirectory(uri: string): Promise<boolean> {
  const path = localPath(uri);
  if (path === undefined) return false;
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

// The verifier's manifest code (lib/verify/manifest.ts, no Sigstore dependencies) is
// loaded only when a manifest is needed, so an image without it still serves single files.
let manifestModule: Promise<typeof Manifest> | undefined;
async function manifestCode(): Promise<typeof Manifest> {
  manifestModule ??= import('../../../lib/verify/manifest.ts');
  try {
    return await manifestModule;
  } catch (err) {
    manifestModule = undefined;
    throw new RuntimeError('MANIFEST_INVALID', `the manifest checker (lib/verify/manifest.ts) is not in this runtime image: ${errorMessage(err)}; use an image built from the project's Dockerfile`, { cause: err });
  }
}

/** Reads the bundle and returns its signed manifest; MANIFEST_INVALID names what is wrong. */
export async function readManifest(location: string, fetchOpts: FetchOptions): Promise<{ manifest: Manifest.ModelManifest; path?: string }> {
  const { modelManifestFromBundle } = await manifestCode();
  const source = redact(location);
  let raw: Uint8Array;
  const path = localPath(location);
  if (path === undefined) {
    raw = await withRetries(`the manifest bundle ${source}`, { ...fetchOpts, maxBytes: MAX_BUNDLE_BYTES }, async () => (await httpGet(location, { ...fetchOpts, maxBytes: MAX_BUNDLE_BYTES })).bytes).catch((err: unknown) => {
      throw new RuntimeError('MANIFEST_INVALID', `cannot read --manifest-bundle ${source}: ${errorMessage(err)}`, { cause: err });
    });
  } else {
    try {
      raw = await readFile(path);
    } catch (err) {
      throw new RuntimeError('MANIFEST_INVALID', `cannot read --manifest-bundle ${path}: ${errorMessage(err)}; mount the model_signing bundle the operator verified and point --manifest-bundle (ONNXOP_MANIFEST_BUNDLE) at it`, { cause: err });
    }
  }
  try {
    return { manifest: modelManifestFromBundle(raw), ...(path === undefined ? {} : { path: resolve(path) }) };
  } catch (err) {
    throw new RuntimeError('MANIFEST_INVALID', `--manifest-bundle ${source} is not a usable model_signing bundle: ${errorMessage(err)}; sign the directory with model_signing (files or shards serialization, sha256)`, { cause: err });
  }
}

/**
 * Reads a whole file into memory. External data goes into a SharedArrayBuffer, so the session
 * workers share one copy (posting it copies nothing); the ONNX file itself stays an ordinary buffer
 * (onnxruntime-node loads a model only from an ArrayBuffer).
 */
function readWhole(path: string, shared: boolean): Uint8Array {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const out = shared ? new Uint8Array(new SharedArrayBuffer(size)) : Buffer.allocUnsafe(size);
    let pos = 0;
    while (pos < size) {
      const n = readSync(fd, out, pos, size - pos, pos);
      if (n === 0) throw new Error(`${path} shrank while being read`);
      pos += n;
    }
    return out;
  } finally {
    closeSync(fd);
  }
}

/** A location as written in the model → a path relative to the directory, or why it is refused. */
function resolveLocation(modelRel: string, location: string): string {
  if (location === '' || isAbsolute(location) || location.includes('\\')) throw new Error(`external data location ${JSON.stringify(location)} is not a relative path`);
  const rel = posix.normalize(posix.join(posix.dirname(modelRel), location));
  if (rel.startsWith('../') || rel === '..') throw new Error(`external data location ${JSON.stringify(location)} points outside the model directory`);
  return rel;
}

export interface ModelDirOptions {
  /** The ONNX file inside the directory; '' = the only top-level *.onnx file. */
  modelFile: string;
  manifestBundle: string;
  expectedDigest: string;
  maxBytes: number;
  fetch: FetchOptions;
}

/** Checks the directory against the signed manifest and returns the verified bytes to load. */
export async function loadModelDir(dir: string, opts: ModelDirOptions): Promise<ModelDirArtifact> {
  dir = resolve(dir);
  if (opts.manifestBundle === '') {
    throw new RuntimeError(
      'MANIFEST_INVALID',
      `refusing to load ${dir}: it is a model directory and --manifest-bundle (ONNXOP_MANIFEST_BUNDLE) is not set; a directory is served only after every file is checked against its signed model_signing manifest`,
    );
  }
  const m = await manifestCode();
  const { manifest, path: bundlePath } = await readManifest(opts.manifestBundle, opts.fetch);
  const signed = `sha256:${manifest.digest}`;
  if (signed !== opts.expectedDigest) {
    throw new RuntimeError(
      'DIGEST_MISMATCH',
      `refusing to load ${dir}: the signed manifest in ${redact(opts.manifestBundle)} has digest ${signed} but --model-digest pins ${opts.expectedDigest}; the bundle is for another model version, or the digest is wrong — pin the manifest digest that was signed`,
    );
  }
  const mismatch = (err: unknown): RuntimeError =>
    new RuntimeError('MANIFEST_MISMATCH', `refusing to load ${dir}: ${errorMessage(err)}; the directory changed after signing — restore the signed files or re-sign the directory`, { cause: err });

  // The bundle may sit inside the directory (model_signing lists it in ignore_paths then; skip it anyway).
  const skip = new Set<string>(bundlePath ? [bundlePath] : []);
  let files: string[];
  try {
    files = m.listModelFiles(dir, manifest, skip);
  } catch (err) {
    if ((err as { reason?: string }).reason === 'ManifestMismatch') throw mismatch(err);
    throw new RuntimeError('ARTIFACT_FETCH_FAILED', `cannot read the model directory ${dir}: ${errorMessage(err)}; check --model-uri and the volume mount`, { cause: err });
  }

  let modelRel = opts.modelFile === '' ? '' : posix.normalize(opts.modelFile);
  if (modelRel === '') {
    const top = files.filter((f) => !f.includes('/') && f.endsWith('.onnx'));
    if (top.length !== 1) {
      throw new RuntimeError('CONFIG_INVALID', `${dir} has ${top.length === 0 ? 'no' : `${top.length}`} .onnx files at its top level${top.length ? ` (${top.join(', ')})` : ''}; name the model with --model-file (ONNXOP_MODEL_FILE)`);
    }
    modelRel = top[0]!;
  }
  if (!files.includes(modelRel)) {
    // Missing from disk: say so in the manifest's terms when the manifest lists it.
    const listed = manifest.resources.some((r) => r.name === modelRel || r.name.startsWith(`${modelRel}:`));
    if (listed) throw mismatch(new Error(`model does not match the signed manifest: missing ${modelRel}`));
    throw new RuntimeError('CONFIG_INVALID', `--model-file ${modelRel} is not a file of ${dir} (files: ${files.slice(0, 10).join(', ')}${files.length > 10 ? ', …' : ''})`);
  }

  // Read what onnxruntime will load: the ONNX file and the external data it references.
  const held = new Map<string, Uint8Array>();
  let loadedBytes = 0;
  const hold = (rel: string, shared: boolean): Uint8Array => {
    let bytes = held.get(rel);
    if (bytes) return bytes;
    try {
      bytes = readWhole(join(dir, rel), shared);
    } catch (err) {
      throw new RuntimeError('ARTIFACT_FETCH_FAILED', `cannot read ${join(dir, rel)}: ${errorMessage(err)}`, { cause: err });
    }
    loadedBytes += bytes.length;
    if (loadedBytes > opts.maxBytes) {
      throw new RuntimeError('ARTIFACT_TOO_LARGE', `${dir}: the model and its external data are larger than --max-model-bytes=${opts.maxBytes}; raise the limit if this model is expected to be that big`);
    }
    held.set(rel, bytes);
    return bytes;
  };
  const modelBytes = hold(modelRel, false);
  const source = join(dir, modelRel);
  const externalData: ExternalDataFile[] = [];
  const unresolved: string[] = [];
  let escaping: RuntimeError | undefined;
  for (const location of externalDataLocations(modelBytes, source)) {
    let rel: string;
    try {
      rel = resolveLocation(modelRel, location);
    } catch (err) {
      // Reported after the manifest check: a changed model file is a mismatch first.
      escaping ??= new RuntimeError('MODEL_CORRUPT', `${source}: ${errorMessage(err)}; onnxruntime may only read external data from the verified directory`);
      continue;
    }
    if (!files.includes(rel)) {
      unresolved.push(rel);
      continue;
    }
    externalData.push({ path: location, data: hold(rel, true) });
  }

  // Every file against the manifest: held files from the bytes in memory, the rest streamed.
  const actual = new Map<string, string>();
  try {
    for (const rel of files) {
      const entries = held.has(rel) ? m.resourcesOfBytes(rel, held.get(rel)!, manifest) : m.resourcesOfFile(rel, join(dir, rel), manifest);
      for (const [name, digest] of entries) actual.set(name, digest);
    }
  } catch (err) {
    throw new RuntimeError('ARTIFACT_FETCH_FAILED', `cannot read the model directory ${dir}: ${errorMessage(err)}`, { cause: err });
  }
  try {
    m.compareWithManifest(actual, manifest);
  } catch (err) {
    throw mismatch(err);
  }
  if (escaping) throw escaping;
  if (unresolved.length > 0) {
    // Signed, but incomplete: onnxruntime would look for these elsewhere. Never let it.
    throw new RuntimeError('MODEL_CORRUPT', `${source} references external data ${unresolved.join(', ')}, which is not in the signed directory ${dir}; ship the external-data files with the model and re-sign`);
  }
  return { bytes: modelBytes, externalData, digest: opts.expectedDigest, source, files: files.length, loadedBytes };
}

/**
 * With a single file and a bundle: the signed manifest must list exactly that file (files
 * serialization), with the digest the runtime already verified.
 */
export async function checkFileAgainstManifest(fileDigest: string, source: string, manifestBundle: string, fetchOpts: FetchOptions): Promise<void> {
  const { manifest } = await readManifest(manifestBundle, fetchOpts);
  const only = manifest.resources.length === 1 && manifest.method === 'files' ? manifest.resources[0]! : undefined;
  if (!only || `sha256:${only.digest}` !== fileDigest) {
    throw new RuntimeError(
      'MANIFEST_MISMATCH',
      `refusing to load ${source}: the signed manifest in ${redact(manifestBundle)} lists ${manifest.resources.length} ${manifest.method === 'shards' ? 'shards' : 'files'}${only ? ` with digest sha256:${only.digest}` : ''}, not this one file with ${fileDigest}; point --manifest-bundle at the bundle signed for this file, or serve the signed directory`,
    );
  }
}
