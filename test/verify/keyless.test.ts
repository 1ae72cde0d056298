// Keyless Sigstore bundles, made offline: a Fulcio-like CA (root + intermediate) issues a short-lived
// certificate to release@example.com (OIDC issuer extensions .1.1 and .1.8, an embedded SCT from a
// test CT log), the test model is signed with its key, and a Rekor-like log records a hashedrekord
// v0.0.1 entry with an inclusion promise (SET) and an inclusion proof (RFC 6962 Merkle path + signed
// checkpoint). The verifier must accept the bundle against a trusted_root.json naming that CA and
// those logs, and refuse every altered variant with the documented reason.
import { createHash, randomBytes, sign, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureTestModels } from '../../runtime/test-models/build.ts';
import { verifyArtifact, type VerifyInput, type VerifyPolicy, type VerifyReason } from '../../lib/verify/index.ts';
import { runVerifyCommand } from '../../operator/src/verify-cli.ts';
import { ecKey, makeCert, type Cert } from './fixtures.ts';

const ISSUER = 'https://accounts.example.com';
const SUBJECT = 'release@example.com';
const REKOR_URL = 'https://rekor.example.com';
// Signed in the past: Fulcio certificates live 10 minutes, so the leaf is long expired "now" and is
// only valid at the log's integrated time — which is what a keyless verifier must use.
const T0 = Date.parse('2025-03-01T12:00:00Z');
const INTEGRATED = T0 / 1000 + 30;
const LONG_AGO = new Date('2024-01-01T00:00:00Z');
const FAR_AWAY = new Date('2034-01-01T00:00:00Z');

const models = ensureTestModels();
const model = models.logreg;
const modelBytes = readFileSync(model.path);
const otherModel = models.classifier;

// --- encodings ---
const sha256 = (...parts: Buffer[]): Buffer => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
};
const spki = (k: KeyObject): Buffer => k.export({ type: 'spki', format: 'der' });
/** Sigstore log IDs (Rekor and CT alike): sha256 of the key's DER SubjectPublicKeyInfo. */
const logIdOf = (k: KeyObject): Buffer => sha256(spki(k));
const u16 = (n: number): Buffer => Buffer.from([(n >> 8) & 0xff, n & 0xff]);
const u24 = (n: number): Buffer => Buffer.from([(n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff]);
const b64 = (b: Buffer): string => b.toString('base64');

/** Rekor's canonical JSON (RFC 8785 for the values Rekor writes): keys sorted, no whitespace. */
function canonical(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`)
    .join(',')}}`;
}

// --- the authorities ---
const root = makeCert({ subjectCn: 'sigstore-test root', ca: true, notBefore: LONG_AGO, notAfter: FAR_AWAY });
const inter = makeCert({ subjectCn: 'sigstore-test intermediate', issuer: root, issuerCn: 'sigstore-test root', ca: true, notBefore: LONG_AGO, notAfter: FAR_AWAY });
const rekor = ecKey();
const ctlog = ecKey();
const mallory = ecKey();

/** An RFC 6962 SignedCertificateTimestampList with one v1 SCT over the precertificate TBS. */
function sctList(preTbs: Buffer, issuerKey: KeyObject, log: { privateKey: KeyObject; publicKey: KeyObject }, at: number): Buffer {
  const ts = Buffer.alloc(8);
  ts.writeBigUInt64BE(BigInt(at));
  // digitally-signed struct: version v1, certificate_timestamp, timestamp, precert_entry,
  // issuer_key_hash, TBSCertificate<1..2^24-1>, extensions<0..2^16-1>.
  const signed = Buffer.concat([Buffer.from([0, 0]), ts, u16(1), sha256(spki(issuerKey)), u24(preTbs.length), preTbs, u16(0)]);
  const sig = sign('sha256', signed, log.privateKey);
  const sct = Buffer.concat([Buffer.from([0]), logIdOf(log.publicKey), ts, u16(0), Buffer.from([4, 3]) /* sha256, ecdsa */, u16(sig.length), sig]);
  const list = Buffer.concat([u16(sct.length), sct]);
  return Buffer.concat([u16(list.length), list]);
}

/** A Fulcio-like leaf: empty subject, SAN email, both OIDC issuer extensions, 10 minutes, an SCT. */
function fulcioLeaf(o: { san?: string; issuer?: string; sct?: boolean; ca?: Cert } = {}): Cert {
  const ca = o.ca ?? inter;
  return makeCert({
    subjectCn: '',
    issuer: ca,
    issuerCn: ca === inter ? 'sigstore-test intermediate' : 'sigstore-test root',
    ca: false,
    san: o.san ?? SUBJECT,
    oidcIssuer: o.issuer ?? ISSUER,
    notBefore: new Date(T0),
    notAfter: new Date(T0 + 10 * 60_000),
    sct: o.sct === false ? undefined : (preTbs) => sctList(preTbs, ca.publicKey, ctlog, T0 + 1000),
  });
}
const leaf = fulcioLeaf();

// --- the transparency log ---
const leafHash = (b: Buffer): Buffer => sha256(Buffer.from([0]), b);
const nodeHash = (l: Buffer, r: Buffer): Buffer => sha256(Buffer.from([1]), l, r);
/** RFC 6962 §2.1 Merkle tree hash and audit path (lower levels first). */
function mth(leaves: Buffer[]): Buffer {
  if (leaves.length === 1) return leafHash(leaves[0]!);
  const k = 2 ** Math.floor(Math.log2(leaves.length - 1));
  return nodeHash(mth(leaves.slice(0, k)), mth(leaves.slice(k)));
}
function auditPath(m: number, leaves: Buffer[]): Buffer[] {
  if (leaves.length === 1) return [];
  const k = 2 ** Math.floor(Math.log2(leaves.length - 1));
  return m < k ? [...auditPath(m, leaves.slice(0, k)), mth(leaves.slice(k))] : [...auditPath(m - k, leaves.slice(k)), mth(leaves.slice(0, k))];
}

interface EntryOptions {
  integratedTime?: number;
  /** Key signing the SET (default: the trusted Rekor key). */
  setKey?: KeyObject;
  /** Key signing the checkpoint (default: the trusted Rekor key). */
  checkpointKey?: KeyObject;
  /** The log entry records this signature instead of the bundle's. */
  bodySignature?: Buffer;
}

/** A cosign-style keyless bundle (v0.3, messageSignature + certificate) over the bytes. */
function keylessBundle(cert: Cert, data: Buffer = modelBytes, o: EntryOptions = {}): string {
  const digest = sha256(data);
  const signature = sign('sha256', data, cert.key); // ECDSA P-256 over sha256(data)
  const body = {
    apiVersion: '0.0.1',
    kind: 'hashedrekord',
    spec: {
      data: { hash: { algorithm: 'sha256', value: digest.toString('hex') } },
      signature: { content: b64(o.bodySignature ?? signature), publicKey: { content: b64(Buffer.from(cert.pem)) } },
    },
  };
  const canonicalizedBody = Buffer.from(canonical(body));
  const logId = logIdOf(rekor.publicKey);
  const integratedTime = o.integratedTime ?? INTEGRATED;
  // Our entry sits at index 5 of a 7-entry log.
  const logIndex = 5;
  const leaves = [...Array.from({ length: 5 }, () => randomBytes(64)), canonicalizedBody, randomBytes(64)];
  // Inclusion promise: Rekor signs the canonical JSON of {body, integratedTime, logID, logIndex}.
  const setPayload = canonical({ body: b64(canonicalizedBody), integratedTime, logID: logId.toString('hex'), logIndex });
  const set = sign('sha256', Buffer.from(setPayload), o.setKey ?? rekor.privateKey);
  // Inclusion proof: a signed-note checkpoint over (origin, size, root hash).
  const rootHash = mth(leaves);
  const note = `rekor.example.com - 2605736670972794746\n${leaves.length}\n${b64(rootHash)}\n`;
  const noteSig = sign('sha256', Buffer.from(note), o.checkpointKey ?? rekor.privateKey);
  const envelope = `${note}\n\u2014 rekor.example.com ${b64(Buffer.concat([logId.subarray(0, 4), noteSig]))}\n`;
  return JSON.stringify({
    mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
    verificationMaterial: {
      certificate: { rawBytes: b64(cert.der) },
      tlogEntries: [
        {
          logIndex: String(logIndex),
          logId: { keyId: b64(logId) },
          kindVersion: { kind: 'hashedrekord', version: '0.0.1' },
          integratedTime: String(integratedTime),
          inclusionPromise: { signedEntryTimestamp: b64(set) },
          inclusionProof: { logIndex: String(logIndex), rootHash: b64(rootHash), treeSize: String(leaves.length), hashes: auditPath(logIndex, leaves).map(b64), checkpoint: { envelope } },
          canonicalizedBody: b64(canonicalizedBody),
        },
      ],
    },
    messageSignature: { messageDigest: { algorithm: 'SHA2_256', digest: b64(digest) }, signature: b64(signature) },
  });
}

function logInstance(baseUrl: string, key: KeyObject): unknown {
  return {
    baseUrl,
    hashAlgorithm: 'SHA2_256',
    publicKey: { rawBytes: b64(spki(key)), keyDetails: 'PKIX_ECDSA_P256_SHA_256', validFor: { start: LONG_AGO.toISOString() } },
    logId: { keyId: b64(logIdOf(key)) },
  };
}

function trustedRoot(o: { tlogKeys?: KeyObject[]; ctlogKeys?: KeyObject[] } = {}): Record<string, unknown> {
  return {
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: (o.tlogKeys ?? [rekor.publicKey]).map((k) => logInstance(REKOR_URL, k)),
    certificateAuthorities: [
      {
        subject: { organization: 'example', commonName: 'sigstore-test' },
        uri: 'https://fulcio.example.com',
        certChain: { certificates: [inter, root].map((c) => ({ rawBytes: b64(c.der) })) },
        validFor: { start: LONG_AGO.toISOString() },
      },
    ],
    ctlogs: (o.ctlogKeys ?? [ctlog.publicKey]).map((k) => logInstance('https://ctfe.example.com/test', k)),
    timestampAuthorities: [],
  };
}

const bundle = keylessBundle(leaf);
const policyFor = (o: { issuer?: string; subject?: string; root?: unknown } & Partial<VerifyPolicy> = {}): VerifyPolicy => {
  const { issuer = ISSUER, subject = SUBJECT, root: tr = trustedRoot(), ...rest } = o;
  return { ...rest, authorities: [{ keyless: { issuer, subject, trustedRoot: tr } }] };
};
const input = (o: Partial<VerifyInput> = {}): VerifyInput => ({ artifact: { path: model.path }, specDigest: model.digest, bundle, policy: policyFor(), ...o });

/** Expects a refusal with `reason`; `message` is matched against the message and its causes (the
 * library wraps e.g. "certificate is not valid or expired" in "Failed to verify certificate chain"). */
function expectRefused(i: VerifyInput, reason: VerifyReason, message?: RegExp): void {
  const r = verifyArtifact(i);
  if (r.ok) throw new Error(`expected ${reason}, got ok`);
  expect({ reason: r.reason, transient: r.transient }).toEqual({ reason, transient: false });
  const messages: string[] = [];
  for (let e: unknown = r.error; e instanceof Error; e = e.cause) messages.push(e.message);
  if (message) expect(messages.join(' <- ')).toMatch(message);
}

const dir = mkdtempSync(join(tmpdir(), 'verify-keyless-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('keyless bundle (Fulcio certificate, Rekor entry) accepted', () => {
  test('the valid bundle verifies; the signer names the identity and issuer', () => {
    const r = verifyArtifact(input());
    if (!r.ok) throw new Error(`expected ok, got ${r.reason}: ${r.message}`);
    expect(r).toMatchObject({ ok: true, digest: model.digest, signer: `${SUBJECT} (${ISSUER})`, signers: [`${SUBJECT} (${ISSUER})`], format: 'sigstore' });
  });
  test('with only the pinned digest, and the trusted root as JSON text', () => {
    const r = verifyArtifact(input({ artifact: { sha256: model.digest }, policy: policyFor({ root: JSON.stringify(trustedRoot()) }) }));
    expect(r).toMatchObject({ ok: true, signer: `${SUBJECT} (${ISSUER})` });
  });
  test('subjectRegExp instead of an exact subject', () => {
    const r = verifyArtifact(input({ policy: { authorities: [{ keyless: { issuer: ISSUER, subjectRegExp: '.*@example\\.com', trustedRoot: trustedRoot() } }] } }));
    expect(r).toMatchObject({ ok: true });
  });
  test('the certificate expired long before now: validity is checked at the integrated time', () => {
    expect(Date.now()).toBeGreaterThan(T0 + 10 * 60_000);
    expect(verifyArtifact(input({ now: new Date() }))).toMatchObject({ ok: true });
  });
  test('a leaf issued by the root itself (no intermediate)', () => {
    expect(verifyArtifact(input({ bundle: keylessBundle(fulcioLeaf({ ca: root })) }))).toMatchObject({ ok: true, signer: `${SUBJECT} (${ISSUER})` });
  });
  test('without an SCT: accepted only when the policy asks for no SCT', () => {
    const noSct = keylessBundle(fulcioLeaf({ sct: false }));
    expectRefused(input({ bundle: noSct }), 'UntrustedSigner', /SCT/);
    expect(verifyArtifact(input({ bundle: noSct, policy: policyFor({ ctlogThreshold: 0, root: trustedRoot({ ctlogKeys: [] }) }) }))).toMatchObject({ ok: true });
  });
});

describe('keyless bundle refused', () => {
  test('another identity → UntrustedSigner', () => {
    expectRefused(input({ policy: policyFor({ subject: 'attacker@example.com' }) }), 'UntrustedSigner', /identity/);
    // …and a certificate really issued to someone else, against the release identity.
    expectRefused(input({ bundle: keylessBundle(fulcioLeaf({ san: 'intern@example.com' })) }), 'UntrustedSigner', /identity/);
  });
  test('another OIDC issuer → UntrustedSigner', () => {
    expectRefused(input({ policy: policyFor({ issuer: 'https://token.actions.githubusercontent.com' }) }), 'UntrustedSigner', /issuer/);
    expectRefused(input({ bundle: keylessBundle(fulcioLeaf({ issuer: 'https://evil.example.com' })) }), 'UntrustedSigner', /issuer/);
  });
  test('SET signed by another key → UntrustedSigner', () => {
    expectRefused(input({ bundle: keylessBundle(leaf, modelBytes, { setKey: mallory.privateKey }) }), 'UntrustedSigner', /inclusion promise/);
  });
  test('checkpoint signed by another key → UntrustedSigner', () => {
    expectRefused(input({ bundle: keylessBundle(leaf, modelBytes, { checkpointKey: mallory.privateKey }) }), 'UntrustedSigner', /checkpoint/);
  });
  test('inclusion proof that does not lead to the checkpoint root → UntrustedSigner', () => {
    const b = JSON.parse(bundle);
    const hashes = b.verificationMaterial.tlogEntries[0].inclusionProof.hashes as string[];
    hashes[0] = b64(randomBytes(32));
    expectRefused(input({ bundle: JSON.stringify(b) }), 'UntrustedSigner', /root hash/);
  });
  test('certificate outside its validity at the integrated time → UntrustedSigner', () => {
    expectRefused(input({ bundle: keylessBundle(leaf, modelBytes, { integratedTime: T0 / 1000 + 3600 }) }), 'UntrustedSigner', /not valid or expired/);
    expectRefused(input({ bundle: keylessBundle(leaf, modelBytes, { integratedTime: T0 / 1000 - 60 }) }), 'UntrustedSigner', /not valid or expired/);
    // The reason a user reads (status, Event, CLI) says why, not only "failed to verify the chain".
    const r = verifyArtifact(input({ bundle: keylessBundle(leaf, modelBytes, { integratedTime: T0 / 1000 + 3600 }) }));
    expect(r.ok ? '' : r.message).toMatch(/not valid or expired/);
  });
  test('the integrated time altered after the log signed it → UntrustedSigner', () => {
    const b = JSON.parse(bundle);
    b.verificationMaterial.tlogEntries[0].integratedTime = String(INTEGRATED + 60);
    expectRefused(input({ bundle: JSON.stringify(b) }), 'UntrustedSigner', /inclusion promise/);
  });
  test('tlog key absent from the trusted root → UntrustedSigner', () => {
    expectRefused(input({ policy: policyFor({ root: trustedRoot({ tlogKeys: [] }) }) }), 'UntrustedSigner', /inclusion promise/);
    expectRefused(input({ policy: policyFor({ root: trustedRoot({ tlogKeys: [mallory.publicKey] }) }) }), 'UntrustedSigner', /inclusion promise/);
  });
  test('no transparency-log entry → UntrustedSigner', () => {
    const b = JSON.parse(bundle);
    b.verificationMaterial.tlogEntries = [];
    expectRefused(input({ bundle: JSON.stringify(b) }), 'UntrustedSigner', /timestamps/);
  });
  test('the log entry records another signature → UntrustedSigner', () => {
    expectRefused(input({ bundle: keylessBundle(leaf, modelBytes, { bodySignature: sign('sha256', modelBytes, leaf.key) }) }), 'UntrustedSigner', /signature mismatch/);
  });
  test('SCT from a CT log the trusted root does not list → UntrustedSigner', () => {
    expectRefused(input({ policy: policyFor({ root: trustedRoot({ ctlogKeys: [mallory.publicKey] }) }) }), 'UntrustedSigner', /SCT/);
  });
  test('certificate from another CA → UntrustedSigner', () => {
    const tr = trustedRoot();
    const otherRoot = makeCert({ subjectCn: 'sigstore-test root', ca: true, notBefore: LONG_AGO, notAfter: FAR_AWAY });
    (tr.certificateAuthorities as Array<{ certChain: unknown }>)[0]!.certChain = { certificates: [{ rawBytes: b64(otherRoot.der) }] };
    expectRefused(input({ policy: policyFor({ root: tr }) }), 'UntrustedSigner', /certificate chain.*path/);
  });
  test('artifact digest differs → DigestMismatch', () => {
    // The other model, against the bundle for logreg (spec pinned to either digest).
    expectRefused(input({ artifact: { path: otherModel.path } }), 'DigestMismatch', /is not the spec digest/);
    expectRefused(input({ artifact: { path: otherModel.path }, specDigest: otherModel.digest }), 'DigestMismatch', /the bundle signs/);
    expectRefused(input({ artifact: { sha256: otherModel.digest }, specDigest: otherModel.digest }), 'DigestMismatch', /the bundle signs/);
  });
  test('signature altered (log entry altered to match) → SignatureInvalid', () => {
    const forged = sign('sha256', Buffer.from('something else'), leaf.key);
    const b = JSON.parse(keylessBundle(leaf, modelBytes, { bodySignature: forged }));
    b.messageSignature.signature = b64(forged);
    expectRefused(input({ bundle: JSON.stringify(b) }), 'SignatureInvalid', /signature verification failed/);
  });
});

describe('onnx-operator verify, keyless', () => {
  const bundlePath = join(dir, 'logreg.onnx.sigstore.json');
  const rootPath = join(dir, 'trusted_root.json');
  beforeAll(() => {
    writeFileSync(bundlePath, bundle);
    writeFileSync(rootPath, JSON.stringify(trustedRoot(), null, 2));
  });
  async function cli(args: string[]): Promise<{ code: number; out: string }> {
    const out: string[] = [];
    const code = await runVerifyCommand(args, { out: (s) => out.push(s), err: (s) => out.push(s) });
    return { code, out: out.join('\n') };
  }
  test('--certificate-identity/--certificate-oidc-issuer/--trusted-root: exit 0', async () => {
    const r = await cli(['--artifact', model.path, '--bundle', bundlePath, '--certificate-identity', SUBJECT, '--certificate-oidc-issuer', ISSUER, '--trusted-root', rootPath, '--digest', model.digest]);
    expect(r).toEqual({ code: 0, out: `Verified: ${model.digest} signed by ${SUBJECT} (${ISSUER}) (sigstore)` });
    const j = await cli(['--artifact', model.path, '--bundle', bundlePath, '--certificate-identity', SUBJECT, '--certificate-oidc-issuer', ISSUER, '--trusted-root', rootPath, '--json']);
    expect(j.code).toBe(0);
    expect(JSON.parse(j.out)).toMatchObject({ ok: true, digest: model.digest, signer: `${SUBJECT} (${ISSUER})` });
  });
  test('another identity: exit 1 with the reason', async () => {
    const r = await cli(['--artifact', model.path, '--bundle', bundlePath, '--certificate-identity', 'attacker@example.com', '--certificate-oidc-issuer', ISSUER, '--trusted-root', rootPath]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/^Refused: UntrustedSigner: /);
  });
});
