import { OnnxModelSpecError } from './errors.ts';
import { parseDuration, parseOnnxModel, safeParseOnnxModel } from './parse.ts';

const DIGEST = `sha256:${'c'.repeat(64)}`;
const obj = (spec: Record<string, unknown>, meta: Record<string, unknown> = {}) => ({
  apiVersion: 'serving.onnxop.io/v1alpha1',
  kind: 'OnnxModel',
  metadata: { name: 'iris', namespace: 'ml', uid: 'u1', generation: 3, ...meta },
  spec: { model: { uri: 'oci://r.example.com/m@sha256:' + 'd'.repeat(64), digest: DIGEST }, ...spec },
});

describe('parseOnnxModel', () => {
  it('applies every default in one place (the same as the CRD)', () => {
    const m = parseOnnxModel(obj({}));
    expect(m.spec).toEqual({
      model: { uri: expect.stringMatching(/^oci:/), digest: DIGEST, format: 'onnx' },
      runtime: { accelerator: 'cpu', port: 8080, replicas: 1, sessionOptions: { intraOpThreads: 0, graphOptimizationLevel: 'all', cpuFallback: false } },
      traffic: { provider: 'gatewayAPI' },
      rollout: { steps: [], progressDeadline: '10m', scaleDownDelay: '30s' },
    });
    expect(m.status).toEqual({});
    expect(m.metadata.generation).toBe(3);
  });

  it('defaults GPU placement, signature policy and analysis', () => {
    const m = parseOnnxModel(
      obj({
        runtime: { accelerator: 'gpu' },
        signature: { authorities: [{ keyless: { issuer: 'https://accounts.example.com', subject: 'ci@example.com' } }] },
        rollout: { steps: [{ weight: 10 }], analysis: { slos: [{ name: 'avail', builtin: 'availability', objective: 99.9 }] } },
      }),
    );
    expect(m.spec.runtime.gpu).toEqual({ count: 1, resourceName: 'nvidia.com/gpu' });
    expect(m.spec.signature).toMatchObject({ format: 'sigstore', mode: 'Enforce', threshold: 1, bundle: {} });
    expect(m.spec.rollout.analysis).toMatchObject({ interval: '1m', minRequests: 100, noDataPolicy: 'Inconclusive', compareWithStable: true, maxInconclusive: 10 });
    expect(m.spec.rollout.analysis?.burnRateWindows).toHaveLength(2);
  });

  it('reads noDataPolicy Pass stored before the CRD refused it as Inconclusive (no data never passes), and refuses istio', () => {
    const analysis = (noDataPolicy: string) => ({ steps: [{ weight: 10 }], analysis: { noDataPolicy, slos: [{ name: 'a', builtin: 'availability', objective: 99 }] } });
    expect(parseOnnxModel(obj({ rollout: analysis('Pass') })).spec.rollout.analysis?.noDataPolicy).toBe('Inconclusive');
    expect(parseOnnxModel(obj({ rollout: analysis('Fail') })).spec.rollout.analysis?.noDataPolicy).toBe('Fail');
    expect(() => parseOnnxModel(obj({ rollout: analysis('Maybe') }))).toThrow(/noDataPolicy/);
    expect(() => parseOnnxModel(obj({ traffic: { provider: 'istio' } }))).toThrow(/istio is not supported yet/);
  });

  it('reads spec.runtime.tracing (sampleRatio defaults to 1) and refuses what the runtime could not use, naming the field', () => {
    expect(parseOnnxModel(obj({ runtime: { tracing: { endpoint: 'http://otel-collector.observability:4318' } } })).spec.runtime.tracing).toEqual({ endpoint: 'http://otel-collector.observability:4318', sampleRatio: 1 });
    expect(parseOnnxModel(obj({ runtime: { tracing: { endpoint: 'https://c.example.com/otlp', sampleRatio: 0.05 } } })).spec.runtime.tracing).toEqual({ endpoint: 'https://c.example.com/otlp', sampleRatio: 0.05 });
    expect(parseOnnxModel(obj({})).spec.runtime.tracing).toBeUndefined();
    expect(() => parseOnnxModel(obj({ runtime: { tracing: { sampleRatio: 0.5 } } }))).toThrow(/spec\.runtime\.tracing\.endpoint is required: must be the OTLP\/HTTP base URL/);
    expect(() => parseOnnxModel(obj({ runtime: { tracing: { endpoint: 'otel-collector:4317' } } }))).toThrow(/spec\.runtime\.tracing\.endpoint must be the OTLP\/HTTP base URL .*\(got "otel-collector:4317"\)/);
    expect(() => parseOnnxModel(obj({ runtime: { tracing: { endpoint: 'http://c:4318', sampleRatio: 2 } } }))).toThrow(/spec\.runtime\.tracing\.sampleRatio/);
  });

  it('turns client-node Date timestamps into RFC 3339 strings', () => {
    const m = parseOnnxModel({ ...obj({}, { creationTimestamp: new Date('2026-01-01T00:00:00Z') }), status: { stable: { revision: 'r', digest: DIGEST, since: new Date('2026-01-02T00:00:00Z') } } });
    expect(m.metadata.creationTimestamp).toBe('2026-01-01T00:00:00.000Z');
    expect(m.status.stable?.since).toBe('2026-01-02T00:00:00.000Z');
  });

  it('parses a model whose status is partly invalid, returning the problems next to it', () => {
    const stable = { revision: 'r', digest: DIGEST, since: '2026-01-02T00:00:00Z' };
    const r = safeParseOnnxModel({ ...obj({}), status: { phase: 'Stable', stable, canary: { ...stable, since: 'yesterday' }, currentWeight: -5 } });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.model.status).toStrictEqual({ phase: 'Stable', stable });
    expect(r.statusProblems).toEqual([
      'status.canary.since is not a date-time ("yesterday")',
      'status.canary is dropped: it needs a valid since',
      'status.currentWeight is not an integer in 0..100 (-5)',
    ]);
    expect(safeParseOnnxModel({ ...obj({}), status: 'garbage' })).toMatchObject({ ok: true, model: { status: {} }, statusProblems: ['status is not an object ("garbage")'] });
    expect(safeParseOnnxModel(obj({}))).toMatchObject({ ok: true, statusProblems: [] });
  });

  it.each([
    ['not an object', 'x', 'SPEC_NOT_OBJECT', ''],
    ['missing spec', { metadata: { name: 'a', namespace: 'b', uid: 'c' } }, 'FIELD_REQUIRED', 'spec'],
    ['bad digest', obj({ model: { uri: 'https://x/m', digest: 'sha256:xyz' } }), 'FIELD_PATTERN', 'spec.model.digest'],
    ['http uri', obj({ model: { uri: 'http://x/m', digest: DIGEST } }), 'FIELD_PATTERN', 'spec.model.uri'],
    ['replicas and autoscaling', obj({ runtime: { replicas: 2, autoscaling: { maxReplicas: 3, targetInflight: 2 } } }), 'FIELD_CONFLICT', 'spec.runtime.replicas'],
    ['gpu on cpu', obj({ runtime: { gpu: { count: 1 } } }), 'FIELD_CONFLICT', 'spec.runtime.gpu'],
    ['weights falling', obj({ rollout: { steps: [{ weight: 50 }, { weight: 20 }] } }), 'FIELD_RANGE', 'spec.rollout.steps[1].weight'],
    ['bad duration', obj({ rollout: { progressDeadline: '10 minutes' } }), 'FIELD_PATTERN', 'spec.rollout.progressDeadline'],
    ['short >= long', obj({ rollout: { steps: [{ weight: 5 }], analysis: { slos: [{ name: 'a', builtin: 'availability', objective: 99 }], burnRateWindows: [{ short: '1h', long: '1h', threshold: 2 }] } } }), 'FIELD_RANGE', 'spec.rollout.analysis.burnRateWindows[0]'],
    ['reserved env', obj({ runtime: { env: [{ name: 'PORT', value: '1' }] } }), 'FIELD_CONFLICT', 'spec.runtime.env[0].name'],
    ['keyless subject and regexp', obj({ signature: { authorities: [{ keyless: { issuer: 'i', subject: 's', subjectRegExp: 'r' } }] } }), 'FIELD_CONFLICT', 'spec.signature.authorities[0].keyless'],
    ['bad enum', obj({ traffic: { provider: 'nginx' } }), 'FIELD_ENUM', 'spec.traffic.provider'],
  ])('rejects %s with a coded error naming the field', (_name, input, code, field) => {
    const r = safeParseOnnxModel(input);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error).toBeInstanceOf(OnnxModelSpecError);
    expect(r.error.issues).toContainEqual(expect.objectContaining({ code, field }));
    expect(() => parseOnnxModel(input)).toThrow(OnnxModelSpecError);
  });
});

describe('parseDuration', () => {
  it.each([
    ['30s', 30_000],
    ['1h30m', 5_400_000],
    ['250ms', 250],
    ['10 minutes', undefined],
  ])('%s', (s, ms) => expect(parseDuration(s)).toBe(ms));
});
