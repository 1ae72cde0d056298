// Key and certificate helpers over node:crypto (and @sigstore/core for Fulcio extensions).
import { X509Certificate as NodeX509, createHash, createPublicKey, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { X509Certificate as SigstoreX509 } from '@sigstore/core';
import { VerifyError } from './types.ts';

export const OID_FULCIO_ISSUER_V1 = '1.3.6.1.4.1.57264.1.1';
export const OID_FULCIO_ISSUER_V2 = '1.3.6.1.4.1.57264.1.8';

const PEM_RE = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([A-Za-z0-9+/=\r\n]+?)-----END \1-----/g;

/** Splits PEM text into blocks; throws TrustRootMissing/UntrustedKey-free BundleInvalid-free errors as `malformed`. */
export function pemBlocks(pem: string): Array<{ label: string; der: Buffer }> {
  const out: Array<{ label: string; der: Buffer }> = [];
  for (const m of pem.matchAll(PEM_RE)) out.push({ label: m[1]!, der: Buffer.from(m[2]!.replace(/\s+/g, ''), 'base64') });
  return out;
}

/** The curves a signing key may use, with the hash a signature with it uses by convention. */
const CURVE_HASH: Record<string, string> = { prime256v1: 'sha256', secp384r1: 'sha384', secp521r1: 'sha512' };
const KEY_FIX = 'sign with an ECDSA P-256, P-384 or P-521 key (cosign generate-key-pair; model_signing and Fulcio use ECDSA)';

/**
 * The hash a signature with this key uses (ECDSA: matched to the curve). Only ECDSA P-256/384/521
 * signing keys are supported: a cosign message signature is checked over the pinned digest alone,
 * which this library does for ECDSA only, and model_signing and Fulcio sign with ECDSA. RSA,
 * Ed25519 and other curves are UnsupportedAlgorithm, in every format, whatever the signature.
 */
export function hashForKey(key: KeyObject, what = 'the signing key'): string {
  const type = key.asymmetricKeyType ?? 'unknown';
  if (type === 'ec') {
    const crv = key.asymmetricKeyDetails?.namedCurve ?? '?';
    const hash = CURVE_HASH[crv];
    if (hash) return hash;
    throw new VerifyError('UnsupportedAlgorithm', `${what} is an ECDSA key on curve ${crv}, which is not supported; ${KEY_FIX}`);
  }
  const name = ({ rsa: 'RSA', 'rsa-pss': 'RSA-PSS', ed25519: 'Ed25519', ed448: 'Ed448', dsa: 'DSA' } as Record<string, string>)[type] ?? type;
  throw new VerifyError('UnsupportedAlgorithm', `${what} is an ${name} key, which is not supported; ${KEY_FIX}`);
}

/** Imports a public key from PEM (SPKI `PUBLIC KEY` or a certificate). Malformed → UntrustedKey; not ECDSA P-256/384/521 → UnsupportedAlgorithm. */
export function publicKeyFromPem(pem: string, what: string): KeyObject {
  let key: KeyObject;
  try {
    if (pem.includes('BEGIN CERTIFICATE')) key = new NodeX509(pem).publicKey;
    else if (!pem.includes('-----BEGIN')) throw new Error('no PEM block');
    else key = createPublicKey({ key: pem, format: 'pem' });
  } catch (cause) {
    throw new VerifyError('UntrustedKey', `${what}: malformed PEM public key (${(cause as Error).message}); give the PEM public key (-----BEGIN PUBLIC KEY-----), e.g. cosign.pub`, { cause });
  }
  hashForKey(key, what);
  return key;
}

export function spkiSha256(key: KeyObject): string {
  return createHash('sha256').update(key.export({ type: 'spki', format: 'der' })).digest('hex');
}

/**
 * Every form a bundle's `publicKey.hint` takes for this key: cosign writes base64(sha256(SPKI DER)),
 * others hex(sha256(SPKI DER)), and model_signing hex(sha256(SPKI PEM text)) — the PEM as
 * Python's cryptography writes it, which is what node:crypto writes too (64-column base64, "\n").
 */
export function keyHints(key: KeyObject): Set<string> {
  const der = createHash('sha256').update(key.export({ type: 'spki', format: 'der' })).digest();
  const pem = createHash('sha256').update(key.export({ type: 'spki', format: 'pem' }) as string).digest('hex');
  return new Set([der.toString('hex'), der.toString('base64'), pem]);
}

/** Verifies `sig` over `data` with the curve-matched hash; UnsupportedAlgorithm for a key that is not ECDSA P-256/384/521. */
export function verifyOver(key: KeyObject, data: Uint8Array, sig: Uint8Array, what?: string): boolean {
  const hash = hashForKey(key, what);
  try {
    return cryptoVerify(hash, data, key, sig);
  } catch {
    return false;
  }
}

export function parseCertDer(der: Uint8Array, what: string): NodeX509 {
  try {
    return new NodeX509(Buffer.from(der));
  } catch (cause) {
    throw new VerifyError('BundleInvalid', `${what}: malformed certificate`, { cause });
  }
}

export function parseCaPem(pem: string): NodeX509[] {
  const blocks = pemBlocks(pem).filter((b) => b.label === 'CERTIFICATE');
  if (blocks.length === 0) throw new VerifyError('TrustRootMissing', 'certificate authority: no PEM CERTIFICATE block');
  return blocks.map((b) => {
    try {
      return new NodeX509(b.der);
    } catch (cause) {
      throw new VerifyError('TrustRootMissing', 'certificate authority: malformed CA certificate', { cause });
    }
  });
}

/** SAN of a certificate: the first URI or email. */
export function certSubject(cert: NodeX509): string | undefined {
  const san = cert.subjectAltName;
  if (!san) return undefined;
  for (const part of san.split(/,\s*/)) {
    const m = /^(URI|email):(.*)$/.exec(part);
    if (m) return m[2];
  }
  return undefined;
}

/** The Fulcio OIDC issuer extension (v2 DER UTF8String, else v1 raw). */
export function certIssuer(cert: NodeX509): string | undefined {
  try {
    const c = SigstoreX509.parse(Buffer.from(cert.raw));
    const v2 = c.extension(OID_FULCIO_ISSUER_V2);
    if (v2) return v2.valueObj.subs?.[0]?.value.toString('utf8') ?? v2.valueObj.value.toString('utf8');
    return c.extension(OID_FULCIO_ISSUER_V1)?.value.toString('utf8');
  } catch {
    return undefined;
  }
}

/**
 * Builds a chain leaf → … → one of `anchors`, every certificate valid at `at`. Returns the path or
 * throws UntrustedSigner with what went wrong.
 */
export function verifyChain(leaf: NodeX509, intermediates: NodeX509[], anchors: NodeX509[], at: Date): NodeX509[] {
  const inValidity = (c: NodeX509): boolean => at >= c.validFromDate && at <= c.validToDate;
  if (!inValidity(leaf)) {
    throw new VerifyError('UntrustedSigner', `certificate ${leaf.subject.replace(/\n/g, ',') || certSubject(leaf) || ''} is not valid at ${at.toISOString()} (valid ${leaf.validFromDate.toISOString()} – ${leaf.validToDate.toISOString()})`);
  }
  const path = [leaf];
  let cur = leaf;
  const pool = [...intermediates, ...anchors];
  for (let depth = 0; depth < 8; depth++) {
    const anchor = anchors.find((a) => a.fingerprint256 === cur.fingerprint256 || (cur.checkIssued(a) && cur.verify(a.publicKey)));
    if (anchor) {
      if (anchor.fingerprint256 !== cur.fingerprint256) {
        if (!inValidity(anchor)) throw new VerifyError('UntrustedSigner', `CA certificate is not valid at ${at.toISOString()}`);
        if (!anchor.ca) throw new VerifyError('UntrustedSigner', 'trusted issuer certificate is not a CA');
        path.push(anchor);
      }
      return path;
    }
    const next = pool.find((c) => c.fingerprint256 !== cur.fingerprint256 && cur.checkIssued(c) && cur.verify(c.publicKey));
    if (!next) break;
    if (!next.ca) throw new VerifyError('UntrustedSigner', 'an issuer in the chain is not a CA');
    if (!inValidity(next)) throw new VerifyError('UntrustedSigner', `intermediate certificate is not valid at ${at.toISOString()}`);
    path.push(next);
    cur = next;
  }
  throw new VerifyError('UntrustedSigner', 'certificate does not chain to a trusted certificate authority');
}

export function matchIdentity(cert: NodeX509, c: { issuer?: string; subject?: string; subjectRegExp?: string }): void {
  const subject = certSubject(cert);
  const issuer = certIssuer(cert);
  if (c.issuer !== undefined && issuer !== c.issuer) {
    throw new VerifyError('UntrustedSigner', `certificate OIDC issuer ${JSON.stringify(issuer ?? null)} is not the trusted issuer ${JSON.stringify(c.issuer)}`);
  }
  if (c.subject !== undefined && subject !== c.subject) {
    throw new VerifyError('UntrustedSigner', `certificate identity ${JSON.stringify(subject ?? null)} is not ${JSON.stringify(c.subject)}`);
  }
  if (c.subjectRegExp !== undefined) {
    let re: RegExp;
    try {
      re = new RegExp(`^(?:${c.subjectRegExp})$`);
    } catch (cause) {
      throw new VerifyError('VerificationError', `invalid subjectRegExp ${JSON.stringify(c.subjectRegExp)}`, { cause });
    }
    if (subject === undefined || !re.test(subject)) {
      throw new VerifyError('UntrustedSigner', `certificate identity ${JSON.stringify(subject ?? null)} does not match /${c.subjectRegExp}/`);
    }
  }
}

export function describeCert(cert: NodeX509): string {
  const s = certSubject(cert) ?? cert.subject.replace(/\n/g, ',');
  const i = certIssuer(cert);
  return i ? `${s} (${i})` : s;
}
