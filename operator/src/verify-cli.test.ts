// `onnx-operator verify`: the help states the exit codes and which flags combine; a model that
// verifies exits 0 and prints the digest to pin; usage and input errors exit 2 naming the flag.
// The refusals (exit 1) are the tamper corpus's (test/verify/tamper-corpus.test.ts).
import { describe, expect, test } from '@jest/globals';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ecKey, modelSigningBundle } from '../../test/verify/fixtures.ts';
import { runVerifyCommand } from './verify-cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'verify-cli-'));
const signer = ecKey();
const files = { 'model.onnx': Buffer.from('onnx bytes'), 'config.json': Buffer.from('{}') };
const modelDir = join(dir, 'model');
mkdirSync(modelDir);
for (const [name, bytes] of Object.entries(files)) writeFileSync(join(modelDir, name), bytes);
const bundle = join(dir, 'model.sig');
writeFileSync(bundle, modelSigningBundle(files, 'model', signer.privateKey, signer));
const key = join(dir, 'key.pub');
writeFileSync(key, signer.pem);

async function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runVerifyCommand(argv, { out: (s) => out.push(s), err: (s) => err.push(s) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('onnx-operator verify', () => {
  test('--help states the exit codes, which trust flags combine, and what --digest is for a directory', async () => {
    const { code, out } = await cli(['--help']);
    expect(code).toBe(0);
    expect(out).toMatch(/Exit codes:\n\s+0 +verified.*\n\s+1 +refused: prints "Refused: <Reason>: <message>".*\n\s+2 +usage or input error/);
    expect(out).toContain('TRUST, exactly one of:');
    expect(out).toMatch(/--key <pem>[^\n]*\n[^\n]*takes no other trust or identity flag/);
    expect(out).toMatch(/--ca <pem>[^\n]*\n[^\n]*--certificate-identity <san>, --certificate-identity-regexp <re>,\n\s+--certificate-oidc-issuer <url>/);
    expect(out).toMatch(/--trusted-root <json>[^\n]*\n[^\n]*--certificate-oidc-issuer <url> and one of --certificate-identity <san>/);
    expect(out).toContain('--ca and --trusted-root cannot be combined, nor either with --key');
    expect(out).toMatch(/for a directory,\n\s+the model_signing manifest digest/);
    expect(out).toContain('--format sigstore|modelSigning');
  });

  test('a directory that verifies exits 0 and prints its manifest digest, which --digest then pins', async () => {
    const ok = await cli(['--artifact', modelDir, '--bundle', bundle, '--key', key]);
    expect(ok).toMatchObject({ code: 0, out: expect.stringMatching(/^Verified: sha256:[0-9a-f]{64} signed by key:sha256:[0-9a-f]{64} \(modelSigning\)$/) });
    const digest = /sha256:[0-9a-f]{64}/.exec(ok.out)![0];
    expect((await cli(['--artifact', modelDir, '--bundle', bundle, '--key', key, '--digest', digest, '--format', 'modelSigning'])).code).toBe(0);
    expect(await cli(['--artifact', modelDir, '--bundle', bundle, '--key', key, '--format', 'sigstore', '--json'])).toMatchObject({ code: 1, out: expect.stringContaining('"reason":"BundleInvalid"') });
  });

  test('usage and input errors exit 2, name the flag and print the usage', async () => {
    const cases: Array<[string[], string]> = [
      [['--artifact', modelDir, '--key', key], '--bundle is required'],
      [['--bundle', bundle, '--key', key], '--artifact is required'],
      [['--artifact', join(dir, 'nope'), '--bundle', bundle, '--key', key], `--artifact ${join(dir, 'nope')}: no such file or directory`],
      [['--artifact', modelDir, '--bundle', modelDir, '--key', key], `--bundle ${modelDir} is a directory; give the signature bundle file`],
      [['--artifact', modelDir, '--bundle', bundle], 'one of --key, --ca or --trusted-root is required'],
      [['--artifact', modelDir, '--bundle', bundle, '--certificate-identity', 'me@example.com'], '--certificate-identity needs --ca <pem> or --trusted-root <json>'],
      [['--artifact', modelDir, '--bundle', bundle, '--trusted-root', key, '--certificate-identity', 'me@example.com'], '--trusted-root needs --certificate-oidc-issuer'],
      [['--artifact', modelDir, '--bundle', bundle, '--key', key, '--digest', 'sha512:00'], '--digest sha512:00: must be sha256:<64 lowercase hex>'],
      [['--artifact', modelDir, '--bundle', bundle, '--key', key, '--format', 'gpg'], '--format gpg: must be sigstore or modelSigning'],
      [['--artifact', modelDir, '--bundle', bundle, '--key'], '--key needs a value'],
      [['--artifact', modelDir, '--bundle', bundle, '--key', key, '--verbose'], 'unknown argument --verbose'],
    ];
    for (const [argv, message] of cases) {
      const r = await cli(argv);
      const want = `onnx-operator verify: ${message}`;
      expect({ argv, code: r.code, out: r.out, message: r.err.slice(0, want.length) }).toEqual({ argv, code: 2, out: '', message: want });
      expect(r.err).toContain('\nusage: onnx-operator verify --artifact <file|dir> --bundle <file> TRUST');
    }
  });
});
