// The verifier: a bundle, an artifact (its sha256, or a file/directory on disk), the spec's digest
// and a policy in; a verdict with a reason out. Offline: trust material comes only from the policy.
import { statSync, type Stats } from 'node:fs';
import { createHash, type KeyObject, type X509Certificate as NodeX509 } from 'node:crypto';
import { bundleFromJSON, type Bundle } from '@sigstore/bundle';
import { Verifier, toSignedEntity, toTrustMaterial } from '@sigstore/verify';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { verifyEcdsaPrehashed } from './ecdsa.ts';
import { describeCert, hashForKey, keyHints, matchIdentity, parseCaPem, parseCertDer, publicKeyFromPem, spkiSha256, verifyChain, verifyOver } from './keys.ts';
import { MODEL_SIGNING_PREDICATE, checkManifestOnDisk, parseModelManifest, sha256File, statementFromPayload } from './manifest.ts';
import { VerifyError, type Authority, type SignatureFormatName, type VerifyInput, type VerifyPolicy, type VerifyReason, type VerifyResult } from './types.ts';

const DIGEST_RE = /^sha256:([0-9a-f]{64})$/;

/** DSSE pre-authentication encoding. */
export function pae(payloadType: string, payload: Buffer): Buffer {
  const t = Buffer.from(payloadType, 'utf8');
  return Buffer.concat([Buffer.from(`DSSEv1 ${t.length} `), t, Buffer.from(` ${payload.length} `), payload]);
}

/** A parsed bundle with what every authority check needs. */
interface Parsed {
  bundle: Bundle;
  format: SignatureFormatName;
  /** hex digest the signature binds (artifact sha256 for cosign; manifest digest for model_signing). */
  signedDigest: string;
  /** For model_signing: the manifest. */
  manifest?: ReturnType<typeof parseModelManifest>;
  /** Verifies one signature with a key; true if any signature in the bundle verifies. UnsupportedAlgorithm for a key that is not ECDSA P-256/384/521 (`what` names it). */
  verifyWith(key: KeyObject, what?: string): boolean;
  hint?: string;
  certs: NodeX509[];
}

/** What is wrong with a field @sigstore/bundle refused, where a user can tell (JSON field names). */
const FIELD_PROBLEM: Record<string, string> = {
  mediaType: 'is not a Sigstore bundle media type (application/vnd.dev.sigstore.bundle.v0.3+json)',
  content: 'is missing: a bundle holds messageSignature or dsseEnvelope',
  'dsseEnvelope.signatures': 'must hold exactly one signature',
  verificationMaterial: 'is missing',
  'verificationMaterial.content': 'is missing: publicKey, certificate or x509CertificateChain',
};

/**
 * @sigstore/bundle's ValidationError says only "invalid bundle" and lists the fields at fault as
 * protobuf paths (content.dsseEnvelope.signatures): name them as they are in the bundle's JSON.
 */
function describeInvalid(cause: unknown): string {
  const message = (cause as Error)?.message ?? String(cause);
  const fields = (cause as { fields?: unknown }).fields;
  if (!Array.isArray(fields) || fields.length === 0) return message;
  const named = fields.map((f) => {
    const json = String(f).replace(/^content\./, '').replace(/^verificationMaterial\.content\./, 'verificationMaterial.');
    return `${json} ${FIELD_PROBLEM[json] ?? 'is missing or invalid'}`;
  });
  return `${message}: ${named.join('; ')}`;
}

export function parseBundle(raw: Uint8Array | string): Parsed {
  const text = typeof raw === 'string' ? raw : Buffer.from(raw).toString('utf8');
  if (text.trim() === '') throw new VerifyError('BundleNotFound', 'the signature bundle is empty');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new VerifyError('BundleInvalid', `bundle is not JSON (${(cause as Error).message})`, { cause });
  }
  if (json && typeof json === 'object' && 'base64Signature' in json) {
    throw new VerifyError('BundleInvalid', 'legacy cosign bundle format; sign with `cosign sign-blob --new-bundle-format --bundle …`');
  }
  // model_signing's certificate mode writes a v0.3 bundle with a whole x509CertificateChain, which
  // the v0.3 schema no longer allows: keep the leaf as the certificate, the rest as intermediates.
  const extra: NodeX509[] = [];
  const vmj = (json as { mediaType?: string; verificationMaterial?: Record<string, unknown> } | null)?.verificationMaterial;
  const chainJ = vmj?.x509CertificateChain as { certificates?: Array<{ rawBytes?: string }> } | undefined;
  if (vmj && chainJ && Array.isArray(chainJ.certificates) && /v0\.3/.test(String((json as { mediaType?: string }).mediaType))) {
    const [first, ...rest] = chainJ.certificates;
    for (const c of rest) extra.push(parseCertDer(Buffer.from(c.rawBytes ?? '', 'base64'), 'bundle chain'));
    delete vmj.x509CertificateChain;
    vmj.certificate = first ?? {};
  }
  let bundle: Bundle;
  try {
    bundle = bundleFromJSON(json);
  } catch (cause) {
    throw new VerifyError('BundleInvalid', `not a Sigstore bundle: ${describeInvalid(cause)}; sign again with cosign sign-blob --new-bundle-format or model_signing sign`, { cause });
  }
  const vm = bundle.verificationMaterial.content;
  const certs: NodeX509[] = [];
  let hint: string | undefined;
  if (vm.$case === 'publicKey') hint = vm.publicKey.hint;
  else if (vm.$case === 'certificate') certs.push(parseCertDer(vm.certificate.rawBytes, 'bundle'));
  else for (const c of vm.x509CertificateChain.certificates) certs.push(parseCertDer(c.rawBytes, 'bundle'));
  certs.push(...extra);

  const content = bundle.content;
  if (content.$case === 'messageSignature') {
    const md = content.messageSignature.messageDigest;
    // HashAlgorithm.SHA2_256 = 1 in the protobuf enum.
    if (!md || md.algorithm !== 1) throw new VerifyError('UnsupportedAlgorithm', `message digest algorithm ${md?.algorithm ?? 'missing'} (only SHA2_256)`);
    if (md.digest.length !== 32) throw new VerifyError('BundleInvalid', 'message digest is not 32 bytes');
    const digest = Buffer.from(md.digest);
    const sig = Buffer.from(content.messageSignature.signature);
    return {
      bundle,
      format: 'sigstore',
      signedDigest: digest.toString('hex'),
      hint,
      certs,
      verifyWith(key, what) {
        hashForKey(key, what);
        return verifyEcdsaPrehashed(key, digest, sig);
      },
    };
  }
  const env = content.dsseEnvelope;
  const st = statementFromPayload(env.payloadType, env.payload);
  const signed = pae(env.payloadType, Buffer.from(env.payload));
  const verifyWith = (key: KeyObject, what?: string): boolean => env.signatures.some((s) => verifyOver(key, signed, s.sig, what));
  if (st.predicateType === MODEL_SIGNING_PREDICATE) {
    const manifest = parseModelManifest(st);
    return { bundle, format: 'modelSigning', signedDigest: manifest.digest, manifest, hint, certs, verifyWith };
  }
  const d = st.subject?.[0]?.digest?.sha256;
  if (st.subject?.length !== 1 || typeof d !== 'string') throw new VerifyError('UnsupportedAlgorithm', 'in-toto statement needs exactly one subject with a sha256 digest');
  return { bundle, format: 'sigstore', signedDigest: d, hint, certs, verifyWith };
}

function keylessRoot(trustedRoot: unknown): TrustedRoot {
  let obj = trustedRoot;
  if (typeof obj === 'string') {
    if (obj.trim() === '') throw new VerifyError('TrustRootMissing', 'the trusted root is empty');
    try {
      obj = JSON.parse(obj);
    } catch (cause) {
      throw new VerifyError('TrustRootMissing', 'the trusted root is not JSON', { cause });
    }
  }
  if (!obj || typeof obj !== 'object') throw new VerifyError('TrustRootMissing', 'no trusted root configured');
  let root: TrustedRoot;
  try {
    root = TrustedRoot.fromJSON(obj);
  } catch (cause) {
    throw new VerifyError('TrustRootMissing', 'the trusted root is malformed', { cause });
  }
  if (root.certificateAuthorities.length === 0) throw new VerifyError('TrustRootMissing', 'the trusted root has no certificate authorities');
  return root;
}

/** Checks one authority; returns the signer string or throws why not. */
function checkAuthority(a: Authority, p: Parsed, policy: VerifyPolicy, now: Date): string {
  if ('key' in a) {
    const what = `authority ${a.name ?? 'key'}`;
    const key = publicKeyFromPem(a.key.pem, what);
    const fp = spkiSha256(key);
    if (p.certs.length > 0) {
      // A certificate-bearing bundle against a bare key: the certificate's key must be that key.
      if (spkiSha256(p.certs[0]!.publicKey) !== fp) throw new VerifyError('UntrustedKey', `the bundle was signed by a certificate whose key is not the trusted key sha256:${fp.slice(0, 16)}… (${what}); trust the certificate's CA with --ca / certificate.caSecretRef, or sign with the trusted key`);
    }
    if (p.verifyWith(key, what)) return `key:sha256:${fp}`;
    // The hint (a hash of the signing key, unsigned: it only tells the two failures apart) names
    // the trusted key → the signature or what it covers was altered; another key → key rotation
    // or a foreign signer; no hint → either.
    if (p.certs.length > 0 || (p.hint !== undefined && keyHints(key).has(p.hint))) {
      const named = p.certs.length > 0 ? 'its certificate holds' : 'its key hint names';
      throw new VerifyError('SignatureInvalid', `the bundle was signed with the trusted key sha256:${fp.slice(0, 16)}… (${named} it) but the signature does not verify: the bundle or the manifest it signs was altered after signing; investigate the tampering, and sign the model again`);
    }
    if (p.hint) throw new VerifyError('UntrustedKey', `the bundle was signed with another key (hint ${p.hint.slice(0, 16)}…, trusted key sha256:${fp.slice(0, 16)}…); sign with the trusted key, or trust the signer's key`);
    throw new VerifyError('UntrustedKey', `the signature does not verify with the trusted key sha256:${fp.slice(0, 16)}… and the bundle names no key (no publicKey.hint): signed with another key, or altered; sign with the trusted key`);
  }
  if ('certificate' in a) {
    const anchors = parseCaPem(a.certificate.caPem);
    const leaf = p.certs[0];
    if (!leaf) throw new VerifyError('UntrustedSigner', 'the bundle carries no certificate (signed with a bare key?)');
    verifyChain(leaf, p.certs.slice(1), anchors, now);
    matchIdentity(leaf, a.certificate);
    if (!p.verifyWith(leaf.publicKey, `the certificate's key (${describeCert(leaf)})`)) {
      throw new VerifyError('SignatureInvalid', `the signature does not verify with the key of its certificate (${describeCert(leaf)}): the bundle or the manifest it signs was altered after signing; investigate the tampering, and sign the model again`);
    }
    return describeCert(leaf);
  }
  const k = a.keyless;
  const root = keylessRoot(k.trustedRoot);
  const leaf = p.certs[0];
  if (!leaf) throw new VerifyError('UntrustedSigner', 'keyless authority: the bundle carries no certificate');
  if (k.subject === undefined && k.subjectRegExp === undefined) throw new VerifyError('VerificationError', 'keyless authority needs subject or subjectRegExp');
  matchIdentity(leaf, { issuer: k.issuer, subject: k.subject, subjectRegExp: k.subjectRegExp });
  const verifier = new Verifier(toTrustMaterial(root), {
    tlogThreshold: policy.tlogThreshold ?? 1,
    ctlogThreshold: policy.ctlogThreshold ?? 1,
    timestampThreshold: Math.max(1, policy.timestampThreshold ?? 1),
  });
  const entity = toSignedEntity(p.bundle, Buffer.alloc(0));
  // Signature over the digest (message) or with the curve-matched hash (DSSE): ours, not the library's.
  entity.signature.verifySignature = (key: KeyObject): boolean => p.verifyWith(key, `the certificate's key (${describeCert(leaf)})`);
  try {
    verifier.verify(entity);
  } catch (cause) {
    if (cause instanceof VerifyError) throw cause; // ours, from verifySignature (e.g. UnsupportedAlgorithm)
    const code = (cause as { code?: string }).code ?? '';
    // @sigstore/verify reports transparency-log failures under several codes: TLOG_ERROR is only the
    // threshold/duplicate check, while a SET or checkpoint not signed by a trusted log key, a log
    // entry that records another signature/digest, or an entry without inclusion evidence are
    // TLOG_INCLUSION_PROMISE_ERROR, TLOG_INCLUSION_PROOF_ERROR, TLOG_BODY_ERROR and
    // TLOG_MISSING_INCLUSION_ERROR. Matching TLOG_ERROR alone left a forged SET as the catch-all
    // VerificationError (lowest rank, "read the message"), not the untrusted signer it is.
    const reason: VerifyReason = code === 'SIGNATURE_ERROR' ? 'SignatureInvalid' : code.startsWith('TLOG_') || code === 'TIMESTAMP_ERROR' || code === 'CERTIFICATE_ERROR' ? 'UntrustedSigner' : 'VerificationError';
    // @sigstore/verify's message is a summary ("Failed to verify certificate chain"); the why
    // (e.g. "not valid or expired at the specified date") is in its cause, which users need.
    const inner = (cause as { cause?: unknown }).cause;
    const detail = inner instanceof Error && inner.message && !(cause as Error).message.includes(inner.message) ? `: ${inner.message}` : '';
    throw new VerifyError(reason, `keyless verification: ${(cause as Error).message}${detail}`, { cause });
  }
  return describeCert(leaf);
}

function asError(err: unknown): VerifyError {
  if (err instanceof VerifyError) return err;
  const e = err as NodeJS.ErrnoException;
  const transient = typeof e?.code === 'string' && ['EIO', 'EAGAIN', 'EMFILE', 'ENFILE', 'EBUSY'].includes(e.code);
  return new VerifyError('VerificationError', `verification failed: ${(err as Error)?.message ?? String(err)}`, { cause: err, transient });
}

/** Rank when several bundles/authorities fail: the most specific reason wins. */
const RANK: VerifyReason[] = ['VerificationError', 'UntrustedKey', 'UntrustedSigner', 'DigestMismatch', 'ManifestMismatch', 'SignatureInvalid', 'TrustRootMissing', 'UnsupportedAlgorithm'];

export function verifyArtifact(input: VerifyInput): VerifyResult {
  const mode = input.policy.mode ?? 'Enforce';
  try {
    const r = verifyOrThrow(input);
    return { ok: true, mode, ...r };
  } catch (err) {
    const error = asError(err);
    return { ok: false, reason: error.reason, message: error.message, transient: error.transient, code: error.code, mode, error };
  }
}

function verifyOrThrow(input: VerifyInput): { digest: string; signer: string; signers: string[]; format: SignatureFormatName } {
  const { policy } = input;
  const now = input.now ?? new Date();
  const threshold = policy.threshold ?? 1;
  if (!Number.isInteger(threshold) || threshold < 1) throw new VerifyError('VerificationError', `threshold must be a positive integer, got ${threshold}`);
  if (policy.authorities.length === 0) throw new VerifyError('TrustRootMissing', 'the policy names no authorities');
  if (threshold > policy.authorities.length) throw new VerifyError('VerificationError', `threshold ${threshold} exceeds the ${policy.authorities.length} authorities`);
  let spec: string | undefined;
  if (input.specDigest !== undefined) {
    const m = DIGEST_RE.exec(input.specDigest);
    if (!m) throw new VerifyError(input.specDigest.includes(':') && !input.specDigest.startsWith('sha256:') ? 'UnsupportedAlgorithm' : 'DigestMismatch', `spec digest ${JSON.stringify(input.specDigest)} is not sha256:<64 hex>`);
    spec = m[1];
  }
  const raws = input.bundle === undefined ? [] : Array.isArray(input.bundle) ? input.bundle : [input.bundle];
  if (raws.length === 0) throw new VerifyError('BundleNotFound', 'no signature bundle was given; pass the bundle the signer wrote (cosign --bundle, model_signing --signature)');
  const parsed = raws.map(parseBundle);
  for (const p of parsed) if (input.format && p.format !== input.format) throw new VerifyError('BundleInvalid', `expected a ${input.format} bundle, got ${p.format}`);

  // The artifact's own bytes against the pinned digest: no bundle involved.
  const art = input.artifact;
  const onDisk = 'path' in art ? statSync(art.path) : undefined;
  const artifactSha = 'sha256' in art ? art.sha256.replace(/^sha256:/, '') : onDisk!.isFile() ? sha256File(art.path) : undefined;
  if (spec !== undefined && artifactSha !== undefined && artifactSha !== spec) {
    throw new VerifyError('DigestMismatch', `artifact sha256:${artifactSha} is not the spec digest sha256:${spec}`);
  }

  // Signatures first, then what they sign: nothing in a bundle whose signature does not verify is
  // believed, so a forged bundle (a payload or manifest rewritten, the signature kept) is
  // SignatureInvalid, never a mismatch against content it does not really sign. A bundle only
  // counts for an authority when it verifies AND binds this artifact.
  const signers: string[] = [];
  const failures: VerifyError[] = [];
  const bound = new Map<Parsed, string | VerifyError>();
  const bind = (p: Parsed): string => {
    let b = bound.get(p);
    if (b === undefined) {
      try {
        b = bindArtifact(p, art, onDisk, artifactSha, spec);
      } catch (err) {
        b = asError(err);
      }
      bound.set(p, b);
    }
    if (b instanceof VerifyError) throw b;
    return b;
  };
  let digest = '';
  for (const a of policy.authorities) {
    for (const p of parsed) {
      try {
        const signer = checkAuthority(a, p, policy, now);
        digest = bind(p);
        signers.push(signer);
        break;
      } catch (err) {
        failures.push(asError(err));
      }
    }
  }
  if (signers.length >= threshold) return { digest: `sha256:${digest}`, signer: signers[0]!, signers, format: parsed[0]!.format };
  const worst = failures.reduce<VerifyError | undefined>((w, f) => (w === undefined || RANK.indexOf(f.reason) > RANK.indexOf(w.reason) ? f : w), undefined);
  if (signers.length > 0 && worst) {
    throw new VerifyError(worst.reason, `${signers.length} of ${threshold} required authorities verified; ${worst.message}`, { cause: worst, transient: worst.transient });
  }
  throw worst ?? new VerifyError('VerificationError', 'no authority verified the bundle');
}

/**
 * Does a bundle whose signature verified sign this artifact? Returns the hex digest it binds (the
 * file's sha256, or a directory's manifest digest); DigestMismatch/ManifestMismatch say why not.
 */
function bindArtifact(p: Parsed, art: VerifyInput['artifact'], onDisk: Stats | undefined, artifactSha: string | undefined, spec: string | undefined): string {
  const m = p.manifest;
  if (!m) {
    if (artifactSha === undefined) throw new VerifyError('ManifestMismatch', 'a Sigstore bundle signs one file; the artifact is a directory (sign a directory with model_signing)');
    if (p.signedDigest !== artifactSha) throw new VerifyError('DigestMismatch', `the bundle signs sha256:${p.signedDigest}, not the artifact sha256:${artifactSha}; sign the artifact you pinned, or pin the digest you signed`);
    return artifactSha;
  }
  if (onDisk?.isDirectory()) {
    if (spec !== undefined && m.digest !== spec) throw new VerifyError('DigestMismatch', `the signed manifest digest sha256:${m.digest} is not the spec digest sha256:${spec} (for a directory the digest is the manifest's); pin sha256:${m.digest} or sign the directory you pinned`);
    checkManifestOnDisk((art as { path: string }).path, m);
    return m.digest;
  }
  if (onDisk?.isFile()) {
    // One file: its bytes are the signed file's (model_signing names it `.`), or it is not the
    // artifact that was signed (DigestMismatch, as for a cosign bundle).
    const path = (art as { path: string }).path;
    if (!m.resources.every((r) => r.name === '.' || r.name.startsWith('.:'))) {
      const names = m.resources.map((r) => r.name.replace(/:\d+:\d+$/, '')).filter((n, i, all) => all.indexOf(n) === i);
      throw new VerifyError('DigestMismatch', `the bundle signs a model directory (${names.slice(0, 3).join(', ')}${names.length > 3 ? ', …' : ''}), not the single file ${path}; pass the model directory`);
    }
    try {
      checkManifestOnDisk(path, m);
    } catch (err) {
      if (!(err instanceof VerifyError) || err.reason !== 'ManifestMismatch') throw err;
      const signed = m.method === 'files' ? `sha256:${m.resources[0]!.digest}` : `manifest sha256:${m.digest}`;
      throw new VerifyError('DigestMismatch', `${path} (sha256:${artifactSha}) is not the file that was signed (${signed}); sign the artifact you pinned, or pin the digest you signed`, { cause: err });
    }
    return artifactSha!;
  }
  // Only the digest is at hand: it pins either the one signed file or the whole manifest (a model
  // directory the verifier cannot read, pinned by its manifest digest; the runtime re-checks the files).
  if (m.digest === artifactSha) return m.digest;
  if (m.method !== 'files' || m.resources.length !== 1) {
    throw new VerifyError('DigestMismatch', `the signed manifest digest sha256:${m.digest} is not sha256:${artifactSha}, and its ${m.resources.length} ${m.method === 'shards' ? 'shards' : 'files'} are not one file; pin the manifest digest, or pass the model directory itself`);
  }
  if (m.resources[0]!.digest !== artifactSha) throw new VerifyError('DigestMismatch', `the signed file digest sha256:${m.resources[0]!.digest} is not sha256:${artifactSha}; sign the artifact you pinned, or pin the digest you signed`);
  return artifactSha;
}

export function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}
