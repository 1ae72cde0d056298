// The image map (e2e/lab/images.json): which command an image reference runs as. The file is the
// lab's stand-in for a registry; an image that is not listed fails like a failed pull.
import crypto from 'node:crypto';
import fs from 'node:fs';
import { KubeletError } from './errors.ts';

export interface ImageEntry {
  entrypoint: string[];
  args: string[];
}

export interface ImageMap {
  file: string;
  images: Record<string, ImageEntry>;
}

export function parseImageMap(file: string, text: string): ImageMap {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (cause) {
    throw new KubeletError('IMAGE_MAP_INVALID', `${file} is not valid JSON; fix its syntax`, { cause });
  }
  const images = (raw as { images?: unknown }).images;
  if (typeof images !== 'object' || images === null) {
    throw new KubeletError('IMAGE_MAP_INVALID', `${file} needs an "images" object mapping image references to {entrypoint, args}`);
  }
  const out: Record<string, ImageEntry> = {};
  for (const [ref, entry] of Object.entries(images as Record<string, unknown>)) {
    const e = entry as { entrypoint?: unknown; args?: unknown };
    const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === 'string');
    if (!isStrings(e.entrypoint) || e.entrypoint.length === 0 || (e.args !== undefined && !isStrings(e.args))) {
      throw new KubeletError('IMAGE_MAP_INVALID', `${file}: images["${ref}"] needs "entrypoint" (non-empty string array) and "args" (string array)`);
    }
    out[ref] = { entrypoint: e.entrypoint, args: e.args ?? [] };
  }
  return { file, images: out };
}

/** Re-read on every use so an edit to images.json applies to the next container start. */
export function loadImageMap(file: string): ImageMap {
  return parseImageMap(file, fs.readFileSync(file, 'utf8'));
}

export function lookupImage(map: ImageMap, image: string): ImageEntry {
  const entry = map.images[image];
  if (entry === undefined) {
    throw new KubeletError(
      'IMAGE_NOT_FOUND',
      `image "${image}" is not in the lab image map ${map.file}; add it under "images" or use one of: ${Object.keys(map.images).join(', ')}`,
    );
  }
  return entry;
}

/** A stable stand-in for a registry digest: it changes when the image's map entry changes. */
export function imageId(image: string, entry: ImageEntry): string {
  const digest = crypto.createHash('sha256').update(JSON.stringify(entry)).digest('hex');
  const repo = image.replace(/[:@][^/]*$/, '');
  return `${repo}@sha256:${digest}`;
}
