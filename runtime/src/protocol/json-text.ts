// Tensor values as JSON text, written directly rather than through Array.from + JSON.stringify:
// on the per-request path (every response and every prediction-log line) the intermediate array
// of boxed values cost more than the text itself. The output is exactly what JSON.stringify gives
// for the plain values (non-finite floats become null), which json-text.test.ts checks. Pure.
import { fromHalf, type HostTensor } from './datatypes.ts';

const MAX_SAFE = 9007199254740991n;

/** A JSON string literal, remembered for the last few distinct inputs (model names, revisions, output names). */
const quoted = new Map<string, string>();
export function jsonString(s: string): string {
  let q = quoted.get(s);
  if (q === undefined) {
    q = JSON.stringify(s);
    if (quoted.size < 64) quoted.set(s, q);
  }
  return q;
}

const num = (v: number): string => (Number.isFinite(v) ? String(v) : 'null');

/**
 * `[v0,v1,…]` for the first `limit` values of `t` (all by default): numbers as JSON numbers, FP16
 * decoded, BOOL as true/false, 64-bit integers beyond 2^53 as decimal strings (JSON numbers are
 * exact only up to 2^53), BYTES as strings.
 */
export function tensorValuesJson(t: HostTensor, limit = t.data.length): string {
  const d = t.data;
  const n = Math.min(limit, d.length);
  if (n === 0) return '[]';
  let out = '[';
  if (Array.isArray(d)) {
    for (let i = 0; i < n; i++) out += (i === 0 ? '' : ',') + JSON.stringify(d[i]);
  } else if (t.datatype === 'FP16') {
    for (let i = 0; i < n; i++) out += (i === 0 ? '' : ',') + num(fromHalf(d[i] as number));
  } else if (t.datatype === 'BOOL') {
    for (let i = 0; i < n; i++) out += (i === 0 ? '' : ',') + (d[i] !== 0 ? 'true' : 'false');
  } else if (t.datatype === 'INT64' || t.datatype === 'UINT64') {
    for (let i = 0; i < n; i++) {
      const v = d[i] as bigint;
      out += (i === 0 ? '' : ',') + (v <= MAX_SAFE && v >= -MAX_SAFE ? String(v) : `"${v}"`);
    }
  } else {
    for (let i = 0; i < n; i++) out += (i === 0 ? '' : ',') + num(d[i] as number);
  }
  return out + ']';
}

/** `[d0,d1,…]` for a shape. */
export function shapeJson(shape: readonly number[]): string {
  let out = '[';
  for (let i = 0; i < shape.length; i++) out += (i === 0 ? '' : ',') + String(shape[i]);
  return out + ']';
}
