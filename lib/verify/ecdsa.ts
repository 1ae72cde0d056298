// ECDSA verification over a digest the caller already has (a "prehashed" verify). node:crypto only
// verifies over the message, but a cosign `sign-blob` signature is over sha256(artifact), and the
// operator must check it knowing only the pinned digest (the runtime re-checks the bytes). Public
// keys are imported through node:crypto first, which rejects points off the curve.
import type { KeyObject } from 'node:crypto';

interface Curve {
  p: bigint;
  n: bigint;
  gx: bigint;
  gy: bigint;
  bits: number;
}

const P256: Curve = {
  p: 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn,
  n: 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n,
  gx: 0x6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296n,
  gy: 0x4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5n,
  bits: 256,
};
const P384: Curve = {
  p: 0xfffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000ffffffffn,
  n: 0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973n,
  gx: 0xaa87ca22be8b05378eb1c71ef320ad746e1d3b628ba79b9859f741e082542a385502f25dbf55296c3a545e3872760ab7n,
  gy: 0x3617de4a96262c6f5d9e98bf9292dc29f8f41dbd289a147ce9da3113b5f0b8c00a60b1ce1d7e819d7a431d7c90ea0e5fn,
  bits: 384,
};
const P521: Curve = {
  p: (1n << 521n) - 1n,
  n: 0x1fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409n,
  gx: 0xc6858e06b70404e9cd9e3ecb662395b4429c648139053fb521f828af606b4d3dbaa14b5e77efe75928fe1dc127a2ffa8de3348b3c1856a429bf97e7e31c2e5bd66n,
  gy: 0x11839296a789a3bc0045c8a5fb42c7d1bd998f54449579b446817afbd17273e662c97ee72995ef42640c550b9013fad0761353c7086a272c24088be94769fd16650n,
  bits: 521,
};

export const CURVES: Record<string, Curve> = { 'P-256': P256, 'P-384': P384, 'P-521': P521 };

type Point = { x: bigint; y: bigint } | null;

function mod(a: bigint, m: bigint): bigint {
  const r = a % m;
  return r < 0n ? r + m : r;
}

function inv(a: bigint, m: bigint): bigint {
  let [r0, r1] = [mod(a, m), m];
  let [s0, s1] = [1n, 0n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [s0, s1] = [s1, s0 - q * s1];
  }
  if (r0 !== 1n) throw new Error('not invertible');
  return mod(s0, m);
}

function add(c: Curve, a: Point, b: Point): Point {
  if (a === null) return b;
  if (b === null) return a;
  const { p } = c;
  let l: bigint;
  if (a.x === b.x) {
    if (mod(a.y + b.y, p) === 0n) return null;
    l = mod((3n * a.x * a.x - 3n) * inv(2n * a.y, p), p); // a = -3 on every NIST prime curve
  } else {
    l = mod((b.y - a.y) * inv(b.x - a.x, p), p);
  }
  const x = mod(l * l - a.x - b.x, p);
  return { x, y: mod(l * (a.x - x) - a.y, p) };
}

function mul(c: Curve, k: bigint, pt: Point): Point {
  let r: Point = null;
  let q = pt;
  while (k > 0n) {
    if (k & 1n) r = add(c, r, q);
    q = add(c, q, q);
    k >>= 1n;
  }
  return r;
}

function bytesToBig(b: Uint8Array): bigint {
  return b.length === 0 ? 0n : BigInt('0x' + Buffer.from(b).toString('hex'));
}

/** Parses a DER ECDSA-Sig-Value (SEQUENCE { INTEGER r, INTEGER s }); null when malformed. */
export function parseDerSignature(sig: Uint8Array): { r: bigint; s: bigint } | null {
  let i = 0;
  const readLen = (): number | null => {
    const b = sig[i++];
    if (b === undefined) return null;
    if (b < 0x80) return b;
    const n = b & 0x7f;
    if (n === 0 || n > 2) return null;
    let len = 0;
    for (let k = 0; k < n; k++) {
      const v = sig[i++];
      if (v === undefined) return null;
      len = len * 256 + v;
    }
    return len;
  };
  if (sig[i++] !== 0x30) return null;
  const total = readLen();
  if (total === null || i + total !== sig.length) return null;
  const ints: bigint[] = [];
  for (let k = 0; k < 2; k++) {
    if (sig[i++] !== 0x02) return null;
    const len = readLen();
    if (len === null || len === 0 || i + len > sig.length) return null;
    ints.push(bytesToBig(sig.subarray(i, i + len)));
    i += len;
  }
  if (i !== sig.length) return null;
  return { r: ints[0]!, s: ints[1]! };
}

/** ECDSA verify of a DER signature over `digest` (already hashed) with an EC public key. */
export function verifyEcdsaPrehashed(key: KeyObject, digest: Uint8Array, derSig: Uint8Array): boolean {
  const jwk = key.export({ format: 'jwk' });
  const curve = jwk.crv === undefined ? undefined : CURVES[jwk.crv];
  if (!curve || !jwk.x || !jwk.y) throw new Error(`unsupported EC key (${jwk.crv ?? jwk.kty})`);
  const sig = parseDerSignature(derSig);
  if (!sig) return false;
  const { r, s } = sig;
  const { n } = curve;
  if (r <= 0n || r >= n || s <= 0n || s >= n) return false;
  let e = bytesToBig(digest);
  const dbits = digest.length * 8;
  if (dbits > curve.bits) e >>= BigInt(dbits - curve.bits);
  const Q = { x: bytesToBig(Buffer.from(jwk.x, 'base64url')), y: bytesToBig(Buffer.from(jwk.y, 'base64url')) };
  const w = inv(s, n);
  const u1 = mod(e * w, n);
  const u2 = mod(r * w, n);
  const R = add(curve, mul(curve, u1, { x: curve.gx, y: curve.gy }), mul(curve, u2, Q));
  if (R === null) return false;
  return mod(R.x, n) === r;
}
