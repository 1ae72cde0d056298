// parseOnnxModel: the one gate between the API server and the core. The CRD already validated the
// object, but an object written under an older CRD (or by hand in a test) must not crash the core,
// so the shape is checked again here and every default is applied in this one place (the same
// defaults as the CRD, plus the ones the CRD cannot express, e.g. replicas-unless-autoscaling).
// Status is checked too (parse-status.ts), but a bad status never fails the parse: its problems
// come back next to the model.
import { SHADOW_DIFFERENCE_BUCKETS } from '../../../lib/contract/index.ts';
import { DEFAULT_GPU_RESOURCE, DEFAULT_PORT } from './constants.ts';
import { OnnxModelSpecError, type SpecErrorCode, type SpecIssue } from './errors.ts';
import { parseStatus } from './parse-status.ts';
import type {
  AnalysisSpec,
  BurnRateWindow,
  EnvVar,
  GpuSpec,
  KeySelectorRef,
  ModelSpec,
  ObjectMeta,
  OnnxModel,
  OnnxModelSpec,
  ParentRef,
  QualityGates,
  RolloutSpec,
  RolloutStep,
  RuntimeSpec,
  SignatureAuthority,
  SignatureSpec,
  SloSpec,
  Toleration,
  TrafficSpec,
} from './types.ts';

export { parseStatus, type StatusParse } from './parse-status.ts';

/** `statusProblems`: the status values dropped as invalid (see parseStatus), for the caller to log. */
export type ParseResult = { ok: true; model: OnnxModel; statusProblems: string[] } | { ok: false; error: OnnxModelSpecError };

/** Validates an OnnxModel as read from the API server and applies defaults; throws OnnxModelSpecError. */
export function parseOnnxModel(u: unknown): OnnxModel {
  const r = safeParseOnnxModel(u);
  if (!r.ok) throw r.error;
  return r.model;
}

export function safeParseOnnxModel(u: unknown): ParseResult {
  const p = new Parser();
  const model = p.model(u);
  if (p.issues.length > 0 || !model) return { ok: false, error: new OnnxModelSpecError(p.issues) };
  return { ok: true, model, statusProblems: p.statusProblems };
}

export const DURATION_PATTERN = /^([0-9]+(ms|s|m|h))+$/;
const DIGEST_PATTERN = /^sha256:[a-f0-9]{64}$/;
const URI_SCHEMES = ['https://', 'oci://', 'pvc://', 'file:///'];

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Go-style duration ("1h30m", "250ms") in milliseconds; undefined when malformed. */
export function parseDuration(s: string): number | undefined {
  if (!DURATION_PATTERN.test(s)) return undefined;
  const unit: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let total = 0;
  for (const m of s.matchAll(/([0-9]+)(ms|s|m|h)/g)) total += Number(m[1]) * (unit[m[2] ?? ''] ?? 0);
  return total;
}

class Parser {
  readonly issues: SpecIssue[] = [];
  statusProblems: string[] = [];

  fail(code: SpecErrorCode, field: string, message: string): undefined {
    this.issues.push({ code, field, message });
    return undefined;
  }

  obj(v: unknown, field: string, required = false): Obj | undefined {
    if (v === undefined || v === null) return required ? this.fail('FIELD_REQUIRED', field, `${field} is required`) : undefined;
    if (!isObj(v)) return this.fail('FIELD_TYPE', field, `${field} must be an object`);
    return v;
  }

  str(o: Obj, key: string, field: string, opts: { required?: boolean; pattern?: RegExp; hint?: string; enum?: readonly string[] } = {}): string | undefined {
    const v = o[key];
    const f = `${field}.${key}`;
    if (v === undefined || v === null) return opts.required ? this.fail('FIELD_REQUIRED', f, `${f} is required${opts.hint ? `: ${opts.hint}` : ''}`) : undefined;
    if (typeof v !== 'string') return this.fail('FIELD_TYPE', f, `${f} must be a string`);
    if (opts.enum && !opts.enum.includes(v)) return this.fail('FIELD_ENUM', f, `${f} must be one of ${opts.enum.join(', ')} (got ${JSON.stringify(v)})`);
    if (opts.pattern && !opts.pattern.test(v)) return this.fail('FIELD_PATTERN', f, `${f} ${opts.hint ?? `must match ${opts.pattern.source}`} (got ${JSON.stringify(v)})`);
    return v;
  }

  num(o: Obj, key: string, field: string, opts: { required?: boolean; int?: boolean; min?: number; max?: number; exclusiveMin?: boolean; exclusiveMax?: boolean } = {}): number | undefined {
    const v = o[key];
    const f = `${field}.${key}`;
    if (v === undefined || v === null) return opts.required ? this.fail('FIELD_REQUIRED', f, `${f} is required`) : undefined;
    if (typeof v !== 'number' || !Number.isFinite(v) || (opts.int && !Number.isInteger(v))) {
      return this.fail('FIELD_TYPE', f, `${f} must be ${opts.int ? 'a whole number' : 'a number'}`);
    }
    const lowOk = opts.min === undefined || (opts.exclusiveMin ? v > opts.min : v >= opts.min);
    const highOk = opts.max === undefined || (opts.exclusiveMax ? v < opts.max : v <= opts.max);
    if (!lowOk || !highOk) return this.fail('FIELD_RANGE', f, `${f} must be within ${opts.min ?? '-∞'}..${opts.max ?? '∞'} (got ${v})`);
    return v;
  }

  bool(o: Obj, key: string, field: string): boolean | undefined {
    const v = o[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'boolean') return this.fail('FIELD_TYPE', `${field}.${key}`, `${field}.${key} must be true or false`);
    return v;
  }

  duration(o: Obj, key: string, field: string, dflt?: string): string | undefined {
    return this.str(o, key, field, { pattern: DURATION_PATTERN, hint: 'must be a Go duration such as 30s, 5m or 1h30m' }) ?? dflt;
  }

  arr(v: unknown, field: string): unknown[] | undefined {
    if (v === undefined || v === null) return undefined;
    if (!Array.isArray(v)) return this.fail('FIELD_TYPE', field, `${field} must be a list`);
    return v;
  }

  list<T>(v: unknown, field: string, each: (item: Obj, field: string) => T | undefined): T[] | undefined {
    const a = this.arr(v, field);
    if (!a) return undefined;
    const out: T[] = [];
    a.forEach((item, i) => {
      const o = this.obj(item, `${field}[${i}]`, true);
      const t = o && each(o, `${field}[${i}]`);
      if (t !== undefined) out.push(t);
    });
    return out;
  }

  stringList(v: unknown, field: string): string[] | undefined {
    const a = this.arr(v, field);
    if (!a) return undefined;
    return a.filter((x, i) => (typeof x === 'string' ? true : (this.fail('FIELD_TYPE', `${field}[${i}]`, `${field}[${i}] must be a string`), false))) as string[];
  }

  stringMap(v: unknown, field: string): Record<string, string> | undefined {
    const o = this.obj(v, field);
    if (!o) return undefined;
    const out: Record<string, string> = {};
    for (const [k, x] of Object.entries(o)) {
      if (typeof x === 'string') out[k] = x;
      else this.fail('FIELD_TYPE', `${field}.${k}`, `${field}.${k} must be a string (quote numbers and booleans)`);
    }
    return out;
  }

  quantityMap(v: unknown, field: string): Record<string, string | number> | undefined {
    const o = this.obj(v, field);
    if (!o) return undefined;
    const out: Record<string, string | number> = {};
    for (const [k, x] of Object.entries(o)) {
      if (typeof x === 'string' || typeof x === 'number') out[k] = x;
      else this.fail('FIELD_TYPE', `${field}.${k}`, `${field}.${k} must be a quantity such as "500m" or "1Gi"`);
    }
    return out;
  }

  /** Timestamps may arrive as Date objects from client-node; the core wants RFC 3339 strings. */
  time(v: unknown): string | undefined {
    if (v instanceof Date) return v.toISOString();
    return typeof v === 'string' ? v : undefined;
  }

  // ------------------------------------------------------------ the object

  model(u: unknown): OnnxModel | undefined {
    if (!isObj(u)) return this.fail('SPEC_NOT_OBJECT', '', `an OnnxModel must be a JSON object (got ${Array.isArray(u) ? 'an array' : typeof u})`);
    const root = u;
    const meta = this.metadata(root['metadata']);
    const specObj = this.obj(root['spec'], 'spec', true);
    const spec = specObj && this.spec(specObj);
    const { status, problems } = parseStatus(root['status']);
    this.statusProblems = problems;
    if (!meta || !spec) return undefined;
    return {
      apiVersion: typeof root['apiVersion'] === 'string' ? root['apiVersion'] : '',
      kind: typeof root['kind'] === 'string' ? root['kind'] : '',
      metadata: meta,
      spec,
      status,
    };
  }

  metadata(v: unknown): ObjectMeta | undefined {
    const o = this.obj(v, 'metadata', true);
    if (!o) return undefined;
    const name = this.str(o, 'name', 'metadata', { required: true });
    const namespace = this.str(o, 'namespace', 'metadata', { required: true });
    const uid = this.str(o, 'uid', 'metadata', { required: true, hint: 'objects from the API server always have one' });
    const generation = this.num(o, 'generation', 'metadata', { int: true, min: 0 }) ?? 1;
    if (name === undefined || namespace === undefined || uid === undefined) return undefined;
    const meta: ObjectMeta = { name, namespace, uid, generation };
    const rv = this.str(o, 'resourceVersion', 'metadata');
    if (rv !== undefined) meta.resourceVersion = rv;
    const labels = this.stringMap(o['labels'], 'metadata.labels');
    if (labels) meta.labels = labels;
    const annotations = this.stringMap(o['annotations'], 'metadata.annotations');
    if (annotations) meta.annotations = annotations;
    const created = this.time(o['creationTimestamp']);
    if (created) meta.creationTimestamp = created;
    const deleted = this.time(o['deletionTimestamp']);
    if (deleted) meta.deletionTimestamp = deleted;
    return meta;
  }

  spec(o: Obj): OnnxModelSpec | undefined {
    const model = this.modelSpec(this.obj(o['model'], 'spec.model', true));
    const sigObj = this.obj(o['signature'], 'spec.signature');
    const signature = sigObj && this.signature(sigObj);
    const runtime = this.runtime(this.obj(o['runtime'], 'spec.runtime') ?? {});
    const traffic = this.traffic(this.obj(o['traffic'], 'spec.traffic') ?? {});
    const rollout = this.rollout(this.obj(o['rollout'], 'spec.rollout') ?? {});
    if (!model || !runtime || !traffic || !rollout) return undefined;
    this.shadowSteps(traffic, rollout);
    const spec: OnnxModelSpec = { model, runtime, traffic, rollout };
    if (signature) spec.signature = signature;
    return spec;
  }

  modelSpec(o: Obj | undefined): ModelSpec | undefined {
    if (!o) return undefined;
    const f = 'spec.model';
    const uri = this.str(o, 'uri', f, { required: true });
    if (uri !== undefined && !URI_SCHEMES.some((s) => uri.startsWith(s))) {
      this.fail('FIELD_PATTERN', `${f}.uri`, `${f}.uri must start with https://, oci://, pvc://<claim>/<path> or file:///<path> (got ${JSON.stringify(uri)})`);
    }
    if (uri?.startsWith('pvc://') && !/^pvc:\/\/[a-z0-9]([-a-z0-9]*[a-z0-9])?\/[^/].*$/.test(uri)) {
      this.fail('FIELD_PATTERN', `${f}.uri`, `${f}.uri with pvc:// must look like pvc://<claim name>/<path inside the claim>`);
    }
    const digest = this.str(o, 'digest', f, { required: true, pattern: DIGEST_PATTERN, hint: 'must be sha256:<64 lowercase hex>, e.g. sha256:$(sha256sum model.onnx | cut -c1-64)' });
    this.str(o, 'format', f, { enum: ['onnx'] });
    const name = this.str(o, 'name', f, { pattern: /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, hint: 'must be 1-128 letters, digits, ".", "_" or "-"' });
    if (uri === undefined || digest === undefined) return undefined;
    const out: ModelSpec = { uri, digest, format: 'onnx' };
    if (name !== undefined) out.name = name;
    return out;
  }

  keyRef(v: unknown, field: string, required = false): KeySelectorRef | undefined {
    const o = this.obj(v, field, required);
    if (!o) return undefined;
    const name = this.str(o, 'name', field, { required: true });
    const key = this.str(o, 'key', field);
    if (name === undefined) return undefined;
    return key === undefined ? { name } : { name, key };
  }

  signature(o: Obj): SignatureSpec | undefined {
    const f = 'spec.signature';
    const format = (this.str(o, 'format', f, { enum: ['sigstore', 'modelSigning'] }) ?? 'sigstore') as SignatureSpec['format'];
    const mode = (this.str(o, 'mode', f, { enum: ['Enforce', 'Audit'] }) ?? 'Enforce') as SignatureSpec['mode'];
    const threshold = this.num(o, 'threshold', f, { int: true, min: 1 }) ?? 1;
    const b = this.obj(o['bundle'], `${f}.bundle`) ?? {};
    const bundle: SignatureSpec['bundle'] = {};
    const bundleUri = this.str(b, 'uri', `${f}.bundle`);
    if (bundleUri !== undefined) bundle.uri = bundleUri;
    const cm = this.keyRef(b['configMapRef'], `${f}.bundle.configMapRef`);
    if (cm) bundle.configMapRef = cm;
    const sec = this.keyRef(b['secretRef'], `${f}.bundle.secretRef`);
    if (sec) bundle.secretRef = sec;
    if (Object.keys(bundle).length > 1) this.fail('FIELD_CONFLICT', `${f}.bundle`, `${f}.bundle takes one of uri, configMapRef or secretRef; remove the others`);
    const authorities = this.list(o['authorities'], `${f}.authorities`, (a, af) => this.authority(a, af)) ?? [];
    if (authorities.length === 0) this.fail('FIELD_REQUIRED', `${f}.authorities`, `${f}.authorities needs at least one key, keyless identity or certificate`);
    if (threshold > Math.max(authorities.length, 1)) this.fail('FIELD_RANGE', `${f}.threshold`, `${f}.threshold must not exceed the number of authorities; lower it or add authorities`);
    return { format, bundle, authorities, threshold, mode };
  }

  authority(o: Obj, f: string): SignatureAuthority | undefined {
    const out: SignatureAuthority = {};
    const name = this.str(o, 'name', f);
    if (name !== undefined) out.name = name;
    const key = this.obj(o['key'], `${f}.key`);
    if (key) {
      const secretRef = this.keyRef(key['secretRef'], `${f}.key.secretRef`, true);
      if (secretRef) out.key = { secretRef };
    }
    const kl = this.obj(o['keyless'], `${f}.keyless`);
    if (kl) {
      const issuer = this.str(kl, 'issuer', `${f}.keyless`, { required: true });
      const subject = this.str(kl, 'subject', `${f}.keyless`);
      const subjectRegExp = this.str(kl, 'subjectRegExp', `${f}.keyless`);
      if ((subject === undefined) === (subjectRegExp === undefined)) this.fail('FIELD_CONFLICT', `${f}.keyless`, `${f}.keyless needs exactly one of subject or subjectRegExp`);
      const trustedRootRef = this.keyRef(kl['trustedRootRef'], `${f}.keyless.trustedRootRef`);
      if (issuer !== undefined) {
        out.keyless = { issuer };
        if (subject !== undefined) out.keyless.subject = subject;
        if (subjectRegExp !== undefined) out.keyless.subjectRegExp = subjectRegExp;
        if (trustedRootRef) out.keyless.trustedRootRef = trustedRootRef;
      }
    }
    const cert = this.obj(o['certificate'], `${f}.certificate`);
    if (cert) {
      const caSecretRef = this.keyRef(cert['caSecretRef'], `${f}.certificate.caSecretRef`, true);
      if (caSecretRef) out.certificate = { caSecretRef };
    }
    const kinds = [key, kl, cert].filter(Boolean).length;
    if (kinds !== 1) return this.fail('FIELD_CONFLICT', f, `${f} needs exactly one of key, keyless or certificate`);
    return out;
  }

  tolerations(v: unknown, field: string): Toleration[] | undefined {
    return this.list(v, field, (o, f) => {
      const t: Toleration = {};
      const key = this.str(o, 'key', f);
      if (key !== undefined) t.key = key;
      const op = this.str(o, 'operator', f, { enum: ['Exists', 'Equal'] });
      if (op !== undefined) t.operator = op as Toleration['operator'];
      const value = this.str(o, 'value', f);
      if (value !== undefined) t.value = value;
      const effect = this.str(o, 'effect', f, { enum: ['NoSchedule', 'PreferNoSchedule', 'NoExecute'] });
      if (effect !== undefined) t.effect = effect as Toleration['effect'];
      const secs = this.num(o, 'tolerationSeconds', f, { int: true });
      if (secs !== undefined) t.tolerationSeconds = secs;
      return t;
    });
  }

  runtime(o: Obj): RuntimeSpec | undefined {
    const f = 'spec.runtime';
    const accelerator = (this.str(o, 'accelerator', f, { enum: ['cpu', 'gpu'] }) ?? 'cpu') as RuntimeSpec['accelerator'];
    const port = this.num(o, 'port', f, { int: true, min: 1024, max: 65535 }) ?? DEFAULT_PORT;
    const so = this.obj(o['sessionOptions'], `${f}.sessionOptions`) ?? {};
    const sf = `${f}.sessionOptions`;
    const sessionOptions: RuntimeSpec['sessionOptions'] = {
      intraOpThreads: this.num(so, 'intraOpThreads', sf, { int: true, min: 0, max: 1024 }) ?? 0,
      graphOptimizationLevel: (this.str(so, 'graphOptimizationLevel', sf, { enum: ['disabled', 'basic', 'extended', 'all'] }) ?? 'all') as RuntimeSpec['sessionOptions']['graphOptimizationLevel'],
      cpuFallback: this.bool(so, 'cpuFallback', sf) ?? false,
    };
    const ep = this.str(so, 'executionProvider', sf, { enum: ['cpu', 'cuda'] });
    if (ep !== undefined) sessionOptions.executionProvider = ep as 'cpu' | 'cuda';
    if (ep === 'cuda' && accelerator !== 'gpu') this.fail('FIELD_CONFLICT', `${sf}.executionProvider`, `${sf}.executionProvider: cuda needs ${f}.accelerator: gpu`);
    if (sessionOptions.cpuFallback && accelerator !== 'gpu') this.fail('FIELD_CONFLICT', `${sf}.cpuFallback`, `${sf}.cpuFallback only applies with ${f}.accelerator: gpu; remove it`);

    const out: RuntimeSpec = { accelerator, port, sessionOptions };
    const baseline = this.obj(o['baselineProfile'], `${f}.baselineProfile`);
    if (baseline) {
      const configMapRef = this.keyRef(baseline['configMapRef'], `${f}.baselineProfile.configMapRef`, true);
      if (configMapRef) out.baselineProfile = { configMapRef };
    }
    const image = this.str(o, 'image', f);
    if (image !== undefined) out.image = image;

    const replicas = this.num(o, 'replicas', f, { int: true, min: 0, max: 1000 });
    const as = this.obj(o['autoscaling'], `${f}.autoscaling`);
    if (replicas !== undefined && as) this.fail('FIELD_CONFLICT', `${f}.replicas`, `${f}.replicas and ${f}.autoscaling are mutually exclusive; remove one`);
    if (as) {
      const af = `${f}.autoscaling`;
      const minReplicas = this.num(as, 'minReplicas', af, { int: true, min: 1 }) ?? 1;
      const maxReplicas = this.num(as, 'maxReplicas', af, { int: true, min: 1, max: 1000, required: true });
      const targetCPUUtilization = this.num(as, 'targetCPUUtilization', af, { int: true, min: 1, max: 100 });
      const targetInflight = this.num(as, 'targetInflight', af, { int: true, min: 1 });
      if (maxReplicas !== undefined && minReplicas > maxReplicas) this.fail('FIELD_RANGE', `${af}.minReplicas`, `${af}.minReplicas must not exceed maxReplicas`);
      if (targetCPUUtilization === undefined && targetInflight === undefined) this.fail('FIELD_REQUIRED', af, `${af} needs targetCPUUtilization or targetInflight (or both)`);
      if (maxReplicas !== undefined) {
        out.autoscaling = { minReplicas, maxReplicas };
        if (targetCPUUtilization !== undefined) out.autoscaling.targetCPUUtilization = targetCPUUtilization;
        if (targetInflight !== undefined) out.autoscaling.targetInflight = targetInflight;
      }
    } else {
      out.replicas = replicas ?? 1;
    }

    const res = this.obj(o['resources'], `${f}.resources`);
    if (res) {
      out.resources = {};
      const requests = this.quantityMap(res['requests'], `${f}.resources.requests`);
      if (requests) out.resources.requests = requests;
      const limits = this.quantityMap(res['limits'], `${f}.resources.limits`);
      if (limits) out.resources.limits = limits;
    }

    const gpu = this.obj(o['gpu'], `${f}.gpu`);
    if (gpu && accelerator !== 'gpu') this.fail('FIELD_CONFLICT', `${f}.gpu`, `${f}.gpu is only allowed with ${f}.accelerator: gpu; set accelerator: gpu or remove gpu`);
    if (accelerator === 'gpu') {
      const g = gpu ?? {};
      const gs: GpuSpec = {
        count: this.num(g, 'count', `${f}.gpu`, { int: true, min: 1, max: 16 }) ?? 1,
        resourceName: this.str(g, 'resourceName', `${f}.gpu`) ?? DEFAULT_GPU_RESOURCE,
      };
      const ns = this.stringMap(g['nodeSelector'], `${f}.gpu.nodeSelector`);
      if (ns) gs.nodeSelector = ns;
      const tol = this.tolerations(g['tolerations'], `${f}.gpu.tolerations`);
      if (tol) gs.tolerations = tol;
      out.gpu = gs;
    }

    const nodeSelector = this.stringMap(o['nodeSelector'], `${f}.nodeSelector`);
    if (nodeSelector) out.nodeSelector = nodeSelector;
    const tolerations = this.tolerations(o['tolerations'], `${f}.tolerations`);
    if (tolerations) out.tolerations = tolerations;

    const b = this.obj(o['batching'], `${f}.batching`);
    if (b) {
      out.batching = {
        maxBatchSize: this.num(b, 'maxBatchSize', `${f}.batching`, { int: true, min: 1, max: 65536 }) ?? 8,
        maxQueueDelayMs: this.num(b, 'maxQueueDelayMs', `${f}.batching`, { int: true, min: 0, max: 10000 }) ?? 2,
      };
    }

    const env = this.list(o['env'], `${f}.env`, (e, ef) => this.envVar(e, ef));
    if (env) out.env = env;
    const t = this.obj(o['tracing'], `${f}.tracing`);
    if (t) {
      const tf = `${f}.tracing`;
      const endpoint = this.str(t, 'endpoint', tf, { required: true, pattern: /^https?:\/\/[^\s/?#]+(\/[^\s?#]*)?$/, hint: 'must be the OTLP/HTTP base URL of a collector (http:// or https://, no query), e.g. http://otel-collector.observability:4318' });
      const sampleRatio = this.num(t, 'sampleRatio', tf, { min: 0, max: 1 }) ?? 1;
      if (endpoint !== undefined) out.tracing = { endpoint, sampleRatio };
    }
    return out;
  }

  envVar(o: Obj, f: string): EnvVar | undefined {
    const name = this.str(o, 'name', f, { required: true, pattern: /^[A-Za-z_][A-Za-z0-9_]*$/, hint: 'must be a valid environment variable name' });
    if (name === undefined) return undefined;
    if (name === 'PORT' || name.startsWith('ONNXOP_')) {
      return this.fail('FIELD_CONFLICT', `${f}.name`, `${f}.name must not be PORT or start with ONNXOP_: those are set by the operator from spec.runtime`);
    }
    const out: EnvVar = { name };
    const value = this.str(o, 'value', f);
    if (value !== undefined) out.value = value;
    const vf = this.obj(o['valueFrom'], `${f}.valueFrom`);
    if (vf) {
      if (value !== undefined) this.fail('FIELD_CONFLICT', f, `${f} takes value or valueFrom, not both`);
      const ref = (k: string) => {
        const r = this.obj(vf[k], `${f}.valueFrom.${k}`);
        if (!r) return undefined;
        const rn = this.str(r, 'name', `${f}.valueFrom.${k}`, { required: true });
        const rk = this.str(r, 'key', `${f}.valueFrom.${k}`, { required: true });
        const opt = this.bool(r, 'optional', `${f}.valueFrom.${k}`);
        if (rn === undefined || rk === undefined) return undefined;
        return opt === undefined ? { name: rn, key: rk } : { name: rn, key: rk, optional: opt };
      };
      const secretKeyRef = ref('secretKeyRef');
      const configMapKeyRef = ref('configMapKeyRef');
      if (!secretKeyRef === !configMapKeyRef) this.fail('FIELD_CONFLICT', `${f}.valueFrom`, `${f}.valueFrom needs exactly one of secretKeyRef or configMapKeyRef`);
      out.valueFrom = secretKeyRef ? { secretKeyRef } : configMapKeyRef ? { configMapKeyRef } : {};
    }
    return out;
  }

  traffic(o: Obj): TrafficSpec | undefined {
    const f = 'spec.traffic';
    const raw = this.str(o, 'provider', f, { enum: ['gatewayAPI', 'istio', 'none'] }) ?? 'gatewayAPI';
    if (raw === 'istio') this.fail('FIELD_ENUM', `${f}.provider`, `${f}.provider: istio is not supported yet; use gatewayAPI (an operator-owned HTTPRoute) or none (replica ratio)`);
    const provider: TrafficSpec['provider'] = raw === 'none' ? 'none' : 'gatewayAPI';
    const out: TrafficSpec = { provider };
    const g = this.obj(o['gatewayAPI'], `${f}.gatewayAPI`);
    if (g) {
      if (provider !== 'gatewayAPI') this.fail('FIELD_CONFLICT', `${f}.gatewayAPI`, `${f}.gatewayAPI is only used with ${f}.provider: gatewayAPI; remove it or change provider`);
      out.gatewayAPI = {};
      const parentRefs = this.list(g['parentRefs'], `${f}.gatewayAPI.parentRefs`, (p, pf) => {
        const name = this.str(p, 'name', pf, { required: true });
        if (name === undefined) return undefined;
        const ref: ParentRef = { name };
        for (const k of ['group', 'kind', 'namespace', 'sectionName'] as const) {
          const s = this.str(p, k, pf);
          if (s !== undefined) ref[k] = s;
        }
        const port = this.num(p, 'port', pf, { int: true, min: 1, max: 65535 });
        if (port !== undefined) ref.port = port;
        return ref;
      });
      if (parentRefs) out.gatewayAPI.parentRefs = parentRefs;
      const hostnames = this.stringList(g['hostnames'], `${f}.gatewayAPI.hostnames`);
      if (hostnames) out.gatewayAPI.hostnames = hostnames;
      const pathPrefix = this.str(g, 'pathPrefix', `${f}.gatewayAPI`, { pattern: /^\//, hint: 'must start with /' });
      if (pathPrefix !== undefined) out.gatewayAPI.pathPrefix = pathPrefix;
    }
    return out;
  }

  rollout(o: Obj): RolloutSpec | undefined {
    const f = 'spec.rollout';
    const steps =
      this.list(o['steps'], `${f}.steps`, (s, sf): RolloutStep | undefined => {
        const weight = this.num(s, 'weight', sf, { int: true, min: 1, max: 100 });
        const shadow = this.num(s, 'shadow', sf, { int: true, min: 1, max: 100 });
        const pause = this.duration(s, 'pause', sf);
        if ((weight === undefined) === (shadow === undefined)) {
          if (s['weight'] === undefined && s['shadow'] === undefined) {
            return this.fail('FIELD_REQUIRED', `${sf}.weight`, `${sf} needs exactly one of weight (a share of traffic answered by the canary, e.g. weight: 20) or shadow (a share of requests mirrored to the canary and answered by stable, e.g. shadow: 20)`);
          }
          if (weight !== undefined) return this.fail('FIELD_CONFLICT', sf, `${sf} has both weight and shadow; a step either sends the canary traffic (weight) or mirrors it (shadow): split it into two steps`);
          return undefined;
        }
        const step: RolloutStep = weight !== undefined ? { weight } : { shadow: shadow as number };
        if (pause !== undefined) step.pause = pause;
        return step;
      }) ?? [];
    let lastWeight: number | undefined;
    steps.forEach((s, i) => {
      if (s.weight === undefined) {
        if (lastWeight !== undefined) this.fail('FIELD_CONFLICT', `${f}.steps[${i}].shadow`, `${f}.steps[${i}] is a shadow step after a weight step; shadow steps come first (mirror, then send the canary real traffic), e.g. [{shadow: 20, pause: 5m}, {weight: 10, pause: 5m}, {weight: 50}]`);
        return;
      }
      if (lastWeight !== undefined && s.weight <= lastWeight) this.fail('FIELD_RANGE', `${f}.steps[${i}].weight`, `${f}.steps[].weight must rise strictly from step to step (e.g. 5, 25, 50, 100)`);
      lastWeight = s.weight;
    });
    const out: RolloutSpec = {
      steps,
      progressDeadline: this.duration(o, 'progressDeadline', f, '10m') ?? '10m',
      scaleDownDelay: this.duration(o, 'scaleDownDelay', f, '30s') ?? '30s',
    };
    const a = this.obj(o['analysis'], `${f}.analysis`);
    if (a) {
      if (steps.length === 0) this.fail('FIELD_REQUIRED', `${f}.steps`, `${f}.analysis needs ${f}.steps to analyse; add steps or remove analysis`);
      const analysis = this.analysis(a);
      if (analysis) out.analysis = analysis;
    }
    return out;
  }

  analysis(o: Obj): AnalysisSpec | undefined {
    const f = 'spec.rollout.analysis';
    const slos = this.list(o['slos'], `${f}.slos`, (s, sf) => this.slo(s, sf)) ?? [];
    if (slos.length === 0) this.fail('FIELD_REQUIRED', `${f}.slos`, `${f}.slos needs at least one SLO, e.g. {name: availability, builtin: availability, objective: 99.9}`);
    const windows =
      this.list(o['burnRateWindows'], `${f}.burnRateWindows`, (w, wf): BurnRateWindow | undefined => {
        const short = this.duration(w, 'short', wf);
        const long = this.duration(w, 'long', wf);
        const threshold = this.num(w, 'threshold', wf, { min: 1, required: true });
        if (short === undefined || long === undefined || threshold === undefined) {
          if (short === undefined || long === undefined) this.fail('FIELD_REQUIRED', wf, `${wf} needs short and long windows`);
          return undefined;
        }
        if ((parseDuration(short) ?? 0) >= (parseDuration(long) ?? 0)) this.fail('FIELD_RANGE', wf, `${wf}: short must be shorter than long (e.g. short 5m, long 1h)`);
        return { short, long, threshold };
      }) ?? DEFAULT_BURN_RATE_WINDOWS.map((w) => ({ ...w }));
    return {
      interval: this.duration(o, 'interval', f, '1m') ?? '1m',
      initialDelay: this.duration(o, 'initialDelay', f, '0s') ?? '0s',
      slos,
      burnRateWindows: windows,
      minRequests: this.num(o, 'minRequests', f, { int: true, min: 0 }) ?? 100,
      // Pass is no longer accepted by the CRD (no data never passes); an object stored before that
      // still reconciles, with Pass read as Inconclusive.
      noDataPolicy: (this.str(o, 'noDataPolicy', f, { enum: ['Inconclusive', 'Fail', 'Pass'] }) ?? 'Inconclusive') === 'Fail' ? 'Fail' : 'Inconclusive',
      compareWithStable: this.bool(o, 'compareWithStable', f) ?? true,
      maxInconclusive: this.num(o, 'maxInconclusive', f, { int: true, min: 0 }) ?? DEFAULT_MAX_INCONCLUSIVE,
      maxErrors: this.num(o, 'maxErrors', f, { int: true, min: 1 }) ?? 3,
      ...this.quality(o, f),
    };
  }

  quality(o: Obj, parent: string): { quality?: QualityGates } {
    const f = `${parent}.quality`;
    const q = this.obj(o['quality'], f);
    if (!q) return {};
    const out: QualityGates = {};
    const p = this.obj(q['predictions'], `${f}.predictions`);
    if (p) {
      const pf = `${f}.predictions`;
      out.predictions = { maxPSI: this.num(p, 'maxPSI', pf, { min: 0, exclusiveMin: true }) ?? 0.2, minSamples: this.num(p, 'minSamples', pf, { int: true, min: 1 }) ?? 200 };
    }
    const g = this.obj(q['groundTruth'], `${f}.groundTruth`);
    if (g) {
      const gf = `${f}.groundTruth`;
      out.groundTruth = {
        maxAccuracyDrop: this.num(g, 'maxAccuracyDrop', gf, { min: 0, max: 100 }) ?? 2,
        maxErrorIncrease: this.num(g, 'maxErrorIncrease', gf, { min: 0 }) ?? 10,
        minLabels: this.num(g, 'minLabels', gf, { int: true, min: 1 }) ?? 200,
      };
      const maxWait = this.duration(g, 'maxWait', gf);
      if (maxWait !== undefined) out.groundTruth.maxWait = maxWait;
    }
    const a = this.obj(q['agreement'], `${f}.agreement`);
    if (a) {
      const af = `${f}.agreement`;
      out.agreement = { minAgreement: this.num(a, 'minAgreement', af, { min: 0, max: 100, exclusiveMax: true }) ?? 99, minSamples: this.num(a, 'minSamples', af, { int: true, min: 1 }) ?? 200 };
      const tolerance = this.num(a, 'tolerance', af);
      if (tolerance !== undefined) {
        if (!SHADOW_DIFFERENCE_BUCKETS.includes(tolerance)) {
          this.fail('FIELD_ENUM', `${af}.tolerance`, `${af}.tolerance must be one of the runtime's difference histogram bucket bounds: ${SHADOW_DIFFERENCE_BUCKETS.join(', ')} (got ${tolerance}); differences are counted from the histogram, which can only count exactly at a bound`);
        } else out.agreement.tolerance = tolerance;
      }
    }
    if (!out.predictions && !out.groundTruth && !out.agreement) this.fail('FIELD_REQUIRED', f, `${f} needs predictions, groundTruth and/or agreement (e.g. predictions: {maxPSI: 0.2})`);
    return { quality: out };
  }

  /** Shadow steps need a router that can mirror and a gate that judges them; an agreement gate needs shadow steps. */
  shadowSteps(traffic: TrafficSpec, rollout: RolloutSpec): void {
    const f = 'spec.rollout';
    const first = rollout.steps.findIndex((s) => s.shadow !== undefined);
    const agreement = rollout.analysis?.quality?.agreement;
    if (first === -1) {
      if (agreement) this.fail('FIELD_CONFLICT', `${f}.analysis.quality.agreement`, `${f}.analysis.quality.agreement judges shadow steps, and ${f}.steps has none; add one first (e.g. {shadow: 20, pause: 5m}) or remove agreement`);
      return;
    }
    if (traffic.provider !== 'gatewayAPI') {
      this.fail('FIELD_CONFLICT', `${f}.steps[${first}].shadow`, `${f}.steps[${first}] is a shadow step, which needs spec.traffic.provider: gatewayAPI (the HTTPRoute mirrors requests with RequestMirror); with provider none, use weight steps only`);
    }
    if (!agreement) {
      this.fail('FIELD_REQUIRED', `${f}.analysis.quality.agreement`, `${f}.steps[${first}] is a shadow step: it needs ${f}.analysis.quality.agreement (e.g. {minAgreement: 99}) to compare the canary's answers with stable's; without it nothing would judge the mirrored traffic`);
    }
  }

  slo(o: Obj, f: string): SloSpec | undefined {
    const name = this.str(o, 'name', f, { required: true, pattern: /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, hint: 'must be a lowercase DNS label' });
    const objective = this.num(o, 'objective', f, { required: true, min: 0, max: 100, exclusiveMin: true, exclusiveMax: true });
    const builtin = this.str(o, 'builtin', f, { enum: ['availability', 'latency'] }) as SloSpec['builtin'];
    const latency = this.num(o, 'latencyThresholdSeconds', f, { min: 0, exclusiveMin: true });
    const c = this.obj(o['custom'], `${f}.custom`);
    let custom: SloSpec['custom'];
    if (c) {
      const goodQuery = this.str(c, 'goodQuery', `${f}.custom`, { required: true });
      const totalQuery = this.str(c, 'totalQuery', `${f}.custom`, { required: true });
      if (goodQuery !== undefined && totalQuery !== undefined) custom = { goodQuery, totalQuery };
    }
    if ((builtin === undefined) === (c === undefined)) this.fail('FIELD_CONFLICT', f, `${f} needs exactly one of builtin or custom`);
    if (builtin === 'latency' && latency === undefined) this.fail('FIELD_REQUIRED', `${f}.latencyThresholdSeconds`, `${f} with builtin: latency needs latencyThresholdSeconds`);
    if (latency !== undefined && builtin !== 'latency') this.fail('FIELD_CONFLICT', `${f}.latencyThresholdSeconds`, `${f}.latencyThresholdSeconds only applies to builtin: latency`);
    if (name === undefined || objective === undefined) return undefined;
    const out: SloSpec = { name, objective };
    if (builtin !== undefined) out.builtin = builtin;
    if (latency !== undefined) out.latencyThresholdSeconds = latency;
    if (custom) out.custom = custom;
    return out;
  }
}

/**
 * Ten looks (ten minutes at the default interval) without a verdict before a human is asked: with
 * every other default, a canary without errors gets its pass by then from about 2.5 requests per
 * second (the strictest pair, 30m/6h at 6×, decides; analysis/limit.test.ts holds this). Three, the
 * earlier default, paused every canary under ~6 req/s.
 */
export const DEFAULT_MAX_INCONCLUSIVE = 10;

export const DEFAULT_BURN_RATE_WINDOWS: readonly BurnRateWindow[] = [
  { short: '5m', long: '1h', threshold: 14.4 },
  { short: '30m', long: '6h', threshold: 6 },
];
