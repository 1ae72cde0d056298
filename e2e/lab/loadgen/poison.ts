// Pure: "poison" requests, a chosen share of the load whose rows make the lab's faulty canary model
// fail at run time (runtime/test-models/build.ts: logreg_faulty fails on any row whose feature 0 is
// ≥ 1000; logreg and logreg_slow answer it). Which requests are poisoned is decided by their send
// index alone (and a seed, if given), so a run is the same on every run.
import { seededRandom } from '../../../lib/test-support/seeded-random.ts';

/** Feature 0 of a poison row: runtime/test-models/build.ts POISON_FEATURE_VALUE (a test checks they agree). */
export const POISON_VALUE = 1000;

const EPSILON = 1e-9; // n·ratio in floating point may land just under an integer (0.57·100)

/** Of the first n requests, this many are poisoned: floor(n·ratio). */
export function poisonedAmong(n: number, ratio: number): number {
  return Math.floor(n * ratio + EPSILON);
}

/**
 * Whether request `index` (0-based, in send order) is poisoned: spread evenly, so every prefix of
 * n requests holds exactly floor(n·ratio) of them (0.02: requests 49, 99, 149, …).
 */
export function isPoisoned(index: number, ratio: number): boolean {
  return ratio > 0 && poisonedAmong(index + 1, ratio) > poisonedAmong(index, ratio);
}

/**
 * Whether request `index` is poisoned when the positions are drawn from `seed`: each request on its
 * own with probability `ratio` (a hash of the seed and the index), so a seed poisons the same requests
 * on every run, in no pattern a round-robin over endpoints can line up with (spread evenly, 0.02
 * poisons every 50th request, and a round-robin over five endpoints sends every one of them to the
 * same endpoint). The share is `ratio` in expectation, not exactly.
 */
export function isPoisonedSeeded(index: number, ratio: number, seed: number): boolean {
  return (
    ratio > 0 && seededRandom((Math.imul(seed, 0x9e3779b1) ^ Math.imul(index, 0x85ebca6b)) >>> 0)() < ratio
  );
}

interface InferInput {
  shape?: unknown;
  data?: unknown;
}

/**
 * A v2 JSON inference request body with feature 0 (the first element of each row along the batch
 * dimension) of every row of the first input set to `value`. Data may be flat (row-major, split
 * by `shape`) or nested one array per row. Throws (an Error saying why) for any other body.
 */
export function poisonInferBody(body: string | Uint8Array, value = POISON_VALUE): Uint8Array {
  const refuse = (why: string): never => {
    throw new Error(`cannot derive a poison body from the body: ${why}`);
  };
  let parsed: { inputs?: InferInput[] };
  try {
    parsed = JSON.parse(typeof body === 'string' ? body : new TextDecoder().decode(body)) as typeof parsed;
  } catch {
    return refuse('it is not JSON');
  }
  const input = Array.isArray(parsed?.inputs) ? parsed.inputs[0] : undefined;
  if (!input || !Array.isArray(input.data) || input.data.length === 0)
    return refuse('it has no inputs[0].data');
  const data = input.data as unknown[];
  if (Array.isArray(data[0])) {
    for (const row of data) {
      if (!Array.isArray(row) || row.length === 0 || Array.isArray(row[0]))
        refuse('inputs[0].data must be rows of numbers');
      (row as unknown[])[0] = value;
    }
  } else {
    const shape = input.shape;
    if (
      !Array.isArray(shape) ||
      shape.length === 0 ||
      !shape.every((d) => Number.isInteger(d) && (d as number) > 0)
    )
      return refuse('inputs[0].shape is not a list of positive integers');
    const dims = shape as number[];
    const rowSize = dims.slice(1).reduce((a, b) => a * b, 1);
    if (dims[0]! * rowSize !== data.length)
      refuse(`inputs[0].data has ${data.length} values for shape [${dims.join(', ')}]`);
    for (let r = 0; r < dims[0]!; r++) data[r * rowSize] = value;
  }
  return new TextEncoder().encode(JSON.stringify(parsed));
}
