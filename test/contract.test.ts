// The operator/runtime contract (lib/contract) tied to both sides: every variable the operator's
// Deployment sets is one the runtime's configuration reads, with values it accepts; and a real
// runtime on a real test model exposes the contract's metrics, labels, outcomes, buckets, headers
// and paths, which the operator's probes, scrape annotations and SLO queries rely on.
import { describe, expect, test } from '@jest/globals';
import {
  HEADER_PREDICTION_ID,
  HEADER_REVISION,
  LATENCY_BUCKETS,
  METRIC_LABEL_MODEL,
  METRIC_LABEL_OUTCOME,
  METRIC_LABEL_REVISION,
  METRIC_REQUEST_DURATION,
  METRIC_REQUESTS_TOTAL,
  OUTCOMES,
  PATH_LIVE,
  PATH_METRICS,
  PATH_READY,
  RUNTIME_ENV,
  OTEL_ENV,
  AVAILABILITY_BAD_OUTCOMES,
  AVAILABILITY_EXCLUDED_OUTCOMES,
} from '../lib/contract/index.ts';
import { parseOnnxModel } from '../operator/src/api/parse.ts';
import { deploymentFor } from '../operator/src/core/children/deployment.ts';
import { OPTIONS, parseArgs, type RuntimeConfig } from '../runtime/src/config/config.ts';
import { outcomeOf } from '../runtime/src/metrics/metrics.ts';
import { post, request, start } from '../runtime/test-support/harness.ts';
import { RUNTIME_TEST_TIMEOUT_MS } from '../runtime/test-support/timing.ts';

const DIGEST = `sha256:${'a'.repeat(64)}`;
const USER_ENV = { name: 'HTTPS_PROXY', value: 'http://proxy.internal:3128' };

const model = (spec: Record<string, unknown>) =>
  parseOnnxModel({
    apiVersion: 'serving.onnxop.io/v1alpha1',
    kind: 'OnnxModel',
    metadata: { name: 'fraud', namespace: 'ml', uid: '11111111-2222-3333-4444-555555555555', generation: 1 },
    spec: { model: { uri: 'https://models.example.com/fraud.onnx', digest: DIGEST }, ...spec },
  });

const config = { defaultRuntimeImage: 'ghcr.io/onnx-operator/runtime:dev', defaultGatewayParentRefs: [], fieldManager: 'onnx-operator', clusterDomain: 'cluster.local' };

interface Container {
  env: { name: string; value: string }[];
  ports: { name: string; containerPort: number }[];
  startupProbe: { httpGet: { path: string; port: string } };
  livenessProbe: { httpGet: { path: string; port: string } };
  readinessProbe: { httpGet: { path: string; port: string } };
}
interface PodTemplate {
  metadata: { annotations: Record<string, string> };
  spec: { containers: Container[] };
}
const templateOf = (spec: Record<string, unknown>, revision = 'r7f3a9c2'): PodTemplate =>
  (deploymentFor(model(spec), revision, config).spec as { template: PodTemplate }).template;

// Deployments covering every variable the operator can set: CPU, GPU with CPU fallback and dynamic
// batching, a signed model directory on a PVC (manifest bundle), and a user's own variable.
const SPECS: [string, Record<string, unknown>][] = [
  ['a CPU model with defaults', {}],
  [
    'a GPU model with CPU fallback, threads, optimization level and batching',
    { runtime: { accelerator: 'gpu', port: 9000, sessionOptions: { cpuFallback: true, intraOpThreads: 3, graphOptimizationLevel: 'basic' }, batching: { maxBatchSize: 16, maxQueueDelayMs: 5 }, env: [USER_ENV] } },
  ],
  [
    'a signed model directory on a PVC',
    {
      model: { uri: 'pvc://models/llm/v3/', digest: DIGEST, name: 'llm' },
      signature: { format: 'modelSigning', bundle: { configMapRef: { name: 'llm-sig' } }, authorities: [{ key: { secretRef: { name: 'k' } } }] },
    },
  ],
];

const runtimeEnvNames = new Set(OPTIONS.map((o) => o.env));

describe('contract: the Deployment the operator writes configures the runtime', () => {
  test('every contract variable is the env name of the runtime option it is keyed by', () => {
    for (const [key, name] of Object.entries(RUNTIME_ENV)) {
      expect([key, OPTIONS.find((o) => o.key === key)?.env]).toEqual([key, name]);
    }
  });

  test.each(SPECS)('%s: every variable set is a runtime option, and the runtime accepts the values', (_name, spec) => {
    const container = templateOf(spec).spec.containers[0] as Container;
    const set = container.env.filter((e) => e.name !== USER_ENV.name);
    const names = set.map((e) => e.name);
    expect(names.filter((n) => !runtimeEnvNames.has(n))).toEqual([]);
    expect(names.filter((n) => !(Object.values(RUNTIME_ENV) as string[]).includes(n))).toEqual([]);
    expect(new Set(names).size).toBe(names.length);

    const env = Object.fromEntries(set.map((e) => [e.name, e.value]));
    const parsed = parseArgs(['serve'], env);
    if (parsed.command !== 'serve') throw new Error('expected serve');
    const m = model(spec);
    const expected: Partial<RuntimeConfig> = {
      modelName: m.spec.model.name ?? m.metadata.name,
      revision: 'r7f3a9c2',
      modelDigest: DIGEST,
      port: m.spec.runtime.port,
      threads: m.spec.runtime.sessionOptions.intraOpThreads,
      graphOptimization: m.spec.runtime.sessionOptions.graphOptimizationLevel,
      executionProvider: m.spec.runtime.accelerator === 'gpu' ? 'cuda' : 'cpu',
      cpuFallback: m.spec.runtime.sessionOptions.cpuFallback,
    };
    if (m.spec.runtime.batching) Object.assign(expected, { maxBatchSize: m.spec.runtime.batching.maxBatchSize, maxQueueDelayMs: m.spec.runtime.batching.maxQueueDelayMs });
    expect(parsed.config).toMatchObject(expected);
    // The container port the probes and the Service use is the one the runtime listens on.
    expect(container.ports).toContainEqual(expect.objectContaining({ name: 'http', containerPort: parsed.config.port }));
  });

  test('the signed directory case passes the manifest bundle the runtime reads', () => {
    const env = Object.fromEntries((templateOf(SPECS[2]![1]).spec.containers[0] as Container).env.map((e) => [e.name, e.value]));
    expect(env[RUNTIME_ENV.manifestBundle]).toMatch(/^file:\/\//);
    expect(env[RUNTIME_ENV.modelUri]).toBe('file:///mnt/models/llm/v3/');
  });

  test('a traced model: the operator sets only the contract\'s OTEL_* variables beside the runtime options, and the runtime traces from them', () => {
    const container = templateOf({ runtime: { tracing: { endpoint: 'http://otel-collector.observability:4318', sampleRatio: 0.2 } } }).spec.containers[0] as Container;
    const names = container.env.map((e) => e.name);
    expect(names.filter((n) => !runtimeEnvNames.has(n)).sort()).toEqual((Object.values(OTEL_ENV) as string[]).filter((n) => n !== OTEL_ENV.tracesEndpoint).sort());
    const parsed = parseArgs(['serve'], Object.fromEntries(container.env.map((e) => [e.name, e.value])));
    if (parsed.command !== 'serve') throw new Error('expected serve');
    expect(parsed.config.tracing).toMatchObject({ endpoint: 'http://otel-collector.observability:4318/v1/traces', sampler: 'parentbased_traceidratio', ratio: 0.2, serviceName: 'fraud' });
    // Without spec.runtime.tracing, no OTEL_* variable: the runtime's tracing stays off.
    expect((templateOf({}).spec.containers[0] as Container).env.filter((e) => e.name.startsWith('OTEL_'))).toEqual([]);
  });

  test('probes and scrape annotations point at the contract paths', () => {
    const t = templateOf({});
    const c = t.spec.containers[0] as Container;
    expect([c.startupProbe.httpGet.path, c.livenessProbe.httpGet.path, c.readinessProbe.httpGet.path]).toEqual([PATH_LIVE, PATH_LIVE, PATH_READY]);
    expect(t.metadata.annotations).toMatchObject({ 'prometheus.io/scrape': 'true', 'prometheus.io/path': PATH_METRICS });
  });
});

describe('contract: a real runtime exposes what the operator queries', () => {
  test('the availability outcomes partition the outcomes the runtime counts', () => {
    expect([...AVAILABILITY_BAD_OUTCOMES, ...AVAILABILITY_EXCLUDED_OUTCOMES, 'success'].sort()).toEqual([...OUTCOMES].sort());
    expect([200, 400, 404, 413, 429, 500, 503, 504].map(outcomeOf)).toEqual(['success', 'client_error', 'client_error', 'client_error', 'rejected', 'server_error', 'rejected', 'timeout']);
  });

  test('metrics, labels, outcomes and buckets on /metrics; headers and paths', async () => {
    const rt = await start('classifier');
    try {
      await rt.loaded;
      for (const path of [PATH_LIVE, PATH_READY, PATH_METRICS]) expect([path, (await request(`${rt.url}${path}`)).status]).toEqual([path, 200]);

      const ok = await post(`${rt.url}/v2/models/classifier/infer`, { inputs: [{ name: 'features', shape: [1, 4], datatype: 'FP32', data: [[0.1, 0.2, 0.3, 0.4]] }] });
      expect(ok.status).toBe(200);
      expect(ok.headers.get(HEADER_REVISION)).toBe('r1');
      expect(ok.headers.get(HEADER_PREDICTION_ID)).toBe(ok.json.id);
      const bad = await post(`${rt.url}/v2/models/classifier/infer`, { inputs: [] });
      expect(bad.status).toBe(400);
      expect(bad.headers.get(HEADER_REVISION)).toBe('r1');

      const text = (await request(`${rt.url}${PATH_METRICS}`)).text;
      const samples = parseExposition(text);
      expect(text).toContain(`# TYPE ${METRIC_REQUESTS_TOTAL} counter`);
      expect(text).toContain(`# TYPE ${METRIC_REQUEST_DURATION} histogram`);

      const base = { [METRIC_LABEL_MODEL]: 'classifier', [METRIC_LABEL_REVISION]: 'r1' };
      const value = (name: string, labels: Record<string, string>) => samples.find((s) => s.name === name && sameLabels(s.labels, labels))?.value;
      // Every outcome exists from the start (rate() sees the first error), with exactly these labels.
      for (const outcome of OUTCOMES) expect([outcome, value(METRIC_REQUESTS_TOTAL, { ...base, [METRIC_LABEL_OUTCOME]: outcome })]).toEqual([outcome, outcome === 'success' || outcome === 'client_error' ? 1 : 0]);
      expect(samples.filter((s) => s.name === METRIC_REQUESTS_TOTAL)).toHaveLength(OUTCOMES.length);

      // The latency histogram: one series per outcome and contract bucket, +Inf equal to _count.
      const les = [...LATENCY_BUCKETS.map(String), '+Inf'];
      for (const outcome of OUTCOMES) {
        const labels = { ...base, [METRIC_LABEL_OUTCOME]: outcome };
        const buckets = samples.filter((s) => s.name === `${METRIC_REQUEST_DURATION}_bucket` && sameLabels(omit(s.labels, 'le'), labels));
        expect(buckets.map((s) => s.labels.le)).toEqual(les);
        expect(buckets.at(-1)?.value).toBe(value(`${METRIC_REQUEST_DURATION}_count`, labels));
        expect(value(`${METRIC_REQUEST_DURATION}_sum`, labels)).toBeDefined();
      }
      expect(value(`${METRIC_REQUEST_DURATION}_count`, { ...base, [METRIC_LABEL_OUTCOME]: 'success' })).toBe(1);

      // Every runtime series carries model and revision.
      const unlabelled = samples.filter((s) => s.name.startsWith('onnxop_') && (s.labels[METRIC_LABEL_MODEL] !== 'classifier' || s.labels[METRIC_LABEL_REVISION] !== 'r1'));
      expect(unlabelled.map((s) => s.name)).toEqual([]);
    } finally {
      await rt.shutdown('test done');
    }
  }, RUNTIME_TEST_TIMEOUT_MS);
});

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Prometheus text exposition → samples (names, labels unescaped, values). */
function parseExposition(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not an exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1] as string] = (l[2] as string).replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    out.push({ name: m[1] as string, labels, value: Number(m[3]) });
  }
  return out;
}

const omit = (labels: Record<string, string>, key: string) => Object.fromEntries(Object.entries(labels).filter(([k]) => k !== key));
const sameLabels = (a: Record<string, string>, b: Record<string, string>) => JSON.stringify(Object.entries(a).sort()) === JSON.stringify(Object.entries(b).sort());
