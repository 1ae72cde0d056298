// Model directories (ONNX + external data) re-checked against the signed model_signing manifest
// before loading. The directory is signed in test set-up by the real `model_signing` tool (PyPI venv,
// e2e/lab/tools/setup-model-signing.sh); if it cannot run, the suite fails with its error (no skip).
// Real onnxruntime, real files.
import { afterAll, beforeAll, describe, expect, jest, test } from '@jest/globals';
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createHash } from 'node:crypto';
import { encodeModel, encodeModelWithExternalData } from '../../test-models/onnx-writer.ts';
import { ensureTestModelDirs, externalMlp } from '../../test-models/build.ts';
import { models, post, request, silentLog, testConfig } from '../../test-support/harness.ts';
import { startRuntime } from '../serve.ts';
import type { RuntimeConfig } from '../config/config.ts';
import { modelManifestFromBundle } from '../../../lib/verify/index.ts';
import { externalDataLocations } from '../model/onnx-inspect.ts';

jest.setTimeout(600_000);
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const MAIN = join(ROOT, 'runtime', 'src', 'main.ts');

function run(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 });
  } catch (err) {
    const e = err as { stderr?: string; stdout?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')} failed: ${e.message}\n${e.stderr ?? ''}${e.stdout ?? ''}`);
  }
}

const work = mkdtempSync(join(tmpdir(), 'runtime-model-dir-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const built = ensureTestModelDirs().external_mlp;
const signedDir = join(work, 'external_mlp');
const bundle = join(work, 'external_mlp.sig');
const shardsBundle = join(work, 'external_mlp.shards.sig');
const otherBundle = join(work, 'other.sig');
const fileBundle = join(work, 'logreg.sig');
let digest = '';
let py = '';
let ms = '';
const key = join(work, 'ms.key');

/** A copy of the signed directory, changed by `edit`. */
function tampered(name: string, edit: (dir: string) => void): string {
  const dir = join(work, name);
  cpSync(signedDir, dir, { recursive: true });
  edit(dir);
  return dir;
}

beforeAll(() => {
  py = run('bash', [join(ROOT, 'e2e', 'lab', 'tools', 'setup-model-signing.sh')]).trim().split('\n').pop()!;
  ms = join(dirname(py), 'model_signing');
  run(py, ['-c', `
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives import serialization as s
k = ec.generate_private_key(ec.SECP256R1())
open(${JSON.stringify(key)}, 'wb').write(k.private_bytes(s.Encoding.PEM, s.PrivateFormat.PKCS8, s.NoEncryption()))
`]);
  cpSync(built.path, signedDir, { recursive: true });
  run(ms, ['sign', 'key', '--private_key', key, '--signature', bundle, signedDir]);
  run(py, ['-c', `
import model_signing
model_signing.signing.Config().use_elliptic_key_signer(private_key=${JSON.stringify(key)}).set_hashing_config(
    model_signing.hashing.Config().use_shard_serialization(shard_size=4096)).sign(${JSON.stringify(signedDir)}, ${JSON.stringify(shardsBundle)})
`]);
  // Another version of the model (a retrained weight): signed too, but not what is pinned.
  const other = tampered('other-version', (d) => writeFileSync(join(d, 'config.json'), '{"name":"external_mlp","version":2}\n'));
  run(ms, ['sign', 'key', '--private_key', key, '--signature', otherBundle, other]);
  run(ms, ['sign', 'key', '--private_key', key, '--signature', fileBundle, models().logreg.path]);
  digest = `sha256:${modelManifestFromBundle(readFileSync(bundle)).digest}`;
});

const X = Float32Array.from({ length: 2 * 16 }, (_, i) => ((i * 7) % 11) / 11 - 0.5);

async function serve(overrides: Partial<RuntimeConfig>) {
  const base = testConfig('logreg');
  const rt = await startRuntime({ ...base, modelName: 'ext', modelUri: pathToFileURL(signedDir).href, modelDigest: digest, manifestBundle: bundle, ...overrides }, silentLog);
  return Object.assign(rt, { url: `http://127.0.0.1:${rt.port}` });
}

async function refused(overrides: Partial<RuntimeConfig>): Promise<{ code: string; message: string }> {
  const rt = await serve(overrides);
  try {
    const err = (await rt.loaded.then(
      () => undefined,
      (e: unknown) => e,
    )) as { code: string; message: string } | undefined;
    expect(err).toBeDefined();
    expect((await request(`${rt.url}/v2/health/ready`)).status).toBe(503);
    return err!;
  } finally {
    await rt.shutdown('test');
  }
}

describe('the test model with external data', () => {
  test('references its data file by location', () => {
    const bytes = readFileSync(join(built.path, built.modelFile));
    expect(externalDataLocations(bytes, 'model.onnx')).toEqual(['model.onnx.data']);
    expect(externalDataLocations(encodeModel(externalMlp), 'inline.onnx')).toEqual([]);
  });

  test("the build's manifest digest is the one model_signing signs", () => {
    expect(digest).toBe(built.digest);
  });
});

describe('a signed model directory', () => {
  test('loads after the check and serves the same predictions as the model with inline weights', async () => {
    const infer = async (url: string, name: string) => {
      const res = await post(`${url}/v2/models/${name}/infer`, { inputs: [{ name: 'x', datatype: 'FP32', shape: [2, 16], data: [...X] }] });
      expect(res.status).toBe(200);
      expect(res.json.outputs[0]).toMatchObject({ name: 'y', shape: [2, 4] });
      return res.json.outputs[0].data as number[];
    };
    const inlinePath = join(work, 'inline.onnx');
    const inlineBytes = encodeModel(externalMlp);
    writeFileSync(inlinePath, inlineBytes);
    const ref = await serve({ modelUri: inlinePath, modelDigest: `sha256:${createHash('sha256').update(inlineBytes).digest('hex')}`, manifestBundle: '' });
    let want: number[];
    try {
      await ref.loaded;
      want = await infer(ref.url, 'ext');
    } finally {
      await ref.shutdown('test');
    }
    // Two session workers share the verified external data (SharedArrayBuffer), plus the inline session.
    const rt = await serve({ maxConcurrentRuns: 2 });
    try {
      await rt.loaded;
      expect((await request(`${rt.url}/v2/health/ready`)).status).toBe(200);
      const got = await infer(rt.url, 'ext');
      expect(got).toHaveLength(8);
      got.forEach((v, i) => expect(v).toBeCloseTo(want[i]!, 5));
      expect(new Set(got.map((v) => v.toFixed(3))).size).toBeGreaterThan(1); // not all zeros or ones
    } finally {
      await rt.shutdown('test');
    }
  });

  test('loads with a shards-serialized bundle and an explicit --model-file', async () => {
    const rt = await serve({ manifestBundle: pathToFileURL(shardsBundle).href, modelFile: 'model.onnx', modelDigest: `sha256:${modelManifestFromBundle(readFileSync(shardsBundle)).digest}` });
    try {
      await rt.loaded;
      expect((await request(`${rt.url}/v2/health/ready`)).status).toBe(200);
    } finally {
      await rt.shutdown('test');
    }
  });

  test('a bundle kept inside the directory is not an extra file (relative --model-uri too)', async () => {
    const dir = tampered('inside', () => {});
    const sig = join(dir, 'model.sig');
    run(ms, ['sign', 'key', '--private_key', key, '--signature', sig, dir]);
    const rt = await serve({ modelUri: relative(process.cwd(), dir), manifestBundle: sig, modelDigest: `sha256:${modelManifestFromBundle(readFileSync(sig)).digest}` });
    try {
      await rt.loaded;
    } finally {
      await rt.shutdown('test');
    }
  });

  test('an extra file is refused, naming it', async () => {
    const dir = tampered('extra', (d) => writeFileSync(join(d, 'evil.py'), 'import os\n'));
    const err = await refused({ modelUri: dir });
    expect(err.code).toBe('MANIFEST_MISMATCH');
    expect(err.message).toMatch(/extra evil\.py not in the signed manifest/);
  });

  test('a missing file is refused, naming it (an unread file and the external data alike)', async () => {
    const noConfig = tampered('missing-config', (d) => rmSync(join(d, 'config.json')));
    expect(await refused({ modelUri: noConfig })).toMatchObject({ code: 'MANIFEST_MISMATCH', message: expect.stringMatching(/missing config\.json/) });
    const noData = tampered('missing-data', (d) => rmSync(join(d, 'model.onnx.data')));
    expect(await refused({ modelUri: noData })).toMatchObject({ code: 'MANIFEST_MISMATCH', message: expect.stringMatching(/missing model\.onnx\.data/) });
  });

  test('one changed byte of the external data is refused, naming the file (files and shards)', async () => {
    const dir = tampered('flipped', (d) => {
      const b = readFileSync(join(d, 'model.onnx.data'));
      b[5000]! ^= 1;
      writeFileSync(join(d, 'model.onnx.data'), b);
    });
    const err = await refused({ modelUri: dir });
    expect(err.code).toBe('MANIFEST_MISMATCH');
    expect(err.message).toMatch(/model\.onnx\.data differs from the signed digest/);
    expect(err.message).toMatch(/restore the signed files or re-sign/);
    const shards = await refused({ modelUri: dir, manifestBundle: shardsBundle, modelDigest: `sha256:${modelManifestFromBundle(readFileSync(shardsBundle)).digest}` });
    expect(shards).toMatchObject({ code: 'MANIFEST_MISMATCH', message: expect.stringMatching(/model\.onnx\.data:4096:8192 differs from the signed digest/) });
  });

  test('a bundle for another digest is refused, naming both digests', async () => {
    const other = `sha256:${modelManifestFromBundle(readFileSync(otherBundle)).digest}`;
    const err = await refused({ manifestBundle: otherBundle });
    expect(err.code).toBe('DIGEST_MISMATCH');
    expect(err.message).toContain(other);
    expect(err.message).toContain(digest);
  });

  test('a directory without --manifest-bundle, or with an unusable one, is refused', async () => {
    expect(await refused({ manifestBundle: '' })).toMatchObject({ code: 'MANIFEST_INVALID', message: expect.stringMatching(/--manifest-bundle \(ONNXOP_MANIFEST_BUNDLE\) is not set/) });
    expect(await refused({ manifestBundle: join(work, 'nope.sig') })).toMatchObject({ code: 'MANIFEST_INVALID', message: expect.stringMatching(/cannot read --manifest-bundle .*nope\.sig/) });
    const notJson = join(work, 'garbage.sig');
    writeFileSync(notJson, 'not json');
    expect(await refused({ manifestBundle: notJson })).toMatchObject({ code: 'MANIFEST_INVALID', message: expect.stringMatching(/not a usable model_signing bundle/) });
  });

  test('external data outside the directory is never read, even under a matching manifest', async () => {
    // The runtime trusts the manifest only through --model-digest; this unsigned statement binds
    // its own digest, so the check passes and the escaping location is what gets refused.
    const dir = join(work, 'escape');
    mkdirSync(dir);
    const ext = encodeModelWithExternalData(externalMlp, '../outside.data');
    writeFileSync(join(dir, 'model.onnx'), ext.model);
    writeFileSync(join(work, 'outside.data'), ext.data);
    const d = createHash('sha256').update(ext.model).digest('hex');
    const statement = {
      _type: 'https://in-toto.io/Statement/v1',
      subject: [{ name: 'escape', digest: { sha256: createHash('sha256').update(Buffer.from(d, 'hex')).digest('hex') } }],
      predicateType: 'https://model_signing/signature/v1.0',
      predicate: { serialization: { method: 'files', hash_type: 'sha256', allow_symlinks: false, ignore_paths: [] }, resources: [{ name: 'model.onnx', algorithm: 'sha256', digest: d }] },
    };
    const fake = join(work, 'escape.sig');
    writeFileSync(fake, JSON.stringify({ dsseEnvelope: { payloadType: 'application/vnd.in-toto+json', payload: Buffer.from(JSON.stringify(statement)).toString('base64'), signatures: [] } }));
    const err = await refused({ modelUri: dir, manifestBundle: fake, modelDigest: `sha256:${statement.subject[0]!.digest.sha256}` });
    expect(err).toMatchObject({ code: 'MODEL_CORRUPT', message: expect.stringMatching(/points outside the model directory/) });
  });

  test('a single file with --manifest-bundle must be the file that was signed', async () => {
    const rt = await serve({ modelUri: models().logreg.path, modelDigest: models().logreg.digest, manifestBundle: fileBundle });
    try {
      await rt.loaded;
    } finally {
      await rt.shutdown('test');
    }
    const err = await refused({ modelUri: models().classifier.path, modelDigest: models().classifier.digest, manifestBundle: fileBundle });
    expect(err).toMatchObject({ code: 'MANIFEST_MISMATCH', message: expect.stringContaining(models().classifier.digest) });
  });

  test('the CLI exits 1 with the reason, like a digest mismatch', () => {
    const dir = tampered('cli-extra', (d) => writeFileSync(join(d, 'notes.txt'), 'x'));
    const r = spawnSync(process.execPath, [MAIN, 'serve', '--port=0', '--host=127.0.0.1', '--prediction-log=none'], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '', ONNXOP_MODEL_NAME: 'ext', ONNXOP_MODEL_URI: `file://${dir}/`, ONNXOP_MODEL_DIGEST: digest, ONNXOP_MANIFEST_BUNDLE: bundle },
      timeout: 60_000,
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/MANIFEST_MISMATCH: refusing to load .*cli-extra.*extra notes\.txt not in the signed manifest/);
  });
});
