// The shadow listener's series (lib/contract: METRIC_SHADOW_*), on the runtime's registry so they
// carry `model` and `revision` like every other series. Kept apart from the client request series:
// the SLOs never see a mirrored request.
import { Counter, Histogram, type Registry } from 'prom-client';
import {
  METRIC_LABEL_OUTCOME,
  METRIC_LABEL_STABLE_REVISION,
  METRIC_SHADOW_COMPARISONS,
  METRIC_SHADOW_DIFFERENCE,
  METRIC_SHADOW_REQUESTS,
  SHADOW_DIFFERENCE_BUCKETS,
  SHADOW_OUTCOMES,
  type ShadowOutcome,
} from '../../../lib/contract/index.ts';
import { outcomeOf } from '../metrics/metrics.ts';
import type { Comparison } from './compare.ts';

export type ShadowRole = 'mirror' | 'compare';

/** At most this many stable revisions get their own series (one at a time in practice); the rest are `other`. */
const MAX_STABLE_REVISIONS = 8;
const REVISION = /^[A-Za-z0-9._-]{1,63}$/;

export class ShadowMetrics {
  private readonly requests: Counter<'role' | 'outcome'>;
  private readonly comparisons: Counter<'stable_revision' | 'outcome'>;
  private readonly difference: Histogram<'stable_revision'>;
  private readonly revisions = new Set<string>();

  constructor(registry: Registry) {
    const registers = [registry];
    this.requests = new Counter({ name: METRIC_SHADOW_REQUESTS, help: 'Requests on the shadow port by role (mirror: a copy the gateway mirrored here; compare: a canary asking for the same input) and outcome; never in onnxop_requests_total.', labelNames: ['role', METRIC_LABEL_OUTCOME] as const, registers });
    this.comparisons = new Counter({ name: METRIC_SHADOW_COMPARISONS, help: 'Mirrored rows compared with the stable revision\'s answer for the same input, by outcome (agree, disagree, canary_error, stable_error, skipped).', labelNames: [METRIC_LABEL_STABLE_REVISION, METRIC_LABEL_OUTCOME] as const, registers });
    this.difference = new Histogram({ name: METRIC_SHADOW_DIFFERENCE, help: 'Regressor rows: the largest |canary − stable| of the row, for the same input.', labelNames: [METRIC_LABEL_STABLE_REVISION] as const, buckets: [...SHADOW_DIFFERENCE_BUCKETS], registers });
  }

  request(role: ShadowRole, status: number): void {
    this.requests.inc({ role, [METRIC_LABEL_OUTCOME]: outcomeOf(status) });
  }

  /** The label value for a stable revision as its answer named it (bounded: a label is never free text). */
  stableLabel(revision: string | undefined): string {
    if (revision === undefined || !REVISION.test(revision)) return 'unknown';
    if (this.revisions.has(revision)) return revision;
    if (this.revisions.size >= MAX_STABLE_REVISIONS) return 'other';
    this.revisions.add(revision);
    // Every outcome exists from the first comparison, so increase() sees the first disagreement.
    for (const outcome of SHADOW_OUTCOMES) this.comparisons.inc({ [METRIC_LABEL_STABLE_REVISION]: revision, [METRIC_LABEL_OUTCOME]: outcome }, 0);
    return revision;
  }

  count(stable: string, outcome: ShadowOutcome, rows: number): void {
    this.comparisons.inc({ [METRIC_LABEL_STABLE_REVISION]: stable, [METRIC_LABEL_OUTCOME]: outcome }, rows);
  }

  compared(stable: string, c: Comparison): void {
    if (c.agree > 0) this.count(stable, 'agree', c.agree);
    if (c.disagree > 0) this.count(stable, 'disagree', c.disagree);
    for (const d of c.differences) this.difference.observe({ [METRIC_LABEL_STABLE_REVISION]: stable }, Number.isFinite(d) ? d : Number.MAX_VALUE);
  }
}
