// Data and model health: per-feature statistics over a recent window, drift against a baseline,
// prediction and confidence distributions. Observation is O(values) per request with no allocation
// beyond the fixed windows; the expensive part (sorting for KS/PSI) runs only when /metrics is
// scraped.
import { readFile } from 'node:fs/promises';
import type { CounterChild, HistogramChild } from '../metrics/fast.ts';
import { RuntimeError } from '../errors.ts';
import { fromHalf, isFloat, isNumeric, type HostTensor } from '../protocol/datatypes.ts';
import type { ModelSignature, TensorSpec } from '../protocol/signature.ts';
import type { RuntimeMetrics } from '../metrics/metrics.ts';
import type { Task } from '../config/config.ts';
import { ksPValue, ksStatistic, psi } from './drift.ts';

export interface BaselineFeature {
  input: string;
  feature: number;
  /** Values of this feature from the training/reference data (a few hundred to a few thousand). */
  sample: number[];
}

export interface BaselineProfile {
  version: 1;
  features: BaselineFeature[];
}

export async function loadBaseline(path: string, sig: ModelSignature): Promise<BaselineProfile> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    throw new RuntimeError('BASELINE_INVALID', `--baseline-profile ${path} cannot be read as JSON: ${(err as Error).message}`, { cause: err });
  }
  const p = parsed as Partial<BaselineProfile>;
  if (p.version !== 1 || !Array.isArray(p.features)) {
    throw new RuntimeError('BASELINE_INVALID', `--baseline-profile ${path} must be {"version": 1, "features": [{"input", "feature", "sample": [numbers]}]}`);
  }
  const inputs = new Map(sig.inputs.map((i) => [i.name, i]));
  p.features.forEach((f, i) => {
    const spec = inputs.get(f.input);
    if (!spec || !isNumeric(spec.datatype)) {
      throw new RuntimeError('BASELINE_INVALID', `--baseline-profile features[${i}].input "${f.input}" is not a numeric input of the model (inputs: ${[...inputs.keys()].join(', ')})`);
    }
    if (!Number.isInteger(f.feature) || f.feature < 0) throw new RuntimeError('BASELINE_INVALID', `--baseline-profile features[${i}].feature must be a feature index ≥ 0`);
    if (!Array.isArray(f.sample) || f.sample.length < 10 || !f.sample.every((v) => typeof v === 'number' && Number.isFinite(v))) {
      throw new RuntimeError('BASELINE_INVALID', `--baseline-profile features[${i}].sample must hold at least 10 finite numbers`);
    }
  });
  return p as BaselineProfile;
}

class Window {
  readonly values: Float64Array;
  filled = 0;
  pos = 0;
  constructor(size: number) {
    this.values = new Float64Array(size);
  }
  push(v: number): void {
    this.values[this.pos] = v;
    this.pos = (this.pos + 1) % this.values.length;
    if (this.filled < this.values.length) this.filled++;
  }
  snapshot(): Float64Array {
    return this.values.subarray(0, this.filled);
  }
}

interface FeatureTrack {
  input: string;
  feature: number;
  window: Window;
  values: CounterChild;
  missing: CounterChild;
  baselineSorted: number[] | undefined;
}

export type TaskPlan =
  | { kind: 'classification'; probabilities: string | undefined; label: string | undefined; binary: boolean }
  | { kind: 'regression'; output: string }
  | { kind: 'none' };

const lastDim = (t: TensorSpec): number | string | undefined => t.shape[t.shape.length - 1];

export function planTask(task: Task, sig: ModelSignature): TaskPlan {
  if (task === 'none') return { kind: 'none' };
  const floats = sig.outputs.filter((o) => isFloat(o.datatype));
  const probs = floats.find((o) => /prob/i.test(o.name)) ?? (task === 'classification' ? floats.find((o) => typeof lastDim(o) === 'number' && (lastDim(o) as number) >= 2) : undefined);
  const label = sig.outputs.find((o) => /label|class/i.test(o.name) && isNumeric(o.datatype) && !isFloat(o.datatype));
  if (task === 'classification' || ((probs || label) && task === 'auto')) {
    if (probs || label) {
      const binary = probs !== undefined && (probs.shape.length <= 1 || lastDim(probs) === 1);
      return { kind: 'classification', probabilities: probs?.name, label: label?.name, binary };
    }
  }
  const numeric = sig.outputs.find((o) => isNumeric(o.datatype));
  return numeric ? { kind: 'regression', output: numeric.name } : { kind: 'none' };
}

/** Rows of outputs observed between two turns of the event loop (observeOutputsSliced). */
export const OBSERVE_SLICE_ROWS = 65536;

const track0Size = (tracks: FeatureTrack[]): number => (tracks[0] as FeatureTrack).window.values.length;

function toNumber(t: HostTensor, i: number): number {
  const v = (t.data as ArrayLike<number | bigint>)[i];
  if (typeof v === 'bigint') return Number(v);
  if (t.datatype === 'FP16') return fromHalf(v as number);
  return v as number;
}

export class ModelHealth {
  readonly plan: TaskPlan;
  private readonly tracks = new Map<string, FeatureTrack[]>();
  private readonly metrics: RuntimeMetrics;
  private readonly maxFeatures: number;
  // Created on first use, so only classes (and the score output) that occurred have series.
  private readonly classCounters: (CounterChild | undefined)[] = new Array(33);
  private readonly scoreOutput: string;
  private predictionHistogramChild: HistogramChild | undefined;

  constructor(opts: { signature: ModelSignature; metrics: RuntimeMetrics; maxFeatures: number; window: number; task: Task; baseline?: BaselineProfile }) {
    this.metrics = opts.metrics;
    this.maxFeatures = opts.maxFeatures;
    this.plan = planTask(opts.task, opts.signature);
    for (const spec of opts.signature.inputs) {
      if (!isNumeric(spec.datatype)) continue;
      const last = lastDim(spec);
      const features = Math.min(opts.maxFeatures, spec.shape.length >= 2 && typeof last === 'number' && last > 0 ? last : spec.shape.length >= 2 ? opts.maxFeatures : 1);
      const list: FeatureTrack[] = [];
      for (let f = 0; f < features; f++) {
        const labels = { input: spec.name, feature: String(f) };
        const base = opts.baseline?.features.find((b) => b.input === spec.name && b.feature === f);
        list.push({
          input: spec.name,
          feature: f,
          window: new Window(opts.window),
          values: this.metrics.featureValues.labels(labels),
          missing: this.metrics.featureMissing.labels(labels),
          baselineSorted: base ? [...base.sample].sort((a, b) => a - b) : undefined,
        });
      }
      this.tracks.set(spec.name, list);
    }
    this.scoreOutput = this.plan.kind === 'regression' ? this.plan.output : this.plan.kind === 'classification' ? (this.plan.probabilities ?? this.plan.label ?? '') : '';
  }

  private get predictionHistogram(): HistogramChild {
    return (this.predictionHistogramChild ??= this.metrics.predictionValue.labels({ output: this.scoreOutput }));
  }

  private classCounter(cls: number): CounterChild {
    const i = Number.isInteger(cls) && cls >= 0 && cls < 32 ? cls : 32;
    return (this.classCounters[i] ??= this.metrics.predictedClass.labels({ class: i < 32 ? String(i) : 'other' }));
  }

  observeInputs(inputs: Map<string, HostTensor>): void {
    if (this.maxFeatures === 0) return;
    for (const [name, t] of inputs) {
      const tracks = this.tracks.get(name);
      if (!tracks || tracks.length === 0) continue;
      // Features run along the last dimension; every other dimension is a row.
      const width = t.shape.length >= 2 ? (t.shape[t.shape.length - 1] as number) : 1;
      if (width === 0) continue;
      const rows = t.data.length / width;
      const n = Math.min(width, tracks.length);
      // Only the last `window` rows can stay in the window: a large request pushes just those, and
      // its earlier rows are only scanned for missing values (integers are never missing).
      const first = Math.max(0, rows - track0Size(tracks));
      // Missing values per feature in rows [0, first); allocated only for a request that has such rows.
      let early: Float64Array | undefined;
      if (first > 0 && (t.datatype === 'FP32' || t.datatype === 'FP64' || t.datatype === 'FP16')) {
        early = new Float64Array(n);
        const d = t.data as Float32Array | Float64Array | Uint16Array;
        const end = first * width;
        const half = t.datatype === 'FP16';
        for (let i = 0; i < end; i++) {
          const v = d[i] as number;
          // FP16 NaN: exponent all ones, mantissa not zero.
          if (half ? (v & 0x7c00) === 0x7c00 && (v & 0x03ff) !== 0 : v !== v) {
            const f = i % width;
            if (f < n) early[f] = (early[f] as number) + 1;
          }
        }
      }
      for (let f = 0; f < n; f++) {
        const track = tracks[f] as FeatureTrack;
        let missing = early === undefined ? 0 : (early[f] as number);
        for (let r = first; r < rows; r++) {
          const v = toNumber(t, r * width + f);
          if (Number.isNaN(v)) missing++;
          track.window.push(v);
        }
        track.values.inc(rows);
        if (missing > 0) track.missing.inc(missing);
      }
    }
  }

  /** Per-row prediction values of the last observeOutputs call (class index, or regression value). */
  rowValues = new Float64Array(64);

  /**
   * Records prediction metrics. Returns how many rows have a prediction; their values are the
   * first that many entries of `rowValues` (valid until the next call; nothing is allocated per row).
   */
  observeOutputs(outputs: Map<string, HostTensor>, rows: number): number {
    if (this.rowValues.length < rows) this.rowValues = new Float64Array(Math.max(rows, this.rowValues.length * 2));
    return this.observeRows(outputs, rows, 0, rows, this.rowValues, 0);
  }

  /**
   * observeOutputs for a request of any size: rows in slices of OBSERVE_SLICE_ROWS, the event loop
   * free between slices (a million rows take tens of milliseconds), values in an array of their own.
   */
  async observeOutputsSliced(outputs: Map<string, HostTensor>, rows: number): Promise<{ kept: number; values: Float64Array }> {
    if (rows <= OBSERVE_SLICE_ROWS) return { kept: this.observeOutputs(outputs, rows), values: this.rowValues };
    const values = new Float64Array(rows);
    let kept = 0;
    for (let from = 0; from < rows; from += OBSERVE_SLICE_ROWS) {
      if (from > 0) await new Promise<void>((resolve) => setImmediate(resolve));
      kept = this.observeRows(outputs, rows, from, Math.min(rows, from + OBSERVE_SLICE_ROWS), values, kept);
    }
    return { kept, values };
  }

  /** Observes rows [from, to) of `rows`; the kept values go to out[kept…]; returns the new kept count. */
  private observeRows(outputs: Map<string, HostTensor>, rows: number, from: number, to: number, out: Float64Array, kept: number): number {
    const plan = this.plan;
    if (plan.kind === 'none') return kept;
    if (plan.kind === 'regression') {
      const t = outputs.get(plan.output);
      if (!t || rows === 0) return kept;
      const width = t.data.length / rows;
      for (let r = from; r < to; r++) {
        const v = toNumber(t, r * width);
        // A non-finite prediction is kept (and logged) but not histogrammed.
        if (Number.isFinite(v)) this.predictionHistogram.observe(v);
        out[kept++] = v;
      }
      return kept;
    }
    const probs = plan.probabilities ? outputs.get(plan.probabilities) : undefined;
    const label = plan.label ? outputs.get(plan.label) : undefined;
    for (let r = from; r < to; r++) {
      let cls: number | undefined;
      let confidence: number | undefined;
      if (probs) {
        const width = probs.data.length / rows;
        if (plan.binary) {
          const p = toNumber(probs, r * width);
          if (!Number.isFinite(p)) continue;
          this.predictionHistogram.observe(p);
          cls = p >= 0.5 ? 1 : 0;
          confidence = Math.max(p, 1 - p);
        } else {
          let best = -Infinity;
          for (let c = 0; c < width; c++) {
            const p = toNumber(probs, r * width + c);
            if (p > best) {
              best = p;
              cls = c;
            }
          }
          if (!Number.isFinite(best)) continue; // NaN probabilities (e.g. NaN inputs): no prediction to count
          confidence = best;
          this.predictionHistogram.observe(best);
        }
      }
      if (label) cls = toNumber(label, r * (label.data.length / rows));
      if (cls === undefined) continue;
      this.classCounter(cls).inc();
      if (confidence !== undefined) this.metrics.confidence.observe(confidence);
      out[kept++] = cls;
    }
    return kept;
  }

  /** Recomputes window statistics and drift gauges; called right before /metrics is rendered. */
  refresh(): void {
    const m = this.metrics;
    for (const tracks of this.tracks.values()) {
      for (const t of tracks) {
        const labels = { input: t.input, feature: String(t.feature) };
        const all = t.window.snapshot();
        if (all.length === 0) continue;
        let n = 0;
        let sum = 0;
        let sumSq = 0;
        let min = Infinity;
        let max = -Infinity;
        const present: number[] = [];
        for (const v of all) {
          if (Number.isNaN(v)) continue;
          n++;
          sum += v;
          sumSq += v * v;
          if (v < min) min = v;
          if (v > max) max = v;
          present.push(v);
        }
        m.featureMissingRatio.set(labels, (all.length - n) / all.length);
        if (n === 0) continue;
        const mean = sum / n;
        const std = Math.sqrt(Math.max(0, sumSq / n - mean * mean));
        // ±Infinity inputs make these non-finite; prom-client refuses such values, so skip them.
        if (Number.isFinite(mean)) m.featureMean.set(labels, mean);
        if (Number.isFinite(std)) m.featureStd.set(labels, std);
        if (Number.isFinite(min)) m.featureMin.set(labels, min);
        if (Number.isFinite(max)) m.featureMax.set(labels, max);
        if (t.baselineSorted) {
          present.sort((a, b) => a - b);
          const d = ksStatistic(t.baselineSorted, present);
          const p = psi(t.baselineSorted, present);
          const pv = ksPValue(d, t.baselineSorted.length, present.length);
          if (Number.isFinite(p)) m.driftPsi.set(labels, p);
          if (Number.isFinite(d)) m.driftKs.set(labels, d);
          if (Number.isFinite(pv)) m.driftKsPValue.set(labels, pv);
        }
      }
    }
  }
}
