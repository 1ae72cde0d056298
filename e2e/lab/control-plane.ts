// The real Kubernetes control plane of the lab: etcd (Debian), kube-apiserver, kube-controller-manager
// and kube-scheduler (built from the Go module proxy), all on 127.0.0.1.
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { labNetwork, labPaths, labPorts } from './lab-config.ts';
import type { LabPki } from './pki.ts';
import { logTail, runningPid, startDaemon, type DaemonSpec } from './processes.ts';

export const apiserverUrl = `https://127.0.0.1:${labPorts.apiserver}`;

export function etcdSpec(): DaemonSpec {
  const client = `http://127.0.0.1:${labPorts.etcdClient}`;
  const peer = `http://127.0.0.1:${labPorts.etcdPeer}`;
  return {
    name: 'etcd',
    command: 'etcd',
    args: [
      '--name', 'lab', '--data-dir', labPaths.etcdData,
      '--listen-client-urls', client, '--advertise-client-urls', client,
      '--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer,
      '--initial-cluster', `lab=${peer}`, '--initial-cluster-state', 'new',
      // A lab is disposable: trade durability for speed on slow disks.
      '--unsafe-no-fsync', '--quota-backend-bytes', String(4 * 1024 ** 3),
      '--log-level', 'warn',
    ],
  };
}

export function apiserverSpec(bin: string, pki: LabPki): DaemonSpec {
  return {
    name: 'kube-apiserver',
    command: path.join(bin, 'kube-apiserver'),
    args: [
      `--etcd-servers=http://127.0.0.1:${labPorts.etcdClient}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${labPorts.apiserver}`,
      // Kubernetes refuses loopback addresses in Endpoints; the bridge address is the lab's own.
      `--advertise-address=${labNetwork.bridgeAddress}`,
      `--service-cluster-ip-range=${labNetwork.serviceCIDR}`,
      `--client-ca-file=${pki.caCert}`,
      `--tls-cert-file=${pki.apiserverCert}`,
      `--tls-private-key-file=${pki.apiserverKey}`,
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${pki.serviceAccountPub}`,
      `--service-account-signing-key-file=${pki.serviceAccountKey}`,
      '--authorization-mode=Node,RBAC',
      '--allow-privileged=true',
      '--profiling=false',
      '--endpoint-reconciler-type=lease',
      // Every write is audited, so tests can count the requests a component sent.
      `--audit-policy-file=${writeAuditPolicy()}`,
      `--audit-log-path=${labPaths.auditLog}`,
      '--audit-log-format=json',
      '--audit-log-maxsize=200',
      '--audit-log-maxbackup=1',
      '--v=1',
    ],
  };
}

/**
 * Metadata-level audit of every write; reads are logged only for service accounts outside
 * kube-system (an operator installed from the chart runs as one), so a test can find every 403 its
 * identity got. The controllers' own service accounts (kube-system) would fill the log with reads.
 */
export function writeAuditPolicy(): string {
  fs.mkdirSync(labPaths.dir, { recursive: true });
  fs.writeFileSync(
    labPaths.auditPolicy,
    [
      'apiVersion: audit.k8s.io/v1',
      'kind: Policy',
      'omitStages: [RequestReceived, ResponseStarted, Panic]',
      'rules:',
      '- level: Metadata',
      '  verbs: [create, update, patch, delete, deletecollection]',
      '- level: None',
      '  userGroups: ["system:serviceaccounts:kube-system"]',
      '- level: Metadata',
      '  userGroups: ["system:serviceaccounts"]',
      '- level: None',
      '',
    ].join('\n'),
  );
  return labPaths.auditPolicy;
}

export function controllerManagerSpec(bin: string, pki: LabPki, kubeconfig: string): DaemonSpec {
  return {
    name: 'kube-controller-manager',
    command: path.join(bin, 'kube-controller-manager'),
    args: [
      `--kubeconfig=${kubeconfig}`,
      `--authentication-kubeconfig=${kubeconfig}`,
      `--authorization-kubeconfig=${kubeconfig}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${labPorts.controllerManager}`,
      `--service-account-private-key-file=${pki.serviceAccountKey}`,
      `--root-ca-file=${pki.caCert}`,
      `--cluster-signing-cert-file=${pki.caCert}`,
      `--cluster-signing-key-file=${pki.caKey}`,
      '--use-service-account-credentials=true',
      `--service-cluster-ip-range=${labNetwork.serviceCIDR}`,
      // The kubelet sets each node's podCIDR itself; no cloud, no node IPAM.
      '--allocate-node-cidrs=false',
      '--controllers=*,-nodeipam,-cloud-node-lifecycle,-service-lb-controller,-route',
      '--leader-elect=false',
      '--profiling=false',
      '--v=1',
    ],
  };
}

export function schedulerSpec(bin: string, kubeconfig: string): DaemonSpec {
  return {
    name: 'kube-scheduler',
    command: path.join(bin, 'kube-scheduler'),
    args: [
      `--kubeconfig=${kubeconfig}`,
      `--authentication-kubeconfig=${kubeconfig}`,
      `--authorization-kubeconfig=${kubeconfig}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${labPorts.scheduler}`,
      '--leader-elect=false',
      '--profiling=false',
      '--v=1',
    ],
  };
}

/** GET over the lab's TLS with the admin identity; resolves the status code and body. */
export function adminGet(pki: LabPki, url: string, timeoutMs = 3000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.get(
      url,
      {
        ca: fs.readFileSync(pki.caCert),
        cert: fs.readFileSync(pki.adminCert),
        key: fs.readFileSync(pki.adminKey),
        timeout: timeoutMs,
        // The controller-manager and scheduler serve self-signed certificates on loopback.
        rejectUnauthorized: url.startsWith(apiserverUrl),
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

/** Waits until `probe` resolves true, or fails naming the component and showing its log tail. */
export async function waitFor(
  component: string,
  probe: () => Promise<boolean>,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      if (await probe()) return;
    } catch (err) {
      lastError = err;
    }
    if (runningPid(component) === undefined && fs.existsSync(path.join(labPaths.logs, `${component}.log`))) {
      throw new Error(`lab: ${component} exited during start-up. Its log (${labPaths.logs}/${component}.log) ends with:\n${logTail(component)}`);
    }
    await sleep(250);
  }
  throw new Error(
    `lab: ${component} was not ready within ${timeoutMs / 1000}s (${String(lastError ?? 'no answer')}). Log tail:\n${logTail(component)}`,
  );
}

export async function startControlPlane(bin: string, pki: LabPki): Promise<void> {
  startDaemon(etcdSpec());
  await waitFor('etcd', async () => {
    const res = await fetch(`http://127.0.0.1:${labPorts.etcdClient}/health`);
    return res.ok;
  }, 30_000);
  startDaemon(apiserverSpec(bin, pki));
  await waitFor('kube-apiserver', async () => (await adminGet(pki, `${apiserverUrl}/readyz`)).status === 200, 90_000);
  startDaemon(controllerManagerSpec(bin, pki, labPaths.kubeconfig));
  startDaemon(schedulerSpec(bin, labPaths.kubeconfig));
  await waitFor('kube-controller-manager', async () =>
    (await adminGet(pki, `https://127.0.0.1:${labPorts.controllerManager}/healthz`)).status === 200, 60_000);
  await waitFor('kube-scheduler', async () =>
    (await adminGet(pki, `https://127.0.0.1:${labPorts.scheduler}/healthz`)).status === 200, 60_000);
}
