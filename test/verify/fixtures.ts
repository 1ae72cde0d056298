// Offline test material: EC keys, a small X.509 CA chain (with the Fulcio OIDC-issuer extensions)
// and Sigstore / model_signing bundles, all made with node:crypto and a tiny DER encoder.
import { createHash, createPrivateKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { pae } from '../../lib/verify/index.ts';

// --- DER ---
function len(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const b: number[] = [];
  while (n > 0) {
    b.unshift(n & 0xff);
    n >>= 8;
  }
  return Buffer.from([0x80 | b.length, ...b]);
}
const tlv = (tag: number, body: Buffer): Buffer => Buffer.concat([Buffer.from([tag]), len(body.length), body]);
const seq = (...p: Buffer[]): Buffer => tlv(0x30, Buffer.concat(p));
const set = (...p: Buffer[]): Buffer => tlv(0x31, Buffer.concat(p));
const int = (n: number | Buffer): Buffer => {
  let b = typeof n === 'number' ? Buffer.from([n]) : n;
  if ((b[0]! & 0x80) !== 0) b = Buffer.concat([Buffer.from([0]), b]);
  return tlv(0x02, b);
};
function oid(s: string): Buffer {
  const parts = s.split('.').map(Number);
  const out = [parts[0]! * 40 + parts[1]!];
  for (const p of parts.slice(2)) {
    const b: number[] = [p & 0x7f];
    let v = p >>> 7;
    while (v > 0) {
      b.unshift((v & 0x7f) | 0x80);
      v >>>= 7;
    }
    out.push(...b);
  }
  return tlv(0x06, Buffer.from(out));
}
const utf8 = (s: string): Buffer => tlv(0x0c, Buffer.from(s));
const octet = (b: Buffer): Buffer => tlv(0x04, b);
const bool = (v: boolean): Buffer => tlv(0x01, Buffer.from([v ? 0xff : 0]));
const time = (d: Date): Buffer => {
  const s = d.toISOString().replace(/[-:T]/g, '').slice(0, 14) + 'Z';
  return d.getUTCFullYear() < 2050 ? tlv(0x17, Buffer.from(s.slice(2))) : tlv(0x18, Buffer.from(s));
};
const name = (cn: string): Buffer => seq(set(seq(oid('2.5.4.3'), utf8(cn))));
const ext = (id: string, critical: boolean, value: Buffer): Buffer => seq(oid(id), ...(critical ? [bool(true)] : []), octet(value));

const SIG_ALG: Record<string, string> = { sha256: '1.2.840.10045.4.3.2', sha384: '1.2.840.10045.4.3.3', sha512: '1.2.840.10045.4.3.4' };

export interface Cert {
  pem: string;
  der: Buffer;
  key: KeyObject;
  publicKey: KeyObject;
}

export function makeCert(opts: {
  subjectCn: string;
  issuer?: Cert;
  issuerCn?: string;
  ca: boolean;
  notBefore?: Date;
  notAfter?: Date;
  san?: string; // URI or email
  oidcIssuer?: string;
  curve?: 'P-256' | 'P-384' | 'P-521';
  /** The certificate's own key is RSA-2048 (its issuer still signs with ECDSA). */
  rsa?: boolean;
  /**
   * Certificate transparency (as Fulcio does): given the TBSCertificate without the SCT extension
   * (what an RFC 6962 log signs for a precertificate), returns the TLS-encoded
   * SignedCertificateTimestampList to embed in extension 1.3.6.1.4.1.11129.2.4.2.
   */
  sct?: (preTbs: Buffer) => Buffer;
}): Cert {
  const { privateKey, publicKey } = opts.rsa ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ec', { namedCurve: opts.curve ?? 'P-256' });
  const signerKey = opts.issuer?.key ?? privateKey;
  const hash = 'sha256';
  const exts: Buffer[] = [ext('2.5.29.19', true, seq(...(opts.ca ? [bool(true)] : []))), ext('2.5.29.15', true, tlv(0x03, Buffer.from(opts.ca ? [0x01, 0x06] : [0x07, 0x80])))];
  if (opts.san) {
    const gn = opts.san.includes('@') && !opts.san.includes('://') ? tlv(0x81, Buffer.from(opts.san)) : tlv(0x86, Buffer.from(opts.san));
    exts.push(ext('2.5.29.17', false, seq(gn)));
  }
  if (opts.oidcIssuer) {
    exts.push(ext('1.3.6.1.4.1.57264.1.1', false, Buffer.from(opts.oidcIssuer)));
    exts.push(ext('1.3.6.1.4.1.57264.1.8', false, utf8(opts.oidcIssuer)));
  }
  const now = Date.now();
  const serial = int(Buffer.from([0x40 | (createHash('sha256').update(opts.subjectCn + Math.random()).digest()[0]! & 0x3f), ...createHash('sha256').update(String(Math.random())).digest().subarray(0, 7)]));
  const tbsOf = (extensions: Buffer[]): Buffer => seq(
    tlv(0xa0, int(2)),
    serial,
    seq(oid(SIG_ALG[hash]!)),
    name(opts.issuer ? opts.issuerCn ?? 'issuer' : opts.subjectCn),
    seq(time(opts.notBefore ?? new Date(now - 3600_000)), time(opts.notAfter ?? new Date(now + 86400_000))),
    name(opts.subjectCn),
    publicKey.export({ type: 'spki', format: 'der' }),
    tlv(0xa3, seq(...extensions)),
  );
  if (opts.sct) exts.push(ext('1.3.6.1.4.1.11129.2.4.2', false, octet(opts.sct(tbsOf(exts)))));
  const tbs = tbsOf(exts);
  const sig = sign(hash, tbs, signerKey);
  const der = seq(tbs, seq(oid(SIG_ALG[hash]!)), tlv(0x03, Buffer.concat([Buffer.from([0]), sig])));
  const pem = `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/.{64}/g, '$&\n')}\n-----END CERTIFICATE-----\n`.replace(/\n\n/g, '\n');
  return { pem, der, key: privateKey, publicKey };
}

export function ecKey(curve: 'P-256' | 'P-384' | 'P-521' = 'P-256'): { privateKey: KeyObject; publicKey: KeyObject; pem: string; privatePem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: curve });
  return { privateKey, publicKey, pem: publicKey.export({ type: 'spki', format: 'pem' }) as string, privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string };
}

/** The hash a signature with `k` uses: ECDSA's matched to the curve, none for Ed25519, SHA-256 for RSA. */
const hashFor = (k: KeyObject): string | null =>
  k.asymmetricKeyType === 'ec' ? ({ prime256v1: 'sha256', secp384r1: 'sha384', secp521r1: 'sha512' } as Record<string, string>)[k.asymmetricKeyDetails!.namedCurve!]! : k.asymmetricKeyType === 'ed25519' ? null : 'sha256';

/** A key signer's `hint`: hex sha256 of the SPKI DER unless given (model_signing: `modelSigningHint`). */
type Signer = { publicKey: KeyObject; hint?: string } | { chain: Cert[] };

/** The hint model_signing writes: hex sha256 of the PEM text of the public key. */
export function modelSigningHint(publicKey: KeyObject): string {
  return createHash('sha256').update(publicKey.export({ type: 'spki', format: 'pem' }) as string).digest('hex');
}

function material(signer: Signer): unknown {
  if ('chain' in signer) return { x509CertificateChain: { certificates: signer.chain.map((c) => ({ rawBytes: c.der.toString('base64') })) }, tlogEntries: [] };
  return { publicKey: { hint: signer.hint ?? createHash('sha256').update(signer.publicKey.export({ type: 'spki', format: 'der' })).digest('hex') }, tlogEntries: [] };
}

/** A cosign-style message-signature bundle over sha256(data). */
export function messageBundle(data: Buffer, key: KeyObject, signer: Signer, algorithm = 'SHA2_256'): string {
  const digest = createHash('sha256').update(data).digest();
  return JSON.stringify({
    mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
    verificationMaterial: material(signer),
    messageSignature: { messageDigest: { algorithm, digest: digest.toString('base64') }, signature: sign('sha256', data, key).toString('base64') },
  });
}

/** A model_signing-style bundle (files serialization) over name → bytes. */
export function modelSigningBundle(files: Record<string, Buffer>, subjectName: string, key: KeyObject, signer: Signer, hashType = 'sha256'): string {
  const resources = Object.keys(files)
    .sort()
    .map((n) => ({ name: n, algorithm: hashType, digest: createHash('sha256').update(files[n]!).digest('hex') }));
  const h = createHash('sha256');
  for (const r of resources) h.update(Buffer.from(r.digest, 'hex'));
  const statement = {
    _type: 'https://in-toto.io/Statement/v1',
    subject: [{ name: subjectName, digest: { sha256: h.digest('hex') } }],
    predicateType: 'https://model_signing/signature/v1.0',
    predicate: { serialization: { method: 'files', hash_type: hashType, allow_symlinks: false, ignore_paths: ['.git'] }, resources },
  };
  const payload = Buffer.from(JSON.stringify(statement));
  const sig = sign(hashFor(key), pae('application/vnd.in-toto+json', payload), key);
  return JSON.stringify({
    mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
    verificationMaterial: material(signer),
    dsseEnvelope: { payload: payload.toString('base64'), payloadType: 'application/vnd.in-toto+json', signatures: [{ sig: sig.toString('base64'), keyid: '' }] },
  });
}

export function sha(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

export { createPrivateKey };
