// The analysis core's measurement request/answer shapes, until operator/src/analysis/types.ts exists.
export interface MeasurementRequest {
  id: string;
  role: 'canary' | 'stable';
  revision: string;
  slo: string;
  window: string;
  windowSeconds: number;
  goodQuery: string;
  totalQuery: string;
}
export type MeasurementAnswer = { id: string; ok: true; good: number | null; total: number | null } | { id: string; ok: false; error: string };
