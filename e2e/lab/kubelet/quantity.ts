// Kubernetes resource quantities ("500m", "2Gi", "1e3") as plain numbers, enough for the
// downward API's resourceFieldRef and for GPU admission.
import { KubeletError } from './errors.ts';

const suffixes: Record<string, number> = {
  n: 1e-9, u: 1e-6, m: 1e-3, '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
  Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
};

export function parseQuantity(text: string | number): number {
  if (typeof text === 'number') return text;
  const m = /^([+-]?(?:\d+\.?\d*|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?)$/.exec(text.trim());
  if (!m) throw new KubeletError('QUANTITY_INVALID', `"${text}" is not a Kubernetes quantity (examples: 500m, 2, 128Mi, 1e3)`);
  const value = Number(m[1]);
  if (m[2] !== undefined) return value * 10 ** Number(m[2].slice(1));
  return value * (suffixes[m[3] ?? ''] ?? 1);
}
