// Kubernetes resource quantities ("500m", "1Gi", "1e3", 2) read exactly as the API server reads them
// (k8s.io/apimachinery resource.ParseQuantity), without floating point: the value is kept as a whole
// number of nano-units (10⁻⁹), the finest precision the server keeps, rounded up (away from zero) to
// it as the server does ("0.1n" is stored as "1n"). Two spellings the server canonicalizes to the same
// value ("1000m" and "1", "1024Mi" and "1Gi", 2 and "2") are therefore equal here.
//
// Grammar (the server's): <sign>? <digits> | <digits>.<digits>? | .<digits>, then one suffix:
//   binary SI   Ki Mi Gi Ti Pi Ei               (2^10 … 2^60)
//   decimal SI  n u m "" k M G T P E           (10^-9 … 10^18)
//   exponent    e<signed int> | E<signed int>  ("1e3", "1.5E-3"; "1E" alone is exa)
// Also, like the server's JSON decoding, a JSON number (2, 0.5, 1e+21) and surrounding blanks.

const decimalSuffixes: Readonly<Record<string, number>> = { n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const binarySuffixes: Readonly<Record<string, number>> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };

/** Above this the server caps a binary-SI quantity (2^63 − 1), in nano-units. */
const maxBinaryNanos = (2n ** 63n - 1n) * 10n ** 9n;
/** Exponents beyond this are refused here (the server accepts them, nobody writes them). */
const maxExponent = 4096;

const grammar = /^([+-]?)(\d*)(?:\.(\d*))?(.*)$/;

/**
 * The quantity's value in nano-units (10⁻⁹), rounded up to the nano as the server stores it;
 * undefined when `input` is not a quantity (wrong type, bad number, unknown suffix, huge exponent).
 */
export function parseQuantity(input: unknown): bigint | undefined {
  let text: string;
  if (typeof input === 'number') {
    if (!Number.isFinite(input)) return undefined;
    text = String(input);
  } else if (typeof input === 'string') {
    text = input.trim();
  } else {
    return undefined;
  }
  const m = grammar.exec(text);
  if (!m) return undefined;
  const [, sign = '', whole = '', fraction = '', suffix = ''] = m;
  if (whole === '' && fraction === '') return undefined;

  let exp10: number;
  let exp2 = 0;
  const dec = decimalSuffixes[suffix];
  const bin = binarySuffixes[suffix];
  if (dec !== undefined) exp10 = dec;
  else if (bin !== undefined) {
    exp10 = 0;
    exp2 = bin;
  } else {
    const e = /^[eE]([+-]?\d+)$/.exec(suffix);
    if (!e?.[1]) return undefined;
    exp10 = Number(e[1]);
    if (Math.abs(exp10) > maxExponent) return undefined;
  }

  // value = digits × 10^(exp10 − fraction digits) × 2^exp2; in nanos, 10^(… + 9).
  const digits = BigInt(whole + fraction || '0') * 2n ** BigInt(exp2);
  const scale = exp10 - fraction.length + 9;
  let nanos: bigint;
  if (scale >= 0) {
    nanos = digits * 10n ** BigInt(scale);
  } else {
    const divisor = 10n ** BigInt(-scale);
    nanos = (digits + divisor - 1n) / divisor; // rounded up, as the server does
  }
  if (exp2 > 0 && nanos > maxBinaryNanos) nanos = maxBinaryNanos;
  return sign === '-' ? -nanos : nanos;
}

/** True when both are quantities of the same value ("1000m" and "1", "1024Mi" and "1Gi", 1 and "1"). */
export function sameQuantity(a: unknown, b: unknown): boolean {
  const x = parseQuantity(a);
  return x !== undefined && x === parseQuantity(b);
}

/** The quantity as a JavaScript number (nearest double), for arithmetic where exactness does not matter. */
export function quantityValue(input: unknown): number | undefined {
  const nanos = parseQuantity(input);
  if (nanos === undefined) return undefined;
  const whole = nanos / 10n ** 9n;
  return Number(whole) + Number(nanos - whole * 10n ** 9n) / 1e9;
}
