// Brings the whole lab up and down: network, PKI, control plane, registry and images, kubelet,
// Prometheus, gateway.
// `up` is idempotent (a running part is kept); `down` ends every lab process by its pid and removes
// every namespace, veth and the bridge, then checks that nothing is left listening.
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { labImageDigestsFile, labPaths, labPorts, labRegistry, repoRoot } from './lab-config.ts';
import { adminGet, apiserverUrl, startControlPlane, waitFor } from './control-plane.ts';
import { checkNamespacesWork, deleteNamespace, ensureBridge, labNamespaces, labVeths, removeBridge } from './network.ts';
import { adminKubeconfig, ensurePki, operatorKubeconfig, pkiFiles } from './pki.ts';
import { accepting, runningPid, startDaemon, stopDaemon } from './processes.ts';
import { prometheusSpec, prometheusUrl } from './prometheus.ts';
import { kafkaHome, labKafka, labKafkaBootstrap, prepareKafka, waitForKafka } from './kafka.ts';
import { jaegerHealthUrl, jaegerOtlpEndpoint, jaegerQueryUrl, jaegerSpec } from './jaeger.ts';
import { registrySpec, registryUrl } from './registry.ts';
import { tryRun } from './run-command.ts';

export const gatewayUrl = `http://127.0.0.1:${labPorts.gateway}`;

/** Lab processes in start order; `down` stops them in reverse. */
export const components = [
  'etcd',
  'kube-apiserver',
  'kube-controller-manager',
  'kube-scheduler',
  'registry',
  'kubelet',
  'prometheus',
  'jaeger',
  'kafka',
  'gateway',
  // Started by the demo, not by `up`; `down` stops it with the rest.
  'operator',
] as const;

export type Log = (msg: string) => void;

export interface LabImageDigests {
  registry: string;
  /** Image name (operator, runtime, echo, …) → its public name pinned by digest. */
  refs: Record<string, string>;
}

/** The digest references `images` wrote last, or undefined (no lab came up yet). */
export function labImageDigests(): LabImageDigests | undefined {
  try {
    return JSON.parse(fs.readFileSync(labImageDigestsFile, 'utf8')) as LabImageDigests;
  } catch {
    return undefined;
  }
}

/**
 * Builds (or reuses, by content hash) every image the lab's pods run and pushes them to the lab
 * registry; records their digest references for tests and the demo. The GPU runtime is built by its
 * own test (e2e/lab/image-build/images.int.test.ts): no lab pod runs it.
 */
export async function images(log: Log): Promise<LabImageDigests> {
  const { buildImages } = await import('./image-build/build.ts');
  const started = Date.now();
  const built = await buildImages({ only: ['operator', 'runtime', 'echo', 'echo-v2', 'crash'], registry: labRegistry, log });
  const digests: LabImageDigests = { registry: labRegistry, refs: Object.fromEntries(built.map((b) => [b.name, b.ref ?? b.tag])) };
  fs.writeFileSync(labImageDigestsFile, `${JSON.stringify(digests, null, 2)}\n`);
  log(`images ready in ${((Date.now() - started) / 1000).toFixed(1)}s (${built.filter((b) => b.built).map((b) => b.name).join(', ') || 'all reused'})`);
  return digests;
}

/** Runs a cached build script (Kubernetes, Prometheus) and returns the path it prints last. */
function buildOutput(script: string): string {
  const out = execFileSync('bash', [path.join(repoRoot, script)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  return out.trim().split('\n').pop() ?? '';
}

function checkTools(): void {
  const tools = ['etcd', 'ip', 'openssl', 'go', 'runc', 'umoci', 'buildah', 'mmdebstrap', 'docker-registry'];
  const missing = tools.filter(
    (tool) => execFileSync('bash', ['-c', `command -v ${tool} || true`], { encoding: 'utf8' }).trim() === '',
  );
  if (missing.length > 0) {
    throw new Error(`lab: missing tools: ${missing.join(', ')}. Run 'npm run setup' (installs Debian packages etcd-server, iproute2, openssl, golang-go, runc, umoci, buildah, mmdebstrap, docker-registry).`);
  }
}

function writeClientFiles(binDir: string, runtimeImage: string | undefined): void {
  const pki = pkiFiles();
  fs.writeFileSync(labPaths.kubeconfig, adminKubeconfig(pki, apiserverUrl), { mode: 0o600 });
  fs.writeFileSync(labPaths.operatorKubeconfig, operatorKubeconfig(pki, apiserverUrl), { mode: 0o600 });
  fs.mkdirSync(labPaths.bin, { recursive: true });
  const kubectl = path.join(labPaths.bin, 'kubectl');
  fs.writeFileSync(kubectl, `#!/bin/sh\nexec "${path.join(binDir, 'kubectl')}" --kubeconfig "${labPaths.kubeconfig}" "$@"\n`, { mode: 0o755 });
  fs.writeFileSync(
    labPaths.env,
    [
      `export KUBECONFIG="${labPaths.kubeconfig}"`,
      `export PROMETHEUS_URL="${prometheusUrl}"`,
      `export GATEWAY_URL="${gatewayUrl}"`,
      `export JAEGER_URL="${jaegerQueryUrl}" OTLP_ENDPOINT="${jaegerOtlpEndpoint}"`,
      // Kafka (the prediction store): from this host, and the address pods use (operator --prediction-kafka-brokers).
      `export KAFKA_BOOTSTRAP="${labKafkaBootstrap.host}" KAFKA_BOOTSTRAP_PODS="${labKafkaBootstrap.pods}"`,
      `export LAB_API_SERVER="${apiserverUrl}"`,
      // The operator's --runtime-image (env RUNTIME_IMAGE): the lab's runtime image, by digest.
      ...(runtimeImage ? [`export RUNTIME_IMAGE="${runtimeImage}"`] : []),
      `export PATH="${labPaths.bin}:$PATH"`,
      '',
    ].join('\n'),
  );
}

function kubectl(args: string[]): string {
  return execFileSync(path.join(labPaths.bin, 'kubectl'), args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

async function nodesReady(count: number): Promise<boolean> {
  const out = kubectl(['get', 'nodes', '-o', 'jsonpath={range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\\n"}{end}']);
  return out.split('\n').filter((s) => s === 'True').length >= count;
}

async function httpOk(url: string): Promise<boolean> {
  const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
  return res.ok;
}

export async function up(log: Log): Promise<void> {
  const started = Date.now();
  checkTools();
  await checkNamespacesWork();
  for (const dir of [labPaths.dir, labPaths.logs, labPaths.podLogs, labPaths.run, labPaths.kubelet]) fs.mkdirSync(dir, { recursive: true });
  log('building/locating Kubernetes binaries');
  const binDir = buildOutput('e2e/lab/k8s/build.sh');
  const prometheusBin = buildOutput('e2e/lab/prometheus-build/build.sh');
  await ensureBridge();
  const pki = await ensurePki();
  log('starting the lab registry');
  startDaemon(registrySpec());
  await waitFor('registry', () => httpOk(`${registryUrl}/v2/`), 30_000);
  log('building (or reusing) and pushing the images pods run');
  const digests = await images(log);
  writeClientFiles(binDir, digests.refs['runtime']);
  log('starting control plane (etcd, kube-apiserver, kube-controller-manager, kube-scheduler)');
  await startControlPlane(binDir, pki);

  log('installing Gateway API CRDs');
  const gatewayApi = await import('./gateway-api-crds.ts');
  await gatewayApi.installGatewayApi(labPaths.kubeconfig);

  log('starting the lab kubelet');
  startDaemon({ name: 'kubelet', command: process.execPath, args: [path.join(repoRoot, 'e2e/lab/kubelet/main.ts'), '--kubeconfig', labPaths.kubeconfig], cwd: repoRoot });
  await waitFor('kubelet', () => nodesReady(3), 60_000);

  log('starting Prometheus');
  startDaemon(prometheusSpec(prometheusBin, apiserverUrl, pki));
  await waitFor('prometheus', () => httpOk(`${prometheusUrl}/-/ready`), 60_000);

  log('starting Jaeger (traces: OTLP in on the bridge, query API on loopback)');
  startDaemon(jaegerSpec(buildOutput('e2e/lab/jaeger-build/build.sh')));
  await waitFor('jaeger', () => httpOk(jaegerHealthUrl), 60_000);

  log('starting Kafka (KRaft; on loopback and on the bridge for pods)');
  if (runningPid('kafka') === undefined) {
    const kafka = prepareKafka(kafkaHome(), labKafka);
    startDaemon({ name: 'kafka', command: kafka.command, args: kafka.args });
  }
  await waitForKafka(labKafka, 120_000, () => runningPid('kafka') !== undefined);

  log('starting gateway');
  startDaemon({
    name: 'gateway',
    command: process.execPath,
    args: [path.join(repoRoot, 'e2e/lab/gateway/main.ts'), '--port', String(labPorts.gateway), '--kubeconfig', labPaths.kubeconfig],
    cwd: repoRoot,
  });
  await waitFor('gateway', () => httpOk(`${gatewayUrl}/_lab/readyz`), 30_000);

  // Pods are refused until the service-account controller made the namespace's default account.
  await waitFor('kube-controller-manager', async () => kubectl(['get', 'serviceaccount', 'default', '-o', 'name']).trim() !== '', 60_000);
  log(`lab is up in ${((Date.now() - started) / 1000).toFixed(1)}s — source ${labPaths.env} for KUBECONFIG, PROMETHEUS_URL, GATEWAY_URL`);
}

export async function down(log: Log): Promise<void> {
  for (const name of [...components].reverse()) {
    // The kubelet drains its pods on SIGTERM, so give it time.
    if (await stopDaemon(name, name === 'kubelet' ? 45_000 : 15_000)) log(`stopped ${name}`);
  }
  // A kubelet that was killed leaves its containers and their mounts: they go before its state.
  const { removeStaleContainers } = await import('./kubelet/runc-engine.ts');
  await removeStaleContainers(labPaths.kubelet, (msg, extra) => log(`${msg} ${JSON.stringify(extra)}`));
  for (const ns of await labNamespaces()) await deleteNamespace(ns);
  for (const veth of await labVeths()) await tryRun('ip', ['link', 'del', veth]);
  await removeBridge();
  fs.rmSync(labPaths.etcdData, { recursive: true, force: true });
  fs.rmSync(labPaths.prometheusData, { recursive: true, force: true });
  fs.rmSync(labPaths.kafkaData, { recursive: true, force: true });
  fs.rmSync(labPaths.kubelet, { recursive: true, force: true });
  fs.rmSync(labImageDigestsFile, { force: true });
  const left = await leftovers();
  if (left.length > 0) throw new Error(`lab: down left these behind: ${left.join('; ')}`);
  log('lab is down: no lab process, port, namespace or bridge left');
}

/** What a `down` must not leave: lab processes, listening lab ports, lab namespaces, the bridge, container mounts. */
export async function leftovers(): Promise<string[]> {
  const left: string[] = [];
  for (const name of components) {
    const pid = runningPid(name);
    if (pid !== undefined) left.push(`process ${name} (pid ${pid})`);
  }
  for (const [name, port] of Object.entries(labPorts)) {
    if (await accepting('127.0.0.1', port)) left.push(`port ${port} (${name}) is listening`);
  }
  for (const ns of await labNamespaces()) left.push(`network namespace ${ns}`);
  if ((await tryRun('ip', ['link', 'show', 'olab0'])) !== undefined) left.push('bridge olab0');
  const mounts = fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4] ?? '').filter((p) => p.startsWith(`${labPaths.kubelet}/`));
  for (const m of mounts) left.push(`mount ${m}`);
  return left;
}

export interface ComponentStatus {
  name: string;
  pid: number | undefined;
}

export async function status(): Promise<{ components: ComponentStatus[]; apiserverReady: boolean; nodes: string }> {
  const comps = components.map((name) => ({ name, pid: runningPid(name) }));
  let apiserverReady = false;
  let nodes = '';
  if (fs.existsSync(labPaths.kubeconfig) && runningPid('kube-apiserver') !== undefined) {
    try {
      apiserverReady = (await adminGet(pkiFiles(), `${apiserverUrl}/readyz`)).status === 200;
      nodes = kubectl(['get', 'nodes', '-o', 'wide']);
    } catch {
      apiserverReady = false;
    }
  }
  return { components: comps, apiserverReady, nodes };
}
