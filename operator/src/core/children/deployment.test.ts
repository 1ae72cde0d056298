// The Deployment of a model directory signed with model_signing: the runtime is told where the
// bundle is (ONNXOP_MANIFEST_BUNDLE) so it re-checks every file against the signed manifest.
import { describe, expect, it } from '@jest/globals';
import { DIGEST_A, config, makeModel } from '../test-fixtures.ts';
import { canonicalJson } from '../canonical-json.ts';
import { computeRevision, podSettings } from '../revision.ts';
import { deploymentFor, manifestBundleFor } from './deployment.ts';
import { parseTracingEnv } from '../../../../runtime/src/tracing/tracing-config.ts';
import { parseArgs } from '../../../../runtime/src/config/config.ts';

type Pod = { volumes: Record<string, unknown>[]; containers: { env: { name: string; value: string }[]; volumeMounts: Record<string, unknown>[] }[] };
const pod = (spec: Record<string, unknown>): Pod => (deploymentFor(makeModel(spec), 'r1', config).spec as { template: { spec: Pod } }).template.spec;
const envOf = (p: Pod) => Object.fromEntries(p.containers[0]!.env.map((e) => [e.name, e.value]));
const signed = (bundle: Record<string, unknown> = {}) => ({ format: 'modelSigning', bundle, authorities: [{ key: { secretRef: { name: 'k' } } }] });

describe('deployment: signed model directories', () => {
  it('passes a pvc:// directory and the bundle from a ConfigMap, mounted read-only', () => {
    const p = pod({ model: { uri: 'pvc://models/llm/v3/', digest: DIGEST_A }, signature: signed({ configMapRef: { name: 'llm-sig', key: 'model.sig' } }) });
    expect(envOf(p)).toMatchObject({ ONNXOP_MODEL_URI: 'file:///mnt/models/llm/v3/', ONNXOP_MODEL_DIGEST: DIGEST_A, ONNXOP_MANIFEST_BUNDLE: 'file:///etc/onnxop/signature/bundle.json' });
    expect(p.volumes).toContainEqual({ name: 'signature-bundle', configMap: { name: 'llm-sig', items: [{ key: 'model.sig', path: 'bundle.json' }] } });
    expect(p.containers[0]!.volumeMounts).toContainEqual({ name: 'signature-bundle', mountPath: '/etc/onnxop/signature', readOnly: true });
  });

  it('mounts a Secret key (default bundle.json) the same way', () => {
    const p = pod({ model: { uri: 'pvc://models/llm/v3/', digest: DIGEST_A }, signature: signed({ secretRef: { name: 'llm-sig' } }) });
    expect(p.volumes).toContainEqual({ name: 'signature-bundle', secret: { secretName: 'llm-sig', items: [{ key: 'bundle.json', path: 'bundle.json' }] } });
    expect(envOf(p)['ONNXOP_MANIFEST_BUNDLE']).toBe('file:///etc/onnxop/signature/bundle.json');
  });

  it('passes a bundle uri (https, file, or pvc on the model claim) and the default next to the artifact', () => {
    const at = (uri: string, bundle: Record<string, unknown>) => manifestBundleFor(makeModel({ model: { uri, digest: DIGEST_A }, signature: signed(bundle) }));
    expect(at('file:///models/llm/', {})).toEqual({ uri: 'file:///models/llm/.sigstore.json' });
    expect(at('pvc://models/llm/v3/', { uri: 'https://sigs.example.com/llm-v3.sig' })).toEqual({ uri: 'https://sigs.example.com/llm-v3.sig' });
    expect(at('pvc://models/llm/v3/', { uri: 'pvc://models/sigs/llm-v3.sig' })).toEqual({ uri: 'file:///mnt/models/sigs/llm-v3.sig' });
    // Not reachable from the pod: no variable, and the runtime refuses the directory, saying why.
    expect(at('pvc://models/llm/v3/', { uri: 'pvc://other/llm-v3.sig' })).toBeUndefined();
    expect(at('pvc://models/llm/v3/', { uri: 'oci://registry.example.com/sigs@sha256:' + 'c'.repeat(64) })).toBeUndefined();
    expect(envOf(pod({ model: { uri: 'pvc://models/llm/v3/', digest: DIGEST_A }, signature: signed({ uri: 'pvc://other/x.sig' }) }))['ONNXOP_MANIFEST_BUNDLE']).toBeUndefined();
  });

  it('changes nothing for single files, sigstore bundles or unsigned models', () => {
    for (const spec of [
      { model: { uri: 'pvc://models/iris/model.onnx', digest: DIGEST_A }, signature: signed({ configMapRef: { name: 's' } }) },
      { model: { uri: 'pvc://models/llm/v3/', digest: DIGEST_A }, signature: { ...signed({ configMapRef: { name: 's' } }), format: 'sigstore' } },
      { model: { uri: 'pvc://models/llm/v3/', digest: DIGEST_A } },
    ]) {
      const p = pod(spec);
      expect(envOf(p)['ONNXOP_MANIFEST_BUNDLE']).toBeUndefined();
      expect(p.volumes.map((v) => v['name'])).not.toContain('signature-bundle');
    }
  });
});

describe('deployment: tracing', () => {
  it('sets the runtime\'s standard OpenTelemetry variables from spec.runtime.tracing', () => {
    const p = pod({ runtime: { tracing: { endpoint: 'http://otel-collector.observability:4318', sampleRatio: 0.25 } } });
    expect(envOf(p)).toMatchObject({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel-collector.observability:4318',
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
      OTEL_TRACES_SAMPLER_ARG: '0.25',
      OTEL_SERVICE_NAME: 'iris',
      OTEL_RESOURCE_ATTRIBUTES: 'k8s.namespace.name=ml,onnxop.model=iris',
    });
  });

  it('the runtime reads back what the operator wrote (the same names, valid values)', () => {
    const vars = envOf(pod({ runtime: { tracing: { endpoint: 'https://c.example.com/otlp', sampleRatio: 0 } } }));
    const tracing = parseTracingEnv(vars, { serviceName: 'ignored', serviceVersion: 'r1' });
    expect(tracing).toMatchObject({ endpoint: 'https://c.example.com/otlp/v1/traces', sampler: 'parentbased_traceidratio', ratio: 0, serviceName: 'iris' });
    expect(tracing?.resourceAttributes).toMatchObject({ 'k8s.namespace.name': 'ml', 'onnxop.model': 'iris', 'service.version': 'r1' });
  });

  it('lets spec.runtime.env add or override OTEL_* variables (later entries win in Kubernetes)', () => {
    const p = pod({ runtime: { tracing: { endpoint: 'http://c:4318', sampleRatio: 1 }, env: [{ name: 'OTEL_EXPORTER_OTLP_HEADERS', value: 'x-tenant=ml' }] } });
    const names = p.containers[0]!.env.map((e) => e.name);
    expect(names.indexOf('OTEL_EXPORTER_OTLP_HEADERS')).toBeGreaterThan(names.indexOf('OTEL_EXPORTER_OTLP_ENDPOINT'));
  });

  it('is part of the revision; none sets no OTEL_* variable and leaves the revision as it was', () => {
    const plain = makeModel({});
    const traced = makeModel({ runtime: { tracing: { endpoint: 'http://c:4318', sampleRatio: 1 } } });
    const sampled = makeModel({ runtime: { tracing: { endpoint: 'http://c:4318', sampleRatio: 0.1 } } });
    expect(new Set([plain, traced, sampled].map((m) => computeRevision(m, config))).size).toBe(3);
    expect(canonicalJson(podSettings(plain, config))).not.toContain('tracing');
    expect(Object.keys(envOf(pod({}))).filter((n) => n.startsWith('OTEL_'))).toEqual([]);
  });
});

describe('deployment: baseline profile for drift', () => {
  it('mounts spec.runtime.baselineProfile read-only and passes its path (default key profile.json)', () => {
    const p = pod({ runtime: { baselineProfile: { configMapRef: { name: 'iris-baseline' } } } });
    expect(envOf(p)['ONNXOP_BASELINE_PROFILE']).toBe('/etc/onnxop/baseline/profile.json');
    expect(p.volumes).toContainEqual({ name: 'baseline-profile', configMap: { name: 'iris-baseline', items: [{ key: 'profile.json', path: 'profile.json' }] } });
    expect(p.containers[0]!.volumeMounts).toContainEqual({ name: 'baseline-profile', mountPath: '/etc/onnxop/baseline', readOnly: true });
    const keyed = pod({ runtime: { baselineProfile: { configMapRef: { name: 'iris-baseline', key: 'train-2026.json' } } } });
    expect(keyed.volumes).toContainEqual({ name: 'baseline-profile', configMap: { name: 'iris-baseline', items: [{ key: 'train-2026.json', path: 'profile.json' }] } });
  });

  it('is part of the revision: a new profile rolls out like a new model; none leaves the revision as it was', () => {
    const plain = makeModel({});
    const withProfile = makeModel({ runtime: { baselineProfile: { configMapRef: { name: 'iris-baseline' } } } });
    const other = makeModel({ runtime: { baselineProfile: { configMapRef: { name: 'iris-baseline', key: 'v2.json' } } } });
    const revs = [plain, withProfile, other].map((m) => computeRevision(m, config));
    expect(new Set(revs).size).toBe(3);
    expect(canonicalJson(podSettings(plain, config))).not.toContain('baselineProfile');
  });

  it('sets nothing without one', () => {
    const p = pod({});
    expect(envOf(p)['ONNXOP_BASELINE_PROFILE']).toBeUndefined();
    expect(p.volumes.map((v) => v['name'])).not.toContain('baseline-profile');
  });
});

describe('deployment: the runtime\'s gRPC port', () => {
  type Container = { args: string[]; ports: { name: string; containerPort: number }[] };
  const container = (spec: Record<string, unknown>) => (deploymentFor(makeModel(spec), 'r1', config).spec as { template: { spec: { containers: Container[] } } }).template.spec.containers[0]!;
  it('exposes the runtime default 8081 beside the REST port, or 8082 (told with --grpc-port) when the REST port is 8081', () => {
    expect(container({})).toMatchObject({ args: ['serve'], ports: [{ name: 'http', containerPort: 8080 }, { name: 'grpc', containerPort: 8081 }, { name: 'shadow', containerPort: 8082 }] });
    expect(container({ runtime: { port: 8081 } })).toMatchObject({ args: ['serve', '--grpc-port=8082'], ports: [{ name: 'http', containerPort: 8081 }, { name: 'grpc', containerPort: 8082 }, { name: 'shadow', containerPort: 8083 }] });
  });

  it('moves the shadow listener off a port REST or gRPC took, and tells the runtime', () => {
    const c = container({ runtime: { port: 8082 } }) as Container & { env: { name: string; value: string }[] };
    expect(c.ports).toEqual([
      { name: 'http', containerPort: 8082, protocol: 'TCP' },
      { name: 'grpc', containerPort: 8081, protocol: 'TCP' },
      { name: 'shadow', containerPort: 8083, protocol: 'TCP' },
    ]);
    expect(c.env).toContainEqual({ name: 'ONNXOP_SHADOW_PORT', value: '8083' });
  });
});

describe('deployment: the prediction store (operator --prediction-kafka-brokers)', () => {
  const store = { brokers: 'kafka-0.kafka:9092,kafka-1.kafka:9092', topic: 'ml.predictions', feedbackTopic: 'ml.feedback' };
  const withStore = { ...config, predictionKafka: store };
  const envWith = (c: typeof config, spec: Record<string, unknown> = {}) =>
    Object.fromEntries(((deploymentFor(makeModel(spec), 'r1', c).spec as { template: { spec: Pod } }).template.spec.containers[0]!.env).map((e) => [e.name, e.value]));

  it('points every runtime at the Kafka sink, in variables the runtime accepts as its own flags', () => {
    const vars = envWith(withStore);
    expect(vars).toMatchObject({ ONNXOP_PREDICTION_LOG: 'kafka', ONNXOP_PREDICTION_LOG_KAFKA_BROKERS: store.brokers, ONNXOP_PREDICTION_LOG_KAFKA_TOPIC: 'ml.predictions', ONNXOP_PREDICTION_LOG_KAFKA_FEEDBACK_TOPIC: 'ml.feedback' });
    const parsed = parseArgs(['serve'], vars);
    if (parsed.command !== 'serve') throw new Error('expected serve');
    expect(parsed.config).toMatchObject({ predictionLog: 'kafka', predictionLogKafkaBrokers: store.brokers, predictionLogKafkaTopic: 'ml.predictions', predictionLogKafkaFeedbackTopic: 'ml.feedback' });
  });

  it('is part of the revision (a new store rolls out as a new revision); without one, nothing changes', () => {
    const m = makeModel({});
    expect(computeRevision(m, withStore)).not.toBe(computeRevision(m, config));
    expect(canonicalJson(podSettings(m, config))).not.toContain('predictionKafka');
    expect(envWith(config)['ONNXOP_PREDICTION_LOG']).toBeUndefined();
  });
});
