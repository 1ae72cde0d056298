// The verification adapter: for a model whose desired digest needs a signature, gather the bundle
// and the trust material the spec points at, build the verifier's policy, run the offline verifier
// (lib/verify) and hand the pure core a VerificationResult. What is required, which mode applies,
// the verdict and the retry delay are the core's policy (core/signature-policy.ts); the clock is
// injected.
//
// Referenced Secrets/ConfigMaps and the bundle are re-read on every reconcile of a signed model (API
// reads, never writes) and fingerprinted; the verdict is cached per fingerprint (spec digest, bundle
// bytes, trust material, policy), so a steady state verifies nothing twice and writes nothing. Signed
// models are re-queued every `resyncMs` so that a changed Secret, ConfigMap or bundle is noticed
// without watching every Secret of the cluster. Transient failures (fetch, API errors) are retried
// with exponential back-off; permanent ones keep their verdict until an input changes.
import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { LABEL_REQUIRE_SIGNATURE } from '../api/constants.ts';
import type { OnnxModel, SignatureSpec } from '../api/types.ts';
import { failedVerdict, retryVerdict, signaturePlan, verdictOf } from '../core/signature-policy.ts';
import type { VerificationResult } from '../core/types.ts';
import type { ObjectCache } from '../kube/informer.ts';
import { createCache } from '../kube/namespaced-informers.ts';
import { resources } from '../kube/resources.ts';
import type { KubeClient } from '../kube/rest-client.ts';
import { verifyArtifact, type ArtifactInput, type Authority, type VerifyPolicy } from '../../../lib/verify/index.ts';
import { DEFAULT_KEYS, GatherError, defaultBundleUri, fetchBundleUri, readObjectKey } from './sources.ts';

export interface ModelVerifierOptions {
  client: KubeClient;
  log: Logger;
  /** Namespaces whose models must carry spec.signature; `*` = all. */
  requireSignatureNamespaces: readonly string[];
  /** Honour the namespace label serving.onnxop.io/require-signature=true (needs list/watch on namespaces). Default true. */
  namespaceLabel?: boolean;
  /** The operator's watched namespaces (--namespace): only these Namespace objects are watched, each by name. Empty: all. */
  namespaces?: readonly string[];
  /** Re-read the inputs of signed models this often. Default 120 s. */
  resyncMs?: number;
  /** https:// bundle fetches. Defaults 10 s, 4 MiB. */
  fetchTimeoutMs?: number;
  maxBundleBytes?: number;
  fetch?: typeof fetch;
  /** First and longest retry delay after a transient failure. Defaults 2 s, 5 min. */
  backoffInitialMs?: number;
  backoffMaxMs?: number;
  watchdogMs?: number;
  /** The time of verdicts, certificate validity and the https:// bundle cache. */
  clock: () => Date;
}

export interface VerificationDecision {
  /** Undefined for a model without spec.signature in a namespace that does not require one. */
  verification?: VerificationResult;
  /** The model as the core should see it: in a namespace that requires signatures, mode Audit is enforced. */
  model: OnnxModel;
  /** Reconcile again after this long (resync, or the back-off after a transient failure). */
  requeueAfterMs?: number;
}

interface Gathered {
  artifact: ArtifactInput;
  bundle: Buffer;
  policy: VerifyPolicy;
  /** Authorities whose trust material is missing (skipped while enough others remain). */
  missing: string[];
  names: (string | undefined)[];
  fingerprint: string;
}

const CACHE_MAX = 1024;

export class ModelVerifier {
  readonly #o: ModelVerifierOptions;
  readonly #cache = new Map<string, VerificationResult>();
  readonly #attempts = new Map<string, number>();
  readonly #https = new Map<string, { at: number; data: Buffer }>();
  readonly #requiredByLabel = new Map<string, boolean>();
  readonly #namespaces: ObjectCache | undefined;
  readonly #nsHandlers: ((namespace: string) => void)[] = [];

  constructor(opts: ModelVerifierOptions) {
    this.#o = opts;
    if (opts.namespaceLabel !== false) {
      this.#namespaces = createCache({ client: opts.client, resource: resources.namespace, log: opts.log, watchdogMs: opts.watchdogMs ?? 600_000 }, opts.namespaces ?? []);
      this.#namespaces.onChange((type, ns) => {
        const name = ns.metadata.name;
        const required = type !== 'DELETED' && ns.metadata.labels?.[LABEL_REQUIRE_SIGNATURE] === 'true';
        const before = this.#requiredByLabel.get(name) ?? false;
        if (type === 'DELETED') this.#requiredByLabel.delete(name);
        else this.#requiredByLabel.set(name, required);
        if (before !== required) for (const h of this.#nsHandlers) h(name);
      });
    }
  }

  /** `handler(namespace)` runs when a namespace starts or stops requiring signatures. */
  onNamespaceChange(handler: (namespace: string) => void): void {
    this.#nsHandlers.push(handler);
  }

  async start(): Promise<void> {
    await this.#namespaces?.start();
  }

  async stop(): Promise<void> {
    await this.#namespaces?.stop();
  }

  /** Does the platform require signatures in this namespace (flag or label)? */
  requiresSignature(namespace: string): boolean {
    const flag = this.#o.requireSignatureNamespaces;
    return flag.includes('*') || flag.includes(namespace) || this.#requiredByLabel.get(namespace) === true;
  }

  get #resyncMs(): number {
    return this.#o.resyncMs ?? 120_000;
  }

  async decide(model: OnnxModel): Promise<VerificationDecision> {
    const { namespace, name } = model.metadata;
    const digest = model.spec.model.digest;
    const plan = signaturePlan(model, this.requiresSignature(namespace), this.#o.clock());
    if (plan.kind === 'none') return { model };
    if (plan.kind === 'refuse') return { model, verification: plan.verification };
    const { model: coreModel, signature: effective } = plan;
    const attemptKey = `${namespace}/${name}`;

    let g: Gathered;
    try {
      g = await this.#gather(model, effective);
    } catch (err) {
      const e = err instanceof GatherError ? err : new GatherError('VerificationError', (err as Error).message, { transient: true, cause: err });
      if (e.transient) return this.#transient(coreModel, attemptKey, e.message);
      this.#attempts.delete(attemptKey);
      return { model: coreModel, verification: failedVerdict(digest, e.reason, e.message, effective.mode, this.#o.clock()), requeueAfterMs: this.#resyncMs };
    }

    const cached = this.#cache.get(g.fingerprint);
    if (cached) {
      this.#attempts.delete(attemptKey);
      return { model: coreModel, verification: cached, requeueAfterMs: this.#resyncMs };
    }
    const started = performance.now();
    const now = this.#o.clock();
    const r = verifyArtifact({ artifact: g.artifact, specDigest: digest, bundle: g.bundle, policy: g.policy, format: effective.format, now });
    const ms = Math.round(performance.now() - started);
    if (!r.ok && r.transient) return this.#transient(coreModel, attemptKey, `${r.reason}: ${r.message}`);
    this.#attempts.delete(attemptKey);
    const answer = r.ok ? { ok: true as const, signer: this.#signerName(g, digest, effective.format, now) ?? r.signer } : r;
    const result = verdictOf(digest, effective.mode, answer, g.missing, now);
    if (result.state === 'verified') this.#o.log.info({ namespace, name, digest, signer: result.signer, format: r.ok ? r.format : undefined, ms }, 'signature verified');
    else if (!r.ok) this.#o.log.warn({ namespace, name, digest, reason: r.reason, code: r.code, mode: effective.mode, ms, err: r.error }, 'signature verification failed');
    this.#remember(g.fingerprint, result);
    return { model: coreModel, verification: result, requeueAfterMs: this.#resyncMs };
  }

  #transient(model: OnnxModel, key: string, message: string): VerificationDecision {
    const n = (this.#attempts.get(key) ?? 0) + 1;
    this.#attempts.set(key, n);
    const { verification, requeueAfterMs } = retryVerdict(model.spec.model.digest, n, message, { initialMs: this.#o.backoffInitialMs ?? 2000, maxMs: this.#o.backoffMaxMs ?? 300_000 });
    this.#o.log.warn({ namespace: model.metadata.namespace, name: model.metadata.name, attempt: n, retryInMs: requeueAfterMs, message }, 'signature verification could not run; retrying');
    return { model, verification, requeueAfterMs };
  }

  #remember(fingerprint: string, result: VerificationResult): void {
    this.#cache.delete(fingerprint);
    this.#cache.set(fingerprint, result);
    while (this.#cache.size > CACHE_MAX) {
      const oldest = this.#cache.keys().next().value;
      if (oldest === undefined) break;
      this.#cache.delete(oldest);
    }
  }

  /** With named authorities: `<name> (<signer>)` for the first authority that verifies on its own. */
  #signerName(g: Gathered, digest: string, format: SignatureSpec['format'], now: Date): string | undefined {
    if (!g.names.some((n) => n)) return undefined;
    for (const [i, a] of g.policy.authorities.entries()) {
      const r = verifyArtifact({ artifact: g.artifact, specDigest: digest, bundle: g.bundle, policy: { ...g.policy, authorities: [a], threshold: 1 }, format, now });
      if (r.ok) return g.names[i] ? `${g.names[i]} (${r.signer})` : r.signer;
    }
    return undefined;
  }

  async #bundle(model: OnnxModel, sig: SignatureSpec): Promise<Buffer> {
    const ns = model.metadata.namespace;
    const b = sig.bundle;
    if (b.configMapRef) return readObjectKey(this.#o.client, 'ConfigMap', ns, b.configMapRef, DEFAULT_KEYS.bundle, 'BundleNotFound', 'signature bundle');
    if (b.secretRef) return readObjectKey(this.#o.client, 'Secret', ns, b.secretRef, DEFAULT_KEYS.bundle, 'BundleNotFound', 'signature bundle');
    const uri = b.uri ?? defaultBundleUri(model.spec.model.uri);
    const fetchOpts = { timeoutMs: this.#o.fetchTimeoutMs ?? 10_000, maxBytes: this.#o.maxBundleBytes ?? 4 << 20, ...(this.#o.fetch ? { fetch: this.#o.fetch } : {}) };
    if (!uri.startsWith('https://')) return fetchBundleUri(uri, fetchOpts);
    // Remote bundles are fetched at most once per resync period.
    const hit = this.#https.get(uri);
    const now = this.#o.clock().getTime();
    if (hit && now - hit.at < this.#resyncMs) return hit.data;
    const data = await fetchBundleUri(uri, fetchOpts);
    this.#https.set(uri, { at: now, data });
    if (this.#https.size > CACHE_MAX) this.#https.delete(this.#https.keys().next().value ?? '');
    return data;
  }

  async #gather(model: OnnxModel, sig: SignatureSpec): Promise<Gathered> {
    const ns = model.metadata.namespace;
    const bundle = await this.#bundle(model, sig);
    const authorities: Authority[] = [];
    const names: (string | undefined)[] = [];
    const missing: string[] = [];
    const material: string[] = [];
    let permanent: GatherError | undefined;
    for (const [i, a] of sig.authorities.entries()) {
      const label = a.name ?? `authorities[${i}]`;
      try {
        if (a.key) {
          const pem = (await readObjectKey(this.#o.client, 'Secret', ns, a.key.secretRef, DEFAULT_KEYS.publicKey, 'TrustRootMissing', `${label} public key`)).toString('utf8');
          authorities.push({ ...(a.name ? { name: a.name } : {}), key: { pem } });
          material.push(`key:${pem}`);
        } else if (a.certificate) {
          const caPem = (await readObjectKey(this.#o.client, 'Secret', ns, a.certificate.caSecretRef, DEFAULT_KEYS.ca, 'TrustRootMissing', `${label} CA`)).toString('utf8');
          authorities.push({ ...(a.name ? { name: a.name } : {}), certificate: { caPem } });
          material.push(`ca:${caPem}`);
        } else if (a.keyless) {
          const k = a.keyless;
          if (!k.trustedRootRef) throw new GatherError('TrustRootMissing', `${label}: keyless authority without trustedRootRef (a ConfigMap with the Sigstore trusted_root.json); the operator fetches no trusted root`);
          const root = (await readObjectKey(this.#o.client, 'ConfigMap', ns, k.trustedRootRef, DEFAULT_KEYS.trustedRoot, 'TrustRootMissing', `${label} trusted root`)).toString('utf8');
          authorities.push({
            ...(a.name ? { name: a.name } : {}),
            keyless: { issuer: k.issuer, ...(k.subject !== undefined ? { subject: k.subject } : {}), ...(k.subjectRegExp !== undefined ? { subjectRegExp: k.subjectRegExp } : {}), trustedRoot: root },
          });
          material.push(`keyless:${k.issuer}\n${k.subject ?? ''}\n${k.subjectRegExp ?? ''}\n${root}`);
        } else {
          throw new GatherError('TrustRootMissing', `${label} names no key, keyless identity or certificate`);
        }
        names.push(a.name);
      } catch (err) {
        if (err instanceof GatherError && err.transient) throw err;
        const e = err instanceof GatherError ? err : new GatherError('VerificationError', (err as Error).message, { cause: err });
        permanent ??= e;
        missing.push(label);
      }
    }
    if (authorities.length < sig.threshold) {
      const why = permanent?.message ?? 'no authority';
      throw new GatherError(permanent?.reason ?? 'TrustRootMissing', authorities.length === 0 ? why : `only ${authorities.length} of the ${sig.threshold} required authorities have trust material; ${why}`);
    }
    const artifact = artifactInput(model, sig);
    const policy: VerifyPolicy = { authorities, threshold: sig.threshold, mode: sig.mode };
    const h = createHash('sha256');
    for (const part of [model.spec.model.digest, sig.format, sig.mode, String(sig.threshold), JSON.stringify(artifact), ...material]) h.update(part).update('\0');
    h.update(bundle);
    return { artifact, bundle, policy, missing, names, fingerprint: h.digest('hex') };
  }
}

/**
 * What the verifier checks the signature against: the spec digest; for a model_signing signature
 * over a directory the operator can read (file:/// in the lab, baked-in models), the directory
 * itself so that every file is checked against the signed manifest.
 */
function artifactInput(model: OnnxModel, sig: SignatureSpec): ArtifactInput {
  const uri = model.spec.model.uri;
  if (sig.format === 'modelSigning' && uri.startsWith('file:///')) {
    try {
      const path = fileURLToPath(uri);
      if (statSync(path).isDirectory()) return { path };
    } catch {
      // not readable here: the digest is all the operator has
    }
  }
  return { sha256: model.spec.model.digest };
}
