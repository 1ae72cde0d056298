// `onnx-operator verify`: the operator's verifier from the command line, for users to try a
// signature before they push. Exit 0 verified, 1 refused, 2 usage or input error. Every trust flag
// given is applied or refused: a flag the chosen mode would not use is a usage error, never ignored.
import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import { verifyArtifact, type Authority, type VerifyResult } from '../../lib/verify/index.ts';
import { OperatorError } from './errors.ts';

export const USAGE = `usage: onnx-operator verify --artifact <file|dir> --bundle <file> TRUST [--digest sha256:<hex>] [--format sigstore|modelSigning] [--json]

Checks a model file or directory and its signature bundle (a Sigstore bundle from cosign, or a
model_signing signature) offline, with the verifier the operator runs.

TRUST, exactly one of:
  --key <pem>                 a PEM public key (e.g. cosign.pub), ECDSA P-256/384/521;
                              takes no other trust or identity flag
  --ca <pem>                  CA certificate(s) the bundle's certificate must chain to; with, optionally,
                              --certificate-identity <san>, --certificate-identity-regexp <re>,
                              --certificate-oidc-issuer <url>
  --trusted-root <json>       a Sigstore trusted_root.json (keyless: Fulcio, Rekor, CT); needs
                              --certificate-oidc-issuer <url> and one of --certificate-identity <san>
                              or --certificate-identity-regexp <re>
  --ca and --trusted-root cannot be combined, nor either with --key; --certificate-identity and
  --certificate-identity-regexp cannot be combined (as subject and subjectRegExp in the OnnxModel).

Options:
  --digest sha256:<hex>       the digest you pin in spec.model.digest: a file's sha256; for a directory,
                              the model_signing manifest digest (printed when a directory verifies)
  --format sigstore|modelSigning
                              refuse a bundle of the other format (default: detected from the bundle)
  --json                      print the result as one JSON object

Exit codes:
  0  verified: prints "Verified: <digest> signed by <signer> (<format>)"
  1  refused: prints "Refused: <Reason>: <message>" (reasons: docs/signing.md)
  2  usage or input error: an unknown, missing, repeated or conflicting flag, or an
     --artifact, --bundle, --key, --ca or --trusted-root path that cannot be read`;

const VALUE_FLAGS = ['artifact', 'bundle', 'key', 'certificate-identity', 'certificate-identity-regexp', 'certificate-oidc-issuer', 'trusted-root', 'ca', 'digest', 'format'] as const;
type Flag = (typeof VALUE_FLAGS)[number];
const IDENTITY_FLAGS: readonly Flag[] = ['certificate-identity', 'certificate-identity-regexp', 'certificate-oidc-issuer'];

/** What each file flag holds, for the fix in an input error. */
const FILE_WHAT: Partial<Record<Flag, string>> = {
  bundle: 'the signature bundle file (cosign --bundle, model_signing --signature)',
  key: 'the PEM public key file (e.g. cosign.pub)',
  ca: 'the PEM file with the CA certificate(s)',
  'trusted-root': 'the Sigstore trusted_root.json file',
};

interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
}

/** A usage or input error (code CONFIG_INVALID, the flag at fault): exit 2 with the message and the usage line. */
export class UsageError extends OperatorError {
  readonly flag: string | undefined;
  constructor(message: string, opts: { flag?: Flag; cause?: unknown } = {}) {
    super('CONFIG_INVALID', message, { transient: false, ...(opts.cause !== undefined ? { cause: opts.cause } : {}) });
    this.name = 'UsageError';
    this.flag = opts.flag === undefined ? undefined : `--${opts.flag}`;
  }
}

/** The file at `path` (named by `--flag`), or a UsageError naming the flag, the path and the fix. */
function readFileFlag(flag: Flag, path: string): Buffer {
  const fix = `give ${FILE_WHAT[flag] ?? 'a readable file'}`;
  try {
    if (statSync(path).isDirectory()) throw new UsageError(`--${flag} ${path} is a directory; ${fix}`, { flag });
    return readFileSync(path);
  } catch (err) {
    if (err instanceof UsageError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new UsageError(code === 'ENOENT' || code === 'ENOTDIR' ? `--${flag} ${path}: no such file; ${fix}` : `--${flag} ${path} cannot be read (${(err as Error).message}); ${fix}`, { flag, cause: err });
  }
}

function checkArtifact(path: string): void {
  let dir: boolean;
  try {
    dir = statSync(path).isDirectory();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UsageError(code === 'ENOENT' || code === 'ENOTDIR' ? `--artifact ${path}: no such file or directory; give the model file or directory that was signed` : `--artifact ${path} cannot be read (${(err as Error).message})`, { flag: 'artifact', cause: err });
  }
  try {
    accessSync(path, dir ? constants.R_OK | constants.X_OK : constants.R_OK);
  } catch (err) {
    throw new UsageError(`--artifact ${path} cannot be read (${(err as Error).message})`, { flag: 'artifact', cause: err });
  }
}

function parseFlags(argv: string[]): { flags: Map<Flag, string>; json: boolean; help: boolean } {
  const flags = new Map<Flag, string>();
  let json = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--json') {
      json = true;
      continue;
    }
    if (a === '--help' || a === '-h') return { flags, json, help: true };
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(a);
    const flag = m?.[1] as Flag | undefined;
    if (!m || !flag || !VALUE_FLAGS.includes(flag)) throw new UsageError(`unknown argument ${a}`);
    const v = m[2] ?? argv[++i];
    if (v === undefined || v === '') throw new UsageError(`--${flag} needs a value`, { flag });
    if (flags.has(flag)) throw new UsageError(`--${flag} is given twice (${flags.get(flag)} and ${v}); give it once (several authorities are a policy: spec.signature.authorities with a threshold)`, { flag });
    flags.set(flag, v);
  }
  return { flags, json, help: false };
}

/** The one authority the trust flags describe; every trust flag given is used, or it is a UsageError. */
function authorityFrom(flags: Map<Flag, string>): Authority {
  const has = (f: Flag): boolean => flags.has(f);
  const identity = IDENTITY_FLAGS.filter(has);
  const modes = (['key', 'ca', 'trusted-root'] as const).filter(has);
  if (modes.length === 0) {
    throw new UsageError(identity.length > 0 ? `--${identity[0]} needs --ca <pem> or --trusted-root <json>: an identity is checked on a certificate that chains to one of them` : 'one of --key, --ca or --trusted-root is required');
  }
  if (modes.length > 1) {
    throw new UsageError(`--${modes[0]} and --${modes[1]} cannot be combined: the bundle is checked against one kind of trust (a key, your CA, or a Sigstore trusted root); give one of them`, { flag: modes[1] });
  }
  if (has('key')) {
    const path = flags.get('key')!;
    if (identity.length > 0) throw new UsageError(`--key and --${identity[0]} cannot be combined: identities are checked on certificates, and --key trusts a bare key; use --ca or --trusted-root to check an identity`, { flag: identity[0]! });
    return { name: `--key ${path}`, key: { pem: readFileFlag('key', path).toString('utf8') } };
  }
  if (has('certificate-identity') && has('certificate-identity-regexp')) {
    throw new UsageError('--certificate-identity and --certificate-identity-regexp cannot be combined: give the exact identity or an anchored regular expression, not both', { flag: 'certificate-identity-regexp' });
  }
  const subject = flags.get('certificate-identity');
  const subjectRegExp = flags.get('certificate-identity-regexp');
  const issuer = flags.get('certificate-oidc-issuer');
  const constraints = { ...(subject !== undefined ? { subject } : {}), ...(subjectRegExp !== undefined ? { subjectRegExp } : {}) };
  if (subjectRegExp !== undefined) {
    try {
      new RegExp(subjectRegExp);
    } catch (err) {
      throw new UsageError(`--certificate-identity-regexp ${JSON.stringify(subjectRegExp)} is not a regular expression (${(err as Error).message})`, { flag: 'certificate-identity-regexp', cause: err });
    }
  }
  if (has('ca')) {
    const path = flags.get('ca')!;
    return { name: `--ca ${path}`, certificate: { caPem: readFileFlag('ca', path).toString('utf8'), ...constraints, ...(issuer !== undefined ? { issuer } : {}) } };
  }
  const path = flags.get('trusted-root')!;
  if (subject === undefined && subjectRegExp === undefined) throw new UsageError('--trusted-root needs --certificate-identity <san> or --certificate-identity-regexp <re> (keyless trusts a signer by identity)', { flag: 'certificate-identity' });
  if (issuer === undefined) throw new UsageError('--trusted-root needs --certificate-oidc-issuer <url> (e.g. https://token.actions.githubusercontent.com)', { flag: 'certificate-oidc-issuer' });
  return { name: `--trusted-root ${path}`, keyless: { issuer, ...constraints, trustedRoot: readFileFlag('trusted-root', path).toString('utf8') } };
}

export async function runVerifyCommand(argv: string[], io: Io = { out: (s) => process.stdout.write(s + '\n'), err: (s) => process.stderr.write(s + '\n') }): Promise<number> {
  let result: VerifyResult;
  let json: boolean;
  try {
    const parsed = parseFlags(argv);
    if (parsed.help) {
      io.out(USAGE);
      return 0;
    }
    const { flags } = parsed;
    json = parsed.json;
    const artifact = flags.get('artifact');
    const bundlePath = flags.get('bundle');
    if (!artifact) throw new UsageError('--artifact is required: the model file or directory that was signed', { flag: 'artifact' });
    if (!bundlePath) throw new UsageError('--bundle is required: the signature bundle file (cosign --bundle, model_signing --signature)', { flag: 'bundle' });
    const format = flags.get('format');
    if (format !== undefined && format !== 'sigstore' && format !== 'modelSigning') throw new UsageError(`--format ${format}: must be sigstore or modelSigning`, { flag: 'format' });
    const digest = flags.get('digest');
    if (digest !== undefined && !/^sha256:[0-9a-f]{64}$/.test(digest)) throw new UsageError(`--digest ${digest}: must be sha256:<64 lowercase hex>`, { flag: 'digest' });
    const authority = authorityFrom(flags);
    checkArtifact(artifact);
    const bundle = readFileFlag('bundle', bundlePath);
    result = verifyArtifact({ artifact: { path: artifact }, ...(digest ? { specDigest: digest } : {}), bundle, policy: { authorities: [authority] }, ...(format ? { format } : {}) });
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.err(`onnx-operator verify: ${err.message}\n${USAGE.split('\n')[0]}\n(onnx-operator verify --help: the trust flags, which combine, and the exit codes)`);
    return 2;
  }
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
