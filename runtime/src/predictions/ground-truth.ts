// Delayed ground truth: predictions are held (bounded, oldest evicted first and counted) until a
// label or value arrives under the same id; then the revision's quality metrics are updated.
import { badRequest, RuntimeError } from '../errors.ts';
import type { RuntimeMetrics } from '../metrics/metrics.ts';
import type { RowPrediction, TaskPlan } from '../model-health/model-health.ts';

interface Pending {
  rows: RowPrediction[];
  seq: number;
}

export interface FeedbackResult {
  id: string;
  rows: number;
  correct?: number;
  mean_absolute_error?: number;
}

export class GroundTruth {
  private readonly pending = new Map<string, Pending>();
  // Insertion order for eviction, as a queue of (id, seq): entries whose id was consumed or
  // remembered again since are stale and skipped. (Evicting through Map.keys().next() instead costs
  // a scan over the deleted slots at the front of V8's hash table: microseconds per request.)
  private order: { id: string; seq: number }[] = [];
  private head = 0;
  private seq = 0;
  private readonly max: number;
  private readonly metrics: RuntimeMetrics;
  private readonly plan: TaskPlan;

  constructor(max: number, plan: TaskPlan, metrics: RuntimeMetrics) {
    this.max = max;
    this.plan = plan;
    this.metrics = metrics;
  }

  get size(): number {
    return this.pending.size;
  }

  remember(id: string, rows: RowPrediction[]): void {
    if (this.max === 0 || rows.length === 0 || this.plan.kind === 'none') return;
    const seq = ++this.seq;
    this.pending.set(id, { rows, seq });
    this.order.push({ id, seq });
    while (this.pending.size > this.max) {
      const oldest = this.order[this.head++] as { id: string; seq: number };
      if (this.pending.get(oldest.id)?.seq !== oldest.seq) continue; // stale
      this.pending.delete(oldest.id);
      this.metrics.pendingEvicted.inc();
    }
    if (this.head > 1024 && this.head * 2 > this.order.length) {
      this.order = this.order.slice(this.head);
      this.head = 0;
    }
    // Consumed ids leave stale entries; drop them once they outnumber the live ones.
    if (this.order.length - this.head > 2 * this.max + 1024) {
      this.order = this.order.slice(this.head).filter((e) => this.pending.get(e.id)?.seq === e.seq);
      this.head = 0;
    }
    this.metrics.pendingPredictions.set(this.pending.size);
  }

  /** Applies `{id, label}` (classifier) or `{id, value}` (regressor); scalars or one per row. */
  apply(body: Record<string, unknown>): FeedbackResult {
    const invalid = (msg: string): RuntimeError => {
      this.metrics.feedback.inc({ outcome: 'invalid' });
      return badRequest(msg);
    };
    const id = body.id;
    if (typeof id !== 'string' || id === '') throw invalid('feedback needs "id": the prediction id from the infer response (its id, or the x-onnxop-prediction-id header)');
    const plan = this.plan;
    const key = plan.kind === 'classification' ? 'label' : 'value';
    if (plan.kind === 'none') throw invalid('this model has no prediction to compare ground truth with (--task=none)');
    const raw = body[key] ?? body[key === 'label' ? 'labels' : 'values'];
    if (raw === undefined) throw invalid(`feedback for a ${plan.kind} model needs "${key}": a number, or an array with one per row`);
    const pending = this.pending.get(id);
    if (!pending) {
      this.metrics.feedback.inc({ outcome: 'unknown_id' });
      throw new RuntimeError(
        'NOT_FOUND',
        `prediction id ${JSON.stringify(id)} is not pending here: it was not made by this replica/revision, already received its ground truth, or was evicted (--pending-predictions-max=${this.max})`,
        { status: 404 },
      );
    }
    const truths = Array.isArray(raw) ? raw : [raw];
    if (truths.length !== pending.rows.length) throw invalid(`"${key}" has ${truths.length} entries but prediction ${id} has ${pending.rows.length} rows`);
    const nums = truths.map((t) => (typeof t === 'string' && t.trim() !== '' ? Number(t) : t));
    if (!nums.every((n): n is number => typeof n === 'number' && Number.isFinite(n))) throw invalid(`"${key}" must hold finite numbers (class indices for classifiers)`);
    this.pending.delete(id);
    this.metrics.pendingPredictions.set(this.pending.size);
    this.metrics.feedback.inc({ outcome: 'accepted' });
    if (plan.kind === 'classification') {
      let correct = 0;
      nums.forEach((truth, i) => {
        const ok = pending.rows[i]?.value === truth;
        if (ok) correct++;
        this.metrics.groundTruth.inc({ result: ok ? 'correct' : 'incorrect' });
      });
      return { id, rows: nums.length, correct };
    }
    let sum = 0;
    nums.forEach((truth, i) => {
      const err = Math.abs((pending.rows[i]?.value ?? NaN) - truth);
      sum += err;
      if (Number.isFinite(err)) this.metrics.absoluteError.observe(err);
    });
    return { id, rows: nums.length, mean_absolute_error: sum / nums.length };
  }
}
