// Services: one per revision (what routes point at, so promotion is one route change) and the
// stable Service <model>, the fixed in-cluster address that always selects the stable revision.
import { LABEL_ROLE } from '../../api/constants.ts';
import type { OnnxModel } from '../../api/types.ts';
import { revisionChildName, stableServiceName } from '../names.ts';
import type { KubeObject } from '../types.ts';
import { SERVICE_PORT, childMeta, modelLabels, revisionLabels, revisionSelector } from './common.ts';

const ports = [{ name: 'http', port: SERVICE_PORT, targetPort: 'http', protocol: 'TCP' }];

export function revisionServiceFor(model: OnnxModel, revision: string): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: childMeta(model, revisionChildName(model.metadata.name, revision), revisionLabels(model, revision)),
    spec: { type: 'ClusterIP', selector: revisionSelector(model, revision), ports },
  };
}

export function stableServiceFor(model: OnnxModel, stableRevision: string): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: childMeta(model, stableServiceName(model.metadata.name), { ...modelLabels(model), [LABEL_ROLE]: 'stable' }),
    spec: { type: 'ClusterIP', selector: revisionSelector(model, stableRevision), ports },
  };
}
