// Image references (pure): parsing with Docker's normalization (docker.io/library/ for short names,
// `latest` when neither tag nor digest is given), and where the lab pulls one from. The lab registry
// stands in for every registry, the way a pull-through mirror with no upstream would: an image
// `ghcr.io/onnx-operator/runtime@sha256:…` is pulled from the lab registry's repository
// `ghcr.io/onnx-operator/runtime`, and one the lab never pushed fails there like any failed pull.
import { KubeletError } from './errors.ts';

export interface ImageRef {
  /** Registry host (and port), e.g. ghcr.io, docker.io, 127.0.0.1:17500. */
  domain: string;
  /** Repository path, e.g. onnx-operator/runtime, library/node. */
  path: string;
  tag?: string;
  /** sha256:<64 hex> */
  digest?: string;
}

const component = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const tagPattern = /^[\w][\w.-]{0,127}$/;
const digestPattern = /^sha256:[a-f0-9]{64}$/;

export function parseImageRef(image: string): ImageRef {
  const invalid = (why: string): KubeletError =>
    new KubeletError('IMAGE_REF_INVALID', `image "${image}" is not a valid image reference: ${why}; write it as [registry/]repository[:tag][@sha256:digest]`);
  if (image === '' || image !== image.trim()) throw invalid('it is empty or has blanks around it');
  let rest = image;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!digestPattern.test(digest)) throw invalid(`the digest "${digest}" is not sha256:<64 lowercase hex>`);
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!tagPattern.test(tag)) throw invalid(`the tag "${tag}" has characters a tag cannot have`);
  }
  const parts = rest.split('/');
  let domain = 'docker.io';
  const first = parts[0] ?? '';
  if (parts.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost')) {
    domain = first;
    parts.shift();
  }
  if (domain === 'index.docker.io') domain = 'docker.io';
  if (domain === 'docker.io' && parts.length === 1) parts.unshift('library');
  for (const p of parts) if (!component.test(p)) throw invalid(`the path component "${p}" must be lowercase letters, digits and separators`);
  const ref: ImageRef = { domain, path: parts.join('/') };
  if (tag !== undefined) ref.tag = tag;
  if (digest !== undefined) ref.digest = digest;
  if (tag === undefined && digest === undefined) ref.tag = 'latest';
  return ref;
}

export function formatImageRef(ref: ImageRef): string {
  return `${ref.domain}/${ref.path}${ref.tag !== undefined ? `:${ref.tag}` : ''}${ref.digest !== undefined ? `@${ref.digest}` : ''}`;
}

/** What the registry is asked for: the digest when there is one (a tag beside it is ignored, as by containerd). */
export function manifestReference(ref: ImageRef): string {
  return ref.digest ?? ref.tag ?? 'latest';
}

/**
 * The lab registry repository an image is pulled from: the image's own path when it names the lab
 * registry itself, otherwise `<domain>/<path>` (every other registry is mirrored under its host name).
 */
export function labRepository(ref: ImageRef, labRegistry: string): string {
  return ref.domain === labRegistry ? ref.path : `${ref.domain}/${ref.path}`;
}

/** The name under which the lab pushes an image so that pods can use its public name. */
export function labPushName(image: string, labRegistry: string): string {
  const ref = parseImageRef(image);
  if (ref.digest !== undefined) {
    throw new KubeletError('IMAGE_REF_INVALID', `image "${image}" names a digest; push by tag (the registry computes the digest)`);
  }
  return `${labRegistry}/${labRepository(ref, labRegistry)}:${ref.tag ?? 'latest'}`;
}

/** The repository digest reported as a container's imageID, e.g. ghcr.io/onnx-operator/runtime@sha256:…. */
export function repoDigest(ref: ImageRef, digest: string): string {
  return `${ref.domain}/${ref.path}@${digest}`;
}
