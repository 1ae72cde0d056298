// Gateway API for the lab: the official standard-channel CRDs of sigs.k8s.io/gateway-api at one
// pinned version (fetched through the Go module proxy, cached under .lab, never committed), plus the
// lab's GatewayClass and Gateway that the lab gateway process serves.
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { ApiextensionsV1Api, KubeConfig, KubernetesObjectApi, PatchStrategy } from '@kubernetes/client-node';
import type { KubernetesObject } from '@kubernetes/client-node';
import { labPaths } from './lab-config.ts';

const execFileAsync = promisify(execFile);

/**
 * Pinned release. v1.7.0 exists but its go.mod requires Go >= 1.27 and `go mod download` refuses it
 * under the lab's Go 1.26 toolchain; v1.6.3 is the newest release that Go 1.26 accepts.
 */
export const gatewayApiVersion = 'v1.6.3';
export const gatewayApiModule = 'sigs.k8s.io/gateway-api';

/** The lab's Gateway API objects; the gateway process reads these names too. */
export const labGateway = {
  className: 'onnxop-lab',
  controllerName: 'onnxop.io/lab-gateway',
  namespace: 'lab-system',
  name: 'lab',
  listenerName: 'http',
  listenerPort: 80,
} as const;

const fieldManager = 'onnxop-lab';

export class GatewayApiError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'GatewayApiError';
    this.code = code;
  }
}

export interface CrdDocument {
  /** File name in the module's config/crd/standard/. */
  file: string;
  /** The YAML text exactly as shipped by the module. */
  yaml: string;
  object: KubernetesObject & { spec?: unknown };
}

interface GoModDownload {
  Dir?: string;
  Error?: string;
}

/** Where a module version is cached inside the lab dir (git-ignored). */
export function crdCacheDir(version: string = gatewayApiVersion): string {
  return path.join(labPaths.dir, 'cache', 'gateway-api', version, 'standard');
}

async function downloadModule(version: string): Promise<string> {
  const go = process.env.GO ?? 'go';
  // Outside any module and with a local toolchain: `go mod download` only fetches the module zip.
  const cwd = await fs.mkdtemp(path.join(os.tmpdir(), 'onnxop-gwapi-'));
  try {
    const { stdout } = await execFileAsync(
      go,
      ['mod', 'download', '-json', `${gatewayApiModule}@${version}`],
      {
        cwd,
        env: { ...process.env, GOTOOLCHAIN: 'local', GO111MODULE: 'on' },
        maxBuffer: 1 << 20,
        timeout: 300_000,
      },
    ).catch((err: unknown) => {
      // `go mod download -json` exits non-zero on failure but still prints the JSON with Error.
      const out = (err as { stdout?: string }).stdout;
      if (out) return { stdout: out };
      throw new GatewayApiError(
        'GoModDownloadFailed',
        `could not run "${go} mod download ${gatewayApiModule}@${version}": install Go (golang-go) or set GO to its path`,
        { cause: err },
      );
    });
    const info = JSON.parse(stdout) as GoModDownload;
    if (info.Error || !info.Dir) {
      throw new GatewayApiError(
        'GoModDownloadFailed',
        `go mod download ${gatewayApiModule}@${version} failed: ${info.Error ?? 'no Dir in output'}; check GOPROXY and the Go version`,
      );
    }
    return info.Dir;
  } finally {
    await fs.rm(cwd, { recursive: true, force: true });
  }
}

function parseCrds(file: string, text: string): CrdDocument[] {
  const out: CrdDocument[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) {
      throw new GatewayApiError('CrdParseFailed', `${file}: invalid YAML: ${doc.errors[0]?.message}`, {
        cause: doc.errors[0],
      });
    }
    const object = doc.toJS() as (KubernetesObject & { spec?: unknown }) | null;
    // The standard dir also ships a ValidatingAdmissionPolicy (safe upgrades); the lab needs CRDs only.
    if (object?.kind !== 'CustomResourceDefinition') continue;
    out.push({ file, yaml: String(doc), object });
  }
  return out;
}

/**
 * The standard-channel CRDs of the pinned Gateway API release, sorted by name. Reads the lab cache
 * first; on a miss downloads the module through the Go module proxy and fills the cache.
 */
export async function loadGatewayApiCrds(version: string = gatewayApiVersion): Promise<CrdDocument[]> {
  const cache = crdCacheDir(version);
  let files: string[] = [];
  try {
    files = (await fs.readdir(cache)).filter((f) => f.endsWith('.yaml'));
  } catch {
    files = [];
  }
  const complete = await fs.stat(path.join(cache, '.complete')).then(
    () => true,
    () => false,
  );
  if (!complete || files.length === 0) {
    const dir = await downloadModule(version);
    const src = path.join(dir, 'config', 'crd', 'standard');
    const tmp = `${cache}.tmp-${process.pid}`;
    await fs.rm(tmp, { recursive: true, force: true });
    await fs.mkdir(tmp, { recursive: true });
    files = (await fs.readdir(src)).filter((f) => f.endsWith('.yaml'));
    for (const f of files) {
      // Module cache files are read-only; copy the content, not the mode.
      await fs.writeFile(path.join(tmp, f), await fs.readFile(path.join(src, f)));
    }
    await fs.writeFile(path.join(tmp, '.complete'), `${gatewayApiModule}@${version}\n`);
    await fs.rm(cache, { recursive: true, force: true });
    await fs.mkdir(path.dirname(cache), { recursive: true });
    await fs.rename(tmp, cache);
  }
  const docs: CrdDocument[] = [];
  for (const f of files.sort()) docs.push(...parseCrds(f, await fs.readFile(path.join(cache, f), 'utf8')));
  if (docs.length === 0) {
    throw new GatewayApiError(
      'CrdsMissing',
      `no CustomResourceDefinition found in ${cache}; delete that dir to re-download`,
    );
  }
  return docs.sort((a, b) => (a.object.metadata?.name ?? '').localeCompare(b.object.metadata?.name ?? ''));
}

async function ssa(kc: KubeConfig, obj: KubernetesObject): Promise<void> {
  const client = KubernetesObjectApi.makeApiClient(kc);
  await client.patch(obj, undefined, undefined, fieldManager, true, PatchStrategy.ServerSideApply);
}

function isEstablished(crd: { status?: { conditions?: Array<{ type: string; status: string }> } }): boolean {
  return (crd.status?.conditions ?? []).some((c) => c.type === 'Established' && c.status === 'True');
}

/**
 * Server-side applies the pinned CRDs (idempotent, one field manager) and waits until every one of
 * them is Established, so callers can create Gateway API objects right after.
 */
export async function applyGatewayApiCrds(
  kc: KubeConfig,
  opts: { version?: string; timeoutMs?: number } = {},
): Promise<string[]> {
  const docs = await loadGatewayApiCrds(opts.version ?? gatewayApiVersion);
  for (const d of docs) {
    try {
      await ssa(kc, d.object);
    } catch (err) {
      throw new GatewayApiError(
        'CrdApplyFailed',
        `applying CRD ${d.object.metadata?.name} failed; check the API server at the kubeconfig's server and RBAC for customresourcedefinitions`,
        { cause: err },
      );
    }
  }
  const api = kc.makeApiClient(ApiextensionsV1Api);
  const names = docs.map((d) => d.object.metadata?.name ?? '');
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  const pending = new Set(names);
  while (pending.size > 0) {
    for (const name of [...pending]) {
      const crd = await api.readCustomResourceDefinition({ name }).catch(() => undefined);
      if (crd && isEstablished(crd)) pending.delete(name);
    }
    if (pending.size === 0) break;
    if (Date.now() > deadline) {
      throw new GatewayApiError(
        'CrdNotEstablished',
        `CRDs not Established after ${opts.timeoutMs ?? 60_000}ms: ${[...pending].join(', ')}; see the kube-apiserver log`,
      );
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return names;
}

/** The lab's GatewayClass, namespace and Gateway as plain objects (pure; used by apply and tests). */
export function labGatewayObjects(): KubernetesObject[] {
  return [
    {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'GatewayClass',
      metadata: { name: labGateway.className },
      spec: {
        controllerName: labGateway.controllerName,
        description: 'onnx-operator lab gateway (loopback, HTTPRoute weights)', // the CRD caps it at 64 bytes
      },
    } as KubernetesObject,
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: labGateway.namespace } },
    {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'Gateway',
      metadata: { name: labGateway.name, namespace: labGateway.namespace },
      spec: {
        gatewayClassName: labGateway.className,
        listeners: [
          {
            name: labGateway.listenerName,
            port: labGateway.listenerPort,
            protocol: 'HTTP',
            // Model namespaces are created by tests; routes from any namespace may attach.
            allowedRoutes: { namespaces: { from: 'All' } },
          },
        ],
      },
    } as KubernetesObject,
  ];
}

/** Applies the CRDs, then the lab GatewayClass and Gateway (idempotent). */
export async function ensureLabGateway(kc: KubeConfig, opts: { timeoutMs?: number } = {}): Promise<void> {
  await applyGatewayApiCrds(kc, opts);
  for (const obj of labGatewayObjects()) {
    try {
      await ssa(kc, obj);
    } catch (err) {
      throw new GatewayApiError(
        'LabGatewayApplyFailed',
        `applying ${obj.kind} ${obj.metadata?.namespace ? `${obj.metadata.namespace}/` : ''}${obj.metadata?.name} failed`,
        { cause: err },
      );
    }
  }
}

/** Entry point for the lab's `up`: CRDs + lab GatewayClass/Gateway, using the kubeconfig at `kubeconfigPath`. */
export async function installGatewayApi(
  kubeconfigPath: string,
  opts: { timeoutMs?: number } = {},
): Promise<void> {
  const kc = new KubeConfig();
  try {
    kc.loadFromFile(kubeconfigPath);
  } catch (err) {
    throw new GatewayApiError(
      'KubeconfigUnreadable',
      `cannot read kubeconfig ${kubeconfigPath}; start the lab control plane first`,
      { cause: err },
    );
  }
  await ensureLabGateway(kc, opts);
}
