// An analysis spec for the tests: the parser fills every field (new ones included) and the tests pin
// the values they depend on, so that a change of defaults does not change what they test.
import { parseOnnxModel } from '../api/parse.ts';
import type { AnalysisSpec, SloSpec } from '../api/types.ts';

export const AVAILABILITY: SloSpec = { name: 'availability', builtin: 'availability', objective: 99.9 };

export function analysisSpec(over: Partial<AnalysisSpec> = {}): AnalysisSpec {
  const model = parseOnnxModel({
    apiVersion: 'serving.onnxop.io/v1alpha1',
    kind: 'OnnxModel',
    metadata: { name: 'fraud', namespace: 'ml', uid: 'u1' },
    spec: { model: { uri: 'https://models.example.com/fraud.onnx', digest: `sha256:${'a'.repeat(64)}` }, rollout: { steps: [{ weight: 20 }], analysis: { slos: [AVAILABILITY] } } },
  });
  const parsed = model.spec.rollout.analysis;
  if (!parsed) throw new Error('the parser dropped spec.rollout.analysis');
  return {
    ...parsed,
    interval: '1m',
    slos: [AVAILABILITY],
    burnRateWindows: [
      { short: '5m', long: '1h', threshold: 14.4 },
      { short: '30m', long: '6h', threshold: 6 },
    ],
    minRequests: 100,
    noDataPolicy: 'Inconclusive',
    compareWithStable: true,
    ...over,
  };
}
