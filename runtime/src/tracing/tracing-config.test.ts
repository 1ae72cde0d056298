// Tracing's OTEL_* variables as pure input → config (or a CONFIG_INVALID naming the variable).
import { describe, expect, test } from '@jest/globals';
import { parseArgs } from '../config/config.ts';
import { RuntimeError } from '../errors.ts';
import { parseResourceAttributes, parseTracingEnv } from './tracing-config.ts';

const defaults = { serviceName: 'fraud', serviceVersion: 'r7' };
const parse = (env: Record<string, string>) => parseTracingEnv(env, defaults);
const refusal = (env: Record<string, string>): string => {
  try {
    parse(env);
  } catch (err) {
    expect(err).toBeInstanceOf(RuntimeError);
    expect((err as RuntimeError).code).toBe('CONFIG_INVALID');
    return (err as Error).message;
  }
  throw new Error(`accepted ${JSON.stringify(env)}`);
};

describe('tracing configuration (OTEL_* variables)', () => {
  test('off by default, and off when disabled or the exporter is none', () => {
    expect(parse({})).toBeUndefined();
    expect(parse({ OTEL_SERVICE_NAME: 'x', OTEL_TRACES_SAMPLER: 'always_on' })).toBeUndefined();
    expect(parse({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_SDK_DISABLED: 'true' })).toBeUndefined();
    expect(parse({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_TRACES_EXPORTER: 'none' })).toBeUndefined();
  });

  test('the endpoint switches it on: /v1/traces appended to the general one, the traces one used as given', () => {
    expect(parse({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' })?.endpoint).toBe('http://c:4318/v1/traces');
    expect(parse({ OTEL_EXPORTER_OTLP_ENDPOINT: 'https://c:4318/otlp/' })?.endpoint).toBe('https://c:4318/otlp/v1/traces');
    expect(parse({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://t:9999/custom' })?.endpoint).toBe('http://t:9999/custom');
    expect(parse({ OTEL_TRACES_EXPORTER: 'otlp' })?.endpoint).toBe('http://localhost:4318/v1/traces');
  });

  test('defaults: parent-based always-on, the model as service name, the revision as service version, bounded batches', () => {
    const c = parse({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' });
    expect(c).toMatchObject({ sampler: 'parentbased_always_on', ratio: 1, serviceName: 'fraud', exportTimeoutMs: 10_000 });
    expect(c?.resourceAttributes).toEqual({ 'service.name': 'fraud', 'service.version': 'r7' });
    expect(c?.batch).toEqual({ maxQueueSize: 2048, maxExportBatchSize: 512, scheduledDelayMs: 5000, exportTimeoutMs: 30_000 });
  });

  test('service name, resource attributes, sampler and ratio as given', () => {
    const c = parse({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318',
      OTEL_SERVICE_NAME: 'svc',
      OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=prod, team=ml%2Cops,service.version=v9',
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
      OTEL_TRACES_SAMPLER_ARG: '0.25',
    });
    expect(c).toMatchObject({ serviceName: 'svc', sampler: 'parentbased_traceidratio', ratio: 0.25 });
    expect(c?.resourceAttributes).toEqual({ 'service.name': 'svc', 'service.version': 'v9', 'deployment.environment': 'prod', team: 'ml,ops' });
    expect(parse({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_RESOURCE_ATTRIBUTES: 'service.name=from-attrs' })?.serviceName).toBe('from-attrs');
  });

  test('what cannot be honoured is refused, naming the variable', () => {
    const on = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' };
    expect(refusal({ ...on, OTEL_TRACES_SAMPLER: 'always' })).toMatch(/^OTEL_TRACES_SAMPLER must be one of always_on, always_off, traceidratio, parentbased_always_on/);
    expect(refusal({ ...on, OTEL_TRACES_SAMPLER: 'jaeger_remote' })).toMatch(/OTEL_TRACES_SAMPLER/);
    expect(refusal({ ...on, OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '1.5' })).toMatch(/^OTEL_TRACES_SAMPLER_ARG must be a sampling ratio between 0 and 1/);
    expect(refusal({ ...on, OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: 'half' })).toMatch(/OTEL_TRACES_SAMPLER_ARG/);
    expect(refusal({ OTEL_EXPORTER_OTLP_ENDPOINT: 'c:4318' })).toMatch(/^OTEL_EXPORTER_OTLP_ENDPOINT must be an http:\/\/ or https:\/\/ URL/);
    expect(refusal({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'grpc://c:4317' })).toMatch(/^OTEL_EXPORTER_OTLP_TRACES_ENDPOINT/);
    expect(refusal({ ...on, OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' })).toMatch(/^OTEL_EXPORTER_OTLP_PROTOCOL must be http\/protobuf/);
    expect(refusal({ ...on, OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json' })).toMatch(/^OTEL_EXPORTER_OTLP_TRACES_PROTOCOL/);
    expect(refusal({ ...on, OTEL_RESOURCE_ATTRIBUTES: 'team' })).toMatch(/^OTEL_RESOURCE_ATTRIBUTES has "team", which is not key=value/);
    expect(refusal({ ...on, OTEL_RESOURCE_ATTRIBUTES: 'team=%zz' })).toMatch(/^OTEL_RESOURCE_ATTRIBUTES .*percent-encoding/);
    expect(refusal({ ...on, OTEL_TRACES_EXPORTER: 'zipkin' })).toMatch(/^OTEL_TRACES_EXPORTER must be otlp or none/);
    expect(refusal({ ...on, OTEL_SDK_DISABLED: 'maybe' })).toMatch(/^OTEL_SDK_DISABLED/);
    expect(refusal({ ...on, OTEL_BSP_MAX_QUEUE_SIZE: '-1' })).toMatch(/^OTEL_BSP_MAX_QUEUE_SIZE must be a whole number/);
    expect(refusal({ ...on, OTEL_BSP_MAX_QUEUE_SIZE: '10', OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '20' })).toMatch(/^OTEL_BSP_MAX_EXPORT_BATCH_SIZE must not exceed OTEL_BSP_MAX_QUEUE_SIZE/);
    // A bad value is refused even while tracing is off: the typo shows before the day it is switched on.
    expect(refusal({ OTEL_TRACES_SAMPLER: 'sometimes' })).toMatch(/OTEL_TRACES_SAMPLER/);
  });

  test('resource attributes: empty pairs skipped, values percent-decoded', () => {
    expect(parseResourceAttributes(undefined)).toEqual({});
    expect(parseResourceAttributes('a=1,,b=x%3Dy')).toEqual({ a: '1', b: 'x=y' });
  });

  test('onnx-runtime serve reads them from its environment into config.tracing', () => {
    const args = ['serve', '--model-name=fraud', '--model-uri=/m.onnx', `--model-digest=sha256:${'0'.repeat(64)}`, '--revision=r2'];
    const off = parseArgs(args, {});
    expect(off.command === 'serve' && off.config.tracing).toBeUndefined();
    const on = parseArgs(args, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://jaeger:4318', OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.5' });
    expect(on.command === 'serve' && on.config.tracing).toMatchObject({ endpoint: 'http://jaeger:4318/v1/traces', serviceName: 'fraud', sampler: 'traceidratio', ratio: 0.5, resourceAttributes: { 'service.version': 'r2' } });
    expect(() => parseArgs(args, { OTEL_TRACES_SAMPLER: 'nope' })).toThrow(/OTEL_TRACES_SAMPLER must be one of/);
  });
});
