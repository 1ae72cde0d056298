// The agreement gate (shadow steps): the canary's mirrored rows compared with stable's answers for
// the same input, judged with exact confidence bounds like the SLOs: few rows are inconclusive, a
// significant shortfall fails, a pass needs minSamples and a lower bound at the limit.
import { describe, expect, it } from '@jest/globals';
import type { QualityGates } from '../api/types.ts';
import { judge, levels } from './judge.ts';
import { judgeQuality, planQuality } from './quality.ts';
import { analysisSpec } from './test-fixtures.ts';
import type { DistributionAnswer } from './types.ts';

const QUALITY: QualityGates = { agreement: { minAgreement: 99, minSamples: 200 }, predictions: { maxPSI: 0.2, minSamples: 200 } };
const plan = (quality: QualityGates, shadow: boolean) => planQuality({ quality, namespace: 'ml', servedModelName: 'iris', canary: 'c1', stable: 's1', window: '5m', windowSeconds: 300, shadow });
const LV = levels(analysisSpec({ quality: QUALITY }), 2);

function gate(comparisons: Record<string, number>, differences: Record<string, number> = {}, quality: QualityGates = QUALITY) {
  const requests = plan(quality, true);
  const answers: DistributionAnswer[] = requests.map((r) => ({ id: r.id, ok: true, counts: r.series === 'comparisons' ? comparisons : differences }));
  const [g] = judgeQuality({ quality, requests, answers, failLevel: LV.fail, passLevel: LV.pass, countedForMs: 60_000, shadow: true });
  if (!g) throw new Error('no agreement gate');
  return g;
}

describe('agreement gate: queries', () => {
  it('asks the canary alone for its comparisons with this stable revision, only in shadow steps', () => {
    const shadow = plan(QUALITY, true);
    expect(shadow.map((r) => r.id)).toEqual(['canary/agreement/comparisons', 'canary/agreement/differences']);
    expect(shadow[0]?.query).toBe('sum by (outcome) (increase(onnxop_shadow_comparisons_total{namespace="ml",model="iris",revision="c1",stable_revision="s1"}[5m]))');
    expect(shadow[1]?.query).toBe('sum by (le) (increase(onnxop_shadow_difference_bucket{namespace="ml",model="iris",revision="c1",stable_revision="s1"}[5m]))');
    // Traffic steps: the other gates, never agreement (nothing is mirrored any more).
    expect(plan(QUALITY, false).map((r) => r.id)).toEqual(['canary/predictions/classes', 'canary/predictions/values', 'stable/predictions/classes', 'stable/predictions/values']);
  });
});

describe('agreement gate: verdicts', () => {
  it('no compared rows: inconclusive NoData, never a pass; stable errors and skipped rows are not the canary\'s', () => {
    const g = gate({ agree: 0, disagree: 0, stable_error: 50, skipped: 3 });
    expect([g.measurement.verdict, g.reason]).toEqual(['inconclusive', 'NoData']);
    expect(g.measurement.message).toContain('50 stable errors and 3 skipped not counted');
  });

  it('a perfect canary on few rows is inconclusive: the bound needs the rows', () => {
    expect(gate({ agree: 150 }).measurement).toMatchObject({ verdict: 'inconclusive', samples: 150, value: 100 });
    // 250 rows ≥ minSamples, but at 99% the lower bound of 250/250 is still under 99%.
    const g = gate({ agree: 250 });
    expect(g.measurement.verdict).toBe('inconclusive');
    expect(g.measurement.message).toContain('the lower bound is still below the limit');
    expect(gate({ agree: 600 }).measurement.verdict).toBe('pass');
  });

  it('fails a canary significantly below the limit, counting canary errors as disagreement', () => {
    const flips = gate({ agree: 160, disagree: 40 });
    expect([flips.measurement.verdict, flips.reason]).toEqual(['fail', 'Disagrees']);
    expect(flips.measurement.value).toBe(80);
    expect(flips.failure).toMatchObject({ slo: 'agreement', reason: 'Disagrees', requests: 200, badEvents: 40, threshold: 99 });
    expect(gate({ agree: 150, canary_error: 50 }).measurement.verdict).toBe('fail');
    // 3 of 300 (1%) is not significantly worse than 99%: inconclusive, not a fail.
    expect(gate({ agree: 297, disagree: 3 }).measurement.verdict).toBe('inconclusive');
  });

  it('a regressor tolerance reads agreement from the difference histogram', () => {
    const quality: QualityGates = { agreement: { minAgreement: 99, minSamples: 200, tolerance: 0.01 } };
    // The runtime's float-noise rule says all disagree (a bias of 0.005), the tolerance 0.01 takes them.
    const within = gate({ agree: 0, disagree: 800 }, { '0.001': 0, '0.01': 800, '+Inf': 800 }, quality);
    expect(within.measurement).toMatchObject({ verdict: 'pass', value: 100, samples: 800 });
    expect(within.measurement.message).toContain('values within 0.01');
    const beyond = gate({ agree: 0, disagree: 800 }, { '0.01': 0, '0.05': 800, '+Inf': 800 }, quality);
    expect(beyond.measurement.verdict).toBe('fail');
  });

  it('decides a shadow step through judge(): SLOs are not judged, the gate is', () => {
    const analysis = analysisSpec({ quality: QUALITY });
    const requests = plan(QUALITY, true);
    const counts = (series: string): Record<string, number> => (series === 'comparisons' ? { agree: 100, disagree: 100 } : {});
    const answers: DistributionAnswer[] = requests.map((r) => ({ id: r.id, ok: true, counts: counts(r.series) }));
    const j = judge({ analysis, requests: [], answers: [], look: 1, shadow: true, gates: { requests, answers, countedForMs: 60_000 } });
    expect(j).toMatchObject({ verdict: 'fail', reason: 'Disagrees', slos: [], gates: [{ name: 'agreement', verdict: 'fail' }] });
    expect(j.failure).toMatchObject({ slo: 'agreement', badEvents: 100 });
    const errored = judge({ analysis, requests: [], answers: [], look: 1, shadow: true, gates: { requests, answers: requests.map((r) => ({ id: r.id, ok: false, error: 'prometheus down' })), countedForMs: 60_000 } });
    expect(errored.verdict).toBe('error');
  });
});
