// Tracing's configuration, read the standard OpenTelemetry way (the OTEL_* environment variables of
// the OpenTelemetry specification), validated once at start-up: a value the runtime cannot honour is
// a CONFIG_INVALID naming the variable and the fix, never a silent fallback. Tracing is off unless
// an OTLP endpoint is given (or OTEL_TRACES_EXPORTER=otlp asks for the default one); off, nothing of
// the OpenTelemetry SDK is loaded (serve.ts imports it only when this returns a config).
import { OTEL_ENV } from '../../../lib/contract/index.ts';
import { RuntimeError } from '../errors.ts';

export const SAMPLERS = ['always_on', 'always_off', 'traceidratio', 'parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio'] as const;
export type SamplerName = (typeof SAMPLERS)[number];

export interface TracingConfig {
  /** The OTLP/HTTP (protobuf) traces URL, e.g. http://collector:4318/v1/traces. */
  endpoint: string;
  /** Per-export timeout of the OTLP exporter. */
  exportTimeoutMs: number;
  serviceName: string;
  /** Resource attributes (OTEL_RESOURCE_ATTRIBUTES plus service.version = the revision unless given). */
  resourceAttributes: Readonly<Record<string, string>>;
  sampler: SamplerName;
  /** The ratio of the *traceidratio samplers (OTEL_TRACES_SAMPLER_ARG), 0..1. */
  ratio: number;
  /** The batch span processor's bounds: spans beyond maxQueueSize are dropped, never waited for. */
  batch: { maxQueueSize: number; maxExportBatchSize: number; scheduledDelayMs: number; exportTimeoutMs: number };
}

/** The standard variables read here besides those in the contract (the operator never sets these). */
const ENV = {
  sdkDisabled: 'OTEL_SDK_DISABLED',
  tracesExporter: 'OTEL_TRACES_EXPORTER',
  protocol: 'OTEL_EXPORTER_OTLP_PROTOCOL',
  tracesProtocol: 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL',
  timeout: 'OTEL_EXPORTER_OTLP_TIMEOUT',
  tracesTimeout: 'OTEL_EXPORTER_OTLP_TRACES_TIMEOUT',
  bspMaxQueueSize: 'OTEL_BSP_MAX_QUEUE_SIZE',
  bspMaxExportBatchSize: 'OTEL_BSP_MAX_EXPORT_BATCH_SIZE',
  bspScheduleDelay: 'OTEL_BSP_SCHEDULE_DELAY',
  bspExportTimeout: 'OTEL_BSP_EXPORT_TIMEOUT',
} as const;

/** Where OTEL_TRACES_EXPORTER=otlp sends spans when no endpoint is given (the specification's default). */
export const DEFAULT_OTLP_HTTP_ENDPOINT = 'http://localhost:4318';

type Env = Readonly<Record<string, string | undefined>>;

function invalid(name: string, value: string, problem: string): RuntimeError {
  const shown = value.length > 120 ? value.slice(0, 120) + '…' : value;
  return new RuntimeError('CONFIG_INVALID', `${name} ${problem} (got ${JSON.stringify(shown)}); see "Tracing" in docs/runtime.md`);
}

/** A variable's value, with empty treated as unset (as the specification says). */
function read(env: Env, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}

function wholeNumber(env: Env, name: string, dflt: number, min: number, max: number): number {
  const raw = read(env, name);
  if (raw === undefined) return dflt;
  if (!/^\d+$/.test(raw)) throw invalid(name, raw, 'must be a whole number');
  const n = Number(raw);
  if (n < min || n > max) throw invalid(name, raw, `must be between ${min} and ${max}`);
  return n;
}

function url(name: string, raw: string): URL {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw invalid(name, raw, 'must be an http:// or https:// URL, e.g. http://jaeger:4318');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw invalid(name, raw, 'must be an http:// or https:// URL (OTLP over HTTP), e.g. http://jaeger:4318');
  return u;
}

/**
 * OTEL_RESOURCE_ATTRIBUTES: `key=value` pairs separated by commas, values percent-encoded (W3C
 * Baggage octets). Keys must be non-empty; a pair without `=` or a bad escape is an error.
 */
export function parseResourceAttributes(raw: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (raw === undefined || raw.trim() === '') return out;
  for (const pair of raw.split(',')) {
    if (pair.trim() === '') continue;
    const eq = pair.indexOf('=');
    const key = eq === -1 ? '' : pair.slice(0, eq).trim();
    if (eq === -1 || key === '') throw invalid(OTEL_ENV.resourceAttributes, raw, `has "${pair.trim()}", which is not key=value; write key1=value1,key2=value2`);
    let value: string;
    try {
      value = decodeURIComponent(pair.slice(eq + 1).trim());
    } catch {
      throw invalid(OTEL_ENV.resourceAttributes, raw, `has a value for "${key}" that is not valid percent-encoding (encode ",", "=" and "%" as %2C, %3D and %25)`);
    }
    out[key] = value;
  }
  return out;
}

/**
 * Reads tracing's variables. Returns undefined when tracing is off: no endpoint given (the
 * default), OTEL_TRACES_EXPORTER=none or OTEL_SDK_DISABLED=true. Throws CONFIG_INVALID on a value it
 * cannot honour, naming the variable.
 */
export function parseTracingEnv(env: Env, defaults: { serviceName: string; serviceVersion: string }): TracingConfig | undefined {
  const disabled = read(env, ENV.sdkDisabled)?.toLowerCase();
  if (disabled !== undefined && disabled !== 'true' && disabled !== 'false') throw invalid(ENV.sdkDisabled, disabled, 'must be true or false');
  const exporter = read(env, ENV.tracesExporter)?.toLowerCase();
  if (exporter !== undefined && exporter !== 'otlp' && exporter !== 'none') {
    throw invalid(ENV.tracesExporter, exporter, 'must be otlp or none (the runtime exports traces over OTLP only)');
  }
  const specific = read(env, OTEL_ENV.tracesEndpoint);
  const general = read(env, OTEL_ENV.endpoint);
  // Validate what is set even when tracing ends up off: a typo should not wait for the day it is switched on.
  const specificUrl = specific === undefined ? undefined : url(OTEL_ENV.tracesEndpoint, specific);
  const generalUrl = general === undefined ? undefined : url(OTEL_ENV.endpoint, general);
  const sampler = (read(env, OTEL_ENV.sampler)?.toLowerCase() ?? 'parentbased_always_on') as SamplerName;
  if (!SAMPLERS.includes(sampler)) throw invalid(OTEL_ENV.sampler, sampler, `must be one of ${SAMPLERS.join(', ')}`);
  const ratioRaw = read(env, OTEL_ENV.samplerArg);
  let ratio = 1;
  if (ratioRaw !== undefined && sampler.endsWith('traceidratio')) {
    ratio = Number(ratioRaw);
    if (!/^(0(\.\d+)?|1(\.0+)?|\.\d+)$/.test(ratioRaw) || !(ratio >= 0 && ratio <= 1)) {
      throw invalid(OTEL_ENV.samplerArg, ratioRaw, `must be a sampling ratio between 0 and 1 (e.g. 0.25) for ${OTEL_ENV.sampler}=${sampler}`);
    }
  }
  const protocol = read(env, ENV.tracesProtocol) ?? read(env, ENV.protocol);
  if (protocol !== undefined && protocol !== 'http/protobuf') {
    throw invalid(read(env, ENV.tracesProtocol) !== undefined ? ENV.tracesProtocol : ENV.protocol, protocol, 'must be http/protobuf (the runtime exports OTLP over HTTP with protobuf; point it at the collector\'s HTTP port, usually 4318)');
  }
  const resourceAttributes = parseResourceAttributes(env[OTEL_ENV.resourceAttributes]);
  const exportTimeoutMs = wholeNumber(env, ENV.tracesTimeout, wholeNumber(env, ENV.timeout, 10_000, 1, 600_000), 1, 600_000);
  const maxQueueSize = wholeNumber(env, ENV.bspMaxQueueSize, 2048, 1, 1_000_000);
  const maxExportBatchSize = wholeNumber(env, ENV.bspMaxExportBatchSize, 512, 1, 1_000_000);
  if (maxExportBatchSize > maxQueueSize) {
    throw invalid(ENV.bspMaxExportBatchSize, String(maxExportBatchSize), `must not exceed ${ENV.bspMaxQueueSize} (${maxQueueSize})`);
  }
  const scheduledDelayMs = wholeNumber(env, ENV.bspScheduleDelay, 5000, 1, 600_000);
  const bspExportTimeoutMs = wholeNumber(env, ENV.bspExportTimeout, 30_000, 1, 600_000);

  if (disabled === 'true' || exporter === 'none') return undefined;
  let endpoint: string;
  if (specificUrl) endpoint = specificUrl.href;
  else if (generalUrl) endpoint = new URL('v1/traces', generalUrl.href.endsWith('/') ? generalUrl.href : generalUrl.href + '/').href;
  else if (exporter === 'otlp') endpoint = `${DEFAULT_OTLP_HTTP_ENDPOINT}/v1/traces`;
  else return undefined; // the default: no endpoint, no tracing

  const serviceName = read(env, OTEL_ENV.serviceName) ?? resourceAttributes['service.name'] ?? defaults.serviceName;
  return {
    endpoint,
    exportTimeoutMs,
    serviceName,
    resourceAttributes: { 'service.version': defaults.serviceVersion, ...resourceAttributes, 'service.name': serviceName },
    sampler,
    ratio,
    batch: { maxQueueSize, maxExportBatchSize, scheduledDelayMs, exportTimeoutMs: bspExportTimeoutMs },
  };
}
