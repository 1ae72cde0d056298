// Signature verification before deployment (see docs/signing.md).
export { verifyArtifact, parseBundle, pae, sha256Hex } from './verify.ts';
export { VerifyError, VERIFY_REASONS, codeFor } from './types.ts';
// The manifest alone (no Sigstore dependencies): what the runtime imports to re-check a model directory.
export { modelManifestFromBundle, listModelFiles, resourcesOfBytes, resourcesOfFile, compareWithManifest } from './manifest.ts';
export type { ModelManifest } from './manifest.ts';
export type {
  ArtifactInput,
  Authority,
  CertificateAuthority,
  IdentityConstraint,
  KeyAuthority,
  KeylessAuthority,
  SignatureFormatName,
  VerifyErrorCode,
  VerifyInput,
  VerifyPolicy,
  VerifyReason,
  VerifyResult,
} from './types.ts';
