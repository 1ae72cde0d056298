// Loading: only bytes with the pinned digest are loaded; corrupt, truncated, future-opset and
// custom-op models are refused with actionable messages; https and OCI sources work through real
// local HTTP servers (a minimal OCI distribution registry).
import { afterAll, beforeAll, describe, expect, jest, test } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { models, request, start } from '../../test-support/harness.ts';
import { sha256Digest, fetchArtifact } from './fetch.ts';
import { parseOciUri } from './oci.ts';
import { RUNTIME_TEST_TIMEOUT_MS } from '../../test-support/timing.ts';

// Every test here starts a runtime or runs onnxruntime: an explicit timeout (test-support/timing.ts), never Jest's 5 s.
jest.setTimeout(RUNTIME_TEST_TIMEOUT_MS);
// A fetch timeout only guards against a hang: no test here waits for it to expire.
const FETCH_TIMEOUT_MS = 30_000;

const refuse = async (model: Parameters<typeof start>[0], overrides: Parameters<typeof start>[1] = {}) => {
  const rt = await start(model, overrides);
  try {
    const err = await rt.loaded.then(
      () => undefined,
      (e: unknown) => e as { code: string; message: string },
    );
    // The server stays up (liveness) but never reports ready.
    expect((await request(`${rt.url}/v2/health/live`)).status).toBe(200);
    const ready = await request(`${rt.url}/v2/health/ready`);
    expect(ready.status).toBe(503);
    expect(ready.json.error).toMatch(/failed to load/);
    const infer = await request(`${rt.url}/v2/models/${model}/infer`, { method: 'POST', body: '{}' });
    expect(infer.status).toBe(503);
    return err;
  } finally {
    await rt.shutdown('test');
  }
};

describe('refusing bytes and models', () => {
  test('a digest mismatch is refused before parsing, naming both digests', async () => {
    const wrong = 'sha256:' + '0'.repeat(64);
    const err = await refuse('logreg', { modelDigest: wrong });
    expect(err?.code).toBe('DIGEST_MISMATCH');
    expect(err?.message).toContain(models().logreg.digest);
    expect(err?.message).toContain(wrong);
    expect(err?.message).toMatch(/refusing to load/);
  });

  test.each([
    ['corrupt', 'MODEL_CORRUPT', /not a readable ONNX protobuf.*corrupt or truncated/],
    ['truncated', 'MODEL_CORRUPT', /not a readable ONNX protobuf/],
    ['unsupported_opset', 'MODEL_OPSET_UNSUPPORTED', /declares opsets ai\.onnx=99.*re-export the model with a supported opset/],
    ['unknown_op', 'MODEL_OPERATOR_UNSUPPORTED', /com\.example:FancyScore/],
  ] as const)('%s (digest correct) fails with %s', async (model, code, message) => {
    const m = models()[model];
    const rt = await start('logreg', { modelUri: m.path, modelDigest: m.digest });
    try {
      const err = (await rt.loaded.catch((e: unknown) => e)) as { code: string; message: string };
      expect(err.code).toBe(code);
      expect(err.message).toMatch(message);
      expect((await request(`${rt.url}/metrics`)).text).toMatch(/onnxop_model_ready\{[^}]*\} 0/);
    } finally {
      await rt.shutdown('test');
    }
  });

  test('CUDA unavailable is a visible failure, or a counted CPU fallback when the policy allows it', async () => {
    const err = await refuse('logreg', { executionProvider: 'cuda' });
    expect(err?.code).toBe('EXECUTION_PROVIDER_UNAVAILABLE');
    expect(err?.message).toMatch(/--cpu-fallback=true/);

    const rt = await start('logreg', { executionProvider: 'cuda', cpuFallback: true });
    try {
      await rt.loaded;
      const text = (await request(`${rt.url}/metrics`)).text;
      expect(text).toMatch(/onnxop_execution_provider_fallback_total\{requested="cuda"[^}]*\} 1/);
      expect(text).toMatch(/onnxop_model_info\{[^}]*execution_provider="cpu"[^}]*requested_execution_provider="cuda"[^}]*\} 1/);
    } finally {
      await rt.shutdown('test');
    }
  });

  test('a missing file is a fetch failure naming the path', async () => {
    const err = await refuse('logreg', { modelUri: '/nonexistent/model.onnx' });
    expect(err?.code).toBe('ARTIFACT_FETCH_FAILED');
    expect(err?.message).toMatch(/\/nonexistent\/model\.onnx/);
  });
});

describe('remote sources', () => {
  const logreg = () => readFileSync(models().logreg.path);
  let server: Server;
  let base = '';
  let flaky = 0;
  let hits: string[] = [];
  const manifest = () =>
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: sha256Digest(Buffer.from('{}')), size: 2 },
        layers: [
          { mediaType: 'text/plain', digest: sha256Digest(Buffer.from('readme')), size: 6, annotations: { 'org.opencontainers.image.title': 'README' } },
          { mediaType: 'application/vnd.onnx.model', digest: models().logreg.digest, size: logreg().length, annotations: { 'org.opencontainers.image.title': 'model.onnx' } },
        ],
      }),
    );

  beforeAll(async () => {
    server = createServer((req, res) => {
      hits.push(`${req.method} ${req.url}`);
      const url = req.url ?? '';
      if (url === '/flaky.onnx' && flaky-- > 0) {
        res.writeHead(503).end();
        return;
      }
      if (url === '/model.onnx' || url === '/flaky.onnx') {
        res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(logreg());
        return;
      }
      if (url === '/big.onnx') {
        res.writeHead(200).end(Buffer.alloc(10_000));
        return;
      }
      // A minimal OCI distribution registry requiring an anonymous bearer token.
      if (url.startsWith('/token')) {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token: 'anon' }));
        return;
      }
      if (url.startsWith('/v2/')) {
        if (req.headers.authorization !== 'Bearer anon') {
          res.writeHead(401, { 'www-authenticate': `Bearer realm="${base}/token",service="test",scope="repository:models/logreg:pull"` }).end();
          return;
        }
        const m = manifest();
        if (url === `/v2/models/logreg/manifests/${sha256Digest(m)}`) {
          res.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json' }).end(m);
          return;
        }
        if (url === `/v2/models/logreg/blobs/${models().logreg.digest}`) {
          res.writeHead(200).end(logreg());
          return;
        }
      }
      res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  test('http(s) URL: fetched, verified and served', async () => {
    const rt = await start('logreg', { modelUri: `${base}/model.onnx` });
    try {
      await rt.loaded;
      expect((await request(`${rt.url}/v2/health/ready`)).status).toBe(200);
    } finally {
      await rt.shutdown('test');
    }
  });

  test('retries 5xx with back-off, then succeeds', async () => {
    flaky = 2;
    hits = [];
    const a = await fetchArtifact(`${base}/flaky.onnx`, models().logreg.digest, { maxBytes: 1 << 20, timeoutMs: FETCH_TIMEOUT_MS, retries: 3, ociPlainHttp: false, retryBaseMs: 5 });
    expect(a.bytes.length).toBe(logreg().length);
    expect(hits.filter((h) => h.includes('flaky'))).toHaveLength(3);
  });

  test('size limit and 404 fail without retrying forever', async () => {
    const opts = { maxBytes: 1000, timeoutMs: FETCH_TIMEOUT_MS, retries: 2, ociPlainHttp: false, retryBaseMs: 5 };
    await expect(fetchArtifact(`${base}/big.onnx`, models().logreg.digest, opts)).rejects.toMatchObject({ code: 'ARTIFACT_TOO_LARGE' });
    await expect(fetchArtifact(`${base}/missing.onnx`, models().logreg.digest, opts)).rejects.toMatchObject({ code: 'ARTIFACT_FETCH_FAILED', message: expect.stringMatching(/404/) });
  });

  test('oci:// pulls manifest (verified) and the model layer through the distribution API with a bearer token', async () => {
    const uri = `oci://${base.slice('http://'.length)}/models/logreg@${sha256Digest(manifest())}`;
    const rt = await start('logreg', { modelUri: uri, ociPlainHttp: true });
    try {
      await rt.loaded;
      expect((await request(`${rt.url}/v2/health/ready`)).status).toBe(200);
    } finally {
      await rt.shutdown('test');
    }
    const wrongManifest = `oci://${base.slice('http://'.length)}/models/logreg@sha256:${'1'.repeat(64)}`;
    await expect(fetchArtifact(wrongManifest, models().logreg.digest, { maxBytes: 1 << 20, timeoutMs: FETCH_TIMEOUT_MS, retries: 0, ociPlainHttp: true })).rejects.toMatchObject({
      code: 'ARTIFACT_FETCH_FAILED',
    });
  });

  test('oci:// references must be pinned by digest', () => {
    expect(() => parseOciUri('oci://ghcr.io/acme/model:latest')).toThrow(/tags are not accepted/);
    expect(parseOciUri(`oci://localhost:5000/a/b@sha256:${'a'.repeat(64)}`)).toEqual({ registry: 'localhost:5000', repository: 'a/b', digest: `sha256:${'a'.repeat(64)}` });
  });
});
