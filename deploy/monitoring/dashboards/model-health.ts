// Model health: the guide's level 2 — per-feature statistics, prediction and confidence
// distributions, and drift (PSI, KS) against the baseline profile.
import { RUNTIME } from '../names.ts';
import { dashboard, heatmap, RATE, row, SEL, timeseries } from './common.ts';

const feature = '{{revision}} {{input}}[{{feature}}]';

export function modelHealth() {
  return dashboard('onnxop-model-health', 'ONNX models / Model health', 'Inputs, predictions and drift of one served model (runtime model-health metrics, docs/metrics.md).')
    .withRow(row('Feature statistics (recent window)'))
    .withPanel(timeseries('Feature mean', [{ expr: `${RUNTIME.featureMean}{${SEL}}`, legend: feature }], { description: 'Mean of each numeric feature over the last --feature-window values (missing values excluded).' }))
    .withPanel(timeseries('Feature standard deviation', [{ expr: `${RUNTIME.featureStd}{${SEL}}`, legend: feature }], { description: 'Standard deviation of each feature over the recent window.' }))
    .withPanel(
      timeseries(
        'Feature min / max',
        [
          { expr: `${RUNTIME.featureMin}{${SEL}}`, legend: `min ${feature}` },
          { expr: `${RUNTIME.featureMax}{${SEL}}`, legend: `max ${feature}` },
        ],
        { description: 'Range of each feature over the recent window: a stuck or exploding input shows here first.' },
      ),
    )
    .withPanel(
      timeseries('Missing values', [{ expr: `${RUNTIME.featureMissingRatio}{${SEL}}`, legend: feature }], {
        unit: 'percentunit',
        description: 'Share of null/NaN values per feature in the recent window.',
        thresholds: [{ value: 0.05, color: 'yellow' }],
      }),
    )
    .withPanel(timeseries('Feature values/s', [{ expr: `sum by (input, feature) (rate(${RUNTIME.featureValues}{${SEL}}[${RATE}]))`, legend: '{{input}}[{{feature}}]' }], { unit: 'ops', description: 'Values observed per feature and second.' }))
    .withRow(row('Predictions'))
    .withPanel(heatmap('Prediction distribution', [{ expr: `sum by (le) (increase(${RUNTIME.predictionValue}_bucket{${SEL}}[${RATE}]))`, legend: '{{le}}' }], { description: 'Histogram of predictions: the regression value, or the score of a classifier (positive-class probability for binary, max probability otherwise).' }))
    .withPanel(
      timeseries('Predicted classes (share)', [{ expr: `sum by (revision, class) (rate(${RUNTIME.predictedClass}{${SEL}}[${RATE}])) / ignoring (class) group_left () sum by (revision) (rate(${RUNTIME.predictedClass}{${SEL}}[${RATE}]))`, legend: '{{revision}} class {{class}}' }], {
        unit: 'percentunit',
        description: 'Share of each predicted class per revision. One class near 0% or 100% is the guide\'s critical "prediction rate" level (OnnxModelPredictionCollapse).',
        min: 0,
        max: 1,
      }),
    )
    .withPanel(heatmap('Confidence distribution', [{ expr: `sum by (le) (increase(${RUNTIME.confidence}_bucket{${SEL}}[${RATE}]))`, legend: '{{le}}' }], { description: 'Probability of the predicted class (classifiers).' }))
    .withPanel(
      timeseries(
        'Prediction score p10 / p50 / p90',
        [0.1, 0.5, 0.9].map((q) => ({ expr: `histogram_quantile(${q}, sum by (le, revision) (rate(${RUNTIME.predictionValue}_bucket{${SEL}}[${RATE}])))`, legend: `{{revision}} p${q * 100}` })),
        { description: 'Quantiles of the prediction distribution per revision.' },
      ),
    )
    .withRow(row('Drift against the baseline profile'))
    .withPanel(
      timeseries('Drift: population stability index', [{ expr: `${RUNTIME.driftPsi}{${SEL}}`, legend: feature }], {
        description: 'PSI of each feature\'s recent window against the baseline profile (--baseline-profile). < 0.1 stable, 0.1–0.25 moderate, > 0.25 major; the guide warns above 0.15 (OnnxModelFeatureDrift).',
        thresholds: [{ value: 0.1, color: 'yellow' }, { value: 0.15, color: 'orange' }, { value: 0.25, color: 'red' }],
      }),
    )
    .withPanel(timeseries('Drift: Kolmogorov–Smirnov statistic', [{ expr: `${RUNTIME.driftKs}{${SEL}}`, legend: feature }], { description: 'Two-sample KS statistic of the recent window against the baseline sample.', min: 0, max: 1 }))
    .withPanel(
      timeseries('Drift: KS p-value', [{ expr: `${RUNTIME.driftKsPValue}{${SEL}}`, legend: feature }], {
        description: 'Asymptotic p-value of the KS statistic: small values mean the window is unlikely to come from the baseline distribution.',
        min: 0,
        max: 1,
      }),
    );
}
