// The tamper corpus (tamper-corpus.ts), made with the real cosign and model_signing: every case is
// refused with the reason docs/signing.md gives, by the library and by `onnx-operator verify`
// alike, and every trust flag the CLI cannot apply is a usage error naming it. The operator's
// condition is checked against the same corpus in the lab (test/verify-operator.int.test.ts).
import { afterAll, beforeAll, describe, expect, jest, test } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { verifyArtifact, type VerifyReason } from '../../lib/verify/index.ts';
import { runVerifyCommand } from '../../operator/src/verify-cli.ts';
import { buildTamperCorpus, type CorpusCase, type FlagCase } from './tamper-corpus.ts';

jest.setTimeout(1_800_000);
const DOCS = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'docs', 'signing.md');

const work = mkdtempSync(join(tmpdir(), 'tamper-corpus-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
let cases: CorpusCase[] = [];
let flagCases: FlagCase[] = [];
beforeAll(() => {
  ({ cases, flagCases } = buildTamperCorpus(work));
});

async function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runVerifyCommand(argv, { out: (s) => out.push(s), err: (s) => err.push(s) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

/** The rows `| \`id\` | what | value |` of the docs table after `marker`. */
function docsTable(marker: string): Map<string, string> {
  const text = readFileSync(DOCS, 'utf8');
  const from = text.indexOf(marker);
  if (from < 0) throw new Error(`docs/signing.md has no ${marker}`);
  const rows = new Map<string, string>();
  for (const line of text.slice(from).split('\n').slice(1)) {
    if (line.trim() === '') {
      if (rows.size > 0) break;
      continue;
    }
    const m = /^\| `([a-z0-9-]+)` \|.*\| ([A-Za-z0-9]+) \|$/.exec(line);
    if (m) rows.set(m[1]!, m[2]!);
  }
  return rows;
}

describe('tamper corpus (real cosign and model_signing)', () => {
  test('docs/signing.md lists every case with the reason the verifier gives', () => {
    expect(Object.fromEntries(docsTable('<!-- tamper-corpus -->'))).toEqual(Object.fromEntries(cases.map((c) => [c.id, c.reason])));
    expect(Object.fromEntries(docsTable('<!-- trust-flag-corpus -->'))).toEqual(Object.fromEntries(flagCases.map((c) => [c.id, '2'])));
  });

  test('the library refuses each case with its reason, with and without the pinned digest', () => {
    const got: Record<string, VerifyReason | 'ok'> = {};
    for (const c of cases) {
      const policy = { authorities: [{ key: { pem: readFileSync(c.key, 'utf8') } }] };
      const bundle = readFileSync(c.bundle);
      const r = verifyArtifact({ artifact: { path: c.artifact }, specDigest: c.digest, bundle, policy, format: c.format });
      const bare = verifyArtifact({ artifact: { path: c.artifact }, bundle, policy });
      got[c.id] = r.ok ? 'ok' : r.reason;
      got[`${c.id} (no digest)`] = bare.ok ? 'ok' : bare.reason;
      // What the operator has for a file it does not download: the pinned digest only.
      if (statSync(c.artifact).isFile()) {
        const pinned = verifyArtifact({ artifact: { sha256: c.digest }, specDigest: c.digest, bundle, policy, format: c.format });
        got[`${c.id} (digest only)`] = pinned.ok ? 'ok' : pinned.reason;
      }
    }
    const want: Record<string, VerifyReason> = {};
    for (const c of cases) {
      want[c.id] = c.reason;
      want[`${c.id} (no digest)`] = c.reason;
      if (statSync(c.artifact).isFile()) want[`${c.id} (digest only)`] = c.reason;
    }
    expect(got).toEqual(want);
  });

  test('onnx-operator verify refuses each case with exit 1 and the same reason', async () => {
    for (const c of cases) {
      const r = await cli(['--artifact', c.artifact, '--bundle', c.bundle, '--key', c.key, '--digest', c.digest, '--format', c.format]);
      expect({ id: c.id, code: r.code, reason: /^Refused: (\w+): ./.exec(r.out)?.[1] }).toEqual({ id: c.id, code: 1, reason: c.reason });
      const j = await cli(['--artifact', c.artifact, '--bundle', c.bundle, '--key', c.key, '--json']);
      expect({ id: c.id, code: j.code, json: JSON.parse(j.out) as unknown }).toEqual({ id: c.id, code: 1, json: expect.objectContaining({ ok: false, reason: c.reason }) });
    }
  });

  test('messages say what was altered and what to do', async () => {
    const byId = new Map(cases.map((c) => [c.id, c]));
    const msg = async (id: string): Promise<string> => {
      const c = byId.get(id)!;
      return (await cli(['--artifact', c.artifact, '--bundle', c.bundle, '--key', c.key])).out;
    };
    expect(await msg('model-signing-dir-signature-bit-flipped')).toMatch(/^Refused: SignatureInvalid: the bundle was signed with the trusted key sha256:[0-9a-f]{16}… \(its key hint names it\) but the signature does not verify: .*altered after signing; investigate the tampering, and sign the model again$/);
    expect(await msg('model-signing-forged-manifest')).toMatch(/^Refused: SignatureInvalid: .*altered after signing/);
    expect(await msg('model-signing-other-key')).toMatch(/^Refused: UntrustedKey: the bundle was signed with another key \(hint [0-9a-f]{16}…, trusted key sha256:[0-9a-f]{16}…\); sign with the trusted key/);
    const file = byId.get('model-signing-file-modified')!;
    expect(await msg('model-signing-file-modified')).toContain(`Refused: DigestMismatch: ${file.artifact} (sha256:`);
    expect(await msg('model-signing-dir-file-modified')).toMatch(/^Refused: ManifestMismatch: model does not match the signed manifest: model\.onnx differs from the signed digest \(signed sha256:[0-9a-f]{16}…, found sha256:[0-9a-f]{16}…\); restore the signed files/);
    expect(await msg('rsa-key')).toMatch(new RegExp(`^Refused: UnsupportedAlgorithm: authority --key ${byId.get('rsa-key')!.key}.* is an RSA key, which is not supported; sign with an ECDSA P-256, P-384 or P-521 key`));
    expect(await msg('ed25519-key')).toMatch(/^Refused: UnsupportedAlgorithm: authority --key .* is an Ed25519 key, which is not supported/);
  });

  test('a trust flag the CLI cannot apply is a usage error (exit 2) naming it, never ignored', async () => {
    for (const f of flagCases) {
      const r = await cli(f.argv);
      const first = r.err.split('\n')[0]!;
      expect({ id: f.id, code: r.code, out: r.out, names: f.names.filter((n) => !first.includes(n)) }).toEqual({ id: f.id, code: 2, out: '', names: [] });
    }
  });
});
