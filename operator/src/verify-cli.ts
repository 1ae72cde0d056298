// `onnx-operator verify`: the operator's verifier from the command line, for users to try a
// signature before they push. Exit 0 verified, 1 refused, 2 usage error.
import { existsSync, readFileSync } from 'node:fs';
import { verifyArtifact, type Authority, type VerifyResult } from '../../lib/verify/index.ts';

const USAGE = `usage: onnx-operator verify --artifact <file|dir> --bundle <file>
         (--key <pem> | --certificate-identity <s> --certificate-oidc-issuer <s> --trusted-root <json> | --ca <pem>)
         [--certificate-identity-regexp <re>] [--digest sha256:<hex>] [--format sigstore|modelSigning] [--json]`;

const VALUE_FLAGS = ['artifact', 'bundle', 'key', 'certificate-identity', 'certificate-identity-regexp', 'certificate-oidc-issuer', 'trusted-root', 'ca', 'digest', 'format'];

interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
}

export async function runVerifyCommand(argv: string[], io: Io = { out: (s) => process.stdout.write(s + '\n'), err: (s) => process.stderr.write(s + '\n') }): Promise<number> {
  const usage = (msg: string): number => {
    io.err(`onnx-operator verify: ${msg}\n${USAGE}`);
    return 2;
  };
  const flags = new Map<string, string>();
  let json = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--json') {
      json = true;
      continue;
    }
    if (a === '--help' || a === '-h') {
      io.out(USAGE);
      return 0;
    }
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(a);
    if (!m || !VALUE_FLAGS.includes(m[1]!)) return usage(`unknown argument ${a}`);
    const v = m[2] ?? argv[++i];
    if (v === undefined || v === '') return usage(`--${m[1]} needs a value`);
    flags.set(m[1]!, v);
  }
  const artifact = flags.get('artifact');
  const bundlePath = flags.get('bundle');
  if (!artifact) return usage('--artifact is required');
  if (!bundlePath) return usage('--bundle is required');
  if (!existsSync(artifact)) return usage(`--artifact ${artifact}: no such file or directory`);
  const read = (flag: string): string | undefined => {
    const p = flags.get(flag);
    return p === undefined ? undefined : readFileSync(p, 'utf8');
  };
  for (const f of ['key', 'trusted-root', 'ca']) if (flags.has(f) && !existsSync(flags.get(f)!)) return usage(`--${f} ${flags.get(f)}: no such file`);
  const modes = [flags.has('key'), flags.has('certificate-identity') || flags.has('certificate-identity-regexp') || flags.has('certificate-oidc-issuer') || flags.has('trusted-root'), flags.has('ca')].filter(Boolean).length;
  if (modes === 0) return usage('one of --key, --certificate-identity/--certificate-oidc-issuer/--trusted-root or --ca is required');
  if (modes > 1 && !flags.has('ca')) return usage('--key and --certificate-identity/--trusted-root are exclusive');
  const identity = { subject: flags.get('certificate-identity'), subjectRegExp: flags.get('certificate-identity-regexp') };
  let authority: Authority;
  if (flags.has('key')) {
    authority = { key: { pem: read('key')! } };
  } else if (flags.has('ca')) {
    authority = { certificate: { caPem: read('ca')!, issuer: flags.get('certificate-oidc-issuer'), ...identity } };
  } else {
    if (!flags.has('certificate-identity') && !flags.has('certificate-identity-regexp')) return usage('--certificate-identity (or --certificate-identity-regexp) is required for keyless');
    if (!flags.has('certificate-oidc-issuer')) return usage('--certificate-oidc-issuer is required for keyless');
    if (!flags.has('trusted-root')) return usage('--trusted-root is required for keyless (no trust material is fetched)');
    authority = { keyless: { issuer: flags.get('certificate-oidc-issuer')!, ...identity, trustedRoot: read('trusted-root')! } };
  }
  const format = flags.get('format');
  if (format !== undefined && format !== 'sigstore' && format !== 'modelSigning') return usage('--format must be sigstore or modelSigning');
  const digest = flags.get('digest');
  if (digest !== undefined && !/^sha256:[0-9a-f]{64}$/.test(digest)) return usage('--digest must be sha256:<64 lowercase hex>');
  let bundle: Buffer | undefined;
  try {
    bundle = readFileSync(bundlePath);
  } catch {
    bundle = undefined; // BundleNotFound
  }
  const result: VerifyResult = verifyArtifact({ artifact: { path: artifact }, specDigest: digest, bundle, policy: { authorities: [authority] }, format });
  if (json) {
    const { error: _e, ...rest } = result as VerifyResult & { error?: unknown };
    io.out(JSON.stringify(rest));
  } else if (result.ok) {
    io.out(`Verified: ${result.digest} signed by ${result.signer} (${result.format})`);
  } else {
    io.out(`Refused: ${result.reason}: ${result.message}`);
  }
  return result.ok ? 0 : 1;
}
