// The Helm chart with the real helm (no cluster): lint, the CRD's one source, what the defaults
// render (restricted Pod Security, probes, leader election, PDB), the RBAC rule by rule in both
// modes, the operator's own flag parser on the rendered arguments, values.schema.json refusing
// wrong values with messages that name the key, and the monitoring toggles.
import { beforeAll, describe, expect, test } from '@jest/globals';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { parseConfig } from '../../operator/src/config.ts';
import { chartDir, helm, helmBin, helmOk, renderChart, valuesFile, type Manifest } from '../../test/helm.ts';
import { repoRoot } from '../../test/lab-helpers.ts';

interface Rule {
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  verbs: string[];
}
interface Container {
  name: string;
  image: string;
  args: string[];
  env: { name: string; valueFrom?: { fieldRef?: { fieldPath: string } } }[];
  ports: { name: string; containerPort: number }[];
  securityContext: Record<string, unknown>;
  startupProbe: { httpGet: { path: string; port: string } };
  livenessProbe: { httpGet: { path: string; port: string } };
  readinessProbe: { httpGet: { path: string; port: string } };
  resources: Record<string, Record<string, string>>;
  volumeMounts: { name: string; mountPath: string }[];
}
interface PodSpec {
  serviceAccountName: string;
  securityContext: Record<string, unknown>;
  containers: Container[];
  volumes: { name: string; emptyDir?: object }[];
}

const find = (ms: Manifest[], kind: string, name?: string): Manifest[] => ms.filter((m) => m.kind === kind && (name === undefined || m.metadata.name === name));
const one = (ms: Manifest[], kind: string, name?: string): Manifest => {
  const found = find(ms, kind, name);
  if (found.length !== 1) throw new Error(`expected one ${kind}${name ? ` ${name}` : ''}, found ${found.length}: ${ms.map((m) => `${m.kind}/${m.metadata.name}`).join(', ')}`);
  return found[0] as Manifest;
};
const podSpec = (ms: Manifest[]): PodSpec => (one(ms, 'Deployment') as unknown as { spec: { template: { spec: PodSpec } } }).spec.template.spec;
const rules = (m: Manifest): Rule[] => (m as unknown as { rules: Rule[] }).rules;

// What the operator sends in each namespace it watches (docs/install.md#rbac says where in the code).
const namespacedRules: Rule[] = [
  { apiGroups: ['serving.onnxop.io'], resources: ['onnxmodels'], verbs: ['list', 'watch'] },
  { apiGroups: ['serving.onnxop.io'], resources: ['onnxmodels/status'], verbs: ['patch'] },
  { apiGroups: ['serving.onnxop.io'], resources: ['onnxmodels/finalizers'], verbs: ['update'] },
  { apiGroups: ['apps'], resources: ['deployments', 'controllerrevisions'], verbs: ['list', 'watch', 'create', 'patch', 'delete'] },
  { apiGroups: [''], resources: ['services'], verbs: ['list', 'watch', 'create', 'patch', 'delete'] },
  { apiGroups: ['autoscaling'], resources: ['horizontalpodautoscalers'], verbs: ['list', 'watch', 'create', 'patch', 'delete'] },
  { apiGroups: ['gateway.networking.k8s.io'], resources: ['httproutes'], verbs: ['list', 'watch', 'create', 'patch', 'delete'] },
  { apiGroups: ['events.k8s.io'], resources: ['events'], verbs: ['create'] },
  { apiGroups: [''], resources: ['secrets', 'configmaps'], verbs: ['get'] },
];
const leaderElectionRules = (lease: string): Rule[] => [
  { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
  { apiGroups: ['coordination.k8s.io'], resources: ['leases'], resourceNames: [lease], verbs: ['get', 'update'] },
];

let defaults: Manifest[];

beforeAll(() => {
  helmBin(); // a fresh machine builds helm first
  defaults = renderChart({}, { release: 'rel', namespace: 'onnxop-system' });
}, 900_000);

describe('the chart', () => {
  test("its CRD is crds/onnxmodel.yaml, byte for byte (Helm installs the chart's copy)", () => {
    const source = fs.readFileSync(path.join(repoRoot, 'crds/onnxmodel.yaml'), 'utf8');
    const copy = fs.readFileSync(path.join(chartDir, 'crds/onnxmodel.yaml'), 'utf8');
    if (copy !== source) throw new Error('charts/onnx-operator/crds/onnxmodel.yaml differs from crds/onnxmodel.yaml; copy it: cp crds/onnxmodel.yaml charts/onnx-operator/crds/onnxmodel.yaml');
    expect(fs.readdirSync(path.join(chartDir, 'crds'))).toEqual(['onnxmodel.yaml']);
  });

  test('helm lint --strict passes: defaults, namespaced mode, monitors on', () => {
    for (const values of [{}, { watchNamespaces: ['ml-prod', 'ml-staging'], operator: { instanceId: 'second' } }, { serviceMonitor: { enabled: true }, modelPodMonitor: { enabled: true }, replicaCount: 1 }]) {
      const out = helmOk(['lint', '--strict', chartDir, '-f', valuesFile(values)]);
      expect(out).toContain('1 chart(s) linted, 0 chart(s) failed');
    }
  });

  test('the defaults: the objects an install creates, monitoring off', () => {
    expect(defaults.map((m) => `${m.kind}/${m.metadata.name}`).sort()).toEqual([
      'ClusterRole/rel-onnx-operator',
      'ClusterRole/rel-onnx-operator-edit',
      'ClusterRole/rel-onnx-operator-view',
      'ClusterRoleBinding/rel-onnx-operator',
      'Deployment/rel-onnx-operator',
      'PodDisruptionBudget/rel-onnx-operator',
      'Role/rel-onnx-operator-leader-election',
      'RoleBinding/rel-onnx-operator-leader-election',
      'Service/rel-onnx-operator-metrics',
      'ServiceAccount/rel-onnx-operator',
    ]);
    for (const m of defaults) if (!m.kind.startsWith('Cluster')) expect(m.metadata.namespace).toBe('onnxop-system');
  });

  test('the Deployment: restricted Pod Security, probes on /healthz and /readyz, 2 replicas under leader election, a PDB', () => {
    const dep = one(defaults, 'Deployment') as unknown as { spec: { replicas: number; strategy: unknown } };
    expect(dep.spec.replicas).toBe(2);
    expect(dep.spec.strategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } });
    const pod = podSpec(defaults);
    expect(pod.serviceAccountName).toBe('rel-onnx-operator');
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 65532, seccompProfile: { type: 'RuntimeDefault' } });
    const [c] = pod.containers;
    if (!c) throw new Error('no container');
    expect(c.image).toBe('ghcr.io/onnx-operator/operator:0.1.0');
    expect(c.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    // A read-only root: the one writable place is an emptyDir at /tmp.
    expect(c.volumeMounts).toEqual([{ name: 'tmp', mountPath: '/tmp' }]);
    expect(pod.volumes).toEqual([{ name: 'tmp', emptyDir: {} }]);
    expect(c.ports).toEqual([{ name: 'metrics', containerPort: 8080, protocol: 'TCP' }]);
    expect(c.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'metrics' });
    expect(c.startupProbe.httpGet).toEqual({ path: '/healthz', port: 'metrics' });
    expect(c.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'metrics' });
    expect(c.resources).toEqual({ requests: { cpu: '100m', memory: '256Mi' }, limits: { memory: '1Gi' } });
    expect(one(defaults, 'PodDisruptionBudget')).toMatchObject({ spec: { minAvailable: 1, selector: { matchLabels: { 'app.kubernetes.io/instance': 'rel', 'app.kubernetes.io/name': 'onnx-operator' } } } });
    expect(one(defaults, 'Service')).toMatchObject({ spec: { ports: [{ name: 'metrics', port: 8080, targetPort: 'metrics' }] } });
  });

  test("the operator's own flag parser accepts the rendered arguments, and they say what the values say", () => {
    const configOf = (ms: Manifest[]) => {
      const c = podSpec(ms).containers[0];
      if (!c) throw new Error('no container');
      expect(c.args[0]).toBe('run');
      expect(c.env[0]).toEqual({ name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } });
      return parseConfig(c.args.slice(1), { POD_NAMESPACE: 'onnxop-system' }, 'pod-0');
    };
    expect(configOf(defaults)).toMatchObject({
      watchNamespaces: [],
      instanceId: undefined,
      httpPort: 8080,
      leaderElect: true,
      leaderElectionNamespace: 'onnxop-system',
      leaderElectionId: 'rel-onnx-operator',
      logLevel: 'info',
      prometheusUrl: undefined,
      predictionKafka: undefined,
    });
    const all = renderChart({
      watchNamespaces: ['ml-prod', 'ml-staging'],
      leaderElection: { leaseName: 'ml-operator' },
      service: { port: 9090 },
      operator: {
        instanceId: 'second',
        logLevel: 'debug',
        concurrency: 8,
        runtimeImage: 'registry.example.com/onnx-runtime:1.2.3',
        defaultGateway: 'gateway-system/public',
        gatewayAPI: 'enabled',
        clusterDomain: 'corp.local',
        requireSignatureNamespaces: ['ml-prod'],
        verificationResyncSeconds: 60,
        watchdogSeconds: 300,
        prometheus: { url: 'https://prometheus.monitoring:9090', timeout: '10s', scrapeInterval: '15s', bearerTokenFile: '/var/run/prom/token', caFile: '/var/run/prom/ca.crt' },
        predictionKafka: { brokers: 'kafka-0.kafka:9092,kafka-1.kafka:9092', topic: 'ml.predictions', feedbackTopic: 'ml.feedback' },
        extraArgs: ['--field-manager=onnx-operator-b'],
      },
    });
    expect(configOf(all)).toMatchObject({
      watchNamespaces: ['ml-prod', 'ml-staging'],
      instanceId: 'second',
      httpPort: 9090,
      leaderElectionId: 'ml-operator',
      logLevel: 'debug',
      concurrency: 8,
      runtimeImage: 'registry.example.com/onnx-runtime:1.2.3',
      defaultGateway: { namespace: 'gateway-system', name: 'public' },
      gatewayApi: 'enabled',
      clusterDomain: 'corp.local',
      requireSignatureNamespaces: ['ml-prod'],
      verificationResyncSeconds: 60,
      watchdogSeconds: 300,
      prometheusUrl: 'https://prometheus.monitoring:9090',
      prometheusTimeoutMs: 10_000,
      prometheusScrapeIntervalMs: 15_000,
      prometheusBearerTokenFile: '/var/run/prom/token',
      prometheusCaFile: '/var/run/prom/ca.crt',
      predictionKafka: { brokers: 'kafka-0.kafka:9092,kafka-1.kafka:9092', topic: 'ml.predictions', feedbackTopic: 'ml.feedback' },
      fieldManager: 'onnx-operator-b',
    });
    expect(configOf(renderChart({ replicaCount: 1, leaderElection: { enabled: false } })).leaderElect).toBe(false);
  });

  test('RBAC, cluster-wide (the default): one ClusterRole with exactly what the operator sends, the Lease in its namespace only', () => {
    expect(rules(one(defaults, 'ClusterRole', 'rel-onnx-operator'))).toEqual([...namespacedRules, { apiGroups: [''], resources: ['namespaces'], verbs: ['list', 'watch'] }]);
    expect(one(defaults, 'ClusterRoleBinding')).toMatchObject({
      roleRef: { kind: 'ClusterRole', name: 'rel-onnx-operator' },
      subjects: [{ kind: 'ServiceAccount', name: 'rel-onnx-operator', namespace: 'onnxop-system' }],
    });
    const lease = one(defaults, 'Role', 'rel-onnx-operator-leader-election');
    expect(lease.metadata.namespace).toBe('onnxop-system');
    expect(rules(lease)).toEqual(leaderElectionRules('rel-onnx-operator'));
  });

  test('RBAC, namespaced mode: a Role in each watched namespace, only those Namespace objects cluster-wide, no ClusterRole on anything else', () => {
    const ms = renderChart({ watchNamespaces: ['ml-prod', 'ml-staging'], rbac: { readSecrets: false } });
    const roles = find(ms, 'Role', 'rel-onnx-operator');
    expect(roles.map((r) => r.metadata.namespace)).toEqual(['ml-prod', 'ml-staging']);
    const withoutSecrets = namespacedRules.map((r) => (r.resources?.includes('secrets') ? { ...r, resources: ['configmaps'] } : r));
    for (const r of roles) expect(rules(r)).toEqual(withoutSecrets);
    expect(find(ms, 'RoleBinding', 'rel-onnx-operator').map((b) => b.metadata.namespace)).toEqual(['ml-prod', 'ml-staging']);
    expect(find(ms, 'ClusterRole').map((r) => r.metadata.name).sort()).toEqual(['rel-onnx-operator-edit', 'rel-onnx-operator-namespaces', 'rel-onnx-operator-view']);
    expect(rules(one(ms, 'ClusterRole', 'rel-onnx-operator-namespaces'))).toEqual([{ apiGroups: [''], resources: ['namespaces'], resourceNames: ['ml-prod', 'ml-staging'], verbs: ['list', 'watch'] }]);
    expect(one(ms, 'ClusterRoleBinding')).toMatchObject({ roleRef: { name: 'rel-onnx-operator-namespaces' } });
    // The PodMonitor follows the mode too.
    const pm = one(renderChart({ watchNamespaces: ['ml-prod'], modelPodMonitor: { enabled: true } }), 'PodMonitor');
    expect(pm).toMatchObject({ spec: { namespaceSelector: { matchNames: ['ml-prod'] } } });
  });

  test("users' roles: OnnxModels aggregate into view and edit/admin, status stays the operator's", () => {
    const view = one(defaults, 'ClusterRole', 'rel-onnx-operator-view');
    expect(view.metadata.labels).toMatchObject({ 'rbac.authorization.k8s.io/aggregate-to-view': 'true' });
    expect(rules(view)).toEqual([{ apiGroups: ['serving.onnxop.io'], resources: ['onnxmodels', 'onnxmodels/status'], verbs: ['get', 'list', 'watch'] }]);
    const edit = one(defaults, 'ClusterRole', 'rel-onnx-operator-edit');
    expect(edit.metadata.labels).toMatchObject({ 'rbac.authorization.k8s.io/aggregate-to-edit': 'true', 'rbac.authorization.k8s.io/aggregate-to-admin': 'true' });
    expect(rules(edit)).toEqual([{ apiGroups: ['serving.onnxop.io'], resources: ['onnxmodels'], verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete', 'deletecollection'] }]);
    expect(find(renderChart({ rbac: { aggregateToDefaultRoles: false } }), 'ClusterRole').map((r) => r.metadata.name)).toEqual(['rel-onnx-operator']);
  });

  test('values.schema.json refuses unknown keys and wrong types, naming the key', () => {
    const refused: [object, RegExp][] = [
      [{ replicas: 3 }, /at '': additional properties 'replicas' not allowed/],
      [{ operator: { loglevel: 'debug' } }, /at '\/operator': additional properties 'loglevel' not allowed/],
      [{ serviceMonitor: { enable: true } }, /at '\/serviceMonitor': additional properties 'enable' not allowed/],
      [{ replicaCount: '2' }, /at '\/replicaCount': got string, want integer/],
      [{ replicaCount: -1 }, /at '\/replicaCount': minimum: got -1, want 0/],
      [{ leaderElection: { enabled: 'sometimes' } }, /at '\/leaderElection\/enabled': got string, want boolean/],
      [{ operator: { logLevel: 'loud' } }, /at '\/operator\/logLevel': value must be one of 'fatal', 'error', 'warn', 'info', 'debug', 'trace'/],
      [{ watchNamespaces: 'ml-prod' }, /at '\/watchNamespaces': got string, want array/],
      [{ watchNamespaces: ['ML_Prod'] }, /at '\/watchNamespaces\/0': 'ML_Prod' does not match pattern/],
      [{ operator: { defaultGateway: 'public' } }, /at '\/operator\/defaultGateway': 'public' does not match pattern/],
      [{ operator: { prometheus: { url: 'prometheus:9090' } } }, /at '\/operator\/prometheus\/url': 'prometheus:9090' does not match pattern/],
      [{ operator: { prometheus: { timeout: 5 } } }, /at '\/operator\/prometheus\/timeout': got number, want string/],
      [{ operator: { predictionKafka: { brokers: 'kafka' } } }, /at '\/operator\/predictionKafka\/brokers': 'kafka' does not match pattern/],
      [{ image: { digest: 'latest' } }, /at '\/image\/digest': 'latest' does not match pattern/],
      [{ resources: { requests: { cpu: true } } }, /at '\/resources\/requests\/cpu': got boolean, want number or integer or string/],
    ];
    for (const [values, message] of refused) {
      const r = helm(['template', 'rel', chartDir, '-f', valuesFile(values)]);
      expect({ values, code: r.code }).toEqual({ values, code: 1 });
      expect(r.stderr).toContain("values don't meet the specifications of the schema");
      expect(r.stderr).toMatch(message);
    }
    // Refusals of combinations the schema cannot express come from the templates, as clearly.
    const r = helm(['template', 'rel', chartDir, '-f', valuesFile({ leaderElection: { enabled: false } })]);
    expect(r.stderr).toContain('replicaCount > 1 needs leaderElection.enabled: true');
  });

  test('every key of values.yaml is in the schema, with a description', () => {
    const schema = JSON.parse(fs.readFileSync(path.join(chartDir, 'values.schema.json'), 'utf8')) as SchemaNode;
    const missing: string[] = [];
    walkValues(helmValues(), schema, '', missing);
    expect(missing).toEqual([]);
  });

  test('ServiceMonitor and PodMonitor render when switched on', () => {
    const ms = renderChart({ serviceMonitor: { enabled: true, labels: { release: 'kube-prometheus-stack' } }, modelPodMonitor: { enabled: true } });
    expect(one(ms, 'ServiceMonitor')).toMatchObject({
      metadata: { labels: { release: 'kube-prometheus-stack' } },
      spec: { endpoints: [{ port: 'metrics', path: '/metrics', interval: '30s' }], selector: { matchLabels: { 'app.kubernetes.io/instance': 'rel' } } },
    });
    expect(one(ms, 'PodMonitor')).toMatchObject({
      spec: {
        namespaceSelector: { any: true },
        selector: { matchLabels: { 'app.kubernetes.io/managed-by': 'onnx-operator', 'app.kubernetes.io/component': 'inference' } },
        podMetricsEndpoints: [{ port: 'http', path: '/metrics' }],
      },
    });
  });

  test("PrometheusRule and dashboards render from the chart's files/, and say so when the files are missing", () => {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'chart-files-'));
    try {
      const bare = path.join(work, 'bare');
      fs.cpSync(chartDir, bare, { recursive: true, filter: (src) => !src.startsWith(path.join(chartDir, 'files')) });
      const r1 = helm(['template', 'rel', bare, '-f', valuesFile({ prometheusRule: { enabled: true } })]);
      expect(r1.stderr).toContain('prometheusRule.enabled: this chart has no files/prometheus-rules.yaml');
      const r2 = helm(['template', 'rel', bare, '-f', valuesFile({ dashboards: { enabled: true } })]);
      expect(r2.stderr).toContain('dashboards.enabled: this chart has no files/dashboards/*.json');

      const full = path.join(work, 'full');
      fs.cpSync(bare, full, { recursive: true });
      fs.mkdirSync(path.join(full, 'files', 'dashboards'), { recursive: true });
      const group = { name: 'onnx-operator', rules: [{ alert: 'OnnxOperatorDown', expr: 'absent(up{job="onnx-operator"} == 1)', for: '5m', labels: { severity: 'critical' } }] };
      fs.writeFileSync(path.join(full, 'files', 'prometheus-rules.yaml'), `groups:\n  - ${JSON.stringify(group)}\n`);
      const dashboard = { title: 'Operational overview', uid: 'onnxop-ops', panels: [] };
      fs.writeFileSync(path.join(full, 'files', 'dashboards', 'operational-overview.json'), JSON.stringify(dashboard, null, 2));
      const ms = renderChart({ prometheusRule: { enabled: true, labels: { release: 'prom' } }, dashboards: { enabled: true, namespace: 'monitoring' } }, { chart: full });
      expect(one(ms, 'PrometheusRule')).toMatchObject({ metadata: { labels: { release: 'prom' } }, spec: { groups: [group] } });
      const cm = one(ms, 'ConfigMap', 'rel-onnx-operator-dashboard-operational-overview') as Manifest & { data: Record<string, string> };
      expect(cm.metadata).toMatchObject({ namespace: 'monitoring', labels: { grafana_dashboard: '1' } });
      expect(JSON.parse(cm.data['operational-overview.json'] ?? '')).toEqual(dashboard);
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
  });

  test("the shipped alerts and dashboards (files/, generated by deploy/monitoring) render as they are", () => {
    const ms = renderChart({ prometheusRule: { enabled: true }, dashboards: { enabled: true } });
    const ruleFile = parse(fs.readFileSync(path.join(chartDir, 'files/prometheus-rules.yaml'), 'utf8')) as { groups: unknown[] };
    expect(ruleFile.groups.length).toBeGreaterThan(0);
    expect((one(ms, 'PrometheusRule') as unknown as { spec: unknown }).spec).toEqual({ groups: ruleFile.groups });
    const dashboards = fs.readdirSync(path.join(chartDir, 'files/dashboards')).filter((f) => f.endsWith('.json')).sort();
    expect(dashboards.length).toBeGreaterThan(0);
    const cms = find(ms, 'ConfigMap') as (Manifest & { data: Record<string, string> })[];
    expect(cms.map((c) => Object.keys(c.data)[0]).sort()).toEqual(dashboards);
    for (const cm of cms) {
      const [file, json] = Object.entries(cm.data)[0] ?? ['', ''];
      expect(cm.metadata.labels).toMatchObject({ grafana_dashboard: '1' });
      expect(JSON.parse(json)).toEqual(JSON.parse(fs.readFileSync(path.join(chartDir, 'files/dashboards', file), 'utf8')));
    }
  });

  test('NOTES tell the user what to do next: check the rollout, apply a model, upgrade the CRD first', () => {
    const out = helmOk(['install', 'rel', chartDir, '--namespace', 'onnxop-system', '--dry-run=client', '-f', valuesFile({ watchNamespaces: ['ml-prod'] })]);
    const notes = out.slice(out.indexOf('NOTES:'));
    expect(notes).toContain('kubectl -n onnxop-system rollout status deployment/rel-onnx-operator');
    expect(notes).toContain('It watches only these namespaces: ml-prod');
    expect(notes).toContain('kubectl wait -n <namespace> --for=condition=Ready onnx/iris');
    expect(notes).toContain('operator.prometheus.url is empty');
    expect(notes).toContain('kubectl apply --server-side -f <chart>/crds/onnxmodel.yaml');
  });
});

interface SchemaNode {
  type?: string | string[];
  description?: string;
  properties?: Record<string, SchemaNode>;
}

function helmValues(): Record<string, unknown> {
  return parse(fs.readFileSync(path.join(chartDir, 'values.yaml'), 'utf8')) as Record<string, unknown>;
}

function walkValues(values: Record<string, unknown>, schema: SchemaNode, at: string, missing: string[]): void {
  for (const [key, value] of Object.entries(values)) {
    const node = schema.properties?.[key];
    if (!node || !node.description) {
      missing.push(`${at}/${key}`);
      continue;
    }
    // Free-form maps (labels, annotations, requests) have no properties of their own to check.
    if (value !== null && typeof value === 'object' && !Array.isArray(value) && node.properties) walkValues(value as Record<string, unknown>, node, `${at}/${key}`, missing);
  }
}
