// Business impact: the guide's level 3 — proxy metrics available at once (predicted positive rate,
// mean score, a business counter of the user's choosing, the SLO burn rates the operator measured
// from the OnnxModel's own built-in and custom SLO queries) and ground-truth quality once labels
// arrive (accuracy, MAE, how much is labelled).
import { TextBoxVariableBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { OPERATOR, RUNTIME } from '../names.ts';
import { dashboard, objectVariable, RATE, row, SEL, stat, timeseries } from './common.ts';

/** The window quality is computed over (ground truth arrives late and sparse). */
const QUALITY = '$quality_window';
/** Predictions per second per revision (a class series exists once the class was predicted). */
const classes = `sum by (revision) (rate(${RUNTIME.predictedClass}{${SEL}}[${RATE}]))`;

export function businessImpact() {
  return dashboard('onnxop-business-impact', 'ONNX models / Business impact', 'Proxy metrics without waiting for ground truth, the SLO burn rates of the OnnxModel\'s own SLO queries, and ground-truth quality.')
    .withVariable(objectVariable())
    .withVariable(new TextBoxVariableBuilder('quality_window').label('Quality window').defaultValue('1h').description('The window accuracy and MAE are computed over.'))
    .withVariable(
      new TextBoxVariableBuilder('proxy_counter')
        .label('Business counter')
        .defaultValue(RUNTIME.predictionsLogged)
        .description('A counter with a revision label (and namespace from the scrape), e.g. the one a custom SLO query of the OnnxModel reads.'),
    )
    .withRow(row('Ground-truth quality'))
    .withPanel(
      stat('Accuracy', [{ expr: `sum(increase(${RUNTIME.groundTruth}{${SEL}, result="correct"}[${QUALITY}])) / sum(increase(${RUNTIME.groundTruth}{${SEL}}[${QUALITY}]))` }], {
        unit: 'percentunit',
        description: 'Classifier rows whose ground truth matched the prediction, over the quality window.',
      }),
    )
    .withPanel(stat('Mean absolute error', [{ expr: `sum(increase(${RUNTIME.absoluteError}_sum{${SEL}}[${QUALITY}])) / sum(increase(${RUNTIME.absoluteError}_count{${SEL}}[${QUALITY}]))` }], { description: 'Regressor rows with ground truth: mean |prediction − truth| over the quality window.' }))
    .withPanel(
      timeseries('Accuracy by revision', [{ expr: `sum by (revision) (increase(${RUNTIME.groundTruth}{${SEL}, result="correct"}[${QUALITY}])) / sum by (revision) (increase(${RUNTIME.groundTruth}{${SEL}}[${QUALITY}]))`, legend: '{{revision}}' }], {
        unit: 'percentunit',
        description: 'Accuracy per revision over the quality window (classifiers).',
        min: 0,
        max: 1,
      }),
    )
    .withPanel(timeseries('MAE by revision', [{ expr: `sum by (revision) (increase(${RUNTIME.absoluteError}_sum{${SEL}}[${QUALITY}])) / sum by (revision) (increase(${RUNTIME.absoluteError}_count{${SEL}}[${QUALITY}]))`, legend: '{{revision}}' }], { description: 'Mean absolute error per revision over the quality window (regressors).' }))
    .withPanel(
      timeseries(
        'Labelled rows/s',
        [
          { expr: `sum by (result) (rate(${RUNTIME.groundTruth}{${SEL}}[${RATE}]))`, legend: 'classifier {{result}}' },
          { expr: `sum(rate(${RUNTIME.absoluteError}_count{${SEL}}[${RATE}]))`, legend: 'regressor' },
        ],
        { unit: 'ops', description: 'Rows whose ground truth arrived, per second.' },
      ),
    )
    .withPanel(timeseries('Feedback posts by outcome', [{ expr: `sum by (outcome) (rate(${RUNTIME.feedback}{${SEL}}[${RATE}]))`, legend: '{{outcome}}' }], { unit: 'reqps', description: 'Ground-truth posts: accepted, unknown_id (another replica, already answered or evicted), invalid.' }))
    .withPanel(
      timeseries(
        'Predictions awaiting ground truth',
        [
          { expr: `sum by (pod) (${RUNTIME.pendingPredictions}{${SEL}})`, legend: 'pending {{pod}}' },
          { expr: `sum by (pod) (rate(${RUNTIME.pendingEvicted}{${SEL}}[${RATE}]))`, legend: 'evicted/s {{pod}}' },
        ],
        { description: 'Held for their ground truth; evictions mean labels arrive later than --pending-predictions-max predictions.' },
      ),
    )
    .withPanel(
      timeseries(
        'Prediction log',
        [
          { expr: `sum(rate(${RUNTIME.predictionsLogged}{${SEL}}[${RATE}]))`, legend: 'logged/s' },
          { expr: `sum(rate(${RUNTIME.predictionLogDropped}{${SEL}}[${RATE}]))`, legend: 'dropped/s' },
        ],
        { unit: 'ops', description: 'Records written to the prediction-log sink (the complete record for offline joins), and dropped.' },
      ),
    )
    .withRow(row('Proxy metrics (no ground truth needed)'))
    .withPanel(
      timeseries('Positive rate by revision', [{ expr: `(sum by (revision) (rate(${RUNTIME.predictedClass}{${SEL}, class="1"}[${RATE}])) or ${classes} * 0) / ${classes}`, legend: '{{revision}}' }], {
        unit: 'percentunit',
        description: 'Share of predictions of class 1 (0 while none was) — the CTR/conversion-style proxy of a binary classifier.',
        min: 0,
        max: 1,
      }),
    )
    .withPanel(timeseries('Mean prediction score by revision', [{ expr: `sum by (revision) (rate(${RUNTIME.predictionValue}_sum{${SEL}}[${RATE}])) / sum by (revision) (rate(${RUNTIME.predictionValue}_count{${SEL}}[${RATE}]))`, legend: '{{revision}}' }], { description: 'Mean predicted value or score.' }))
    .withPanel(timeseries('Successful predictions/s by revision', [{ expr: `sum by (revision) (rate(${RUNTIME.requests}{${SEL}, outcome="success"}[${RATE}]))`, legend: '{{revision}}' }], { unit: 'reqps', description: 'Predictions served: the volume behind every business number.' }))
    .withPanel(
      timeseries('Business counter by revision', [{ expr: `sum by (revision) (rate({__name__=~"$proxy_counter", namespace=~"$namespace", revision=~"$revision"}[${RATE}]))`, legend: '{{revision}}' }], {
        description: 'Rate of the counter named in the "Business counter" box, per revision (point it at the counter a custom SLO query reads, e.g. fraud_decisions_total).',
      }),
    )
    .withPanel(
      timeseries('SLO burn rates measured by the operator', [{ expr: `max by (slo, window) (${OPERATOR.burnRate}{namespace=~"$namespace", name=~"$object"})`, legend: '{{slo}} {{window}}' }], {
        description: "The canary's error-budget burn rate per SLO (built-in and custom good/total queries of spec.rollout.analysis) and window, at the operator's last measurement; present while a canary runs.",
        thresholds: [{ value: 1, color: 'yellow' }],
      }),
    );
}
