// Signature verification of models before deployment: the adapter between the API (Secrets,
// ConfigMaps, bundle URIs, namespace policy) and the offline verifier in lib/verify.
export { ModelVerifier, type ModelVerifierOptions, type VerificationDecision } from './model-verifier.ts';
export { DEFAULT_KEYS, GatherError, defaultBundleUri, fetchBundleUri, readObjectKey } from './sources.ts';
