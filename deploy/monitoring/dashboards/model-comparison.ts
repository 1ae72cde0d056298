// Model comparison: stable against canary during a rollout, side by side — the operator's weight,
// step, burn rates and verdicts, and the runtime's traffic, errors, latency and predictions per
// revision.
import { AVAILABILITY_BAD_OUTCOMES, AVAILABILITY_EXCLUDED_OUTCOMES, SHADOW_BAD_OUTCOMES } from '../../../lib/contract/index.ts';
import { OPERATOR, RUNTIME } from '../names.ts';
import { dashboard, objectVariable, RATE, row, SEL, timeseries } from './common.ts';

const OBJ = 'namespace=~"$namespace", name=~"$object"';
const bad = `outcome=~"${AVAILABILITY_BAD_OUTCOMES.join('|')}"`;
const eligible = `outcome!~"${AVAILABILITY_EXCLUDED_OUTCOMES.join('|')}"`;
const perRevision = (q: number, metric: string, extra = '') => `histogram_quantile(${q}, sum by (le, revision) (rate(${metric}_bucket{${SEL}${extra}}[${RATE}])))`;

export function modelComparison() {
  return dashboard('onnxop-model-comparison', 'ONNX models / Model comparison', 'Stable against canary during a rollout: the operator\'s decisions and each revision\'s traffic, errors, latency and predictions.')
    .withVariable(objectVariable())
    .withRow(row('Rollout (operator)'))
    .withPanel(timeseries('Canary weight', [{ expr: `max by (name) (${OPERATOR.canaryWeight}{${OBJ}})`, legend: '{{name}}' }], { unit: 'percent', description: 'Traffic weight of the canary in percent (0 after promotion or rollback).', min: 0, max: 100 }))
    .withPanel(timeseries('Rollout step', [{ expr: `max by (name) (${OPERATOR.rolloutStep}{${OBJ}})`, legend: '{{name}}' }], { description: 'Current step index (0-based); -1 without a canary.' }))
    .withPanel(
      timeseries('Canary burn rates', [{ expr: `max by (slo, window) (${OPERATOR.burnRate}{${OBJ}})`, legend: '{{slo}} {{window}}' }], {
        description: "The canary's burn rate per SLO and window at the last analysis: 1 spends the error budget exactly; the analysis fails at the spec's thresholds.",
        thresholds: [{ value: 1, color: 'yellow' }],
      }),
    )
    .withPanel(timeseries('Analysis verdicts (all models of the operator)', [{ expr: `sum by (verdict) (increase(${OPERATOR.analysisVerdicts}[${RATE}]))`, legend: '{{verdict}}' }], { description: 'Canary measurements by verdict (pass, fail, inconclusive, error); the counter has no model label.' }))
    .withPanel(timeseries('Finished rollouts (all models of the operator)', [{ expr: `sum by (outcome) (increase(${OPERATOR.rollouts}[$__range]))`, legend: '{{outcome}}' }], { description: 'Rollouts ended over the dashboard range by outcome: promoted, rolled-back, aborted, failed.' }))
    .withRow(row('Stable and canary side by side (runtime)'))
    .withPanel(
      timeseries('Traffic share by revision', [{ expr: `sum by (revision) (rate(${RUNTIME.requests}{${SEL}}[${RATE}])) / ignoring (revision) group_left () sum (rate(${RUNTIME.requests}{${SEL}}[${RATE}]))`, legend: '{{revision}}' }], {
        unit: 'percentunit',
        description: 'Share of requests each revision answered: the weight as the data plane applied it.',
        min: 0,
        max: 1,
      }),
    )
    .withPanel(
      timeseries('Error ratio by revision', [{ expr: `sum by (revision) (rate(${RUNTIME.requests}{${SEL}, ${bad}}[${RATE}])) / sum by (revision) (rate(${RUNTIME.requests}{${SEL}, ${eligible}}[${RATE}]))`, legend: '{{revision}}' }], {
        unit: 'percentunit',
        description: 'The availability SLI per revision, as the analysis counts it.',
      }),
    )
    .withPanel(
      timeseries(
        'Latency by revision (p50, p99)',
        [
          { expr: perRevision(0.5, RUNTIME.requestDuration, ', outcome="success"'), legend: '{{revision}} p50' },
          { expr: perRevision(0.99, RUNTIME.requestDuration, ', outcome="success"'), legend: '{{revision}} p99' },
        ],
        { unit: 's', description: 'Successful requests per revision.' },
      ),
    )
    .withPanel(timeseries('Requests/s by revision and outcome', [{ expr: `sum by (revision, outcome) (rate(${RUNTIME.requests}{${SEL}}[${RATE}]))`, legend: '{{revision}} {{outcome}}' }], { unit: 'reqps', description: 'Every outcome per revision.' }))
    .withPanel(
      timeseries('Predicted classes by revision', [{ expr: `sum by (revision, class) (rate(${RUNTIME.predictedClass}{${SEL}}[${RATE}])) / ignoring (class) group_left () sum by (revision) (rate(${RUNTIME.predictedClass}{${SEL}}[${RATE}]))`, legend: '{{revision}} class {{class}}' }], {
        unit: 'percentunit',
        description: 'Prediction distribution per revision: a canary that predicts differently from stable shows here before ground truth arrives.',
        min: 0,
        max: 1,
      }),
    )
    .withPanel(timeseries('Prediction score p50 by revision', [{ expr: perRevision(0.5, RUNTIME.predictionValue), legend: '{{revision}}' }], { description: 'Median prediction value or score per revision.' }))
    .withPanel(timeseries('Confidence p50 by revision', [{ expr: perRevision(0.5, RUNTIME.confidence), legend: '{{revision}}' }], { description: 'Median probability of the predicted class per revision (classifiers).', min: 0, max: 1 }))
    .withPanel(
      timeseries('Accuracy by revision', [{ expr: `sum by (revision) (increase(${RUNTIME.groundTruth}{${SEL}, result="correct"}[1h])) / sum by (revision) (increase(${RUNTIME.groundTruth}{${SEL}}[1h]))`, legend: '{{revision}}' }], {
        unit: 'percentunit',
        description: 'Ground-truth accuracy per revision over the last hour (once labels arrive).',
        min: 0,
        max: 1,
      }),
    )
    .withPanel(
      timeseries(
        'Shadow agreement with stable (same inputs)',
        [
          {
            expr: `sum by (revision, stable_revision) (rate(${RUNTIME.shadowComparisons}{${SEL}, outcome="agree"}[${RATE}])) / sum by (revision, stable_revision) (rate(${RUNTIME.shadowComparisons}{${SEL}, outcome=~"agree|${SHADOW_BAD_OUTCOMES.join('|')}"}[${RATE}]))`,
            legend: '{{revision}} vs {{stable_revision}}',
          },
        ],
        {
          unit: 'percentunit',
          description: "During a shadow step: the share of mirrored rows on which the canary answers like stable for the same input (the agreement gate's input; a canary error counts as disagreeing).",
          min: 0,
          max: 1,
        },
      ),
    )
    .withPanel(timeseries('Shadow difference p99 (regressors)', [{ expr: `histogram_quantile(0.99, sum by (le, revision, stable_revision) (rate(${RUNTIME.shadowDifference}_bucket{${SEL}}[${RATE}])))`, legend: '{{revision}} vs {{stable_revision}}' }], { description: 'During a shadow step: the 99th percentile of |canary − stable| per mirrored regressor row.' }));
}
