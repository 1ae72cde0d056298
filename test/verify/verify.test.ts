// Unit tests of the verifier with keys, certificates and bundles made offline, and a tamper corpus
// where every case must be refused with the right reason.
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { verifyArtifact, type VerifyInput, type VerifyReason } from '../../lib/verify/index.ts';
import { generateKeyPairSync } from 'node:crypto';
import { ecKey, makeCert, messageBundle, modelSigningBundle, modelSigningHint, sha } from './fixtures.ts';

const model = Buffer.from('onnx model bytes '.repeat(100));
const other = Buffer.from('another model');
const digest = `sha256:${sha(model)}`;
const alice = ecKey();
const mallory = ecKey();
const ISSUER = 'https://token.actions.githubusercontent.com';
const SUBJECT = 'https://github.com/acme/models/.github/workflows/sign.yml@refs/heads/main';
const root = makeCert({ subjectCn: 'test root', ca: true });
const inter = makeCert({ subjectCn: 'test intermediate', issuer: root, issuerCn: 'test root', ca: true });
const leaf = makeCert({ subjectCn: '', issuer: inter, issuerCn: 'test intermediate', ca: false, san: SUBJECT, oidcIssuer: ISSUER });
const expired = makeCert({ subjectCn: '', issuer: inter, issuerCn: 'test intermediate', ca: false, san: SUBJECT, oidcIssuer: ISSUER, notBefore: new Date(Date.now() - 86400_000 * 2), notAfter: new Date(Date.now() - 86400_000) });

const dir = mkdtempSync(join(tmpdir(), 'verify-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const files = { 'model.onnx': model, 'config.json': Buffer.from('{"a":1}'), 'sub/weights.bin': Buffer.from('weights') };
function writeModelDir(name: string, content: Record<string, Buffer>): string {
  const d = join(dir, name);
  for (const [f, b] of Object.entries(content)) {
    mkdirSync(join(d, f, '..'), { recursive: true });
    writeFileSync(join(d, f), b);
  }
  return d;
}

const keyPolicy = { authorities: [{ key: { pem: alice.pem } }] };
const caPolicy = { authorities: [{ certificate: { caPem: root.pem, issuer: ISSUER, subject: SUBJECT } }] };
const cosignBundle = messageBundle(model, alice.privateKey, alice);
const certBundle = messageBundle(model, leaf.key, { chain: [leaf, inter] });

function expectOk(input: VerifyInput): void {
  const r = verifyArtifact(input);
  if (!r.ok) throw new Error(`expected ok, got ${r.reason}: ${r.message}`);
}
function expectRefused(input: VerifyInput, reason: VerifyReason): void {
  const r = verifyArtifact(input);
  if (r.ok) throw new Error(`expected ${reason}, got ok`);
  expect({ reason: r.reason, message: r.message }).toEqual({ reason, message: expect.any(String) });
  expect(r.code).toBe(`VERIFY_${reason.replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase()}`);
  expect(r.error.code).toBe(r.code);
}

describe('accepts', () => {
  test('key-based message signature over the digest only', () => {
    const r = verifyArtifact({ artifact: { sha256: digest }, specDigest: digest, bundle: cosignBundle, policy: keyPolicy });
    expect(r).toMatchObject({ ok: true, digest, format: 'sigstore', mode: 'Enforce' });
  });
  test.each(['P-256', 'P-384', 'P-521'] as const)('model_signing single file, ECDSA %s with its hash', (crv) => {
    const k = ecKey(crv);
    const b = modelSigningBundle({ '.': model }, 'model.onnx', k.privateKey, k);
    expectOk({ artifact: { sha256: digest }, specDigest: digest, bundle: b, policy: { authorities: [{ key: { pem: k.pem } }] } });
  });
  test('model_signing directory: every file checked, spec digest = manifest digest', () => {
    const d = writeModelDir('ok', files);
    const b = modelSigningBundle(files, 'ok', alice.privateKey, alice);
    const first = verifyArtifact({ artifact: { path: d }, bundle: b, policy: keyPolicy });
    expect(first.ok).toBe(true);
    expectOk({ artifact: { path: d }, specDigest: first.ok ? first.digest : '', bundle: b, policy: keyPolicy });
  });
  test('model_signing directory with only its manifest digest at hand (a pvc:// directory the operator cannot read)', () => {
    const b = modelSigningBundle(files, 'dir', alice.privateKey, alice);
    const onDisk = verifyArtifact({ artifact: { path: writeModelDir('pinned', files) }, bundle: b, policy: keyPolicy });
    if (!onDisk.ok) throw new Error(onDisk.message);
    expect(verifyArtifact({ artifact: { sha256: onDisk.digest }, specDigest: onDisk.digest, bundle: b, policy: keyPolicy })).toMatchObject({ ok: true, digest: onDisk.digest });
    expectRefused({ artifact: { sha256: digest }, specDigest: digest, bundle: b, policy: keyPolicy }, 'DigestMismatch');
  });
  test('certificate chain to a CA with identity and issuer', () => {
    const r = verifyArtifact({ artifact: { sha256: digest }, specDigest: digest, bundle: certBundle, policy: caPolicy });
    expect(r).toMatchObject({ ok: true, signer: `${SUBJECT} (${ISSUER})` });
  });
  test('subject regular expression', () => {
    expectOk({ artifact: { sha256: digest }, bundle: certBundle, policy: { authorities: [{ certificate: { caPem: root.pem, issuer: ISSUER, subjectRegExp: 'https://github\\.com/acme/.*' } }] } });
  });
  test('N of M: 2 of 3 authorities', () => {
    const bob = ecKey();
    const bundles = [cosignBundle, messageBundle(model, bob.privateKey, bob)];
    const policy = { threshold: 2, authorities: [{ key: { pem: alice.pem } }, { key: { pem: bob.pem } }, { key: { pem: mallory.pem } }] };
    expect(verifyArtifact({ artifact: { sha256: digest }, bundle: bundles, policy })).toMatchObject({ ok: true, signers: [expect.any(String), expect.any(String)] });
    expect(verifyArtifact({ artifact: { sha256: digest }, bundle: bundles, policy: { ...policy, threshold: 3 } })).toMatchObject({ ok: false, reason: 'UntrustedKey' });
  });
  test('Audit mode is echoed, the verdict is the same', () => {
    expect(verifyArtifact({ artifact: { sha256: digest }, bundle: cosignBundle, policy: { ...keyPolicy, mode: 'Audit', authorities: [{ key: { pem: mallory.pem } }] } })).toMatchObject({ ok: false, mode: 'Audit', reason: 'UntrustedKey' });
  });
});

describe('tamper corpus', () => {
  test('1 flipped byte in the signature → SignatureInvalid', () => {
    const b = JSON.parse(cosignBundle);
    const sig = Buffer.from(b.messageSignature.signature, 'base64');
    sig[sig.length - 3]! ^= 0x01;
    b.messageSignature.signature = sig.toString('base64');
    expectRefused({ artifact: { sha256: digest }, bundle: JSON.stringify(b), policy: keyPolicy }, 'SignatureInvalid');
  });
  test('2 flipped byte in the model file → DigestMismatch', () => {
    const bad = Buffer.from(model);
    bad[5]! ^= 1;
    const p = join(dir, 'flipped.onnx');
    writeFileSync(p, bad);
    expectRefused({ artifact: { path: p }, specDigest: digest, bundle: cosignBundle, policy: keyPolicy }, 'DigestMismatch');
    expectRefused({ artifact: { path: p }, bundle: cosignBundle, policy: keyPolicy }, 'DigestMismatch');
  });
  test('3 wrong key → UntrustedKey', () => {
    expectRefused({ artifact: { sha256: digest }, bundle: cosignBundle, policy: { authorities: [{ key: { pem: mallory.pem } }] } }, 'UntrustedKey');
  });
  test('4 wrong identity → UntrustedSigner', () => {
    expectRefused({ artifact: { sha256: digest }, bundle: certBundle, policy: { authorities: [{ certificate: { caPem: root.pem, issuer: ISSUER, subject: 'https://github.com/evil/x' } }] } }, 'UntrustedSigner');
  });
  test('5 wrong issuer → UntrustedSigner', () => {
    expectRefused({ artifact: { sha256: digest }, bundle: certBundle, policy: { authorities: [{ certificate: { caPem: root.pem, issuer: 'https://accounts.google.com', subject: SUBJECT } }] } }, 'UntrustedSigner');
  });
  test('6 spec digest differs → DigestMismatch', () => {
    expectRefused({ artifact: { sha256: digest }, specDigest: `sha256:${sha(other)}`, bundle: cosignBundle, policy: keyPolicy }, 'DigestMismatch');
  });
  test('7 truncated bundle → BundleInvalid', () => {
    expectRefused({ artifact: { sha256: digest }, bundle: cosignBundle.slice(0, cosignBundle.length / 2), policy: keyPolicy }, 'BundleInvalid');
  });
  test('8 bundle for another artifact → DigestMismatch', () => {
    expectRefused({ artifact: { sha256: digest }, specDigest: digest, bundle: messageBundle(other, alice.privateKey, alice), policy: keyPolicy }, 'DigestMismatch');
  });
  test('9 extra file in a model directory → ManifestMismatch', () => {
    const d = writeModelDir('extra', { ...files, 'evil.py': Buffer.from('import os') });
    expectRefused({ artifact: { path: d }, bundle: modelSigningBundle(files, 'extra', alice.privateKey, alice), policy: keyPolicy }, 'ManifestMismatch');
  });
  test('10 missing file in a model directory → ManifestMismatch', () => {
    const { 'config.json': _gone, ...rest } = files;
    const d = writeModelDir('missing', rest);
    expectRefused({ artifact: { path: d }, bundle: modelSigningBundle(files, 'missing', alice.privateKey, alice), policy: keyPolicy }, 'ManifestMismatch');
  });
  test('11 unsupported hash → UnsupportedAlgorithm', () => {
    expectRefused({ artifact: { sha256: digest }, bundle: messageBundle(model, alice.privateKey, alice, 'SHA2_512'), policy: keyPolicy }, 'UnsupportedAlgorithm');
    expectRefused({ artifact: { sha256: digest }, bundle: modelSigningBundle({ '.': model }, 'm', alice.privateKey, alice, 'blake2'), policy: keyPolicy }, 'UnsupportedAlgorithm');
  });
  test('12 certificate outside its validity → UntrustedSigner', () => {
    expectRefused({ artifact: { sha256: digest }, bundle: messageBundle(model, expired.key, { chain: [expired, inter] }), policy: caPolicy }, 'UntrustedSigner');
  });
  test('13 empty trusted root → TrustRootMissing', () => {
    const policy = { authorities: [{ keyless: { issuer: ISSUER, subject: SUBJECT, trustedRoot: { mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1', tlogs: [], certificateAuthorities: [], ctlogs: [], timestampAuthorities: [] } } }] };
    expectRefused({ artifact: { sha256: digest }, bundle: certBundle, policy }, 'TrustRootMissing');
    expectRefused({ artifact: { sha256: digest }, bundle: certBundle, policy: { authorities: [{ keyless: { issuer: ISSUER, subject: SUBJECT, trustedRoot: '' } }] } }, 'TrustRootMissing');
  });
  test('14 malformed PEM → UntrustedKey', () => {
    expectRefused({ artifact: { sha256: digest }, bundle: cosignBundle, policy: { authorities: [{ key: { pem: alice.pem.replace(/[A-Za-z]{8}/, '!!!!!!!!') } }] } }, 'UntrustedKey');
  });
  test('15 certificate from another CA → UntrustedSigner', () => {
    const otherRoot = makeCert({ subjectCn: 'other root', ca: true });
    expectRefused({ artifact: { sha256: digest }, bundle: certBundle, policy: { authorities: [{ certificate: { caPem: otherRoot.pem } }] } }, 'UntrustedSigner');
  });
  test('16 modified file in a model directory → ManifestMismatch', () => {
    const d = writeModelDir('modified', { ...files, 'config.json': Buffer.from('{"a":2}') });
    expectRefused({ artifact: { path: d }, bundle: modelSigningBundle(files, 'modified', alice.privateKey, alice), policy: keyPolicy }, 'ManifestMismatch');
  });
  test('17 no bundle → BundleNotFound; not JSON → BundleInvalid', () => {
    expectRefused({ artifact: { sha256: digest }, bundle: undefined, policy: keyPolicy }, 'BundleNotFound');
    expectRefused({ artifact: { sha256: digest }, bundle: '', policy: keyPolicy }, 'BundleNotFound');
    expectRefused({ artifact: { sha256: digest }, bundle: '{"mediaType":"nope"}', policy: keyPolicy }, 'BundleInvalid');
  });
  test('18 DSSE payload altered after signing → SignatureInvalid', () => {
    const b = JSON.parse(modelSigningBundle({ '.': model }, 'm', alice.privateKey, alice));
    const st = JSON.parse(Buffer.from(b.dsseEnvelope.payload, 'base64').toString());
    st.subject[0].name = 'renamed';
    b.dsseEnvelope.payload = Buffer.from(JSON.stringify(st)).toString('base64');
    expectRefused({ artifact: { sha256: digest }, bundle: JSON.stringify(b), policy: keyPolicy }, 'SignatureInvalid');
  });
  // model_signing's key hint is the sha256 of the key's PEM text (cosign's: of its DER, base64).
  const flipDsse = (bundle: string): string => {
    const b = JSON.parse(bundle);
    const sig = Buffer.from(b.dsseEnvelope.signatures[0].sig, 'base64');
    sig[sig.length - 4]! ^= 0x01;
    b.dsseEnvelope.signatures[0].sig = sig.toString('base64');
    return JSON.stringify(b);
  };
  const msSigned = (files: Record<string, Buffer>, signer = alice) => modelSigningBundle(files, 'm', signer.privateKey, { publicKey: signer.publicKey, hint: modelSigningHint(signer.publicKey) });
  test('19 model_signing signature with one bit flipped, checked with the right key → SignatureInvalid (its PEM-hash hint names that key)', () => {
    expectRefused({ artifact: { sha256: digest }, bundle: flipDsse(msSigned({ '.': model })), policy: keyPolicy }, 'SignatureInvalid');
    const d = writeModelDir('flipped-sig', files);
    expectRefused({ artifact: { path: d }, bundle: flipDsse(msSigned(files)), policy: keyPolicy }, 'SignatureInvalid');
    // The same bundle under another key is a foreign signer, not tampering.
    expectRefused({ artifact: { path: d }, bundle: msSigned(files), policy: { authorities: [{ key: { pem: mallory.pem } }] } }, 'UntrustedKey');
  });
  test('20 forged manifest: a file changed, the manifest rewritten to match, the signature kept → SignatureInvalid, with or without the pinned digest', () => {
    const original = msSigned(files);
    const changed = { ...files, 'config.json': Buffer.from('{"a":"pwned"}') };
    const d = writeModelDir('forged', changed);
    const b = JSON.parse(original);
    b.dsseEnvelope.payload = JSON.parse(msSigned(changed)).dsseEnvelope.payload; // the manifest of the changed files
    const forged = JSON.stringify(b);
    const pinned = verifyArtifact({ artifact: { path: writeModelDir('forged-original', files) }, bundle: original, policy: keyPolicy });
    expect(pinned.ok).toBe(true);
    expectRefused({ artifact: { path: d }, bundle: forged, policy: keyPolicy }, 'SignatureInvalid');
    expectRefused({ artifact: { path: d }, specDigest: pinned.ok ? pinned.digest : '', bundle: forged, policy: keyPolicy }, 'SignatureInvalid');
  });
  test('21 Ed25519 and RSA keys → UnsupportedAlgorithm, as the trusted key or as the signing certificate\'s key', () => {
    const ed = generateKeyPairSync('ed25519');
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = (k: typeof ed.publicKey) => k.export({ type: 'spki', format: 'pem' }) as string;
    expectRefused({ artifact: { sha256: digest }, bundle: modelSigningBundle({ '.': model }, 'm', ed.privateKey, ed), policy: { authorities: [{ key: { pem: pem(ed.publicKey) } }] } }, 'UnsupportedAlgorithm');
    expectRefused({ artifact: { sha256: digest }, bundle: modelSigningBundle({ '.': model }, 'm', rsa.privateKey, rsa), policy: { authorities: [{ key: { pem: pem(rsa.publicKey) } }] } }, 'UnsupportedAlgorithm');
    expectRefused({ artifact: { sha256: digest }, bundle: cosignBundle, policy: { authorities: [{ key: { pem: pem(rsa.publicKey) } }] } }, 'UnsupportedAlgorithm');
    const r = verifyArtifact({ artifact: { sha256: digest }, bundle: cosignBundle, policy: { authorities: [{ name: 'release-key', key: { pem: pem(ed.publicKey) } }] } });
    expect(r).toMatchObject({ ok: false, message: expect.stringContaining('authority release-key is an Ed25519 key, which is not supported; sign with an ECDSA P-256, P-384 or P-521 key') });
    // A CA-issued certificate whose key is RSA: the chain is fine, the signing key is not.
    const rsaLeaf = makeCert({ subjectCn: '', issuer: inter, issuerCn: 'test intermediate', ca: false, san: SUBJECT, oidcIssuer: ISSUER, rsa: true });
    const viaCa = verifyArtifact({ artifact: { sha256: digest }, bundle: modelSigningBundle({ '.': model }, 'm', rsaLeaf.key, { chain: [rsaLeaf, inter] }), policy: caPolicy });
    expect(viaCa).toMatchObject({ ok: false, reason: 'UnsupportedAlgorithm', message: expect.stringContaining(`the certificate's key (${SUBJECT} (${ISSUER})) is an RSA key`) });
  });
  test('22 a DSSE envelope with two signatures → BundleInvalid naming the field', () => {
    const b = JSON.parse(msSigned({ '.': model }));
    b.dsseEnvelope.signatures.push(b.dsseEnvelope.signatures[0]);
    const r = verifyArtifact({ artifact: { sha256: digest }, bundle: JSON.stringify(b), policy: keyPolicy });
    expect(r).toMatchObject({ ok: false, reason: 'BundleInvalid', message: expect.stringContaining('dsseEnvelope.signatures must hold exactly one signature') });
  });
  test('23 a modified single file under a model_signing bundle → DigestMismatch naming the file, not "."', () => {
    const p = join(dir, 'single.onnx');
    writeFileSync(p, other);
    const r = verifyArtifact({ artifact: { path: p }, bundle: msSigned({ '.': model }), policy: keyPolicy });
    expect(r).toMatchObject({ ok: false, reason: 'DigestMismatch', message: expect.stringContaining(`${p} (sha256:${sha(other)}) is not the file that was signed (sha256:${sha(model)})`) });
    expect(r.ok ? '' : r.message).not.toMatch(/ \. /);
    // A file given for a directory's bundle says so.
    expect(verifyArtifact({ artifact: { path: p }, bundle: msSigned(files), policy: keyPolicy })).toMatchObject({ ok: false, reason: 'DigestMismatch', message: expect.stringContaining('pass the model directory') });
  });
});
