// Names shared by the CRD, the core and the adapters. One place, so a rename cannot drift.

export const GROUP = 'serving.onnxop.io';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;
export const KIND = 'OnnxModel';
export const PLURAL = 'onnxmodels';

/** Labels every child carries; the adapters map events on children back to their owner with them. */
export const LABEL_MODEL = `${GROUP}/model`;
export const LABEL_REVISION = `${GROUP}/revision`;
/** `stable` or `canary` on per-revision children; informational (selectors never use it). */
export const LABEL_ROLE = `${GROUP}/role`;
export const LABEL_MANAGED_BY = 'app.kubernetes.io/managed-by';
/**
 * Several operators in one cluster (a canary of the operator itself, test suites): one started with
 * --instance-id=X reconciles only models labelled serving.onnxop.io/controller-instance=X, one
 * without it only models without the label (Argo Rollouts' --instance-id works the same way).
 */
export const LABEL_CONTROLLER_INSTANCE = `${GROUP}/controller-instance`;
export const MANAGED_BY = 'onnx-operator';

/**
 * Manual actions: `kubectl annotate onnx <name> serving.onnxop.io/action=promote/<nonce> --overwrite`.
 * promote = go past the current step (after the last one: promotion), abort = roll the canary back,
 * retry = deploy a failed revision again, pause/resume = hold the canary at its weight and go on.
 * The value is `<verb>` or `<verb>/<nonce>`; the core acts once per distinct value and records it
 * in `status.lastAction`, so re-applying the same value is a no-op.
 */
export const ANNOTATION_ACTION = `${GROUP}/action`;
export const ACTIONS = ['promote', 'abort', 'retry', 'pause', 'resume'] as const;
export type ActionVerb = (typeof ACTIONS)[number];

export const DEFAULT_RUNTIME_IMAGE = 'ghcr.io/onnx-operator/runtime:dev';
export const DEFAULT_PORT = 8080;
export const DEFAULT_GPU_RESOURCE = 'nvidia.com/gpu';
export const DEFAULT_GPU_NODE_SELECTOR: Readonly<Record<string, string>> = { 'nvidia.com/gpu.present': 'true' };

/** Namespace label: `true` = every OnnxModel in the namespace must carry a verified spec.signature. */
export const LABEL_REQUIRE_SIGNATURE = `${GROUP}/require-signature`;
