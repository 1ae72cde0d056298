// The warm-up input: a request given with --warmup-request (a file in the v2 request format), or one
// synthesized from the input metadata — each tracked feature at the median of the baseline profile
// when there is one, every other value 1. A model with a guarded input range (a value used as a
// shape, an index, a divisor) may fail on ones; its owner gives a representative request instead.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { RuntimeError, errorMessage } from '../errors.ts';
import type { BaselineProfile } from '../model-health/model-health.ts';
import { TYPED_ARRAY, elementCount, toHalf, type HostTensor } from '../protocol/datatypes.ts';
import { decodeInferRequest } from '../protocol/decode.ts';
import { isDynamic, type ModelSignature } from '../protocol/signature.ts';
import { concatFeeds, type Feeds } from './scheduler.ts';

/** A value per (input, feature), or undefined for the default (1). */
export type WarmupValues = (input: string, feature: number) => number | undefined;

/**
 * A request synthesized from the input metadata: dynamic dimensions 1 (a dynamic first dimension
 * `rows`); values from `values` (features run along the last dimension), else one.
 */
export function warmupFeeds(sig: ModelSignature, rows = 1, values: WarmupValues = () => undefined): Feeds {
  const feeds: Feeds = new Map();
  for (const s of sig.inputs) {
    const shape = s.shape.map((d, i) => (isDynamic(d) ? (i === 0 ? rows : 1) : (d as number)));
    const n = elementCount(shape);
    const width = shape.length >= 2 ? (shape[shape.length - 1] as number) : 1;
    const value = (i: number): number => values(s.name, width > 0 ? i % width : 0) ?? 1;
    let data: HostTensor['data'];
    if (s.datatype === 'BYTES') data = new Array<string>(n).fill('a');
    else if (s.datatype === 'INT64' || s.datatype === 'UINT64') {
      const arr = s.datatype === 'INT64' ? new BigInt64Array(n) : new BigUint64Array(n);
      for (let i = 0; i < n; i++) arr[i] = BigInt(Math.round(value(i)));
      data = arr;
    } else {
      // Ones rather than zeros by default: shape-like integer inputs (e.g. Reshape targets) stay valid.
      const arr = new TYPED_ARRAY[s.datatype](n) as Float32Array;
      const integer = s.datatype !== 'FP32' && s.datatype !== 'FP64' && s.datatype !== 'FP16';
      for (let i = 0; i < n; i++) {
        const v = s.datatype === 'BOOL' ? 1 : integer ? Math.round(value(i)) : value(i);
        arr[i] = s.datatype === 'FP16' ? toHalf(v) : v;
      }
      data = arr;
    }
    feeds.set(s.name, { datatype: s.datatype, shape, data });
  }
  return feeds;
}

/** Each baseline feature's median: a value the model saw in training. */
export function baselineMedians(profile: BaselineProfile): WarmupValues {
  const medians = new Map<string, number>();
  for (const f of profile.features) {
    const sorted = [...f.sample].sort((a, b) => a - b);
    medians.set(`${f.input}\u0000${f.feature}`, sorted[Math.floor(sorted.length / 2)] as number);
  }
  return (input, feature) => medians.get(`${input}\u0000${feature}`);
}

/** The --warmup-request file decoded against the model, as feeds and their rows. */
export async function loadWarmupRequest(uri: string, sig: ModelSignature): Promise<{ feeds: Feeds; rows: number }> {
  const path = uri.startsWith('file://') ? fileURLToPath(uri) : uri;
  let body: Buffer;
  try {
    body = await readFile(path);
  } catch (err) {
    throw new RuntimeError('WARMUP_FAILED', `--warmup-request ${uri} cannot be read: ${errorMessage(err)}`, { cause: err });
  }
  try {
    const request = decodeInferRequest(body, undefined, sig);
    return { feeds: request.inputs, rows: request.rows };
  } catch (err) {
    throw new RuntimeError('WARMUP_FAILED', `--warmup-request ${uri} is not a valid request for this model: ${errorMessage(err)}`, { cause: err });
  }
}

/** `feeds` of `rows` rows repeated along the first dimension until they fill about `target` rows. */
export function repeatRows(feeds: Feeds, rows: number, target: number): Feeds {
  const times = Math.max(1, Math.floor(target / Math.max(1, rows)));
  return times === 1 ? feeds : concatFeeds(new Array<Feeds>(times).fill(feeds));
}
