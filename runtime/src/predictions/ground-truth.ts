// Delayed ground truth: predictions are held (bounded, oldest evicted first and counted) until a
// label or value arrives under the same id; then the revision's quality metrics are updated.
import { badRequest, RuntimeError } from '../errors.ts';
import type { RuntimeMetrics } from '../metrics/metrics.ts';
import type { TaskPlan } from '../model-health/model-health.ts';

export interface FeedbackResult {
  id: string;
  rows: number;
  correct?: number;
  mean_absolute_error?: number;
}

/**
 * The pending store is a ring of `max` slots in typed arrays: one float per one-row prediction
 * (a small Float64Array per multi-row one) plus an id → slot map. A prediction is evicted when the
 * ring comes round to its slot, i.e. after `max` newer predictions, unless its ground truth came
 * first. No object per prediction: at thousands of requests per second, 10 000 pending objects
 * were promoted to the old generation and kept the major GC busy.
 */
export class GroundTruth {
  private readonly index = new Map<string, number>();
  private readonly ids: (string | undefined)[];
  private readonly single: Float64Array;
  private readonly multi: (Float64Array | undefined)[];
  private next = 0;
  private readonly max: number;
  private readonly metrics: RuntimeMetrics;
  private readonly plan: TaskPlan;

  constructor(max: number, plan: TaskPlan, metrics: RuntimeMetrics) {
    this.max = max;
    this.plan = plan;
    this.metrics = metrics;
    this.ids = new Array<string | undefined>(max).fill(undefined);
    this.single = new Float64Array(max);
    this.multi = new Array<Float64Array | undefined>(max).fill(undefined);
  }

  get size(): number {
    return this.index.size;
  }

  /** Keeps the first `rows` entries of `values` (one prediction value per row) under `id`. */
  remember(id: string, values: Float64Array, rows: number): void {
    if (this.max === 0 || rows === 0 || this.plan.kind === 'none') return;
    const again = this.index.get(id);
    if (again !== undefined) this.free(again); // the same id twice: the newer prediction wins
    const slot = this.next;
    this.next = slot + 1 === this.max ? 0 : slot + 1;
    const old = this.ids[slot];
    if (old !== undefined) {
      this.index.delete(old);
      this.metrics.pendingEvicted.inc();
    }
    this.ids[slot] = id;
    if (rows === 1) {
      this.single[slot] = values[0] as number;
      this.multi[slot] = undefined;
    } else {
      this.multi[slot] = values.slice(0, rows);
    }
    this.index.set(id, slot);
    this.metrics.pendingPredictions.set(this.index.size);
  }

  private free(slot: number): void {
    this.index.delete(this.ids[slot] as string);
    this.ids[slot] = undefined;
    this.multi[slot] = undefined;
  }

  private rowsOf(slot: number): ArrayLike<number> {
    return this.multi[slot] ?? this.single.subarray(slot, slot + 1);
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
    const slot = this.index.get(id);
    if (slot === undefined) {
      this.metrics.feedback.inc({ outcome: 'unknown_id' });
      throw new RuntimeError(
        'NOT_FOUND',
        `prediction id ${JSON.stringify(id)} is not pending here: it was not made by this replica/revision, already received its ground truth, or was evicted (--pending-predictions-max=${this.max})`,
        { status: 404 },
      );
    }
    const predicted = this.rowsOf(slot);
    const truths = Array.isArray(raw) ? raw : [raw];
    if (truths.length !== predicted.length) throw invalid(`"${key}" has ${truths.length} entries but prediction ${id} has ${predicted.length} rows`);
    const nums = truths.map((t) => (typeof t === 'string' && t.trim() !== '' ? Number(t) : t));
    if (!nums.every((n): n is number => typeof n === 'number' && Number.isFinite(n))) throw invalid(`"${key}" must hold finite numbers (class indices for classifiers)`);
    const rows = Array.from(predicted);
    this.free(slot);
    this.metrics.pendingPredictions.set(this.index.size);
    this.metrics.feedback.inc({ outcome: 'accepted' });
    if (plan.kind === 'classification') {
      let correct = 0;
      nums.forEach((truth, i) => {
        const ok = rows[i] === truth;
        if (ok) correct++;
        this.metrics.groundTruth.inc({ result: ok ? 'correct' : 'incorrect' });
      });
      return { id, rows: nums.length, correct };
    }
    let sum = 0;
    nums.forEach((truth, i) => {
      const err = Math.abs((rows[i] ?? NaN) - truth);
      sum += err;
      if (Number.isFinite(err)) this.metrics.absoluteError.observe(err);
    });
    return { id, rows: nums.length, mean_absolute_error: sum / nums.length };
  }
}
