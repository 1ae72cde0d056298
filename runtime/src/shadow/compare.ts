// Same-input comparison of the canary's outputs with the stable revision's (docs/analysis.md,
// "Agreement"): per row, classifiers agree when they predict the same class, regressors when every
// value is within float noise of stable's. Pure: two sets of decoded output tensors in, counts out.
import { SHADOW_FLOAT_NOISE } from '../../../lib/contract/index.ts';
import { fromHalf, type HostTensor } from '../protocol/datatypes.ts';
import type { TaskPlan } from '../model-health/model-health.ts';

export type Outputs = ReadonlyMap<string, HostTensor>;

export interface Comparison {
  /** Rows compared. */
  rows: number;
  agree: number;
  disagree: number;
  /** Regressors: each row's largest absolute difference (empty for classifiers). */
  differences: number[];
}

export type CompareResult = { ok: true; comparison: Comparison } | { ok: false; reason: string };

const value = (t: HostTensor, i: number): number => {
  const v = (t.data as ArrayLike<number | bigint | boolean | string>)[i];
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'string') return Number.NaN;
  return t.datatype === 'FP16' ? fromHalf(v as number) : (v as number);
};

/** Rows of a tensor (its first dimension; one row for a scalar or a 1-D vector of one row's values). */
function rowsOf(t: HostTensor, rows: number): number | undefined {
  const n = t.data.length;
  if (rows <= 0 || n % rows !== 0) return undefined;
  return n / rows;
}

/** The class each row predicts: the label output when there is one, else the argmax of the probabilities (≥ 0.5 for one probability). */
export function predictedClasses(plan: Extract<TaskPlan, { kind: 'classification' }>, outputs: Outputs, rows: number): number[] | string {
  if (plan.label !== undefined) {
    const t = outputs.get(plan.label);
    if (!t) return `no output "${plan.label}"`;
    const width = rowsOf(t, rows);
    if (width === undefined) return `output "${plan.label}" has ${t.data.length} values for ${rows} rows`;
    return Array.from({ length: rows }, (_, r) => value(t, r * width));
  }
  const name = plan.probabilities ?? '';
  const t = outputs.get(name);
  if (!t) return `no output "${name}"`;
  const width = rowsOf(t, rows);
  if (width === undefined) return `output "${name}" has ${t.data.length} values for ${rows} rows`;
  return Array.from({ length: rows }, (_, r) => {
    if (width === 1) return value(t, r) >= 0.5 ? 1 : 0;
    let best = 0;
    for (let k = 1; k < width; k++) if (value(t, r * width + k) > value(t, r * width + best)) best = k;
    return best;
  });
}

/**
 * Compares one request's outputs row by row. `noise` defaults to the contract's float noise; a
 * tensor missing or shaped differently on either side is a reason (the caller counts the request
 * against whichever side is at fault).
 */
export function compareOutputs(plan: TaskPlan, canary: Outputs, stable: Outputs, rows: number, noise: { absolute: number; relative: number } = SHADOW_FLOAT_NOISE): CompareResult {
  if (plan.kind === 'none') return { ok: false, reason: 'the model is neither a classifier nor a regressor (--task none): nothing to compare' };
  if (plan.kind === 'classification') {
    const c = predictedClasses(plan, canary, rows);
    if (typeof c === 'string') return { ok: false, reason: `canary: ${c}` };
    const s = predictedClasses(plan, stable, rows);
    if (typeof s === 'string') return { ok: false, reason: `stable: ${s}` };
    const agree = c.filter((x, i) => x === s[i]).length;
    return { ok: true, comparison: { rows, agree, disagree: rows - agree, differences: [] } };
  }
  const c = canary.get(plan.output);
  const s = stable.get(plan.output);
  if (!c) return { ok: false, reason: `canary: no output "${plan.output}"` };
  if (!s) return { ok: false, reason: `stable: no output "${plan.output}"` };
  const width = rowsOf(c, rows);
  if (width === undefined || s.data.length !== c.data.length) return { ok: false, reason: `output "${plan.output}": ${c.data.length} canary values against ${s.data.length} stable values for ${rows} rows` };
  let agree = 0;
  const differences: number[] = [];
  for (let r = 0; r < rows; r++) {
    let worst = 0;
    let within = true;
    for (let k = 0; k < width; k++) {
      const a = value(c, r * width + k);
      const b = value(s, r * width + k);
      const d = Math.abs(a - b);
      // NaN on one side only is a disagreement; NaN on both is the same answer.
      const same = Number.isNaN(a) && Number.isNaN(b) ? true : d <= noise.absolute + noise.relative * Math.abs(b);
      if (!same) within = false;
      if (!(d <= worst)) worst = Number.isNaN(d) ? (Number.isNaN(a) && Number.isNaN(b) ? worst : Infinity) : d;
    }
    if (within) agree++;
    differences.push(worst);
  }
  return { ok: true, comparison: { rows, agree, disagree: rows - agree, differences } };
}
