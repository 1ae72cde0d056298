import { beforeEach, describe, expect, test } from '@jest/globals';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { parseOnnxModel } from '../api/parse.ts';
import type { OnnxModel } from '../api/types.ts';
import { KubeApiError } from '../errors.ts';
import type { KubeClient, KubeRequest } from '../kube/rest-client.ts';
import { ecKey, messageBundle, modelSigningBundle, sha } from '../../../test/verify/fixtures.ts';
import { ModelVerifier } from './model-verifier.ts';

const log = pino({ level: 'silent' });
const T0 = new Date('2030-01-02T03:04:05Z');
let now = T0;
const artifact = Buffer.from('pretend this is an ONNX model');
const digest = `sha256:${sha(artifact)}`;
const signer = ecKey();
const other = ecKey();
const bundle = messageBundle(artifact, signer.privateKey, { publicKey: signer.publicKey });

class FakeClient implements KubeClient {
  objects = new Map<string, unknown>();
  gets: string[] = [];
  failWith: KubeApiError | undefined;
  set(kind: 'secrets' | 'configmaps', ns: string, name: string, data: Record<string, string>): void {
    const enc = kind === 'secrets' ? Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])) : data;
    this.objects.set(`/api/v1/namespaces/${ns}/${kind}/${name}`, { metadata: { name, namespace: ns }, data: enc });
  }
  async request(req: KubeRequest): Promise<unknown> {
    this.gets.push(req.path);
    if (this.failWith) throw this.failWith;
    const o = this.objects.get(req.path);
    if (!o) throw new KubeApiError(`GET ${req.path}: 404`, 404, 'NotFound');
    return o;
  }
  async stream(): Promise<ReadableStream<Uint8Array>> {
    throw new Error('no watches here');
  }
}

function model(signature?: Record<string, unknown>, namespace = 'ml', uri = 'https://models.example.com/m.onnx'): OnnxModel {
  return parseOnnxModel({
    apiVersion: 'serving.onnxop.io/v1alpha1',
    kind: 'OnnxModel',
    metadata: { name: 'm', namespace, uid: 'u', generation: 1 },
    spec: { model: { uri, digest }, ...(signature ? { signature } : {}) },
  });
}

const keySig = (extra: Record<string, unknown> = {}) => ({
  bundle: { configMapRef: { name: 'bundle' } },
  authorities: [{ name: 'release-key', key: { secretRef: { name: 'signing-key' } } }],
  ...extra,
});

function setup(opts: Partial<ConstructorParameters<typeof ModelVerifier>[0]> = {}): { client: FakeClient; v: ModelVerifier } {
  const client = new FakeClient();
  client.set('configmaps', 'ml', 'bundle', { 'bundle.json': bundle });
  client.set('secrets', 'ml', 'signing-key', { 'key.pub': signer.pem });
  const v = new ModelVerifier({ client, log, requireSignatureNamespaces: [], namespaceLabel: false, backoffInitialMs: 1000, resyncMs: 60_000, clock: () => now, ...opts });
  return { client, v };
}

describe('ModelVerifier', () => {
  beforeEach(() => {
    now = T0;
  });

  test('verifies a key-signed bundle from a ConfigMap with the key from a Secret, names the signer, and caches the verdict', async () => {
    const { client, v } = setup();
    const d = await v.decide(model(keySig()));
    expect(d.verification).toMatchObject({ state: 'verified', digest, mode: 'Enforce', time: T0.toISOString(), signer: expect.stringMatching(/^release-key \(key:sha256:[0-9a-f]{64}\)$/) });
    expect(d.requeueAfterMs).toBe(60_000);
    expect(client.gets).toEqual(['/api/v1/namespaces/ml/configmaps/bundle', '/api/v1/namespaces/ml/secrets/signing-key']);
    const again = await v.decide(model(keySig()));
    expect(again.verification).toBe(d.verification); // the same object: cache hit, same time
  });

  test('a changed Secret re-verifies', async () => {
    const { client, v } = setup();
    expect((await v.decide(model(keySig()))).verification?.state).toBe('verified');
    client.set('secrets', 'ml', 'signing-key', { 'key.pub': other.pem });
    expect((await v.decide(model(keySig()))).verification).toMatchObject({ state: 'failed', reason: 'UntrustedKey' });
  });

  test('a signature over another artifact is DigestMismatch; Audit is echoed', async () => {
    const { client, v } = setup();
    client.set('configmaps', 'ml', 'bundle', { 'bundle.json': messageBundle(Buffer.from('other bytes'), signer.privateKey, { publicKey: signer.publicKey }) });
    expect((await v.decide(model(keySig({ mode: 'Audit' })))).verification).toMatchObject({ state: 'failed', reason: 'DigestMismatch', mode: 'Audit' });
  });

  test('missing Secret, key or bundle ConfigMap are permanent failures naming the object', async () => {
    const { client, v } = setup();
    client.objects.delete('/api/v1/namespaces/ml/secrets/signing-key');
    expect((await v.decide(model(keySig()))).verification).toMatchObject({ state: 'failed', reason: 'TrustRootMissing', message: expect.stringContaining('Secret ml/signing-key not found') });
    client.set('secrets', 'ml', 'signing-key', { 'cosign.pub': signer.pem });
    expect((await v.decide(model(keySig()))).verification).toMatchObject({ state: 'failed', reason: 'TrustRootMissing', message: expect.stringContaining('no key "key.pub" (keys: cosign.pub)') });
    const withKey = keySig({ authorities: [{ key: { secretRef: { name: 'signing-key', key: 'cosign.pub' } } }] });
    expect((await v.decide(model(withKey))).verification?.state).toBe('verified');
    client.objects.delete('/api/v1/namespaces/ml/configmaps/bundle');
    expect((await v.decide(model(withKey))).verification).toMatchObject({ state: 'failed', reason: 'BundleNotFound' });
  });

  test('a missing authority is skipped while enough others verify (key rotation)', async () => {
    const { v } = setup();
    const sig = keySig({ authorities: [{ name: 'old', key: { secretRef: { name: 'gone' } } }, { name: 'new', key: { secretRef: { name: 'signing-key' } } }] });
    expect((await v.decide(model(sig))).verification).toMatchObject({ state: 'verified', signer: expect.stringMatching(/^new /) });
  });

  test('API errors are transient: pending with the reason, retried with doubling back-off, reset on success', async () => {
    const { client, v } = setup();
    client.failWith = new KubeApiError('GET: 503', 503, 'ServiceUnavailable');
    const a = await v.decide(model(keySig()));
    expect(a.verification).toMatchObject({ state: 'pending', digest, message: expect.stringContaining('503') });
    expect(a.requeueAfterMs).toBe(1000);
    expect((await v.decide(model(keySig()))).requeueAfterMs).toBe(2000);
    client.failWith = undefined;
    expect((await v.decide(model(keySig()))).verification?.state).toBe('verified');
    client.failWith = new KubeApiError('GET: 503', 503, 'ServiceUnavailable');
    expect((await v.decide(model(keySig()))).requeueAfterMs).toBe(1000);
  });

  test('a 403 on a Secret says which permission is missing', async () => {
    const { client, v } = setup();
    client.failWith = new KubeApiError('GET: 403', 403, 'Forbidden');
    expect((await v.decide(model(keySig()))).verification).toMatchObject({ state: 'failed', reason: 'VerificationError', message: expect.stringContaining('grant it get on configmaps') });
  });

  test('namespaces that require signatures: unsigned → SignatureRequired, Audit → Enforce; others unchanged', async () => {
    const { v } = setup({ requireSignatureNamespaces: ['ml'] });
    expect(await v.decide(model(undefined, 'other'))).toEqual({ model: model(undefined, 'other') });
    expect((await v.decide(model())).verification).toMatchObject({ state: 'failed', reason: 'SignatureRequired', mode: 'Enforce', message: expect.stringContaining('namespace ml requires signed models') });
    const audit = await v.decide(model(keySig({ mode: 'Audit' })));
    expect(audit.model.spec.signature?.mode).toBe('Enforce');
    expect(audit.verification).toMatchObject({ state: 'verified', mode: 'Enforce' });
    const { v: all } = setup({ requireSignatureNamespaces: ['*'] });
    expect(all.requiresSignature('anything')).toBe(true);
  });

  test('bundles next to the artifact: file:/// by default, https:// with status handling and a size limit', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mv-'));
    writeFileSync(join(dir, 'm.onnx'), artifact);
    writeFileSync(join(dir, 'm.onnx.sigstore.json'), bundle);
    const { v } = setup();
    const sig = { authorities: [{ key: { secretRef: { name: 'signing-key' } } }] };
    expect((await v.decide(model(sig, 'ml', `file://${join(dir, 'm.onnx')}`))).verification).toMatchObject({ state: 'verified', signer: expect.stringMatching(/^key:sha256:/) });
    expect((await v.decide(model(sig, 'ml', `file://${join(dir, 'nope.onnx')}`))).verification).toMatchObject({ state: 'failed', reason: 'BundleNotFound' });
    expect((await v.decide(model(sig, 'ml', 'pvc://claim/m.onnx'))).verification).toMatchObject({ state: 'failed', reason: 'BundleNotFound', message: expect.stringContaining('pvc://') });

    let answer: () => Response = () => new Response(bundle);
    const fetched: string[] = [];
    const fake = (async (url: string | URL | Request) => {
      fetched.push(String(url));
      return answer();
    }) as typeof fetch;
    const { v: h } = setup({ fetch: fake, maxBundleBytes: 64 * 1024 });
    expect((await h.decide(model(sig))).verification?.state).toBe('verified');
    expect(fetched).toEqual(['https://models.example.com/m.onnx.sigstore.json']);
    await h.decide(model(sig));
    expect(fetched.length).toBe(1); // fetched once per resync period, on the injected clock
    now = new Date(T0.getTime() + 60_000);
    await h.decide(model(sig));
    expect(fetched.length).toBe(2);
    const { v: h2 } = setup({ fetch: fake });
    answer = () => new Response('down', { status: 503 });
    expect((await h2.decide(model(sig))).verification).toMatchObject({ state: 'pending', message: expect.stringContaining('HTTP 503') });
    answer = () => new Response('no', { status: 404 });
    expect((await h2.decide(model(sig))).verification).toMatchObject({ state: 'failed', reason: 'BundleNotFound' });
    const { v: h3 } = setup({ fetch: fake, maxBundleBytes: 100 });
    answer = () => new Response(bundle);
    expect((await h3.decide(model(sig))).verification).toMatchObject({ state: 'failed', reason: 'BundleInvalid', message: expect.stringContaining('more than the 100') });
  });

  test('keyless without a trusted root is TrustRootMissing (nothing is fetched)', async () => {
    const { v } = setup();
    const sig = keySig({ authorities: [{ keyless: { issuer: 'https://issuer', subject: 'me@example.com' } }] });
    expect((await v.decide(model(sig))).verification).toMatchObject({ state: 'failed', reason: 'TrustRootMissing', message: expect.stringContaining('trustedRootRef') });
  });
  test('a model_signing directory the operator cannot read (pvc://) is verified against its pinned manifest digest', async () => {
    const dirFiles = { 'model.onnx': artifact, 'model.onnx.data': Buffer.from('external weights') };
    const b = modelSigningBundle(dirFiles, 'llm', signer.privateKey, signer);
    const manifest = `sha256:${JSON.parse(Buffer.from(JSON.parse(b).dsseEnvelope.payload, 'base64').toString()).subject[0].digest.sha256}`;
    const { client, v } = setup();
    client.set('configmaps', 'ml', 'llm-bundle', { 'bundle.json': b });
    const dirModel = (d: string) =>
      parseOnnxModel({
        apiVersion: 'serving.onnxop.io/v1alpha1',
        kind: 'OnnxModel',
        metadata: { name: 'llm', namespace: 'ml', uid: 'u2', generation: 1 },
        spec: { model: { uri: 'pvc://models/llm/v3/', digest: d }, signature: { format: 'modelSigning', bundle: { configMapRef: { name: 'llm-bundle' } }, authorities: [{ key: { secretRef: { name: 'signing-key' } } }] } },
      });
    expect((await v.decide(dirModel(manifest))).verification).toMatchObject({ state: 'verified', digest: manifest });
    expect((await v.decide(dirModel(digest))).verification).toMatchObject({ state: 'failed', reason: 'DigestMismatch' });
  });
});
