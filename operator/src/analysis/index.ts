// The analysis, pure: planMeasurements() before the one Prometheus call, judge() after it.
export * from './types.ts';
export { planMeasurements, validateAnalysis, formatDuration, sloIssues, specWindows } from './plan.ts';
export type { PlanInput } from './plan.ts';
export { judge, levels, budgetOf, DEFAULT_ALPHA } from './judge.ts';
export type { JudgeInput, Levels } from './judge.ts';
export { requestsToDecide } from './limit.ts';
export type { DecideInput, Decision } from './limit.ts';
export { METRIC_LABEL_NAMESPACE, PLACEHOLDERS } from './promql.ts';
export { alphaAtLook, lowerBound, upperBound, fisherGreaterPValue } from './stats.ts';
