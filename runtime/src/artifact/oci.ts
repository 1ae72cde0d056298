// Pulls a model stored as an OCI artifact (ORAS-style: one layer holding the .onnx file) through
// the OCI distribution API: manifest by digest (verified), pick the model layer, fetch its blob
// (verified against the layer digest; the caller then checks the pinned model digest).
import { RuntimeError } from '../errors.ts';
import { HttpStatusError, httpGet, sha256Digest, withRetries, type FetchOptions } from './fetch.ts';

export interface OciRef {
  registry: string;
  repository: string;
  digest: string;
}

export function parseOciUri(uri: string): OciRef {
  const m = /^oci:\/\/([^/]+)\/(.+)@(sha256:[0-9a-f]{64})$/.exec(uri);
  if (!m) {
    throw new RuntimeError(
      'CONFIG_INVALID',
      `--model-uri ${uri} is not a pinned OCI reference; use oci://<registry>/<repository>@sha256:<manifest digest> (tags are not accepted: they can move)`,
    );
  }
  return { registry: m[1] as string, repository: m[2] as string, digest: m[3] as string };
}

const MANIFEST_TYPES = [
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.oci.image.index.v1+json',
].join(', ');

const MODEL_MEDIA_TYPES = ['application/vnd.onnx.model', 'application/vnd.onnx.model.v1', 'application/octet-stream+onnx', 'application/onnx'];

interface Descriptor {
  mediaType?: string;
  digest?: string;
  size?: number;
  annotations?: Record<string, string>;
}

/** Picks the model layer: an ONNX media type, else a title ending in .onnx, else the only layer. */
export function pickModelLayer(layers: Descriptor[], source: string): Descriptor {
  const byType = layers.filter((l) => l.mediaType && MODEL_MEDIA_TYPES.includes(l.mediaType));
  if (byType.length === 1) return byType[0] as Descriptor;
  const byTitle = layers.filter((l) => l.annotations?.['org.opencontainers.image.title']?.endsWith('.onnx'));
  if (byTitle.length === 1) return byTitle[0] as Descriptor;
  if (layers.length === 1) return layers[0] as Descriptor;
  const listing = layers.map((l) => `${l.mediaType ?? '?'} ${l.annotations?.['org.opencontainers.image.title'] ?? ''}`.trim()).join('; ');
  throw new RuntimeError(
    'ARTIFACT_FETCH_FAILED',
    `${source} has ${layers.length} layers and none is unambiguously the model (${listing}); push the model as a single layer with media type application/vnd.onnx.model or a title ending in .onnx`,
  );
}

/** Anonymous bearer-token flow (Docker registry token spec) for registries that demand it. */
async function bearerToken(challenge: string, opts: FetchOptions): Promise<string | undefined> {
  if (!/^Bearer /i.test(challenge)) return undefined;
  const params = Object.fromEntries([...challenge.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
  if (!params.realm) return undefined;
  const url = new URL(params.realm);
  if (params.service) url.searchParams.set('service', params.service);
  if (params.scope) url.searchParams.set('scope', params.scope);
  const { bytes } = await httpGet(url.toString(), { ...opts, maxBytes: 1 << 20 });
  const body = JSON.parse(bytes.toString('utf8')) as { token?: string; access_token?: string };
  return body.token ?? body.access_token;
}

export async function fetchOciLayer(ref: OciRef, opts: FetchOptions): Promise<Buffer> {
  const base = `${opts.ociPlainHttp ? 'http' : 'https'}://${ref.registry}/v2/${ref.repository}`;
  const source = `oci://${ref.registry}/${ref.repository}@${ref.digest}`;
  let auth: Record<string, string> = {};

  const get = (url: string, headers: Record<string, string>, maxBytes: number) =>
    withRetries(source, opts, async () => {
      try {
        return (await httpGet(url, { ...opts, maxBytes }, { ...headers, ...auth })).bytes;
      } catch (err) {
        if (err instanceof HttpStatusError && err.status === 401 && !auth.authorization) {
          const token = await bearerToken(err.headers.get('www-authenticate') ?? '', opts);
          if (token) {
            auth = { authorization: `Bearer ${token}` };
            return (await httpGet(url, { ...opts, maxBytes }, { ...headers, ...auth })).bytes;
          }
        }
        if (err instanceof HttpStatusError) {
          throw new RuntimeError('ARTIFACT_FETCH_FAILED', `${err.message} while pulling ${source}; check the registry, repository and digest (and pull credentials)`, { cause: err });
        }
        throw err;
      }
    });

  const manifestBytes = await get(`${base}/manifests/${ref.digest}`, { accept: MANIFEST_TYPES }, 4 << 20);
  if (sha256Digest(manifestBytes) !== ref.digest) {
    throw new RuntimeError('DIGEST_MISMATCH', `the registry returned a manifest for ${source} whose sha256 is ${sha256Digest(manifestBytes)}; refusing it`);
  }
  let manifest: { mediaType?: string; layers?: Descriptor[]; manifests?: unknown[] };
  try {
    manifest = JSON.parse(manifestBytes.toString('utf8'));
  } catch (err) {
    throw new RuntimeError('ARTIFACT_FETCH_FAILED', `the manifest of ${source} is not JSON`, { cause: err });
  }
  if (manifest.manifests) {
    throw new RuntimeError('ARTIFACT_FETCH_FAILED', `${source} is an image index, not a manifest; pin the digest of the manifest that holds the model layer`);
  }
  const layer = pickModelLayer(manifest.layers ?? [], source);
  if (!layer.digest || !/^sha256:[0-9a-f]{64}$/.test(layer.digest)) {
    throw new RuntimeError('ARTIFACT_FETCH_FAILED', `the model layer of ${source} has no sha256 digest`);
  }
  if (layer.size !== undefined && layer.size > opts.maxBytes) {
    throw new RuntimeError('ARTIFACT_TOO_LARGE', `the model layer of ${source} is ${layer.size} bytes, over --max-model-bytes=${opts.maxBytes}`);
  }
  const blob = await get(`${base}/blobs/${layer.digest}`, {}, opts.maxBytes);
  if (sha256Digest(blob) !== layer.digest) {
    throw new RuntimeError('DIGEST_MISMATCH', `the registry returned a blob for layer ${layer.digest} of ${source} with sha256 ${sha256Digest(blob)}; refusing it`);
  }
  return blob;
}
