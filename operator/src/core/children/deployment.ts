// The Deployment of one revision: the runtime container, configured only through environment
// variables the runtime documents, hardened, probed on the v2 health endpoints, placed on CPU or GPU nodes.
import { OTEL_ENV, PATH_LIVE, PATH_METRICS, PATH_READY, RUNTIME_ENV, SHADOW_PORT, SHADOW_PORT_NAME } from '../../../../lib/contract/index.ts';
import { DEFAULT_GPU_NODE_SELECTOR } from '../../api/constants.ts';
import { parseDuration } from '../../api/parse.ts';
import type { OnnxModel, Toleration, TracingSpec } from '../../api/types.ts';
import { revisionChildName, stableServiceName } from '../names.ts';
import type { CoreConfig, KubeObject } from '../types.ts';
import { GRPC_PORT, childMeta, grpcPortFor, revisionLabels, revisionSelector, shadowPortFor } from './common.ts';

export const CONTAINER_NAME = 'runtime';
export const PVC_MOUNT_PATH = '/mnt/models';
/** The runtime keeps answering (not ready) this long after SIGTERM so endpoints drop the pod first. */
const SHUTDOWN_DELAY_MS = 5000;

/** pvc://claim/path → the claim and the file:// URI the runtime reads inside the pod. */
export function pvcSource(uri: string): { claim: string; fileUri: string } | undefined {
  const m = /^pvc:\/\/([^/]+)\/(.+)$/.exec(uri);
  return m && m[1] && m[2] ? { claim: m[1], fileUri: `file://${PVC_MOUNT_PATH}/${m[2]}` } : undefined;
}

export const BUNDLE_MOUNT_PATH = '/etc/onnxop/signature';
/** Where spec.runtime.baselineProfile's ConfigMap key is mounted, as profile.json. */
export const BASELINE_MOUNT_PATH = '/etc/onnxop/baseline';
const BASELINE_FILE = 'profile.json';
const BUNDLE_FILE = 'bundle.json';

/**
 * A model directory (a `spec.model.uri` ending in `/`: the ONNX file and its external data) signed
 * with model_signing: where the runtime reads the bundle to re-check every file against the signed
 * manifest (ONNXOP_MANIFEST_BUNDLE), and the volume that brings it into the pod. The same bundle
 * the operator verified: a ConfigMap/Secret key (mounted), `bundle.uri`, or next to the artifact
 * (`<uri>.sigstore.json`, the verifier's default). Undefined when the runtime cannot reach it
 * (oci://, or a pvc:// bundle on another claim): the runtime then refuses the directory and says why.
 */
export function manifestBundleFor(model: OnnxModel): { uri: string; volume?: Record<string, unknown> } | undefined {
  const sig = model.spec.signature;
  const modelUri = model.spec.model.uri;
  if (!sig || sig.format !== 'modelSigning' || !modelUri.endsWith('/')) return undefined;
  const mounted = { uri: `file://${BUNDLE_MOUNT_PATH}/${BUNDLE_FILE}` };
  const items = (key: string | undefined) => [{ key: key ?? BUNDLE_FILE, path: BUNDLE_FILE }];
  const b = sig.bundle;
  if (b.configMapRef) return { ...mounted, volume: { name: 'signature-bundle', configMap: { name: b.configMapRef.name, items: items(b.configMapRef.key) } } };
  if (b.secretRef) return { ...mounted, volume: { name: 'signature-bundle', secret: { secretName: b.secretRef.name, items: items(b.secretRef.key) } } };
  const at = b.uri ?? `${modelUri}.sigstore.json`;
  if (at.startsWith('pvc://')) {
    const modelPvc = pvcSource(modelUri);
    const bundlePvc = pvcSource(at);
    return modelPvc && bundlePvc && modelPvc.claim === bundlePvc.claim ? { uri: bundlePvc.fileUri } : undefined;
  }
  return at.startsWith('file:///') || at.startsWith('https://') ? { uri: at } : undefined;
}

export function servedModelName(model: OnnxModel): string {
  return model.spec.model.name ?? model.metadata.name;
}

/** Pods a revision is expected to run (what "rolled out" waits for). */
export function wantedReplicas(model: OnnxModel): number {
  const r = model.spec.runtime;
  return r.autoscaling ? r.autoscaling.minReplicas : (r.replicas ?? 1);
}

function env(model: OnnxModel, revision: string, config: CoreConfig): Record<string, unknown>[] {
  const { model: artifact, runtime } = model.spec;
  const pvc = pvcSource(artifact.uri);
  const provider = runtime.sessionOptions.executionProvider ?? (runtime.accelerator === 'gpu' ? 'cuda' : 'cpu');
  const vars: Record<string, unknown>[] = [
    { name: RUNTIME_ENV.modelName, value: servedModelName(model) },
    { name: RUNTIME_ENV.revision, value: revision },
    { name: RUNTIME_ENV.modelUri, value: pvc ? pvc.fileUri : artifact.uri },
    { name: RUNTIME_ENV.modelDigest, value: artifact.digest },
    { name: RUNTIME_ENV.port, value: String(runtime.port) },
    { name: RUNTIME_ENV.threads, value: String(runtime.sessionOptions.intraOpThreads) },
    { name: RUNTIME_ENV.graphOptimization, value: runtime.sessionOptions.graphOptimizationLevel },
    { name: RUNTIME_ENV.executionProvider, value: provider },
    { name: RUNTIME_ENV.shutdownDelayMs, value: String(SHUTDOWN_DELAY_MS) },
    // Shadow steps: mirrored requests arrive on this port, and are compared with the model's stable
    // Service (which always selects the stable revision), asked on its shadow port.
    { name: RUNTIME_ENV.shadowPort, value: String(shadowPortFor(runtime.port)) },
    { name: RUNTIME_ENV.shadowCompareUrl, value: `http://${stableServiceName(model.metadata.name)}.${model.metadata.namespace}.svc:${SHADOW_PORT}` },
  ];
  // The runtime rejects cpuFallback with the cpu provider, so it is only passed with cuda.
  if (provider === 'cuda') vars.push({ name: RUNTIME_ENV.cpuFallback, value: String(runtime.sessionOptions.cpuFallback) });
  if (runtime.batching) {
    vars.push({ name: RUNTIME_ENV.maxBatchSize, value: String(runtime.batching.maxBatchSize) });
    vars.push({ name: RUNTIME_ENV.maxQueueDelayMs, value: String(runtime.batching.maxQueueDelayMs) });
  }
  const bundle = manifestBundleFor(model);
  if (bundle) vars.push({ name: RUNTIME_ENV.manifestBundle, value: bundle.uri });
  if (runtime.baselineProfile) vars.push({ name: RUNTIME_ENV.baselineProfile, value: `${BASELINE_MOUNT_PATH}/${BASELINE_FILE}` });
  if (runtime.tracing) vars.push(...tracingEnv(model, runtime.tracing));
  const store = config.predictionKafka;
  if (store) {
    vars.push(
      { name: RUNTIME_ENV.predictionLog, value: 'kafka' },
      { name: RUNTIME_ENV.predictionLogKafkaBrokers, value: store.brokers },
      { name: RUNTIME_ENV.predictionLogKafkaTopic, value: store.topic },
      { name: RUNTIME_ENV.predictionLogKafkaFeedbackTopic, value: store.feedbackTopic },
    );
  }
  for (const e of runtime.env ?? []) vars.push({ ...e });
  return vars;
}

/**
 * spec.runtime.tracing as the runtime's standard OpenTelemetry variables: the collector, parent-based
 * ratio sampling (a caller's sampled trace is always continued), the served model as the service,
 * and where the pod runs as resource attributes.
 */
export function tracingEnv(model: OnnxModel, tracing: TracingSpec): { name: string; value: string }[] {
  // service.version is the revision already (the runtime's default); these say where it runs.
  const resource = { 'k8s.namespace.name': model.metadata.namespace, 'onnxop.model': model.metadata.name };
  return [
    { name: OTEL_ENV.endpoint, value: tracing.endpoint },
    { name: OTEL_ENV.sampler, value: 'parentbased_traceidratio' },
    { name: OTEL_ENV.samplerArg, value: String(tracing.sampleRatio) },
    { name: OTEL_ENV.serviceName, value: servedModelName(model) },
    // Values percent-encoded as OTEL_RESOURCE_ATTRIBUTES requires (names and revisions need none today).
    { name: OTEL_ENV.resourceAttributes, value: Object.entries(resource).map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join(',') },
  ];
}

function placement(model: OnnxModel): { nodeSelector?: Record<string, string>; tolerations?: Toleration[]; gpuLimit?: [string, number] } {
  const r = model.spec.runtime;
  let nodeSelector: Record<string, string> | undefined;
  let tolerations: Toleration[] | undefined;
  let gpuLimit: [string, number] | undefined;
  if (r.accelerator === 'gpu') {
    const gpu = r.gpu ?? { count: 1, resourceName: 'nvidia.com/gpu' };
    nodeSelector = { ...(gpu.nodeSelector ?? DEFAULT_GPU_NODE_SELECTOR) };
    tolerations = (gpu.tolerations ?? [{ key: gpu.resourceName, operator: 'Exists', effect: 'NoSchedule' }]).map((t) => ({ ...t }));
    gpuLimit = [gpu.resourceName, gpu.count];
  }
  if (r.nodeSelector) nodeSelector = { ...(nodeSelector ?? {}), ...r.nodeSelector };
  if (r.tolerations) tolerations = [...(tolerations ?? []), ...r.tolerations.map((t) => ({ ...t }))];
  const out: { nodeSelector?: Record<string, string>; tolerations?: Toleration[]; gpuLimit?: [string, number] } = {};
  if (nodeSelector) out.nodeSelector = nodeSelector;
  if (tolerations) out.tolerations = tolerations;
  if (gpuLimit) out.gpuLimit = gpuLimit;
  return out;
}

function resources(model: OnnxModel, gpuLimit: [string, number] | undefined): Record<string, unknown> | undefined {
  const r = model.spec.runtime.resources;
  const requests = r?.requests ? { ...r.requests } : undefined;
  const limits: Record<string, string | number> | undefined = r?.limits || gpuLimit ? { ...(r?.limits ?? {}) } : undefined;
  // Extended resources cannot be overcommitted: the limit is the request. A quantity is a string in
  // the API (the server returns it as one); a number here would differ from the server's copy.
  if (gpuLimit && limits) limits[gpuLimit[0]] = String(gpuLimit[1]);
  if (!requests && !limits) return undefined;
  const out: Record<string, unknown> = {};
  if (requests) out['requests'] = requests;
  if (limits) out['limits'] = limits;
  return out;
}

const probe = (path: string, periodSeconds: number, failureThreshold: number) => ({
  httpGet: { path, port: 'http', scheme: 'HTTP' },
  periodSeconds,
  timeoutSeconds: 2,
  failureThreshold,
  successThreshold: 1,
});

export function deploymentFor(model: OnnxModel, revision: string, config: CoreConfig): KubeObject {
  const r = model.spec.runtime;
  const labels = revisionLabels(model, revision);
  const place = placement(model);
  const res = resources(model, place.gpuLimit);
  const pvc = pvcSource(model.spec.model.uri);
  const bundleVolume = manifestBundleFor(model)?.volume;
  const baseline = r.baselineProfile?.configMapRef;
  const progressDeadlineSeconds = Math.max(1, Math.ceil((parseDuration(model.spec.rollout.progressDeadline) ?? 600_000) / 1000));

  const container: Record<string, unknown> = {
    name: CONTAINER_NAME,
    image: r.image ?? config.defaultRuntimeImage,
    imagePullPolicy: 'IfNotPresent',
    // The gRPC port is the runtime's default unless the REST port took it.
    args: grpcPortFor(r.port) === GRPC_PORT ? ['serve'] : ['serve', `--grpc-port=${grpcPortFor(r.port)}`],
    ports: [
      { name: 'http', containerPort: r.port, protocol: 'TCP' },
      { name: 'grpc', containerPort: grpcPortFor(r.port), protocol: 'TCP' },
      { name: SHADOW_PORT_NAME, containerPort: shadowPortFor(r.port), protocol: 'TCP' },
    ],
    env: env(model, revision, config),
    ...(res ? { resources: res } : {}),
    // Loading (fetch + digest check + session + warm-up) can take minutes; the startup probe covers
    // it so liveness can stay strict afterwards.
    startupProbe: probe(PATH_LIVE, 5, 120),
    livenessProbe: probe(PATH_LIVE, 10, 3),
    readinessProbe: probe(PATH_READY, 5, 3),
    securityContext: {
      runAsNonRoot: true,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    },
    volumeMounts: [
      { name: 'tmp', mountPath: '/tmp' },
      ...(pvc ? [{ name: 'model', mountPath: PVC_MOUNT_PATH, readOnly: true }] : []),
      ...(bundleVolume ? [{ name: 'signature-bundle', mountPath: BUNDLE_MOUNT_PATH, readOnly: true }] : []),
      ...(baseline ? [{ name: 'baseline-profile', mountPath: BASELINE_MOUNT_PATH, readOnly: true }] : []),
    ],
  };

  const podSpec: Record<string, unknown> = {
    automountServiceAccountToken: false,
    enableServiceLinks: false,
    terminationGracePeriodSeconds: config.terminationGracePeriodSeconds ?? 30,
    securityContext: { runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, fsGroup: 65532, seccompProfile: { type: 'RuntimeDefault' } },
    containers: [container],
    volumes: [
      { name: 'tmp', emptyDir: {} },
      ...(pvc ? [{ name: 'model', persistentVolumeClaim: { claimName: pvc.claim, readOnly: true } }] : []),
      ...(bundleVolume ? [bundleVolume] : []),
      ...(baseline ? [{ name: 'baseline-profile', configMap: { name: baseline.name, items: [{ key: baseline.key ?? BASELINE_FILE, path: BASELINE_FILE }] } }] : []),
    ],
    ...(place.nodeSelector ? { nodeSelector: place.nodeSelector } : {}),
    ...(place.tolerations ? { tolerations: place.tolerations } : {}),
  };

  const spec: Record<string, unknown> = {
    ...(r.autoscaling ? {} : { replicas: r.replicas ?? 1 }),
    revisionHistoryLimit: 2,
    progressDeadlineSeconds,
    selector: { matchLabels: revisionSelector(model, revision) },
    // A revision's template rarely changes; when it does, never drop below the wanted count.
    strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
    template: {
      metadata: {
        labels,
        annotations: { 'prometheus.io/scrape': 'true', 'prometheus.io/port': String(r.port), 'prometheus.io/path': PATH_METRICS },
      },
      spec: podSpec,
    },
  };

  return { apiVersion: 'apps/v1', kind: 'Deployment', metadata: childMeta(model, revisionChildName(model.metadata.name, revision), labels), spec };
}
