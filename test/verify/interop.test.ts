// Interop with the real signing tools, run in test set-up: cosign (built from the Go module proxy by
// e2e/lab/tools/build-cosign.sh) and OpenSSF model_signing (PyPI venv by
// e2e/lab/tools/setup-model-signing.sh) sign the project's test models offline; our verifier must
// accept what they produce and refuse tampered copies. If a tool cannot be built or installed the
// suite fails with the tool's own error (no skip).
import { copyFileSync, cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { ensureTestModels } from '../../runtime/test-models/build.ts';
import { verifyArtifact } from '../../lib/verify/index.ts';
import { runVerifyCommand } from '../../operator/src/verify-cli.ts';
import { runTool as run, signingTools } from './tamper-corpus.ts';

import { jest } from '@jest/globals';
jest.setTimeout(1_800_000);

const work = mkdtempSync(join(tmpdir(), 'verify-interop-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const models = ensureTestModels();
const logreg = models.logreg;
const classifier = models.classifier;

describe('cosign sign-blob --bundle (key, offline)', () => {
  let cosign = '';
  beforeAll(() => {
    cosign = signingTools().cosign;
    run(cosign, ['generate-key-pair'], { COSIGN_PASSWORD: 'test' }, work);
    run(cosign, ['sign-blob', '--key', 'cosign.key', '--bundle', 'logreg.sigstore.json', '--new-bundle-format', '--tlog-upload=false', '--yes', logreg.path], { COSIGN_PASSWORD: 'test' }, work);
  });
  const policy = () => ({ authorities: [{ key: { pem: readFileSync(join(work, 'cosign.pub'), 'utf8') } }] });
  test('accepted with the digest only and with the file', () => {
    const bundle = readFileSync(join(work, 'logreg.sigstore.json'));
    expect(verifyArtifact({ artifact: { sha256: logreg.digest }, specDigest: logreg.digest, bundle, policy: policy() })).toMatchObject({ ok: true, digest: logreg.digest, format: 'sigstore' });
    expect(verifyArtifact({ artifact: { path: logreg.path }, specDigest: logreg.digest, bundle, policy: policy() })).toMatchObject({ ok: true });
  });
  test('tampered copies refused', () => {
    const bundle = readFileSync(join(work, 'logreg.sigstore.json'));
    const bad = join(work, 'logreg-flipped.onnx');
    const bytes = readFileSync(logreg.path);
    bytes[10]! ^= 1;
    writeFileSync(bad, bytes);
    expect(verifyArtifact({ artifact: { path: bad }, bundle, policy: policy() })).toMatchObject({ ok: false, reason: 'DigestMismatch' });
    expect(verifyArtifact({ artifact: { sha256: classifier.digest }, bundle, policy: policy() })).toMatchObject({ ok: false, reason: 'DigestMismatch' });
    const j = JSON.parse(bundle.toString());
    const sig = Buffer.from(j.messageSignature.signature, 'base64');
    sig[sig.length - 2]! ^= 1;
    j.messageSignature.signature = sig.toString('base64');
    expect(verifyArtifact({ artifact: { sha256: logreg.digest }, bundle: JSON.stringify(j), policy: policy() })).toMatchObject({ ok: false, reason: 'SignatureInvalid' });
  });
  test('the CLI verifies and refuses', async () => {
    const out: string[] = [];
    const io = { out: (s: string) => out.push(s), err: (s: string) => out.push(s) };
    expect(await runVerifyCommand(['--artifact', logreg.path, '--bundle', join(work, 'logreg.sigstore.json'), '--key', join(work, 'cosign.pub'), '--digest', logreg.digest], io)).toBe(0);
    expect(await runVerifyCommand(['--artifact', classifier.path, '--bundle', join(work, 'logreg.sigstore.json'), '--key', join(work, 'cosign.pub'), '--json'], io)).toBe(1);
    expect(JSON.parse(out[1]!)).toMatchObject({ ok: false, reason: 'DigestMismatch' });
    expect(await runVerifyCommand(['--artifact', logreg.path, '--key', join(work, 'cosign.pub')], io)).toBe(2);
    expect(out[2]).toContain('--bundle');
  });
});

describe('model_signing (PyPI) key mode', () => {
  let py = '';
  const key = join(work, 'ms.key');
  const pub = join(work, 'ms.pub');
  const modelDir = join(work, 'model-dir');
  beforeAll(() => {
    py = signingTools().python;
    run(py, ['-c', `
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives import serialization as s
k = ec.generate_private_key(ec.SECP384R1())
open(${JSON.stringify(key)}, 'wb').write(k.private_bytes(s.Encoding.PEM, s.PrivateFormat.PKCS8, s.NoEncryption()))
open(${JSON.stringify(pub)}, 'wb').write(k.public_key().public_bytes(s.Encoding.PEM, s.PublicFormat.SubjectPublicKeyInfo))
`]);
    mkdirSync(join(modelDir, 'extra'), { recursive: true });
    copyFileSync(logreg.path, join(modelDir, 'model.onnx'));
    copyFileSync(classifier.path, join(modelDir, 'extra', 'classifier.onnx'));
    writeFileSync(join(modelDir, 'config.json'), '{"name":"logreg"}\n');
    const ms = join(dirname(py), 'model_signing');
    run(ms, ['sign', 'key', '--private_key', key, '--signature', join(work, 'file.sig'), logreg.path]);
    run(ms, ['sign', 'key', '--private_key', key, '--signature', join(work, 'dir.sig'), modelDir]);
    run(py, ['-c', `
import model_signing
model_signing.signing.Config().use_elliptic_key_signer(private_key=${JSON.stringify(key)}).set_hashing_config(
    model_signing.hashing.Config().use_shard_serialization(shard_size=1000)).sign(${JSON.stringify(modelDir)}, ${JSON.stringify(join(work, 'shards.sig'))})
`]);
  });
  const policy = () => ({ authorities: [{ key: { pem: readFileSync(pub, 'utf8') } }] });
  test('single file (P-384): accepted with its digest', () => {
    const bundle = readFileSync(join(work, 'file.sig'));
    expect(verifyArtifact({ artifact: { sha256: logreg.digest }, specDigest: logreg.digest, bundle, policy: policy() })).toMatchObject({ ok: true, digest: logreg.digest, format: 'modelSigning' });
    expect(verifyArtifact({ artifact: { sha256: classifier.digest }, bundle, policy: policy() })).toMatchObject({ ok: false, reason: 'DigestMismatch' });
  });
  test('directory (files and shards): accepted; tampered copies refused', () => {
    for (const sig of ['dir.sig', 'shards.sig']) {
      const bundle = readFileSync(join(work, sig));
      const ok = verifyArtifact({ artifact: { path: modelDir }, bundle, policy: policy() });
      expect(ok).toMatchObject({ ok: true, format: 'modelSigning' });
      const t1 = join(work, `tamper-extra-${sig}`);
      cpSync(modelDir, t1, { recursive: true });
      writeFileSync(join(t1, 'evil.py'), 'import os');
      expect(verifyArtifact({ artifact: { path: t1 }, bundle, policy: policy() })).toMatchObject({ ok: false, reason: 'ManifestMismatch' });
      const t2 = join(work, `tamper-missing-${sig}`);
      cpSync(modelDir, t2, { recursive: true });
      rmSync(join(t2, 'config.json'));
      expect(verifyArtifact({ artifact: { path: t2 }, bundle, policy: policy() })).toMatchObject({ ok: false, reason: 'ManifestMismatch' });
      const t3 = join(work, `tamper-flip-${sig}`);
      cpSync(modelDir, t3, { recursive: true });
      const b = readFileSync(join(t3, 'model.onnx'));
      b[20]! ^= 1;
      writeFileSync(join(t3, 'model.onnx'), b);
      expect(verifyArtifact({ artifact: { path: t3 }, bundle, policy: policy() })).toMatchObject({ ok: false, reason: 'ManifestMismatch' });
      expect(verifyArtifact({ artifact: { path: modelDir }, specDigest: logreg.digest, bundle, policy: policy() })).toMatchObject({ ok: false, reason: 'DigestMismatch' });
    }
  });
});
