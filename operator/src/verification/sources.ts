// Where the verifier's inputs come from: the bundle (a ConfigMap/Secret key in the model's
// namespace, or a file:/// or https:// URI next to the artifact) and the trust material (public
// keys and CA certificates from Secrets, Sigstore trusted roots from ConfigMaps). Nothing else is
// ever fetched: no TUF repository, no transparency log.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { KeySelectorRef } from '../api/types.ts';
import { KubeApiError } from '../errors.ts';
import { resourcePath, resources } from '../kube/resources.ts';
import type { KubeClient } from '../kube/rest-client.ts';
import type { VerifyReason } from '../../../lib/verify/index.ts';

/** A bundle or trust material could not be gathered. `transient`: retrying without any change may help. */
export class GatherError extends Error {
  readonly reason: VerifyReason;
  readonly transient: boolean;
  constructor(reason: VerifyReason, message: string, opts: { transient?: boolean; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'GatherError';
    this.reason = reason;
    this.transient = opts.transient ?? false;
  }
}

/** Default keys inside the referenced objects (as documented in the CRD). */
export const DEFAULT_KEYS = { bundle: 'bundle.json', publicKey: 'key.pub', ca: 'ca.crt', trustedRoot: 'trusted_root.json' } as const;

/**
 * Reads one key of a Secret or ConfigMap in `namespace`. A missing object or key is a permanent
 * `missingReason` (it is read again on the next resync); API errors the server may recover from are
 * transient.
 */
export async function readObjectKey(
  client: KubeClient,
  kind: 'Secret' | 'ConfigMap',
  namespace: string,
  ref: KeySelectorRef,
  defaultKey: string,
  missingReason: VerifyReason,
  what: string,
): Promise<Buffer> {
  const key = ref.key ?? defaultKey;
  const resource = kind === 'Secret' ? resources.secret : resources.configMap;
  let obj: { data?: Record<string, string>; binaryData?: Record<string, string> };
  try {
    obj = (await client.request({ method: 'GET', path: resourcePath(resource, namespace, ref.name), object: { kind, namespace, name: ref.name } })) as typeof obj;
  } catch (err) {
    if (err instanceof KubeApiError && err.status === 404) throw new GatherError(missingReason, `${what}: ${kind} ${namespace}/${ref.name} not found`, { cause: err });
    if (err instanceof KubeApiError && err.status === 403) {
      throw new GatherError('VerificationError', `${what}: the operator may not read ${kind} ${namespace}/${ref.name} (grant it get on ${resource.plural})`, { cause: err });
    }
    throw new GatherError(missingReason, `${what}: reading ${kind} ${namespace}/${ref.name} failed: ${(err as Error).message}`, { transient: true, cause: err });
  }
  const text = obj?.data?.[key];
  if (text !== undefined) return kind === 'Secret' ? Buffer.from(text, 'base64') : Buffer.from(text, 'utf8');
  const binary = kind === 'ConfigMap' ? obj?.binaryData?.[key] : undefined;
  if (binary !== undefined) return Buffer.from(binary, 'base64');
  const keys = [...Object.keys(obj?.data ?? {}), ...Object.keys(obj?.binaryData ?? {})];
  throw new GatherError(missingReason, `${what}: ${kind} ${namespace}/${ref.name} has no key ${JSON.stringify(key)} (keys: ${keys.join(', ') || 'none'})`);
}

/** Where the bundle is when spec.signature.bundle names no source: next to the artifact. */
export function defaultBundleUri(modelUri: string): string {
  return `${modelUri}.sigstore.json`;
}

export interface FetchOptions {
  timeoutMs: number;
  maxBytes: number;
  fetch?: typeof fetch;
}

/** Reads a bundle from a file:/// or https:// URI, with a timeout and a size limit. */
export async function fetchBundleUri(uri: string, opts: FetchOptions): Promise<Buffer> {
  if (uri.startsWith('file:///')) {
    let path: string;
    try {
      path = fileURLToPath(uri);
    } catch (cause) {
      throw new GatherError('BundleNotFound', `bundle uri ${uri} is not a valid file URI`, { cause });
    }
    try {
      const data = await readFile(path);
      if (data.length > opts.maxBytes) throw new GatherError('BundleInvalid', `bundle ${uri} is ${data.length} bytes, more than the ${opts.maxBytes} allowed`);
      return data;
    } catch (err) {
      if (err instanceof GatherError) throw err;
      const code = (err as NodeJS.ErrnoException).code ?? '';
      if (code === 'ENOENT' || code === 'ENOTDIR') throw new GatherError('BundleNotFound', `no bundle at ${uri}`, { cause: err });
      if (code === 'EISDIR' || code === 'EACCES' || code === 'EPERM') throw new GatherError('BundleNotFound', `cannot read the bundle at ${uri} (${code})`, { cause: err });
      throw new GatherError('BundleNotFound', `reading the bundle at ${uri} failed: ${(err as Error).message}`, { transient: true, cause: err });
    }
  }
  if (uri.startsWith('https://')) {
    const doFetch = opts.fetch ?? fetch;
    let res: Response;
    const signal = AbortSignal.timeout(opts.timeoutMs);
    try {
      res = await doFetch(uri, { signal, redirect: 'follow', headers: { accept: 'application/json, application/octet-stream;q=0.9' } });
    } catch (err) {
      throw new GatherError('BundleNotFound', `fetching the bundle ${uri} failed: ${(err as Error).message}`, { transient: true, cause: err });
    }
    if (!res.ok) {
      await res.body?.cancel().catch(() => undefined);
      const transient = res.status === 429 || res.status >= 500;
      throw new GatherError('BundleNotFound', `fetching the bundle ${uri}: HTTP ${res.status}`, { transient });
    }
    const declared = Number(res.headers.get('content-length') ?? 'NaN');
    if (Number.isFinite(declared) && declared > opts.maxBytes) {
      await res.body?.cancel().catch(() => undefined);
      throw new GatherError('BundleInvalid', `bundle ${uri} is ${declared} bytes, more than the ${opts.maxBytes} allowed`);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const chunk of res.body ?? []) {
        size += chunk.length;
        if (size > opts.maxBytes) {
          await res.body?.cancel().catch(() => undefined);
          throw new GatherError('BundleInvalid', `bundle ${uri} is more than the ${opts.maxBytes} bytes allowed`);
        }
        chunks.push(Buffer.from(chunk));
      }
    } catch (err) {
      if (err instanceof GatherError) throw err;
      throw new GatherError('BundleNotFound', `reading the bundle ${uri} failed: ${(err as Error).message}`, { transient: true, cause: err });
    }
    return Buffer.concat(chunks);
  }
  const scheme = /^[a-z0-9+.-]+:\/\//i.exec(uri)?.[0] ?? uri;
  throw new GatherError(
    'BundleNotFound',
    `the operator does not fetch bundles from ${scheme} URIs; put the bundle in a ConfigMap or Secret (spec.signature.bundle.configMapRef/secretRef) or at an https:// URI (spec.signature.bundle.uri)`,
  );
}
