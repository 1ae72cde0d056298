// The four dashboards of the monitoring guide, as Grafana JSON (one file each).
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { businessImpact } from './business-impact.ts';
import { modelComparison } from './model-comparison.ts';
import { modelHealth } from './model-health.ts';
import { operationalOverview } from './operational-overview.ts';

export function dashboards(): { file: string; json: Dashboard }[] {
  return [
    { file: 'operational-overview.json', json: operationalOverview().build() },
    { file: 'model-health.json', json: modelHealth().build() },
    { file: 'business-impact.json', json: businessImpact().build() },
    { file: 'model-comparison.json', json: modelComparison().build() },
  ];
}
