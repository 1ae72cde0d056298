// Shadow steps through the core: the spec's rules, the route's RequestMirror while the canary holds
// a shadow step, the agreement gate alone judging it, promotion past it to traffic steps, and a
// rollback that stops the mirror with the traffic.
import { describe, expect, it } from '@jest/globals';
import { safeParseOnnxModel } from '../../api/parse.ts';
import type { OnnxModel } from '../../api/types.ts';
import type { DistributionAnswer, DistributionRequest } from '../../analysis/types.ts';
import { DIGEST_B, at, changeDigest, run, settle, stableOn, withStatus } from '../test-fixtures.ts';
import type { ObservedChildren, ReconcileOutput } from '../types.ts';
import { dueMeasurements } from './analysis-step.ts';
import { mirroredShare, stepShare } from './machine.ts';

const DIGEST = `sha256:${'c'.repeat(64)}`;
const AGREEMENT = { minAgreement: 99, minSamples: 200 };
const ANALYSIS = { interval: '10s', slos: [{ name: 'availability', builtin: 'availability', objective: 99 }], burnRateWindows: [{ short: '30s', long: '1m', threshold: 2 }], minRequests: 50, quality: { agreement: AGREEMENT } };
const SPEC = { rollout: { steps: [{ shadow: 30, pause: '20s' }, { weight: 20, pause: '20s' }], analysis: ANALYSIS } };

const parse = (spec: Record<string, unknown>) =>
  safeParseOnnxModel({ apiVersion: 'serving.onnxop.io/v1alpha1', kind: 'OnnxModel', metadata: { name: 'iris', namespace: 'ml', uid: 'u1' }, spec: { model: { uri: 'https://m.example.com/iris.onnx', digest: DIGEST }, ...spec } });

describe('shadow steps in the spec', () => {
  it('parses shadow and weight steps', () => {
    const r = parse(SPEC);
    if (!r.ok) throw r.error;
    expect(r.model.spec.rollout.steps).toEqual([{ shadow: 30, pause: '20s' }, { weight: 20, pause: '20s' }]);
    expect(r.model.spec.rollout.analysis?.quality?.agreement).toEqual(AGREEMENT);
  });

  const withSteps = (steps: unknown[], extra: Record<string, unknown> = {}) => ({ ...extra, rollout: { steps, analysis: ANALYSIS } });
  it.each([
    ['a step with neither', withSteps([{ pause: '1m' }]), 'FIELD_REQUIRED', 'spec.rollout.steps[0].weight'],
    ['a step with both', withSteps([{ weight: 10, shadow: 10 }]), 'FIELD_CONFLICT', 'spec.rollout.steps[0]'],
    ['a shadow step after a weight step', withSteps([{ weight: 10 }, { shadow: 10 }]), 'FIELD_CONFLICT', 'spec.rollout.steps[1].shadow'],
    ['shadow above 100', withSteps([{ shadow: 101 }]), 'FIELD_RANGE', 'spec.rollout.steps[0].shadow'],
    ['shadow without a router', withSteps([{ shadow: 10 }], { traffic: { provider: 'none' } }), 'FIELD_CONFLICT', 'spec.rollout.steps[0].shadow'],
    ['shadow without an agreement gate', { rollout: { steps: [{ shadow: 10 }], analysis: { ...ANALYSIS, quality: undefined } } }, 'FIELD_REQUIRED', 'spec.rollout.analysis.quality.agreement'],
    ['an agreement gate without a shadow step', withSteps([{ weight: 10 }]), 'FIELD_CONFLICT', 'spec.rollout.analysis.quality.agreement'],
    ['a tolerance off the histogram bounds', { rollout: { steps: [{ shadow: 10 }], analysis: { ...ANALYSIS, quality: { agreement: { tolerance: 0.02 } } } } }, 'FIELD_ENUM', 'spec.rollout.analysis.quality.agreement.tolerance'],
  ])('refuses %s, naming the field', (_name, spec, code, field) => {
    const r = parse(spec);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const issue = r.error.issues.find((i) => i.field === field);
    expect(issue).toMatchObject({ code, field });
    expect(issue?.message).toContain(field.replace(/\.(weight|shadow)$/, ''));
  });

  it('weights still rise strictly among the weight steps', () => {
    expect(parse(withSteps([{ shadow: 50 }, { weight: 10 }, { weight: 50 }])).ok).toBe(true);
    const r = parse(withSteps([{ shadow: 50 }, { weight: 50 }, { weight: 10 }]));
    expect(r.ok ? [] : r.error.issues.map((i) => i.field)).toEqual(['spec.rollout.steps[2].weight']);
  });
});

describe('stepShare and mirroredShare', () => {
  const steps = [{ weight: 0, shadow: 30 }, { weight: 20 }];
  const p = (state: 'Scaling' | 'Holding' | 'Paused', step: number, pauseReason?: 'ManualPause' | 'AnalysisInvalid') => ({ revision: 'c', state, step, weight: 0, stateSince: '', looks: 0, consecutiveInconclusive: 0, consecutiveErrors: 0, ...(pauseReason ? { pauseReason } : {}) });
  it('sizes the canary to the mirrored share and mirrors only once it holds', () => {
    expect(steps.map(stepShare)).toEqual([30, 20]);
    expect(mirroredShare(p('Scaling', 0), steps)).toBeUndefined();
    expect(mirroredShare(p('Holding', 0), steps)).toBe(30);
    expect(mirroredShare(p('Paused', 0, 'ManualPause'), steps)).toBe(30);
    expect(mirroredShare(p('Paused', 0, 'AnalysisInvalid'), steps)).toBeUndefined();
    expect(mirroredShare(p('Holding', 1), steps)).toBeUndefined();
  });
});

type Rule = { filters?: { type: string; requestMirror: { backendRef: { name: string; port: number }; percent: number } }[]; backendRefs: { name: string; weight: number }[] };
const rule = (out: ReconcileOutput): Rule | undefined => (out.apply.find((o) => o.kind === 'HTTPRoute')?.spec as { rules: Rule[] } | undefined)?.rules[0];

describe('a canary through a shadow step', () => {
  /** The canary holding its shadow step, with its children as observed. */
  function holding() {
    const { model: m0, children } = stableOn(SPEC);
    let model = changeDigest(m0, DIGEST_B);
    const created = run(model, children, at(100));
    model = withStatus(model, created);
    const seen = settle(created, () => true, children);
    const held = run(model, seen, at(105));
    return { model: withStatus(model, held), seen: settle(held, () => true, seen), held };
  }
  type Answer = (r: DistributionRequest) => DistributionAnswer;
  const agreeing = (agree: number, disagree: number): Answer => (r) => {
    const counts: Record<string, number> = r.series === 'comparisons' ? { agree, disagree, canary_error: 0, stable_error: 0, skipped: 0 } : {};
    return { id: r.id, ok: true, counts };
  };
  function step(model: OnnxModel, seen: ObservedChildren, seconds: number, answer: Answer) {
    const now = at(seconds);
    const due = dueMeasurements(model, now, 5);
    const measurements = due ? { revision: due.revision, time: now.toISOString(), requests: due.requests, answers: [], distributions: due.distributions, distributionAnswers: due.distributions.map(answer) } : undefined;
    const out = run(model, seen, now, measurements ? { measurements } : {});
    return { out, model: withStatus(model, out), seen: settle(out, () => true, seen), due };
  }

  it('mirrors 30% to the canary Service\'s shadow port while every answer comes from stable', () => {
    const { held } = holding();
    expect(held.status.rollout).toMatchObject({ state: 'Holding', step: 0, weight: 0 });
    const r = rule(held);
    expect(r?.backendRefs.map((b) => b.weight)).toEqual([100, 0]);
    expect(r?.filters).toEqual([{ type: 'RequestMirror', requestMirror: { backendRef: { group: '', kind: 'Service', name: r?.backendRefs[1]?.name, port: 8082 }, percent: 30 } }]);
    expect(held.events.find((e) => e.reason === 'StepStarted')?.message).toContain('30% of requests mirrored to canary');
  });

  it('judges the shadow step by agreement alone, then sends traffic and stops mirroring', () => {
    const { model, seen } = holding();
    let s = step(model, seen, 115, agreeing(1000, 0));
    // Only the canary's comparison counts (and difference buckets) are asked for; no SLO query.
    expect(s.due?.requests).toEqual([]);
    expect(s.due?.distributions.map((d) => d.id)).toEqual(['canary/agreement/comparisons', 'canary/agreement/differences']);
    expect(s.due?.distributions[0]?.query).toMatch(/onnxop_shadow_comparisons_total\{namespace="ml",model="iris",revision="[a-z0-9]+",stable_revision="[a-z0-9]+"\}/);
    expect(s.out.status.lastAnalysis).toMatchObject({ verdict: 'pass', slos: [], gates: [{ name: 'agreement', verdict: 'pass', samples: 1000, value: 100, bound: 99 }] });
    for (const t of [125]) s = step(s.model, s.seen, t, agreeing(2000, 0));
    expect(s.out.status.rollout).toMatchObject({ step: 1, weight: 20 });
    const r = rule(s.out);
    expect(r?.filters).toBeUndefined();
    expect(r?.backendRefs.map((b) => b.weight)).toEqual([80, 20]);
  });

  it('is inconclusive on few rows, and rolls a disagreeing canary back with the numbers, mirror off', () => {
    const { model, seen } = holding();
    const few = step(model, seen, 115, agreeing(40, 0));
    expect(few.out.status.lastAnalysis?.gates?.[0]).toMatchObject({ name: 'agreement', verdict: 'inconclusive', samples: 40 });
    expect(few.out.status.lastAnalysis?.gates?.[0]?.message).toContain('a pass needs 200 compared rows');
    const bad = step(few.model, few.seen, 125, agreeing(800, 200));
    expect(bad.out.rolloutOutcome).toBe('rolled-back');
    expect(bad.out.status.lastRollback).toMatchObject({ reason: 'AnalysisFailed', slo: 'agreement', judgement: 'Disagrees', requests: 1000, badEvents: 200 });
    expect(bad.out.status.lastRollback?.message).toContain('80% of 1000 mirrored rows agree with stable');
    const r = rule(bad.out);
    expect(r?.filters).toBeUndefined();
    expect(r?.backendRefs.map((b) => b.weight)).toEqual([100]);
  });
});
