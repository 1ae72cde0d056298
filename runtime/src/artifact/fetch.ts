// Fetches the model artifact into memory and verifies its sha256 before anything parses it. The
// bytes handed to onnxruntime are exactly the bytes that were hashed (no re-read from disk), so a
// file swapped after the check can never be loaded.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { RuntimeError, errorMessage } from '../errors.ts';
import { fetchOciLayer, parseOciUri } from './oci.ts';

export interface FetchOptions {
  maxBytes: number;
  timeoutMs: number;
  retries: number;
  ociPlainHttp: boolean;
  /** Back-off base between retries; tests shorten it. */
  retryBaseMs?: number;
  onRetry?: (attempt: number, err: unknown) => void;
}

export interface Artifact {
  bytes: Buffer;
  digest: string;
  source: string;
}

export function sha256Digest(bytes: Uint8Array): string {
  return 'sha256:' + createHash('sha256').update(bytes).digest('hex');
}

export function verifyDigest(bytes: Uint8Array, expected: string, source: string): void {
  const actual = sha256Digest(bytes);
  if (actual !== expected) {
    throw new RuntimeError(
      'DIGEST_MISMATCH',
      `refusing to load ${source}: its sha256 is ${actual} but --model-digest pins ${expected}; the artifact changed or the digest is wrong — re-publish the model or fix the pinned digest`,
    );
  }
}

const tooLarge = (source: string, max: number): RuntimeError =>
  new RuntimeError('ARTIFACT_TOO_LARGE', `${source} is larger than --max-model-bytes=${max}; raise the limit if this model is expected to be that big`);

/** Reads a whole response body, aborting as soon as it passes maxBytes. */
export async function readLimited(body: ReadableStream<Uint8Array> | NodeJS.ReadableStream, maxBytes: number, source: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Uint8Array>) {
    size += chunk.length;
    if (size > maxBytes) throw tooLarge(source, maxBytes);
    chunks.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
  }
  return Buffer.concat(chunks, size);
}

/** Errors worth another attempt: network failures, timeouts, 5xx and 429. */
export class RetryableError extends Error {}

export async function withRetries<T>(what: string, opts: FetchOptions, attempt: () => Promise<T>): Promise<T> {
  let last: unknown;
  for (let i = 0; i <= opts.retries; i++) {
    try {
      return await attempt();
    } catch (err) {
      last = err;
      if (!(err instanceof RetryableError) || i === opts.retries) break;
      opts.onRetry?.(i + 1, err);
      const base = opts.retryBaseMs ?? 500;
      await new Promise((r) => setTimeout(r, base * 2 ** i * (0.5 + Math.random() / 2)));
    }
  }
  if (last instanceof RuntimeError) throw last;
  throw new RuntimeError('ARTIFACT_FETCH_FAILED', `could not fetch ${what}: ${errorMessage(last)}; check --model-uri and that the source is reachable`, { cause: last });
}

/** One HTTP GET with a timeout and a size limit; 5xx/429/network errors are retryable. */
export async function httpGet(url: string, opts: FetchOptions, headers: Record<string, string> = {}): Promise<{ bytes: Buffer; headers: Headers }> {
  let res: Response;
  try {
    res = await fetch(url, { headers, redirect: 'follow', signal: AbortSignal.timeout(opts.timeoutMs) });
  } catch (err) {
    throw new RetryableError(`GET ${redact(url)} failed: ${errorMessage(err)}${(err as Error).cause ? ` (${errorMessage((err as Error).cause)})` : ''}`, { cause: err });
  }
  if (!res.ok) {
    await res.body?.cancel();
    const msg = `GET ${redact(url)} answered ${res.status} ${res.statusText}`;
    if (res.status >= 500 || res.status === 429) throw new RetryableError(msg);
    throw new HttpStatusError(msg, res.status, res.headers);
  }
  const declared = Number(res.headers.get('content-length') ?? NaN);
  if (declared > opts.maxBytes) {
    await res.body?.cancel();
    throw tooLarge(redact(url), opts.maxBytes);
  }
  try {
    const bytes = res.body ? await readLimited(res.body, opts.maxBytes, redact(url)) : Buffer.alloc(0);
    return { bytes, headers: res.headers };
  } catch (err) {
    if (err instanceof RuntimeError) throw err;
    throw new RetryableError(`reading ${redact(url)} failed: ${errorMessage(err)}`, { cause: err });
  }
}

export class HttpStatusError extends Error {
  readonly status: number;
  readonly headers: Headers;
  constructor(message: string, status: number, headers: Headers) {
    super(message);
    this.status = status;
    this.headers = headers;
  }
}

/** Never log credentials that may be embedded in a URL. */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.username || u.password) {
      u.username = '***';
      u.password = '';
    }
    u.search = u.search ? '?…' : '';
    return u.toString();
  } catch {
    return url;
  }
}

async function readFileLimited(path: string, maxBytes: number): Promise<Buffer> {
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch (err) {
    throw new RuntimeError('ARTIFACT_FETCH_FAILED', `cannot read model file ${path}: ${errorMessage(err)}; check --model-uri and the volume mount`, { cause: err });
  }
  if (size > maxBytes) throw tooLarge(path, maxBytes);
  return readLimited(createReadStream(path), maxBytes, path);
}

/** Fetches the artifact named by uri and verifies it against the pinned digest. */
export async function fetchArtifact(uri: string, expectedDigest: string, opts: FetchOptions): Promise<Artifact> {
  let bytes: Buffer;
  let source = redact(uri);
  if (uri.startsWith('oci://')) {
    const ref = parseOciUri(uri);
    source = `oci://${ref.registry}/${ref.repository}@${ref.digest}`;
    bytes = await fetchOciLayer(ref, opts);
  } else if (uri.startsWith('https://') || uri.startsWith('http://')) {
    bytes = await withRetries(source, opts, async () => {
      try {
        return (await httpGet(uri, opts)).bytes;
      } catch (err) {
        if (err instanceof HttpStatusError) {
          throw new RuntimeError('ARTIFACT_FETCH_FAILED', `${err.message}; check --model-uri and the credentials/URL`, { cause: err });
        }
        throw err;
      }
    });
  } else {
    const path = uri.startsWith('file://') ? fileURLToPath(uri) : uri;
    source = path;
    bytes = await readFileLimited(path, opts.maxBytes);
  }
  verifyDigest(bytes, expectedDigest, source);
  return { bytes, digest: expectedDigest, source };
}
