// The pure core's contract with the adapters. Everything is plain JSON-shaped data: the adapters
// translate client-node objects in and out, the core never performs I/O or reads the clock.
import type { VerifyReason } from '../../../lib/verify/index.ts';
import type { DistributionAnswer, DistributionRequest, MeasurementAnswer, MeasurementRequest } from '../analysis/types.ts';
import type { OnnxModel, OnnxModelStatus, ParentRef, SignatureMode } from '../api/types.ts';

/** Any Kubernetes object as plain JSON (timestamps as RFC 3339 strings). */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    generation?: number;
    resourceVersion?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: OwnerReference[];
    creationTimestamp?: string;
    deletionTimestamp?: string;
  };
  spec?: unknown;
  status?: unknown;
  [extra: string]: unknown;
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller: boolean;
  blockOwnerDeletion: boolean;
}

/** Identifies an object to delete. */
export interface ObjectRef {
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
  /** Delete with a uid precondition so a same-named successor is never deleted by mistake. */
  uid?: string;
}

/**
 * The children the adapters observed for this model: every object in the model's namespace with
 * label serving.onnxop.io/model=<name> and an ownerReference to this model's uid, per kind.
 * Kinds the adapter does not watch may be omitted (treated as "none observed").
 */
export interface ObservedChildren {
  deployments: KubeObject[];
  services: KubeObject[];
  httpRoutes?: KubeObject[];
  horizontalPodAutoscalers?: KubeObject[];
  /** The frozen pod-affecting spec of each revision (see revision-snapshot.ts). */
  controllerRevisions?: KubeObject[];
}

/** Facts about the cluster the controller discovered (not about this model). */
export interface Capabilities {
  /** The Gateway API CRDs (HTTPRoute) are served. */
  gatewayAPI: boolean;
}

/** Operator-wide settings the core needs (from the operator's config). */
export interface CoreConfig {
  /** Runtime image when spec.runtime.image is unset. */
  defaultRuntimeImage: string;
  /** The prediction store every runtime writes to (--prediction-kafka-brokers); unset = none. */
  predictionKafka?: { brokers: string; topic: string; feedbackTopic: string };
  /** Gateway parentRefs when spec.traffic.gatewayAPI.parentRefs is unset. */
  defaultGatewayParentRefs: ParentRef[];
  /** The server-side-apply field manager (the core does not use it; kept here so all settings travel together). */
  fieldManager: string;
  /** e.g. `cluster.local`; used for status.url. */
  clusterDomain: string;
  /** Pod-level SIGTERM grace for runtime pods (the runtime drains within it). Default 30. */
  terminationGracePeriodSeconds?: number;
  /** The Prometheus scrape interval analysis windows are checked against (--prometheus-scrape-interval). Default 30. */
  scrapeIntervalSeconds?: number;
}

/** The signature verifier's answer for one digest (a later issue produces it). */
export type VerificationResult =
  | { state: 'not-required' }
  /** `message` says what is awaited (e.g. a bundle fetch being retried after a transient error). */
  | { state: 'pending'; digest: string; message?: string }
  | { state: 'verified'; digest: string; signer: string; mode: SignatureMode; time: string }
  | { state: 'failed'; digest: string; reason: VerificationFailureReason; message: string; mode: SignatureMode; time: string };

/**
 * The verifier's reasons (lib/verify: VERIFY_REASONS; one list, so the two cannot drift),
 * plus SignatureRequired: the namespace requires signatures and the model has no spec.signature.
 */
export type VerificationFailureReason = VerifyReason | 'SignatureRequired';

/** The answers to the measurements dueMeasurements() asked for, taken at `time`. */
export interface Measurements {
  revision: string;
  time: string;
  requests: MeasurementRequest[];
  answers: MeasurementAnswer[];
  /** The model-quality gates' queries and answers (spec.rollout.analysis.quality), when configured. */
  distributions?: DistributionRequest[];
  distributionAnswers?: DistributionAnswer[];
}

export interface ReconcileInput {
  /** The object as parsed by parseOnnxModel (defaults applied). */
  model: OnnxModel;
  children: ObservedChildren;
  now: Date;
  config: CoreConfig;
  /**
   * Omitted = no verifier ran: fine without spec.signature; with Enforce the rollout waits in Verifying.
   * Without spec.signature only `failed` (reason SignatureRequired) matters: the platform requires a
   * signature the model does not declare, and no pods of the desired revision are created.
   */
  verification?: VerificationResult;
  /** Omitted = all capabilities present (the controller always passes what it discovered). */
  capabilities?: Capabilities;
  measurements?: Measurements;
}

export type EventType = 'Normal' | 'Warning';

export interface EventSpec {
  type: EventType;
  /** UpperCamelCase, stable, one per kind of happening (see docs/conditions.md). */
  reason: string;
  message: string;
  /** Revision the event is about, for the adapter's logs/metrics. */
  revision?: string;
}

/** How a rollout ended, for the adapters' `rollouts by outcome` metric. */
export type RolloutOutcome = 'promoted' | 'rolled-back' | 'aborted' | 'failed';

export interface ReconcileOutput {
  /** Desired children: complete server-side-apply manifests (with ownerReferences), stable order. */
  apply: KubeObject[];
  /** Children to delete (observed, owned, no longer desired). */
  delete: ObjectRef[];
  /** The full new status; deep-equal to the input status when nothing changed (write nothing then). */
  status: OnnxModelStatus;
  /** Only on transitions. */
  events: EventSpec[];
  /** Reconcile again after this many ms (timed steps); undefined in a steady state. */
  requeueAfterMs?: number;
  /** Set on the reconcile that ended a rollout. */
  rolloutOutcome?: RolloutOutcome;
}
