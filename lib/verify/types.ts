// The verifier's contract: a policy and inputs in, a verdict out. Pure data, no Kubernetes types.

/** Why a verification failed (the `ArtifactVerified` condition's reason). */
export type VerifyReason =
  | 'BundleNotFound'
  | 'BundleInvalid'
  | 'DigestMismatch'
  | 'ManifestMismatch'
  | 'SignatureInvalid'
  | 'UntrustedSigner'
  | 'UntrustedKey'
  | 'TrustRootMissing'
  | 'UnsupportedAlgorithm'
  | 'VerificationError';

export const VERIFY_REASONS: readonly VerifyReason[] = [
  'BundleNotFound',
  'BundleInvalid',
  'DigestMismatch',
  'ManifestMismatch',
  'SignatureInvalid',
  'UntrustedSigner',
  'UntrustedKey',
  'TrustRootMissing',
  'UnsupportedAlgorithm',
  'VerificationError',
];

/** Stable error codes, one per reason. */
export type VerifyErrorCode = `VERIFY_${string}`;

export function codeFor(reason: VerifyReason): VerifyErrorCode {
  return `VERIFY_${reason.replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase()}`;
}

/**
 * A failed verification. `transient` is true only when retrying can help without any change of
 * the spec or of the trust material (a bundle that could not be fetched yet, an I/O error).
 */
export class VerifyError extends Error {
  readonly reason: VerifyReason;
  readonly code: VerifyErrorCode;
  readonly transient: boolean;
  constructor(reason: VerifyReason, message: string, opts: { transient?: boolean; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'VerifyError';
    this.reason = reason;
    this.code = codeFor(reason);
    this.transient = opts.transient ?? false;
  }
}

/** Identity constraints on a certificate's SAN and its Fulcio OIDC-issuer extension. */
export interface IdentityConstraint {
  issuer?: string;
  subject?: string;
  subjectRegExp?: string;
}

export interface KeyAuthority {
  name?: string;
  key: { pem: string };
}

export interface KeylessAuthority {
  name?: string;
  keyless: {
    issuer: string;
    subject?: string;
    subjectRegExp?: string;
    /** Sigstore `trusted_root.json` contents (parsed object or the JSON text). */
    trustedRoot: unknown;
  };
}

export interface CertificateAuthority {
  name?: string;
  /** PEM with one or more CA certificates (roots, optionally intermediates); optional identity constraints. */
  certificate: { caPem: string } & IdentityConstraint;
}

export type Authority = KeyAuthority | KeylessAuthority | CertificateAuthority;

export interface VerifyPolicy {
  authorities: Authority[];
  /** How many distinct authorities must verify (N of M). Default 1. */
  threshold?: number;
  /** Default Enforce. The verifier's verdict does not depend on it; it is echoed for the caller. */
  mode?: 'Enforce' | 'Audit';
  /** Keyless: verified transparency-log entries required (default 1). Key/certificate: default 0. */
  tlogThreshold?: number;
  /** Keyless: verified timestamps (tlog integrated time or RFC 3161) required (default 1). */
  timestampThreshold?: number;
  /** Keyless: SCTs required (default 1). */
  ctlogThreshold?: number;
}

/**
 * What was signed: a file's sha256 only (enough for cosign bundles and single-file model_signing
 * manifests with files serialization), or a path to a file or a model directory on disk.
 */
export type ArtifactInput = { sha256: string } | { path: string };

export type SignatureFormatName = 'sigstore' | 'modelSigning';

export interface VerifyInput {
  artifact: ArtifactInput;
  /** The spec's pinned digest, `sha256:<hex>`. For a directory: the model_signing manifest digest. */
  specDigest?: string;
  /** One or more bundles (bytes or JSON text). Undefined/empty = BundleNotFound. */
  bundle: Uint8Array | string | Array<Uint8Array | string> | undefined;
  policy: VerifyPolicy;
  /** Expected format; default: detected from the bundle. */
  format?: SignatureFormatName;
  /** Clock for certificate validity when the bundle carries no verified timestamp. */
  now?: Date;
}

export type VerifyResult =
  | {
      ok: true;
      /** `sha256:<hex>` that the signature covers (the file's digest, or a directory's manifest digest). */
      digest: string;
      /** First verified signer: `key:<sha256 of SPKI>` or the certificate's SAN (`… (issuer)`). */
      signer: string;
      signers: string[];
      format: SignatureFormatName;
      mode: 'Enforce' | 'Audit';
    }
  | {
      ok: false;
      reason: VerifyReason;
      message: string;
      transient: boolean;
      code: VerifyErrorCode;
      mode: 'Enforce' | 'Audit';
      error: VerifyError;
    };
