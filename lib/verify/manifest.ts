// The OpenSSF Model Signing manifest (an in-toto statement) and how a model on disk is checked
// against it: files serialization (one digest per file) and shards serialization (one per
// `path:start:end` byte range).
import { createHash } from 'node:crypto';
import { openSync, readSync, closeSync, readdirSync, lstatSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { VerifyError } from './types.ts';

export const MODEL_SIGNING_PREDICATE = 'https://model_signing/signature/v1.0';
const INTOTO = 'application/vnd.in-toto+json';

export interface ModelManifest {
  subjectName: string;
  /** hex sha256 over the concatenated resource digests (the statement's subject digest). */
  digest: string;
  method: 'files' | 'shards';
  shardSize?: number;
  ignorePaths: string[];
  allowSymlinks: boolean;
  /** name → hex digest; for shards `path:start:end`. Sorted by name. */
  resources: Array<{ name: string; digest: string }>;
}

export interface Statement {
  _type?: string;
  subject?: Array<{ name?: string; digest?: Record<string, string> }>;
  predicateType?: string;
  predicate?: Record<string, unknown>;
}

const HEX64 = /^[0-9a-f]{64}$/;

export function parseModelManifest(st: Statement): ModelManifest {
  const subj = st.subject?.[0];
  if (!subj || st.subject?.length !== 1) throw new VerifyError('BundleInvalid', 'model_signing statement must have exactly one subject');
  const pred = st.predicate ?? {};
  const ser = (pred.serialization ?? {}) as Record<string, unknown>;
  const method = ser.method;
  if (method !== 'files' && method !== 'shards') throw new VerifyError('UnsupportedAlgorithm', `unsupported model_signing serialization ${JSON.stringify(method)}`);
  const hashType = ser.hash_type;
  if (hashType !== 'sha256') throw new VerifyError('UnsupportedAlgorithm', `unsupported manifest hash ${JSON.stringify(hashType)} (only sha256)`);
  const subjectDigest = subj.digest?.sha256;
  if (typeof subjectDigest !== 'string' || !HEX64.test(subjectDigest)) {
    const algs = Object.keys(subj.digest ?? {}).join(',');
    throw new VerifyError(algs ? 'UnsupportedAlgorithm' : 'BundleInvalid', `statement subject has no sha256 digest (${algs || 'none'})`);
  }
  const raw = pred.resources;
  if (!Array.isArray(raw) || raw.length === 0) throw new VerifyError('BundleInvalid', 'model_signing manifest lists no resources');
  const shardSize = typeof ser.shard_size === 'number' ? ser.shard_size : undefined;
  const resources = raw.map((r: unknown) => {
    const o = (r ?? {}) as Record<string, unknown>;
    // files: "sha256"; shards: "sha256-sharded-<shard size>".
    if (o.algorithm !== 'sha256' && !(method === 'shards' && o.algorithm === `sha256-sharded-${shardSize}`)) throw new VerifyError('UnsupportedAlgorithm', `unsupported resource hash ${JSON.stringify(o.algorithm)}`);
    if (typeof o.name !== 'string' || typeof o.digest !== 'string' || !HEX64.test(o.digest)) throw new VerifyError('BundleInvalid', 'malformed manifest resource');
    return { name: o.name, digest: o.digest };
  });
  // The subject digest binds the list: sha256 over the resource digests in the signed order.
  const h = createHash('sha256');
  for (const r of resources) h.update(Buffer.from(r.digest, 'hex'));
  if (h.digest('hex') !== subjectDigest) throw new VerifyError('ManifestMismatch', 'statement subject digest does not match its resource list');
  const m: ModelManifest = {
    subjectName: subj.name ?? '',
    digest: subjectDigest,
    method,
    ignorePaths: Array.isArray(ser.ignore_paths) ? ser.ignore_paths.filter((p): p is string => typeof p === 'string') : [],
    allowSymlinks: ser.allow_symlinks === true,
    resources,
  };
  if (method === 'shards') {
    if (typeof ser.shard_size !== 'number' || ser.shard_size <= 0) throw new VerifyError('BundleInvalid', 'shards serialization without shard_size');
    m.shardSize = ser.shard_size;
  }
  return m;
}

function hashRange(path: string, start: number, end: number): string {
  const h = createHash('sha256');
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    let pos = start;
    while (pos < end) {
      const n = readSync(fd, buf, 0, Math.min(buf.length, end - pos), pos);
      if (n === 0) break;
      h.update(buf.subarray(0, n));
      pos += n;
    }
  } finally {
    closeSync(fd);
  }
  return h.digest('hex');
}

export function sha256File(path: string): string {
  return hashRange(path, 0, statSync(path).size);
}

/** Lists a model's files (posix relative paths), skipping the manifest's ignore paths and `skip` (absolute paths). */
export function listModelFiles(root: string, m: ModelManifest, skip: Set<string>): string[] {
  const out: string[] = [];
  const ignored = (rel: string): boolean => m.ignorePaths.some((p) => rel === p || rel.startsWith(p + '/') || rel.split('/').includes(p));
  const walk = (dir: string): void => {
    for (const ent of readdirSync(dir, { withFileTypes: true })) {
      const abs = join(dir, ent.name);
      const rel = relative(root, abs).split(sep).join('/');
      if (ignored(rel) || skip.has(abs)) continue;
      if (ent.isSymbolicLink() && !m.allowSymlinks) throw new VerifyError('ManifestMismatch', `symbolic link ${rel} in the model directory`);
      const st = lstatSync(abs).isSymbolicLink() ? statSync(abs) : lstatSync(abs);
      if (st.isDirectory()) walk(abs);
      else if (st.isFile()) out.push(rel);
    }
  };
  walk(root);
  return out.sort();
}

/** The manifest resources one file contributes, from its bytes in memory (files: one digest; shards: one per range). */
export function resourcesOfBytes(rel: string, bytes: Uint8Array, m: ModelManifest): Array<[string, string]> {
  const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
  if (m.method === 'files') return [[rel, sha(bytes)]];
  const shard = m.shardSize!;
  const out: Array<[string, string]> = [];
  if (bytes.length === 0) out.push([`${rel}:0:0`, sha(bytes)]);
  for (let s = 0; s < bytes.length; s += shard) {
    const e = Math.min(bytes.length, s + shard);
    out.push([`${rel}:${s}:${e}`, sha(bytes.subarray(s, e))]);
  }
  return out;
}

/** The manifest resources one file on disk contributes (streamed, never held in memory whole). */
export function resourcesOfFile(rel: string, abs: string, m: ModelManifest): Array<[string, string]> {
  if (m.method === 'files') return [[rel, sha256File(abs)]];
  const size = statSync(abs).size;
  const shard = m.shardSize!;
  const out: Array<[string, string]> = [];
  if (size === 0) out.push([`${rel}:0:0`, hashRange(abs, 0, 0)]);
  for (let s = 0; s < size; s += shard) {
    const e = Math.min(size, s + shard);
    out.push([`${rel}:${s}:${e}`, hashRange(abs, s, e)]);
  }
  return out;
}

/** What the files on disk hash to, in the manifest's own serialization. */
function actualResources(path: string, m: ModelManifest, isDir: boolean, skip: Set<string>): Map<string, string> {
  const files = isDir ? listModelFiles(path, m, skip).map((rel) => ({ rel, abs: join(path, rel) })) : [{ rel: '.', abs: path }];
  const out = new Map<string, string>();
  for (const f of files) for (const [name, digest] of resourcesOfFile(f.rel, f.abs, m)) out.set(name, digest);
  return out;
}

/**
 * Compares resource digests (name → hex) with the manifest; ManifestMismatch names the first
 * differences (missing, changed, extra). `file`: the path of a single signed file, which the
 * manifest calls `.` (model_signing's name for "the file that was signed").
 */
export function compareWithManifest(actual: ReadonlyMap<string, string>, m: ModelManifest, file?: string): void {
  const expected = new Map(m.resources.map((r) => [r.name, r.digest]));
  const shown = (name: string): string => (file !== undefined && (name === '.' || name.startsWith('.:')) ? `${file}${name.slice(1)}` : name);
  const problems: string[] = [];
  for (const [name, digest] of expected) {
    const got = actual.get(name);
    if (got === undefined) problems.push(`missing ${shown(name)}`);
    else if (got !== digest) problems.push(`${shown(name)} differs from the signed digest (signed sha256:${digest.slice(0, 16)}…, found sha256:${got.slice(0, 16)}…)`);
  }
  for (const name of actual.keys()) if (!expected.has(name)) problems.push(`extra ${shown(name)} not in the signed manifest`);
  if (problems.length > 0) {
    const more = problems.length > 3 ? ` (and ${problems.length - 3} more)` : '';
    throw new VerifyError('ManifestMismatch', `model does not match the signed manifest: ${problems.slice(0, 3).join('; ')}${more}`);
  }
}

/** Checks a file or directory on disk against the manifest; ManifestMismatch names the first difference. */
export function checkManifestOnDisk(path: string, m: ModelManifest, skip: Set<string> = new Set()): void {
  const isDir = statSync(path).isDirectory();
  try {
    compareWithManifest(actualResources(path, m, isDir, skip), m, isDir ? undefined : path);
  } catch (err) {
    if (!(err instanceof VerifyError) || err.reason !== 'ManifestMismatch') throw err;
    throw new VerifyError('ManifestMismatch', `${err.message}; restore the signed files, or sign the model again`, { cause: err });
  }
}

/**
 * The in-toto statement of a DSSE envelope, without any signature check (the verifier checks the
 * signature over the same payload; the runtime, which holds no trust material, only reads it).
 */
export function statementFromPayload(payloadType: string, payload: Uint8Array): Statement {
  if (payloadType !== INTOTO) throw new VerifyError('BundleInvalid', `DSSE payload type ${payloadType} is not in-toto`);
  try {
    return JSON.parse(Buffer.from(payload).toString('utf8')) as Statement;
  } catch (cause) {
    throw new VerifyError('BundleInvalid', 'DSSE payload is not JSON', { cause });
  }
}

/**
 * The model_signing manifest a bundle carries, read from the bundle's JSON alone (no Sigstore
 * parsing, no signature check): for a consumer that re-checks files against a manifest whose
 * signature was verified elsewhere (the runtime, after the operator verified it).
 */
export function modelManifestFromBundle(raw: Uint8Array | string): ModelManifest {
  const text = typeof raw === 'string' ? raw : Buffer.from(raw).toString('utf8');
  if (text.trim() === '') throw new VerifyError('BundleNotFound', 'the signature bundle is empty');
  let json: { dsseEnvelope?: { payloadType?: unknown; payload?: unknown } };
  try {
    json = JSON.parse(text) as typeof json;
  } catch (cause) {
    throw new VerifyError('BundleInvalid', `bundle is not JSON (${(cause as Error).message})`, { cause });
  }
  const env = json?.dsseEnvelope;
  if (!env || typeof env.payload !== 'string' || typeof env.payloadType !== 'string') throw new VerifyError('BundleInvalid', 'not a model_signing bundle: no DSSE envelope with an in-toto statement');
  const st = statementFromPayload(env.payloadType, Buffer.from(env.payload, 'base64'));
  if (st.predicateType !== MODEL_SIGNING_PREDICATE) throw new VerifyError('BundleInvalid', `not a model_signing statement (predicate type ${JSON.stringify(st.predicateType)})`);
  return parseModelManifest(st);
}
