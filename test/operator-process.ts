// The operator as a child process against the lab (its own client identity, a free loopback port),
// and the API server's audit log, for integration tests that count the operator's writes.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { labPaths } from '../e2e/lab/lab-config.ts';
import { repoRoot, waitUntil } from './lab-helpers.ts';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

export interface OperatorProcessOptions {
  /** Its credentials; default the lab's operator identity (user onnx-operator, an admin). */
  kubeconfig?: string;
  /** More environment, e.g. POD_NAMESPACE as the chart's Deployment sets it. */
  env?: Record<string, string>;
  /** false: no lab defaults (Lease in default, the lab gateway): extraArgs say everything, as a Deployment's args do. */
  labDefaults?: boolean;
}

export class OperatorProcess {
  child: ChildProcess | undefined;
  port = 0;
  readonly logFile: string;
  readonly #leaseId: string;
  readonly #extraArgs: () => string[];
  readonly #opts: OperatorProcessOptions;

  /** `name` names the log file and the leader Lease, so suites never share a leader. */
  constructor(name: string, extraArgs: () => string[] = () => [], opts: OperatorProcessOptions = {}) {
    this.logFile = path.join(labPaths.logs, `${name}.log`);
    this.#leaseId = name;
    this.#extraArgs = extraArgs;
    this.#opts = opts;
  }

  async start(): Promise<void> {
    this.port = await freePort();
    const out = fs.openSync(this.logFile, 'a');
    this.child = spawn(
      process.execPath,
      [
        path.join(repoRoot, 'operator/src/main.ts'), 'run',
        '--kubeconfig', this.#opts.kubeconfig ?? labPaths.operatorKubeconfig,
        '--http-host', '127.0.0.1', '--http-port', String(this.port),
        ...(this.#opts.labDefaults === false ? [] : ['--leader-election-namespace', 'default', '--leader-election-id', this.#leaseId, '--default-gateway', 'lab-system/lab']),
        ...this.#extraArgs(),
      ],
      { stdio: ['ignore', out, out], cwd: repoRoot, env: { ...process.env, ...this.#opts.env } },
    );
    fs.closeSync(out);
    await waitUntil('the operator to be ready', async () => ((await fetch(`http://127.0.0.1:${this.port}/readyz`)).ok ? true : undefined), 60_000);
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await Promise.race([exited, sleep(10_000)]);
    if (child.exitCode === null) child.kill('SIGKILL');
  }

  /** A crash: SIGKILL, no drain, no lease release; resolves once the process is gone. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  /** The sum of every sample of a metric whose line starts with `name`. */
  async metric(name: string): Promise<number> {
    const text = await (await fetch(`http://127.0.0.1:${this.port}/metrics`)).text();
    return text.split('\n').filter((l) => l.startsWith(name)).reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
  }
}

export interface AuditEvent {
  user?: { username?: string };
  verb?: string;
  objectRef?: { resource?: string; namespace?: string; name?: string; subresource?: string };
  responseStatus?: { code?: number };
  stageTimestamp?: string;
}

/** Every audited write request since `since`. */
export function auditSince(since: Date): AuditEvent[] {
  return fs
    .readFileSync(labPaths.auditLog, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as AuditEvent)
    .filter((e) => Date.parse(e.stageTimestamp ?? '') > since.getTime());
}

/** Write requests the operator's identity sent since `since`, leader-election renewals aside. */
export function operatorWritesSince(since: Date): AuditEvent[] {
  return auditSince(since).filter((e) => e.user?.username === 'onnx-operator' && e.objectRef?.resource !== 'leases');
}
