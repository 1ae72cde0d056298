// The lab's certificates and keys, made locally with openssl once and reused: a CA, the API server's
// serving certificate, an admin client certificate (system:masters) and the service-account key pair.
import fs from 'node:fs';
import path from 'node:path';
import { labNetwork, labPaths } from './lab-config.ts';
import { run } from './run-command.ts';

export interface LabPki {
  caCert: string;
  caKey: string;
  apiserverCert: string;
  apiserverKey: string;
  adminCert: string;
  adminKey: string;
  /** The operator's own identity, so the API server's audit log tells its requests apart. */
  operatorCert: string;
  operatorKey: string;
  serviceAccountKey: string;
  serviceAccountPub: string;
}

export function pkiFiles(dir = labPaths.pki): LabPki {
  const f = (name: string): string => path.join(dir, name);
  return {
    caCert: f('ca.crt'),
    caKey: f('ca.key'),
    apiserverCert: f('apiserver.crt'),
    apiserverKey: f('apiserver.key'),
    adminCert: f('admin.crt'),
    adminKey: f('admin.key'),
    operatorCert: f('operator.crt'),
    operatorKey: f('operator.key'),
    serviceAccountKey: f('sa.key'),
    serviceAccountPub: f('sa.pub'),
  };
}

const days = '3650';

async function ecKey(file: string): Promise<void> {
  await run('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', file]);
}

async function signedCert(
  pki: LabPki,
  key: string,
  cert: string,
  subject: string,
  extensions: string[],
): Promise<void> {
  await ecKey(key);
  const csr = `${cert}.csr`;
  const args = ['req', '-new', '-key', key, '-subj', subject, '-out', csr];
  for (const ext of extensions) args.push('-addext', ext);
  await run('openssl', args);
  await run('openssl', [
    'x509', '-req', '-in', csr, '-CA', pki.caCert, '-CAkey', pki.caKey, '-CAcreateserial',
    '-days', days, '-copy_extensions', 'copy', '-out', cert,
  ]);
  fs.rmSync(csr, { force: true });
}

/** Creates whatever of the lab PKI is missing. Idempotent. */
export async function ensurePki(dir = labPaths.pki): Promise<LabPki> {
  const pki = pkiFiles(dir);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (!fs.existsSync(pki.caCert)) {
    await ecKey(pki.caKey);
    await run('openssl', [
      'req', '-x509', '-new', '-key', pki.caKey, '-subj', '/CN=onnxop-lab-ca', '-days', days,
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
      '-out', pki.caCert,
    ]);
  }
  if (!fs.existsSync(pki.apiserverCert)) {
    const sans = [
      'DNS:localhost', 'DNS:kubernetes', 'DNS:kubernetes.default', 'DNS:kubernetes.default.svc',
      'DNS:kubernetes.default.svc.cluster.local', 'IP:127.0.0.1', `IP:${labNetwork.bridgeAddress}`, 'IP:10.96.0.1',
    ];
    await signedCert(pki, pki.apiserverKey, pki.apiserverCert, '/CN=kube-apiserver', [
      `subjectAltName=${sans.join(',')}`,
      'extendedKeyUsage=serverAuth',
      'keyUsage=critical,digitalSignature,keyEncipherment',
    ]);
  }
  if (!fs.existsSync(pki.adminCert)) {
    await signedCert(pki, pki.adminKey, pki.adminCert, '/O=system:masters/CN=onnxop-lab-admin', [
      'extendedKeyUsage=clientAuth',
      'keyUsage=critical,digitalSignature,keyEncipherment',
    ]);
  }
  if (!fs.existsSync(pki.operatorCert)) {
    await signedCert(pki, pki.operatorKey, pki.operatorCert, '/O=system:masters/CN=onnx-operator', [
      'extendedKeyUsage=clientAuth',
      'keyUsage=critical,digitalSignature,keyEncipherment',
    ]);
  }
  if (!fs.existsSync(pki.serviceAccountKey)) {
    await run('openssl', ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', pki.serviceAccountKey]);
    await run('openssl', ['pkey', '-in', pki.serviceAccountKey, '-pubout', '-out', pki.serviceAccountPub]);
  }
  return pki;
}

/** A kubeconfig that authenticates with the admin client certificate. */
export function adminKubeconfig(pki: LabPki, server: string): string {
  return kubeconfig(pki, server, pki.adminCert, pki.adminKey, 'onnxop-lab-admin');
}

/** A kubeconfig for the operator's own identity (user `onnx-operator`). */
export function operatorKubeconfig(pki: LabPki, server: string): string {
  return kubeconfig(pki, server, pki.operatorCert, pki.operatorKey, 'onnx-operator');
}

function kubeconfig(pki: LabPki, server: string, cert: string, key: string, user: string): string {
  const b64 = (file: string): string => fs.readFileSync(file).toString('base64');
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: onnxop-lab',
    '  cluster:',
    `    server: ${server}`,
    `    certificate-authority-data: ${b64(pki.caCert)}`,
    'users:',
    `- name: ${user}`,
    '  user:',
    `    client-certificate-data: ${b64(cert)}`,
    `    client-key-data: ${b64(key)}`,
    'contexts:',
    '- name: onnxop-lab',
    '  context:',
    '    cluster: onnxop-lab',
    `    user: ${user}`,
    '    namespace: default',
    'current-context: onnxop-lab',
    '',
  ].join('\n');
}
