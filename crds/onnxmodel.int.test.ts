// The CRD against the real lab API server: it installs, a valid model is accepted with defaults
// applied, and each invalid manifest is rejected with a message naming the field to fix.
import fs from 'node:fs';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { createTestNamespace, deleteNamespace, kubectl, kubectlJson, repoRoot, waitUntil } from '../test/lab-helpers.ts';

const crdPath = path.join(repoRoot, 'crds', 'onnxmodel.yaml');
const DIGEST = `sha256:${'ab'.repeat(32)}`;

type Obj = Record<string, unknown>;

function model(name: string, spec: Obj): Obj {
  return { apiVersion: 'serving.onnxop.io/v1alpha1', kind: 'OnnxModel', metadata: { name }, spec };
}
const base = (extra: Obj = {}): Obj => ({ model: { uri: 'https://models.example.com/m.onnx', digest: DIGEST }, ...extra });

async function dryRun(ns: string, obj: Obj): Promise<{ ok: true; out: Obj } | { ok: false; error: string }> {
  try {
    const out = await kubectl(['-n', ns, 'apply', '--dry-run=server', '-o', 'json', '-f', '-'], stringify(obj));
    return { ok: true, out: JSON.parse(out) as Obj };
  } catch (err) {
    return { ok: false, error: String(err) };
  }
}

const invalid: { name: string; obj: Obj; expect: RegExp }[] = [
  { name: 'missing digest', obj: model('a', { model: { uri: 'https://x/m.onnx' } }), expect: /spec\.model\.digest: Required/ },
  { name: 'digest not sha256', obj: model('a', { model: { uri: 'https://x/m.onnx', digest: 'md5:abc' } }), expect: /spec\.model\.digest.*sha256/ },
  { name: 'http:// uri', obj: model('a', base({ model: { uri: 'http://x/m.onnx', digest: DIGEST } })), expect: /spec\.model\.uri must start with https:\/\// },
  { name: 'malformed pvc uri', obj: model('a', base({ model: { uri: 'pvc://claim', digest: DIGEST } })), expect: /pvc:\/\/<claim name>\/<path/ },
  { name: 'gpu block on cpu', obj: model('a', base({ runtime: { gpu: { count: 2 } } })), expect: /spec\.runtime\.gpu is only allowed with spec\.runtime\.accelerator: gpu/ },
  { name: 'cuda on cpu', obj: model('a', base({ runtime: { sessionOptions: { executionProvider: 'cuda' } } })), expect: /executionProvider: cuda needs spec\.runtime\.accelerator: gpu/ },
  { name: 'replicas and autoscaling', obj: model('a', base({ runtime: { replicas: 2, autoscaling: { maxReplicas: 4, targetCPUUtilization: 70 } } })), expect: /spec\.runtime\.replicas and spec\.runtime\.autoscaling are mutually exclusive/ },
  { name: 'autoscaling min > max', obj: model('a', base({ runtime: { autoscaling: { minReplicas: 5, maxReplicas: 2, targetInflight: 4 } } })), expect: /minReplicas must not exceed maxReplicas/ },
  { name: 'steps not rising', obj: model('a', base({ rollout: { steps: [{ weight: 10 }, { weight: 50 }, { weight: 50 }] } })), expect: /spec\.rollout\.steps\[\]\.weight must rise strictly/ },
  { name: 'step weight 0', obj: model('a', base({ rollout: { steps: [{ weight: 0 }] } })), expect: /spec\.rollout\.steps\[0\]\.weight: Invalid value/ },
  { name: 'burn windows reversed', obj: model('a', base({ rollout: { steps: [{ weight: 10 }], analysis: { slos: [{ name: 'avail', builtin: 'availability', objective: 99.9 }], burnRateWindows: [{ short: '1h', long: '5m', threshold: 14.4 }] } } })), expect: /burnRateWindows\[\]: short must be shorter than long/ },
  { name: 'custom slo without totalQuery', obj: model('a', base({ rollout: { steps: [{ weight: 10 }], analysis: { slos: [{ name: 'orders', objective: 99, custom: { goodQuery: 'sum(x)' } }] } } })), expect: /spec\.rollout\.analysis\.slos\[0\]\.custom\.totalQuery: Required/ },
  { name: 'latency slo without threshold', obj: model('a', base({ rollout: { steps: [{ weight: 10 }], analysis: { slos: [{ name: 'lat', builtin: 'latency', objective: 99 }] } } })), expect: /builtin: latency needs latencyThresholdSeconds/ },
  { name: 'keyless without subject', obj: model('a', base({ signature: { authorities: [{ keyless: { issuer: 'https://token.actions.githubusercontent.com' } }] } })), expect: /keyless needs exactly one of subject or subjectRegExp/ },
  { name: 'threshold above authorities', obj: model('a', base({ signature: { threshold: 2, authorities: [{ key: { secretRef: { name: 'k' } } }] } })), expect: /spec\.signature\.threshold must not exceed/ },
  { name: 'bad signature mode', obj: model('a', base({ signature: { mode: 'Warn', authorities: [{ key: { secretRef: { name: 'k' } } }] } })), expect: /spec\.signature\.mode: Unsupported value: "Warn"/ },
  { name: 'env overriding operator variable', obj: model('a', base({ runtime: { env: [{ name: 'ONNXOP_MODEL_URI', value: 'file:///etc/passwd' }] } })), expect: /spec\.runtime\.env\[\]\.name must not be PORT or start with ONNXOP_/ },
  { name: 'istio provider (not supported yet)', obj: model('a', base({ traffic: { provider: 'istio' } })), expect: /spec\.traffic\.provider: istio is not supported yet; use gatewayAPI/ },
  { name: 'name not a DNS-1035 label', obj: model('1-model', base()), expect: /metadata\.name must be a DNS-1035 label/ },
  { name: 'analysis without steps', obj: model('a', base({ rollout: { analysis: { slos: [{ name: 'avail', builtin: 'availability', objective: 99.9 }] } } })), expect: /spec\.rollout\.analysis needs spec\.rollout\.steps/ },
];

describe('OnnxModel CRD on the lab API server', () => {
  let ns = '';

  beforeAll(async () => {
    await kubectl(['apply', '--server-side', '--force-conflicts', '--field-manager=onnxop-crd-test', '-f', crdPath]);
    await kubectl(['wait', '--for=condition=Established', '--timeout=60s', 'crd/onnxmodels.serving.onnxop.io']);
    ns = await createTestNamespace('crd');
    // Discovery can lag the Established condition by a moment.
    await waitUntil('onnxmodels discoverable', async () => ((await kubectl(['-n', ns, 'get', 'onnx', '-o', 'name'])) === '' ? true : undefined));
  });

  afterAll(async () => {
    if (ns) await deleteNamespace(ns);
  });

  it('is structural, with printer columns and the short name', async () => {
    const crd = await kubectlJson<{ status: { conditions: { type: string; status: string }[] } }>(['get', 'crd', 'onnxmodels.serving.onnxop.io']);
    expect(crd.status.conditions.find((c) => c.type === 'NonStructuralSchema')).toBeUndefined();
    const explain = await kubectl(['explain', 'onnx.spec.rollout.analysis.burnRateWindows']);
    expect(explain).toMatch(/Multi-window burn-rate/);
  });

  it('accepts a minimal model and applies the defaults', async () => {
    const r = await dryRun(ns, model('iris', base()));
    if (!r.ok) throw new Error(r.error);
    const spec = (r.out as { spec: Obj }).spec;
    expect(spec).toMatchObject({
      model: { format: 'onnx' },
      runtime: { accelerator: 'cpu', port: 8080, sessionOptions: { intraOpThreads: 0, graphOptimizationLevel: 'all', cpuFallback: false } },
      traffic: { provider: 'gatewayAPI' },
      rollout: { progressDeadline: '10m', scaleDownDelay: '30s' },
    });
    expect((spec as { runtime: Obj }).runtime).not.toHaveProperty('replicas');
  });

  it('accepts every example in examples/', async () => {
    const dir = path.join(repoRoot, 'examples');
    const files = fs.readdirSync(dir).filter((f) => f.endsWith('.yaml'));
    expect(files.length).toBeGreaterThanOrEqual(3);
    for (const f of files) {
      const obj = parse(fs.readFileSync(path.join(dir, f), 'utf8')) as Obj;
      const r = await dryRun(ns, obj);
      if (!r.ok) throw new Error(`${f}: ${r.error}`);
    }
  });

  it('applies analysis defaults (burn-rate pairs, minRequests, no-data policy)', async () => {
    const r = await dryRun(ns, model('canary', base({ rollout: { steps: [{ weight: 10, pause: '1m' }, { weight: 50 }], analysis: { slos: [{ name: 'avail', builtin: 'availability', objective: 99.9 }] } } })));
    if (!r.ok) throw new Error(r.error);
    expect((r.out as { spec: { rollout: Obj } }).spec.rollout).toMatchObject({
      analysis: {
        interval: '1m',
        minRequests: 100,
        noDataPolicy: 'Inconclusive',
        compareWithStable: true,
        burnRateWindows: [
          { short: '5m', long: '1h', threshold: 14.4 },
          { short: '30m', long: '6h', threshold: 6 },
        ],
      },
    });
  });

  it.each(invalid)('rejects: $name', async ({ obj, expect: pattern }) => {
    const r = await dryRun(ns, obj);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(pattern);
  });

  it('rejects at least 8 distinct invalid manifests', () => {
    expect(new Set(invalid.map((c) => c.name)).size).toBeGreaterThanOrEqual(8);
  });
});
