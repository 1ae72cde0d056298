// Delayed ground truth: predictions are held (bounded, oldest evicted first and counted) until a
// label or value arrives under the same id; then the revision's quality metrics are updated.
import { randomUUID } from 'node:crypto';
import { badRequest, RuntimeError } from '../errors.ts';
import type { RuntimeMetrics } from '../metrics/metrics.ts';
import type { TaskPlan } from '../model-health/model-health.ts';

const SLOT_PAD = '00000000';
/**
 * Rows of multi-row predictions held at once (8 MiB of values): the oldest are evicted to make room,
 * and a prediction with more rows than this is not held at all. Without it, a client sending
 * million-row requests would make every pending slot hold megabytes.
 */
export const PENDING_ROWS_MAX = 1 << 20;

export interface FeedbackResult {
  id: string;
  rows: number;
  correct?: number;
  mean_absolute_error?: number;
}

/**
 * The pending store is a ring of `max` slots in typed arrays: one float per one-row prediction
 * (a small Float64Array per multi-row one). A prediction is evicted when the ring comes round to
 * its slot, i.e. after `max` newer predictions, unless its ground truth came first. No object per
 * prediction: at thousands of requests per second, 10 000 pending objects were promoted to the
 * old generation and kept the major GC busy.
 * Ids the runtime generates are random and end in their slot number (8 hex digits), so feedback
 * finds them without a map; only ids the client chose (the request's `id`) are kept in a map
 * (updating a 10 000-entry map of fresh strings on every request was ~10% of a request's cost).
 */
export class GroundTruth {
  private readonly clientIds = new Map<string, number>();
  private readonly ids: (string | undefined)[];
  private readonly chosenByClient: Uint8Array;
  private readonly single: Float64Array;
  private readonly multi: (Float64Array | undefined)[];
  private next = 0;
  private pending = 0;
  /** Rows held in `multi`. */
  private rowsHeld = 0;
  private readonly maxRows: number;
  private readonly max: number;
  private readonly metrics: RuntimeMetrics;
  private readonly plan: TaskPlan;

  constructor(max: number, plan: TaskPlan, metrics: RuntimeMetrics, maxRows = PENDING_ROWS_MAX) {
    if (!Number.isInteger(max) || max < 0 || max > 0xffffffff) throw new RangeError(`pending predictions max must be an integer in [0, 2^32), got ${max}`);
    this.max = max;
    this.maxRows = maxRows;
    this.plan = plan;
    this.metrics = metrics;
    this.ids = new Array<string | undefined>(max).fill(undefined);
    this.chosenByClient = new Uint8Array(max);
    this.single = new Float64Array(max);
    this.multi = new Array<Float64Array | undefined>(max).fill(undefined);
  }

  get size(): number {
    return this.pending;
  }

  /**
   * Keeps the first `rows` entries of `values` (one prediction value per row) for feedback and
   * returns the prediction id: `clientId` when the request had one, else a generated one.
   */
  remember(clientId: string | undefined, values: Float64Array, rows: number): string {
    if (this.max === 0 || rows === 0 || this.plan.kind === 'none') return clientId ?? randomUUID();
    if (rows > this.maxRows) {
      this.metrics.pendingEvicted.inc(); // too large to hold: as if evicted at once
      return clientId ?? randomUUID();
    }
    if (rows > 1 && this.rowsHeld + rows > this.maxRows) this.makeRoom(rows);
    if (clientId !== undefined) {
      const again = this.find(clientId);
      if (again !== undefined) this.free(again); // the same id twice: the newer prediction wins
    }
    const slot = this.next;
    this.next = slot + 1 === this.max ? 0 : slot + 1;
    if (this.ids[slot] !== undefined) {
      this.free(slot);
      this.metrics.pendingEvicted.inc();
    }
    let id: string;
    if (clientId === undefined) {
      // A v4 UUID whose last 8 hex digits (random in a v4 UUID; 90 random bits remain) are the slot.
      id = randomUUID().slice(0, 28) + (SLOT_PAD + slot.toString(16)).slice(-8);
      this.chosenByClient[slot] = 0;
    } else {
      id = clientId;
      this.clientIds.set(id, slot);
      this.chosenByClient[slot] = 1;
    }
    this.ids[slot] = id;
    if (rows === 1) {
      this.single[slot] = values[0] as number;
      this.multi[slot] = undefined;
    } else {
      this.multi[slot] = values.slice(0, rows);
      this.rowsHeld += rows;
    }
    this.pending++;
    this.metrics.pendingPredictions.set(this.pending);
    return id;
  }

  /** The slot holding prediction `id`, if it is pending. */
  private find(id: string): number | undefined {
    if (id.length === 36) {
      const slot = Number.parseInt(id.slice(28), 16);
      if (slot < this.max && this.ids[slot] === id && this.chosenByClient[slot] === 0) return slot;
    }
    return this.clientIds.get(id);
  }

  /** Evicts the oldest multi-row predictions until `rows` more fit under maxRows. */
  private makeRoom(rows: number): void {
    for (let i = 0, slot = this.next; i < this.max && this.rowsHeld + rows > this.maxRows; i++, slot = slot + 1 === this.max ? 0 : slot + 1) {
      if (this.ids[slot] !== undefined && this.multi[slot] !== undefined) {
        this.free(slot);
        this.metrics.pendingEvicted.inc();
      }
    }
    this.metrics.pendingPredictions.set(this.pending);
  }

  private free(slot: number): void {
    if (this.chosenByClient[slot] === 1) this.clientIds.delete(this.ids[slot] as string);
    this.ids[slot] = undefined;
    this.rowsHeld -= this.multi[slot]?.length ?? 0;
    this.multi[slot] = undefined;
    this.pending--;
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
    const slot = this.find(id);
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
    this.metrics.pendingPredictions.set(this.pending);
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
