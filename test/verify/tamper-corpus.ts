// The tamper corpus: models, bundles and trust material a new user could bring, made on disk with
// the real signing tools (cosign built from the Go module proxy, OpenSSF model_signing from PyPI,
// both set up by e2e/lab/tools/), then altered the way an attacker or an accident would. Each case
// names the reason docs/signing.md gives for it; the library, `onnx-operator verify` and the
// operator's ArtifactVerified condition must all report that reason (test/verify/tamper-corpus.test.ts,
// test/verify-operator.int.test.ts). If a tool cannot be built or installed, building the corpus
// fails with the tool's own error.
import { execFileSync } from 'node:child_process';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { copyFileSync, cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SignatureFormatName, VerifyReason } from '../../lib/verify/index.ts';
import { ensureTestModels } from '../../runtime/test-models/build.ts';
import { modelSigningBundle } from './fixtures.ts';

const TOOLS = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'e2e', 'lab', 'tools');

/** Runs a tool; a failure throws with the tool's own output. */
export function runTool(cmd: string, args: string[], env: Record<string, string> = {}, cwd?: string): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', env: { ...process.env, ...env }, cwd, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 });
  } catch (err) {
    const e = err as { stderr?: string; stdout?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')} failed: ${e.message}\n${e.stderr ?? ''}${e.stdout ?? ''}`);
  }
}

/** The real tools, built or installed on first use (cached outside the repository). */
export function signingTools(): { cosign: string; python: string; modelSigning: string } {
  const cosign = runTool('bash', [join(TOOLS, 'build-cosign.sh')]).trim().split('\n').pop()!;
  const python = runTool('bash', [join(TOOLS, 'setup-model-signing.sh')]).trim().split('\n').pop()!;
  return { cosign, python, modelSigning: join(dirname(python), 'model_signing') };
}

export interface CorpusCase {
  /** kebab-case, unique: a file name, an object name, the docs table's first column. */
  id: string;
  /** What was done, as the docs table says it. */
  what: string;
  /** A model file or directory. */
  artifact: string;
  bundle: string;
  /** A PEM public key (the only trust the corpus needs: every case is about the signature, not the identity). */
  key: string;
  /** The digest a user pins in spec.model.digest (and passes as --digest). */
  digest: string;
  format: SignatureFormatName;
  /** The reason docs/signing.md gives. */
  reason: VerifyReason;
}

/** A usage case of `onnx-operator verify`: exit 2, and the message names every flag in `names`. */
export interface FlagCase {
  id: string;
  what: string;
  argv: string[];
  names: string[];
}

const sha256 = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

interface Bundle {
  verificationMaterial: { publicKey?: { hint?: string } };
  messageSignature?: { signature: string };
  dsseEnvelope?: { payload: string; signatures: Array<{ sig: string }> };
}

/** One bit of the signature flipped (DSSE or message signature). */
function flipSignatureBit(bundle: string): string {
  const b = JSON.parse(bundle) as Bundle;
  const holder = b.dsseEnvelope ? b.dsseEnvelope.signatures[0]! : b.messageSignature!;
  const field = 'sig' in holder ? 'sig' : 'signature';
  const sig = Buffer.from((holder as Record<string, string>)[field]!, 'base64');
  sig[sig.length - 5]! ^= 0x01;
  (holder as Record<string, string>)[field] = sig.toString('base64');
  return JSON.stringify(b);
}

interface Statement {
  subject: Array<{ name: string; digest: { sha256: string } }>;
  predicate: { resources: Array<{ name: string; digest: string }> };
}
const statementOf = (bundle: string): Statement => JSON.parse(Buffer.from((JSON.parse(bundle) as Bundle).dsseEnvelope!.payload, 'base64').toString('utf8')) as Statement;

/**
 * A forged manifest: `file` in `dir` was changed, and the model_signing statement is rewritten to
 * match the directory (the file's digest and the subject digest over all of them); the original
 * signature is kept.
 */
function forgeManifest(bundle: string, dir: string, file: string): string {
  const b = JSON.parse(bundle) as Bundle;
  const st = statementOf(bundle);
  const r = st.predicate.resources.find((x) => x.name === file);
  if (!r) throw new Error(`forgeManifest: ${file} is not in the manifest`);
  r.digest = sha256(readFileSync(join(dir, file)));
  const h = createHash('sha256');
  for (const x of st.predicate.resources) h.update(Buffer.from(x.digest, 'hex'));
  st.subject[0]!.digest.sha256 = h.digest('hex');
  b.dsseEnvelope!.payload = Buffer.from(JSON.stringify(st)).toString('base64');
  return JSON.stringify(b);
}

function flipByte(path: string, at: number): void {
  const bytes = readFileSync(path);
  bytes[at]! ^= 0x01;
  writeFileSync(path, bytes);
}

/** Builds the corpus under `work` (an empty directory). */
export function buildTamperCorpus(work: string): { cases: CorpusCase[]; flagCases: FlagCase[] } {
  const tools = signingTools();
  const models = ensureTestModels();
  const at = (...p: string[]): string => join(work, ...p);
  const file = (dir: string, name: string, from: string): string => {
    mkdirSync(at(dir), { recursive: true });
    copyFileSync(from, at(dir, name));
    return at(dir, name);
  };
  const write = (path: string, data: string): string => {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, data);
    return path;
  };

  // model_signing: ECDSA keys made by Python's cryptography, as its docs do.
  const pyKey = (name: string, curve: string): { key: string; pub: string } => {
    const key = at('keys', `${name}.key`);
    const pub = at('keys', `${name}.pub`);
    mkdirSync(at('keys'), { recursive: true });
    runTool(tools.python, ['-c', `
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives import serialization as s
k = ec.generate_private_key(ec.${curve}())
open(${JSON.stringify(key)}, 'wb').write(k.private_bytes(s.Encoding.PEM, s.PrivateFormat.PKCS8, s.NoEncryption()))
open(${JSON.stringify(pub)}, 'wb').write(k.public_key().public_bytes(s.Encoding.PEM, s.PublicFormat.SubjectPublicKeyInfo))
`]);
    return { key, pub };
  };
  const ms = pyKey('model-signing', 'SECP256R1');
  const msOther = pyKey('model-signing-other', 'SECP384R1');
  const msSign = (key: string, path: string, out: string): string => {
    runTool(tools.modelSigning, ['sign', 'key', '--private_key', key, '--signature', out, path]);
    return readFileSync(out, 'utf8');
  };

  // The signed originals: one file, and a directory with a nested file.
  const msFile = file('ms-file', 'model.onnx', models.logreg.path);
  const msFileSig = msSign(ms.key, msFile, at('ms-file.sig'));
  const msDir = at('ms-dir');
  file('ms-dir', 'model.onnx', models.logreg.path);
  file('ms-dir/extra', 'classifier.onnx', models.classifier.path);
  write(at('ms-dir', 'config.json'), '{"name":"logreg"}\n');
  const msDirSig = msSign(ms.key, msDir, at('ms-dir.sig'));
  const manifestDigest = `sha256:${statementOf(msDirSig).subject[0]!.digest.sha256}`;
  const copyDir = (name: string): string => {
    cpSync(msDir, at(name), { recursive: true });
    return at(name);
  };

  const cases: CorpusCase[] = [];
  const add = (c: CorpusCase): void => void cases.push(c);

  add({
    id: 'model-signing-file-signature-bit-flipped',
    what: 'model_signing, one file: one bit of the signature flipped, checked with the right key',
    artifact: msFile,
    bundle: write(at('bundles', 'ms-file-flipped.sig'), flipSignatureBit(msFileSig)),
    key: ms.pub,
    digest: models.logreg.digest,
    format: 'modelSigning',
    reason: 'SignatureInvalid',
  });
  add({
    id: 'model-signing-dir-signature-bit-flipped',
    what: 'model_signing, a directory: one bit of the signature flipped, checked with the right key',
    artifact: msDir,
    bundle: write(at('bundles', 'ms-dir-flipped.sig'), flipSignatureBit(msDirSig)),
    key: ms.pub,
    digest: manifestDigest,
    format: 'modelSigning',
    reason: 'SignatureInvalid',
  });
  const forgedDir = copyDir('ms-forged');
  write(join(forgedDir, 'config.json'), '{"name":"logreg","trust_remote_code":true}\n');
  add({
    id: 'model-signing-forged-manifest',
    what: 'model_signing, a directory: a file changed and the manifest rewritten to match, the original signature kept',
    artifact: forgedDir,
    bundle: write(at('bundles', 'ms-forged.sig'), forgeManifest(msDirSig, forgedDir, 'config.json')),
    key: ms.pub,
    digest: manifestDigest,
    format: 'modelSigning',
    reason: 'SignatureInvalid',
  });
  const modifiedDir = copyDir('ms-modified');
  flipByte(join(modifiedDir, 'model.onnx'), 20);
  add({
    id: 'model-signing-dir-file-modified',
    what: 'model_signing, a directory: one byte of a file flipped, the bundle untouched',
    artifact: modifiedDir,
    bundle: at('ms-dir.sig'),
    key: ms.pub,
    digest: manifestDigest,
    format: 'modelSigning',
    reason: 'ManifestMismatch',
  });
  const modifiedFile = file('ms-file-modified', 'model.onnx', models.logreg.path);
  flipByte(modifiedFile, 20);
  add({
    id: 'model-signing-file-modified',
    what: 'model_signing, one file: one byte flipped (and pinned), the bundle untouched',
    artifact: modifiedFile,
    bundle: at('ms-file.sig'),
    key: ms.pub,
    digest: `sha256:${sha256(readFileSync(modifiedFile))}`,
    format: 'modelSigning',
    reason: 'DigestMismatch',
  });
  add({
    id: 'model-signing-other-key',
    what: 'model_signing, a directory signed with another key (P-384) than the trusted one',
    artifact: msDir,
    bundle: (() => {
      msSign(msOther.key, msDir, at('bundles', 'ms-dir-other-key.sig'));
      return at('bundles', 'ms-dir-other-key.sig');
    })(),
    key: ms.pub,
    digest: manifestDigest,
    format: 'modelSigning',
    reason: 'UntrustedKey',
  });

  // cosign: its own ECDSA key pair, and an RSA key imported into cosign (cosign signs with it).
  const cosignEnv = { COSIGN_PASSWORD: 'corpus' };
  mkdirSync(at('cosign'), { recursive: true });
  runTool(tools.cosign, ['generate-key-pair'], cosignEnv, at('cosign'));
  const blob = file('cosign', 'model.onnx', models.logreg.path);
  const cosignSign = (key: string, out: string): string => {
    runTool(tools.cosign, ['sign-blob', '--key', key, '--bundle', out, '--new-bundle-format', '--tlog-upload=false', '--yes', blob], cosignEnv);
    return readFileSync(out, 'utf8');
  };
  const cosignBundle = cosignSign(at('cosign', 'cosign.key'), at('cosign', 'model.onnx.sigstore.json'));
  add({
    id: 'cosign-signature-bit-flipped',
    what: 'cosign bundle: one bit of the signature flipped, checked with the right key',
    artifact: blob,
    bundle: write(at('bundles', 'cosign-flipped.sigstore.json'), flipSignatureBit(cosignBundle)),
    key: at('cosign', 'cosign.pub'),
    digest: models.logreg.digest,
    format: 'sigstore',
    reason: 'SignatureInvalid',
  });
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  write(at('cosign', 'rsa.pem'), rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string);
  runTool(tools.cosign, ['import-key-pair', '--key', 'rsa.pem', '--output-key-prefix', 'rsa'], cosignEnv, at('cosign'));
  add({
    id: 'rsa-key',
    what: 'cosign bundle signed with an RSA key, that RSA key trusted',
    artifact: blob,
    bundle: (cosignSign(at('cosign', 'rsa.key'), at('bundles', 'cosign-rsa.sigstore.json')), at('bundles', 'cosign-rsa.sigstore.json')),
    key: at('cosign', 'rsa.pub'),
    digest: models.logreg.digest,
    format: 'sigstore',
    reason: 'UnsupportedAlgorithm',
  });
  // Neither tool signs with Ed25519 (model_signing refuses the key, cosign 2.6 sign-blob crashes on
  // it): a model_signing-shaped bundle signed with Ed25519 by node:crypto.
  const ed = generateKeyPairSync('ed25519');
  add({
    id: 'ed25519-key',
    what: 'model_signing-shaped bundle signed with an Ed25519 key, that key trusted',
    artifact: msFile,
    bundle: write(at('bundles', 'ed25519.sig'), modelSigningBundle({ '.': readFileSync(msFile) }, 'model.onnx', ed.privateKey, ed)),
    key: write(at('keys', 'ed25519.pub'), ed.publicKey.export({ type: 'spki', format: 'pem' }) as string),
    digest: models.logreg.digest,
    format: 'modelSigning',
    reason: 'UnsupportedAlgorithm',
  });

  // Trust flags the CLI must not drop: each combination is a usage error naming both flags.
  const caPem = write(at('keys', 'ca.pem'), '-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n');
  const root = write(at('keys', 'trusted_root.json'), '{}');
  const base = ['--artifact', msDir, '--bundle', at('ms-dir.sig')];
  const flagCases: FlagCase[] = [
    { id: 'key-and-ca', what: '--key with --ca', argv: [...base, '--key', ms.pub, '--ca', caPem], names: ['--key', '--ca'] },
    { id: 'ca-and-trusted-root', what: '--ca with --trusted-root', argv: [...base, '--ca', caPem, '--trusted-root', root, '--certificate-identity', 'me@example.com', '--certificate-oidc-issuer', 'https://issuer.example.com'], names: ['--ca', '--trusted-root'] },
    { id: 'key-and-trusted-root', what: '--key with --trusted-root', argv: [...base, '--key', ms.pub, '--trusted-root', root], names: ['--key', '--trusted-root'] },
    { id: 'key-and-identity', what: '--key with --certificate-identity', argv: [...base, '--key', ms.pub, '--certificate-identity', 'me@example.com'], names: ['--key', '--certificate-identity'] },
    { id: 'identity-and-regexp', what: '--certificate-identity with --certificate-identity-regexp', argv: [...base, '--ca', caPem, '--certificate-identity', 'me@example.com', '--certificate-identity-regexp', '.*'], names: ['--certificate-identity', '--certificate-identity-regexp'] },
    { id: 'key-given-twice', what: '--key given twice', argv: [...base, '--key', ms.pub, '--key', msOther.pub], names: ['--key', ms.pub, msOther.pub] },
    { id: 'key-is-a-directory', what: '--key pointing at a directory', argv: [...base, '--key', at('keys')], names: ['--key', at('keys'), 'is a directory'] },
    { id: 'bundle-missing', what: '--bundle naming no file', argv: ['--artifact', msDir, '--bundle', at('nope.sig'), '--key', ms.pub], names: ['--bundle', at('nope.sig'), 'no such file'] },
    { id: 'ca-missing', what: '--ca naming no file', argv: [...base, '--ca', at('nope.pem')], names: ['--ca', at('nope.pem'), 'no such file'] },
  ];
  return { cases, flagCases };
}
