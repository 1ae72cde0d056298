// The OnnxModel API as the core sees it: plain data, after parseOnnxModel has validated it and
// applied defaults. Optional fields here are optional in the CRD too and have no default.
// The key trees at the bottom are checked against crds/onnxmodel.yaml by types.test.ts, and the
// `satisfies KeyTree<...>` clauses make tsc fail when a type and its key tree disagree.

export type Quantity = string | number;
export type ResourceList = Record<string, Quantity>;
export type StringMap = Record<string, string>;

export interface ObjectMeta {
  name: string;
  namespace: string;
  uid: string;
  generation: number;
  resourceVersion?: string;
  labels?: StringMap;
  annotations?: StringMap;
  creationTimestamp?: string;
  deletionTimestamp?: string;
}

// ---------------------------------------------------------------- spec

export interface ModelSpec {
  /** https://, oci://, pvc://<claim>/<path> or file:///<path>. */
  uri: string;
  /** sha256:<64 hex> of the ONNX bytes; the runtime loads nothing else. */
  digest: string;
  /** Only `onnx` today; present so other formats can be added without a new field. */
  format: 'onnx';
  /** Name served under /v2/models/<name>; defaults to metadata.name. */
  name?: string;
}

export interface LocalObjectRef {
  name: string;
}
export interface KeySelectorRef {
  name: string;
  key?: string;
}

export interface SignatureBundleSource {
  /** Where the bundle lives; `uri` is fetched like the model (e.g. <model uri>.sigstore.json). */
  uri?: string;
  configMapRef?: KeySelectorRef;
  secretRef?: KeySelectorRef;
}

export interface KeylessIdentity {
  issuer: string;
  subject?: string;
  subjectRegExp?: string;
  trustedRootRef?: KeySelectorRef;
}

export interface SignatureAuthority {
  name?: string;
  key?: { secretRef: KeySelectorRef };
  keyless?: KeylessIdentity;
  certificate?: { caSecretRef: KeySelectorRef };
}

export type SignatureFormat = 'sigstore' | 'modelSigning';
export type SignatureMode = 'Enforce' | 'Audit';

export interface SignatureSpec {
  format: SignatureFormat;
  bundle: SignatureBundleSource;
  authorities: SignatureAuthority[];
  /** How many distinct authorities must verify (N of M). */
  threshold: number;
  mode: SignatureMode;
}

export interface Toleration {
  key?: string;
  operator?: 'Exists' | 'Equal';
  value?: string;
  effect?: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
  tolerationSeconds?: number;
}

export interface ResourceRequirements {
  requests?: ResourceList;
  limits?: ResourceList;
}

export interface AutoscalingSpec {
  minReplicas: number;
  maxReplicas: number;
  targetCPUUtilization?: number;
  targetInflight?: number;
}

export interface GpuSpec {
  count: number;
  resourceName: string;
  /** Replaces the default `nvidia.com/gpu.present: "true"` selector when set. */
  nodeSelector?: StringMap;
  /** Replaces the default `nvidia.com/gpu` Exists/NoSchedule toleration when set. */
  tolerations?: Toleration[];
}

export type GraphOptimizationLevel = 'disabled' | 'basic' | 'extended' | 'all';
export type ExecutionProvider = 'cpu' | 'cuda';

export interface SessionOptions {
  /** 0 = size to the container's CPU limit. */
  intraOpThreads: number;
  graphOptimizationLevel: GraphOptimizationLevel;
  /** Defaults from accelerator: cpu → cpu, gpu → cuda. */
  executionProvider?: ExecutionProvider;
  cpuFallback: boolean;
}

export interface BatchingSpec {
  maxBatchSize: number;
  maxQueueDelayMs: number;
}

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    secretKeyRef?: { name: string; key: string; optional?: boolean };
    configMapKeyRef?: { name: string; key: string; optional?: boolean };
  };
}

export type Accelerator = 'cpu' | 'gpu';

export interface RuntimeSpec {
  /** Defaults to the operator's configured runtime image. */
  image?: string;
  /** Defaults to 1 unless autoscaling is set (the two are exclusive). */
  replicas?: number;
  autoscaling?: AutoscalingSpec;
  resources?: ResourceRequirements;
  accelerator: Accelerator;
  gpu?: GpuSpec;
  nodeSelector?: StringMap;
  tolerations?: Toleration[];
  sessionOptions: SessionOptions;
  batching?: BatchingSpec;
  env?: EnvVar[];
  port: number;
  /**
   * The training data's feature profile (docs/runtime.md, "Drift"), from a ConfigMap key (default
   * profile.json): mounted into the pods and passed as --baseline-profile, so the runtime exports
   * PSI and KS drift against it.
   */
  baselineProfile?: { configMapRef: KeySelectorRef };
  /**
   * OpenTelemetry traces from the runtime (docs/runtime.md, "Tracing"): spans go over OTLP/HTTP to
   * `endpoint`; `sampleRatio` of the requests that arrive without a sampled caller's traceparent are
   * traced (a caller's sampled trace is always continued). Unset = off.
   */
  tracing?: TracingSpec;
}

export interface TracingSpec {
  /** The collector's OTLP/HTTP base URL (http:// or https://), e.g. http://otel-collector.observability:4318. */
  endpoint: string;
  /** 0..1; default 1. */
  sampleRatio: number;
}

export interface ParentRef {
  group?: string;
  kind?: string;
  namespace?: string;
  name: string;
  sectionName?: string;
  port?: number;
}

/** `istio` is in the CRD's enum only to be refused with a clear message (not supported yet). */
export type TrafficProvider = 'gatewayAPI' | 'none';

export interface TrafficSpec {
  provider: TrafficProvider;
  gatewayAPI?: { parentRefs?: ParentRef[]; hostnames?: string[]; pathPrefix?: string };
}

/**
 * One step: exactly one of `weight` (the canary answers that share of traffic) or `shadow` (that
 * share of requests is mirrored to the canary, whose answers are discarded: every answer still
 * comes from stable; docs/rollout.md, "Shadow steps").
 */
export interface RolloutStep {
  weight?: number;
  shadow?: number;
  /** Go-style duration (`30s`, `5m`, `1h30m`); absent = pause until a promote action. */
  pause?: string;
}

export type BuiltinSlo = 'availability' | 'latency';

export interface SloSpec {
  name: string;
  builtin?: BuiltinSlo;
  /** Target in percent, e.g. 99.9. The error budget is 100 - objective. */
  objective: number;
  latencyThresholdSeconds?: number;
  custom?: { goodQuery: string; totalQuery: string };
}

export interface BurnRateWindow {
  short: string;
  long: string;
  /** Burn-rate multiple of the budget; fail when both windows exceed it. */
  threshold: number;
}

export type NoDataPolicy = 'Inconclusive' | 'Fail';

export interface AnalysisSpec {
  interval: string;
  /**
   * How long after the canary first gets traffic its requests start to count (Go duration, default
   * `0s`): a new process's first requests can be slower or fail while caches and JIT warm up.
   */
  initialDelay: string;
  slos: SloSpec[];
  burnRateWindows: BurnRateWindow[];
  minRequests: number;
  noDataPolicy: NoDataPolicy;
  compareWithStable: boolean;
  /** Consecutive inconclusive measurements after which the rollout pauses for a human (0 = never). */
  maxInconclusive: number;
  /** Consecutive measurement errors after which the canary is rolled back (AnalysisError). */
  maxErrors: number;
  /** Model-quality gates: the canary compared with stable on what it predicts (docs/analysis.md). */
  quality?: QualityGates;
}

/** The canary's prediction distribution against stable's over the same window. */
export interface PredictionsGate {
  /** Fail above this population stability index (when the shift is also significant). */
  maxPSI: number;
  /** Predictions each revision needs before the gate can pass. */
  minSamples: number;
}

/** Accuracy (classifiers) or mean absolute error (regressors) on labelled predictions, against stable. */
export interface GroundTruthGate {
  /** Fail when the canary's accuracy is lower by more than this many percentage points (and significantly). */
  maxAccuracyDrop: number;
  /** Fail when the canary's mean absolute error is higher by more than this percentage (and significantly). */
  maxErrorIncrease: number;
  /** Labelled predictions each revision needs before the gate can pass. */
  minLabels: number;
  /** After this long without enough labels the gate stops holding the rollout (unset: it holds until a human decides). */
  maxWait?: string;
}

/**
 * During shadow steps: the share of mirrored predictions on which the canary agrees with stable for
 * the same input (classifiers: the same class; regressors: within float noise, or within `tolerance`).
 */
export interface AgreementGate {
  /** Fail when the canary agrees on fewer than this percent of mirrored rows (significantly). */
  minAgreement: number;
  /** Compared rows the canary needs before the gate can pass. */
  minSamples: number;
  /** Regressors: the absolute difference that still agrees; one of the difference histogram's bucket bounds. Unset: float noise. */
  tolerance?: number;
}

export interface QualityGates {
  predictions?: PredictionsGate;
  groundTruth?: GroundTruthGate;
  agreement?: AgreementGate;
}

export interface RolloutSpec {
  steps: RolloutStep[];
  analysis?: AnalysisSpec;
  progressDeadline: string;
  scaleDownDelay: string;
}

export interface OnnxModelSpec {
  model: ModelSpec;
  signature?: SignatureSpec;
  runtime: RuntimeSpec;
  traffic: TrafficSpec;
  rollout: RolloutSpec;
}

// ---------------------------------------------------------------- status

export const PHASES = ['Pending', 'Verifying', 'Deploying', 'Progressing', 'Paused', 'Stable', 'RolledBack', 'Failed'] as const;
export type Phase = (typeof PHASES)[number];

export const CONDITION_TYPES = ['ArtifactVerified', 'Available', 'Progressing', 'Degraded', 'Ready'] as const;
export type ConditionType = (typeof CONDITION_TYPES)[number];
export type ConditionStatus = 'True' | 'False' | 'Unknown';

export interface Condition {
  type: ConditionType;
  status: ConditionStatus;
  reason: string;
  message: string;
  observedGeneration: number;
  lastTransitionTime: string;
}

export interface RevisionRef {
  revision: string;
  digest: string;
  /** When this revision entered this role (RFC 3339). */
  since: string;
}

export interface ScalingDownRevision {
  revision: string;
  digest: string;
  /** Children are deleted at or after this time (RFC 3339). */
  deleteAfter: string;
}

export type Verdict = 'pass' | 'fail' | 'inconclusive' | 'error';

export interface WindowBurnRate {
  window: string;
  burnRate: number;
}

export interface SloMeasurement {
  name: string;
  requests: number;
  badEvents: number;
  burnRates: WindowBurnRate[];
  verdict: Verdict;
  message?: string;
}

export const GATE_NAMES = ['predictions', 'groundTruth', 'agreement'] as const;
export type GateName = (typeof GATE_NAMES)[number];

/** One model-quality gate at one measurement, shown like an SLO: samples, value, bound, verdict. */
export interface GateMeasurement {
  name: GateName;
  /** The canary's predictions (or labelled predictions) in the window. */
  samples: number;
  stableSamples: number;
  /** PSI (predictions), accuracy drop in percentage points, or MAE increase in percent (groundTruth), agreement in percent (agreement). */
  value: number;
  /** The spec's limit for value. */
  bound: number;
  verdict: Verdict;
  message: string;
}

export interface AnalysisStatus {
  time: string;
  revision: string;
  verdict: Verdict;
  reason?: string;
  message?: string;
  slos: SloMeasurement[];
  gates?: GateMeasurement[];
}

export const ROLLOUT_STATES = ['Scaling', 'Holding', 'Paused'] as const;
export type RolloutState = (typeof ROLLOUT_STATES)[number];
export const PAUSE_REASONS = ['WaitingForPromote', 'WaitingForData', 'ManualPause', 'TrafficProviderUnavailable', 'AnalysisInvalid'] as const;
export type PauseReason = (typeof PAUSE_REASONS)[number];

/** Everything the rollout state machine needs to resume a canary exactly where it was. */
export interface RolloutProgress {
  revision: string;
  state: RolloutState;
  step: number;
  weight: number;
  stateSince: string;
  /** When the canary first got traffic (its first step began holding); the analysis counts from here + initialDelay. */
  servingSince?: string;
  pauseReason?: PauseReason;
  looks: number;
  consecutiveInconclusive: number;
  consecutiveErrors: number;
}

export interface RollbackStatus {
  time: string;
  revision: string;
  digest: string;
  /** Stable reason code: AnalysisFailed, ProgressDeadlineExceeded, ManualAbort, VerificationFailed. */
  reason: string;
  message: string;
  slo?: string;
  requests?: number;
  badEvents?: number;
  burnRates?: WindowBurnRate[];
  window?: string;
  lowerBound?: number;
  threshold?: number;
  /** How the analysis failed the canary: BudgetBurning, WorseThanStable or NoData. */
  judgement?: string;
  /** WorseThanStable: the stable revision's counts over the same long window. */
  stable?: RollbackStableCounts;
}

export interface RollbackStableCounts {
  revision: string;
  requests: number;
  badEvents: number;
}

export interface VerificationStatus {
  digest: string;
  verified: boolean;
  mode: SignatureMode;
  signer?: string;
  reason?: string;
  time: string;
}

export interface FailedRevision {
  revision: string;
  digest: string;
  reason: string;
  time: string;
}

export type ActionOutcome = 'Applied' | 'Ignored' | 'Invalid';

export interface LastAction {
  /** The annotation value exactly as handled; the same value is never handled twice. */
  value: string;
  action: string;
  nonce?: string;
  outcome: ActionOutcome;
  message: string;
  time: string;
}

export interface OnnxModelStatus {
  observedGeneration?: number;
  phase?: Phase;
  /** The revision the current spec asks for. */
  desiredRevision?: string;
  stable?: RevisionRef;
  canary?: RevisionRef;
  currentWeight?: number;
  currentStep?: number;
  rollout?: RolloutProgress;
  scalingDown?: ScalingDownRevision[];
  lastAnalysis?: AnalysisStatus;
  lastRollback?: RollbackStatus;
  verification?: VerificationStatus;
  failedRevisions?: FailedRevision[];
  lastAction?: LastAction;
  url?: string;
  conditions?: Condition[];
}

export interface OnnxModel {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  spec: OnnxModelSpec;
  status: OnnxModelStatus;
}

// ---------------------------------------------------------------- key trees (checked against the CRD)

/** Every key of T, recursively: `true` for leaves and maps, a sub-tree for objects and arrays of objects. */
export type KeyTree<T> = {
  [K in keyof T]-?: Leafish<NonNullable<T[K]>> extends true ? true : NonNullable<T[K]> extends readonly (infer E)[] ? KeyTree<E> : KeyTree<NonNullable<T[K]>>;
};
type Leafish<V> = V extends string | number | boolean ? true : V extends readonly (infer E)[] ? (E extends string | number | boolean ? true : false) : string extends keyof V ? true : false;
export type KeyTreeNode = true | { [key: string]: KeyTreeNode };

const selectorRef = { name: true, key: true } as const;
const toleration = { key: true, operator: true, value: true, effect: true, tolerationSeconds: true } as const;

export const SPEC_KEYS = {
  model: { uri: true, digest: true, format: true, name: true },
  signature: {
    format: true,
    bundle: { uri: true, configMapRef: selectorRef, secretRef: selectorRef },
    authorities: {
      name: true,
      key: { secretRef: selectorRef },
      keyless: { issuer: true, subject: true, subjectRegExp: true, trustedRootRef: selectorRef },
      certificate: { caSecretRef: selectorRef },
    },
    threshold: true,
    mode: true,
  },
  runtime: {
    image: true,
    replicas: true,
    autoscaling: { minReplicas: true, maxReplicas: true, targetCPUUtilization: true, targetInflight: true },
    resources: { requests: true, limits: true },
    accelerator: true,
    gpu: { count: true, resourceName: true, nodeSelector: true, tolerations: toleration },
    nodeSelector: true,
    tolerations: toleration,
    sessionOptions: { intraOpThreads: true, graphOptimizationLevel: true, executionProvider: true, cpuFallback: true },
    batching: { maxBatchSize: true, maxQueueDelayMs: true },
    env: {
      name: true,
      value: true,
      valueFrom: { secretKeyRef: { name: true, key: true, optional: true }, configMapKeyRef: { name: true, key: true, optional: true } },
    },
    port: true,
    baselineProfile: { configMapRef: selectorRef },
    tracing: { endpoint: true, sampleRatio: true },
  },
  traffic: {
    provider: true,
    gatewayAPI: { parentRefs: { group: true, kind: true, namespace: true, name: true, sectionName: true, port: true }, hostnames: true, pathPrefix: true },
  },
  rollout: {
    steps: { weight: true, shadow: true, pause: true },
    analysis: {
      interval: true,
      initialDelay: true,
      slos: { name: true, builtin: true, objective: true, latencyThresholdSeconds: true, custom: { goodQuery: true, totalQuery: true } },
      burnRateWindows: { short: true, long: true, threshold: true },
      minRequests: true,
      noDataPolicy: true,
      compareWithStable: true,
      maxInconclusive: true,
      maxErrors: true,
      quality: { predictions: { maxPSI: true, minSamples: true }, groundTruth: { maxAccuracyDrop: true, maxErrorIncrease: true, minLabels: true, maxWait: true }, agreement: { minAgreement: true, minSamples: true, tolerance: true } },
    },
    progressDeadline: true,
    scaleDownDelay: true,
  },
} as const satisfies KeyTree<OnnxModelSpec>;

const revisionRef = { revision: true, digest: true, since: true } as const;
const burnRates = { window: true, burnRate: true } as const;

export const STATUS_KEYS = {
  observedGeneration: true,
  phase: true,
  desiredRevision: true,
  stable: revisionRef,
  canary: revisionRef,
  currentWeight: true,
  currentStep: true,
  rollout: { revision: true, state: true, step: true, weight: true, stateSince: true, servingSince: true, pauseReason: true, looks: true, consecutiveInconclusive: true, consecutiveErrors: true },
  scalingDown: { revision: true, digest: true, deleteAfter: true },
  lastAnalysis: {
    time: true,
    revision: true,
    verdict: true,
    reason: true,
    message: true,
    slos: { name: true, requests: true, badEvents: true, burnRates, verdict: true, message: true },
    gates: { name: true, samples: true, stableSamples: true, value: true, bound: true, verdict: true, message: true },
  },
  lastRollback: { time: true, revision: true, digest: true, reason: true, message: true, slo: true, requests: true, badEvents: true, burnRates, window: true, lowerBound: true, threshold: true, judgement: true, stable: { revision: true, requests: true, badEvents: true } },
  verification: { digest: true, verified: true, mode: true, signer: true, reason: true, time: true },
  failedRevisions: { revision: true, digest: true, reason: true, time: true },
  lastAction: { value: true, action: true, nonce: true, outcome: true, message: true, time: true },
  url: true,
  conditions: { type: true, status: true, reason: true, message: true, observedGeneration: true, lastTransitionTime: true },
} as const satisfies KeyTree<OnnxModelStatus>;
