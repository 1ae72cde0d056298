// A HorizontalPodAutoscaler per revision when spec.runtime.autoscaling is set (the Deployment then
// leaves replicas to it). targetInflight uses the runtime's in-flight gauge as a Pods metric.
import { METRIC_REQUESTS_IN_FLIGHT } from '../../../../lib/contract/index.ts';
import type { OnnxModel } from '../../api/types.ts';
import { revisionChildName } from '../names.ts';
import type { KubeObject } from '../types.ts';
import { childMeta, revisionLabels } from './common.ts';

// The runtime's in-flight gauge, by its contract name (it used to be misspelt here, so targetInflight
// named a metric no pod exported).
export const INFLIGHT_METRIC = METRIC_REQUESTS_IN_FLIGHT;

export function autoscalerFor(model: OnnxModel, revision: string): KubeObject | undefined {
  const a = model.spec.runtime.autoscaling;
  if (!a) return undefined;
  const name = revisionChildName(model.metadata.name, revision);
  const metrics: Record<string, unknown>[] = [];
  if (a.targetCPUUtilization !== undefined) {
    metrics.push({ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: a.targetCPUUtilization } } });
  }
  if (a.targetInflight !== undefined) {
    metrics.push({ type: 'Pods', pods: { metric: { name: INFLIGHT_METRIC }, target: { type: 'AverageValue', averageValue: String(a.targetInflight) } } });
  }
  return {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: childMeta(model, name, revisionLabels(model, revision)),
    spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name }, minReplicas: a.minReplicas, maxReplicas: a.maxReplicas, metrics },
  };
}
