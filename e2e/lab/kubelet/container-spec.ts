// What a container runs with: its environment (env, envFrom, the downward API), with Kubernetes'
// $(VAR) expansion (the command line is oci-spec.ts's containerArgv). Pure: the
// ConfigMaps and Secrets it needs are fetched by the caller (see envReferences).
import type { V1Container } from '@kubernetes/client-node';
import { KubeletError } from './errors.ts';
import { parseQuantity } from './quantity.ts';
import type { Pod } from './types.ts';

/**
 * Kubernetes' expansion (third_party/forked/golang/expansion): `$(NAME)` becomes the value when
 * NAME is known and stays literally otherwise; `$$` is an escaped `$`.
 */
export function expand(input: string, lookup: (name: string) => string | undefined): string {
  let out = '';
  let checkpoint = 0;
  for (let cursor = 0; cursor < input.length; cursor++) {
    if (input[cursor] !== '$' || cursor + 1 >= input.length) continue;
    out += input.slice(checkpoint, cursor);
    const rest = input.slice(cursor + 1);
    let advance = 1;
    if (rest[0] === '$') {
      out += '$';
    } else if (rest[0] === '(') {
      const close = rest.indexOf(')');
      if (close > 0) {
        const name = rest.slice(1, close);
        out += lookup(name) ?? `$(${name})`;
        advance = close + 1;
      } else {
        out += '$(';
      }
    } else {
      out += `$${rest[0]}`;
    }
    cursor += advance;
    checkpoint = cursor + 1;
  }
  return out + input.slice(checkpoint);
}

/** ConfigMap/Secret data by name; `undefined` means "looked up and not found". */
export interface EnvSources {
  configMaps: Record<string, Record<string, string> | undefined>;
  secrets: Record<string, Record<string, string> | undefined>;
}

export interface EnvContext {
  pod: Pod;
  podIP: string | undefined;
  hostIP: string;
  /** Used for limits.* when the container sets none, as the real kubelet does. */
  nodeAllocatable: Record<string, string>;
  /** Variables every container gets first (PATH, HOME, HOSTNAME); the pod's env overrides them. */
  base: Record<string, string>;
}

/** The ConfigMaps and Secrets a container's env and envFrom refer to. */
export function envReferences(container: V1Container): { configMaps: string[]; secrets: string[] } {
  const configMaps = new Set<string>();
  const secrets = new Set<string>();
  for (const from of container.envFrom ?? []) {
    if (from.configMapRef?.name) configMaps.add(from.configMapRef.name);
    if (from.secretRef?.name) secrets.add(from.secretRef.name);
  }
  for (const e of container.env ?? []) {
    if (e.valueFrom?.configMapKeyRef?.name) configMaps.add(e.valueFrom.configMapKeyRef.name);
    if (e.valueFrom?.secretKeyRef?.name) secrets.add(e.valueFrom.secretKeyRef.name);
  }
  return { configMaps: [...configMaps], secrets: [...secrets] };
}

function labelKey(fieldPath: string, prefix: string): string | undefined {
  const m = new RegExp(`^${prefix.replace('.', '\\.')}\\['(.*)'\\]$`).exec(fieldPath);
  return m?.[1];
}

export function fieldRefValue(fieldPath: string, ctx: EnvContext, envName: string): string {
  const { pod } = ctx;
  switch (fieldPath) {
    case 'metadata.name': return pod.metadata?.name ?? '';
    case 'metadata.namespace': return pod.metadata?.namespace ?? '';
    case 'metadata.uid': return pod.metadata?.uid ?? '';
    case 'spec.nodeName': return pod.spec?.nodeName ?? '';
    case 'spec.serviceAccountName': return pod.spec?.serviceAccountName ?? '';
    case 'status.podIP': return ctx.podIP ?? '';
    case 'status.podIPs': return ctx.podIP ?? '';
    case 'status.hostIP': return ctx.hostIP;
    case 'status.hostIPs': return ctx.hostIP;
  }
  const label = labelKey(fieldPath, 'metadata.labels');
  if (label !== undefined) return pod.metadata?.labels?.[label] ?? '';
  const annotation = labelKey(fieldPath, 'metadata.annotations');
  if (annotation !== undefined) return pod.metadata?.annotations?.[annotation] ?? '';
  throw new KubeletError(
    'ENV_INVALID',
    `env ${envName}: fieldRef.fieldPath "${fieldPath}" is not supported by the lab kubelet; use metadata.name/namespace/uid/labels['k']/annotations['k'], spec.nodeName, spec.serviceAccountName, status.podIP or status.hostIP`,
  );
}

export function resourceFieldValue(
  ref: { containerName?: string; resource: string; divisor?: string | number },
  self: V1Container,
  ctx: EnvContext,
  envName: string,
): string {
  const target = ref.containerName
    ? [...(ctx.pod.spec?.containers ?? []), ...(ctx.pod.spec?.initContainers ?? [])].find((c) => c.name === ref.containerName)
    : self;
  if (!target) {
    throw new KubeletError('ENV_INVALID', `env ${envName}: resourceFieldRef.containerName "${ref.containerName}" is not a container of this pod`);
  }
  const [kind, resource] = ref.resource.split('.', 2) as [string, string | undefined];
  if ((kind !== 'limits' && kind !== 'requests') || !resource) {
    throw new KubeletError('ENV_INVALID', `env ${envName}: resourceFieldRef.resource "${ref.resource}" must be limits.<name> or requests.<name>`);
  }
  const set = kind === 'limits' ? target.resources?.limits : target.resources?.requests;
  const raw = set?.[resource] ?? (kind === 'limits' ? ctx.nodeAllocatable[resource] : undefined) ?? '0';
  const value = parseQuantity(raw);
  const divisor = parseQuantity(ref.divisor ?? '1');
  if (divisor <= 0) throw new KubeletError('ENV_INVALID', `env ${envName}: resourceFieldRef.divisor must be positive`);
  // CPU is compared in millicores to avoid float noise (0.5 / 0.001 is not exactly 500).
  if (resource === 'cpu') return String(Math.ceil(Math.round(value * 1000) / Math.round(divisor * 1000)));
  return String(Math.ceil(value / divisor));
}

function sourceData(
  kind: 'configmap' | 'secret',
  sources: EnvSources,
  name: string,
  optional: boolean | undefined,
): Record<string, string> | undefined {
  const data = kind === 'configmap' ? sources.configMaps[name] : sources.secrets[name];
  if (data === undefined && !optional) {
    throw new KubeletError('CONFIG_REF_NOT_FOUND', `${kind} "${name}" not found; create it in namespace or mark the reference optional`);
  }
  return data;
}

/**
 * The container's environment in Kubernetes order: base, then envFrom (with prefix), then env,
 * each env value expanded against the variables defined before it.
 */
export function resolveEnv(container: V1Container, ctx: EnvContext, sources: EnvSources): Record<string, string> {
  const env: Record<string, string> = { ...ctx.base };
  for (const from of container.envFrom ?? []) {
    const prefix = from.prefix ?? '';
    const data = from.configMapRef
      ? sourceData('configmap', sources, from.configMapRef.name ?? '', from.configMapRef.optional)
      : from.secretRef
        ? sourceData('secret', sources, from.secretRef.name ?? '', from.secretRef.optional)
        : undefined;
    for (const [k, v] of Object.entries(data ?? {})) env[prefix + k] = v;
  }
  for (const e of container.env ?? []) {
    const lookup = (name: string): string | undefined => env[name];
    if (e.valueFrom === undefined) {
      env[e.name] = expand(e.value ?? '', lookup);
      continue;
    }
    const vf = e.valueFrom;
    if (vf.fieldRef) {
      env[e.name] = fieldRefValue(vf.fieldRef.fieldPath, ctx, e.name);
    } else if (vf.resourceFieldRef) {
      env[e.name] = resourceFieldValue(vf.resourceFieldRef as { containerName?: string; resource: string; divisor?: string }, container, ctx, e.name);
    } else if (vf.configMapKeyRef || vf.secretKeyRef) {
      const ref = (vf.configMapKeyRef ?? vf.secretKeyRef)!;
      const kind = vf.configMapKeyRef ? 'configmap' : 'secret';
      const data = sourceData(kind, sources, ref.name ?? '', ref.optional);
      if (data === undefined) continue;
      const value = data[ref.key];
      if (value === undefined) {
        if (ref.optional) continue;
        throw new KubeletError('CONFIG_REF_NOT_FOUND', `couldn't find key ${ref.key} in ${kind === 'configmap' ? 'ConfigMap' : 'Secret'} ${ctx.pod.metadata?.namespace}/${ref.name} (env ${e.name}); add the key or mark it optional`);
      }
      env[e.name] = value;
    } else {
      throw new KubeletError('ENV_INVALID', `env ${e.name}: valueFrom needs fieldRef, resourceFieldRef, configMapKeyRef or secretKeyRef`);
    }
  }
  return env;
}
