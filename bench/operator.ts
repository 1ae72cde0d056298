// `npm run bench:operator [-- --count 1000]`: N OnnxModels applied at once to the lab; measures the
// time until the operator has reconciled all of them (status.observedGeneration == generation and
// an empty work queue), reconciles per second, the operator's RSS, and API writes per model (from
// the API server's audit log). The limit it is compared with: the time the API server itself took
// to accept the N objects. Writes bench/out/operator.json.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { labPaths, repoRoot } from '../e2e/lab/lab-config.ts';
import { up } from '../e2e/lab/lab.ts';
import { stopDaemon } from '../e2e/lab/processes.ts';

const { values } = parseArgs({ options: { count: { type: 'string', default: '200' }, concurrency: { type: 'string', default: '4' } } });
const count = Number(values.count);
const concurrency = Number(values.concurrency);
if (!Number.isInteger(count) || count < 1 || count > 5000) throw new Error(`--count must be a whole number from 1 to 5000, got '${values.count}'`);

const kubectl = (args: string[], input?: string): string =>
  execFileSync(path.join(labPaths.bin, 'kubectl'), args, { encoding: 'utf8', input, maxBuffer: 512 * 1024 * 1024, stdio: ['pipe', 'pipe', 'inherit'] });

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

function rssKiB(pid: number): { rss: number; peak: number } {
  const text = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (key: string): number => Number(/\d+/.exec(text.split('\n').find((l) => l.startsWith(key)) ?? '')?.[0] ?? 0);
  return { rss: kib('VmRSS:'), peak: kib('VmHWM:') };
}

/** CPU seconds (user + system) a process has used, from /proc/<pid>/stat. */
function cpuSeconds(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ 100)
}

async function metric(port: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return text.split('\n').filter((l) => l.startsWith(name)).reduce((s, l) => s + Number(l.split(' ').pop()), 0);
}

function operatorWrites(sinceMs: number, ns: string): number {
  return fs
    .readFileSync(labPaths.auditLog, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { user?: { username?: string }; objectRef?: { namespace?: string; resource?: string }; stageTimestamp?: string })
    .filter((e) => e.user?.username === 'onnx-operator' && e.objectRef?.namespace === ns && Date.parse(e.stageTimestamp ?? '') >= sinceMs).length;
}

async function main(): Promise<void> {
  await up((m) => process.stderr.write(`[lab] ${m}\n`));
  // The demo's operator watches every namespace: two operators would measure each other.
  if (await stopDaemon('operator')) process.stderr.write('[bench] stopped the demo operator\n');
  kubectl(['apply', '--server-side', '--force-conflicts', '-f', path.join(repoRoot, 'crds/onnxmodel.yaml')]);
  kubectl(['wait', '--for=condition=Established', 'crd/onnxmodels.serving.onnxop.io', '--timeout=30s']);
  const ns = `bench-${process.pid}`;
  kubectl(['create', 'namespace', ns]);
  const port = await freePort();
  const log = fs.openSync(path.join(labPaths.logs, 'operator-bench.log'), 'w');
  const op = spawn(process.execPath, [
    path.join(repoRoot, 'operator/src/main.ts'), 'run', '--kubeconfig', labPaths.operatorKubeconfig, '--namespace', ns,
    '--http-host', '127.0.0.1', '--http-port', String(port), '--leader-elect', 'false', '--default-gateway', 'lab-system/lab',
    '--concurrency', String(concurrency), '--log-level', 'warn',
  ], { stdio: ['ignore', log, log] });
  try {
    for (let i = 0; i < 100 && !(await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.ok, () => false)); i++) await sleep(200);
    const idle = rssKiB(op.pid ?? 0);
    // Replicas 0: the benchmark measures the operator, not N inference processes on two cores.
    const docs = Array.from({ length: count }, (_, i) => stringify({
      apiVersion: 'serving.onnxop.io/v1alpha1', kind: 'OnnxModel', metadata: { name: `m${i}`, namespace: ns },
      spec: { model: { uri: `https://models.example.com/m${i}.onnx`, digest: `sha256:${i.toString(16).padStart(64, '0')}` }, runtime: { replicas: 0 } },
    })).join('---\n');
    const reconcilesBefore = await metric(port, 'onnxop_operator_reconcile_total');
    const cpuBefore = cpuSeconds(op.pid ?? 0);
    const start = Date.now();
    kubectl(['apply', '--server-side', '-f', '-'], docs);
    const appliedMs = Date.now() - start;
    let peakRss = idle.rss;
    let doneMs = 0;
    for (;;) {
      const items = (JSON.parse(kubectl(['-n', ns, 'get', 'onnxmodels', '-o', 'json'])) as { items: { metadata: { generation: number }; status?: { observedGeneration?: number } }[] }).items;
      const reconciled = items.filter((m) => m.status?.observedGeneration === m.metadata.generation).length;
      peakRss = Math.max(peakRss, rssKiB(op.pid ?? 0).rss);
      if (reconciled === count && (await metric(port, 'onnxop_operator_workqueue_depth')) === 0) {
        doneMs = Date.now() - start;
        break;
      }
      if (Date.now() - start > 20 * 60_000) throw new Error(`bench: only ${reconciled}/${count} reconciled after 20 minutes`);
      await sleep(250);
    }
    await sleep(2000); // let the audit log catch up with the last writes
    const reconciles = (await metric(port, 'onnxop_operator_reconcile_total')) - reconcilesBefore;
    const writes = operatorWrites(start, ns);
    const cpu = cpuSeconds(op.pid ?? 0) - cpuBefore;
    const result = {
      count,
      concurrency,
      apiServerAcceptMs: appliedMs,
      allReconciledMs: doneMs,
      reconcileToApplyRatio: Number((doneMs / appliedMs).toFixed(2)),
      reconcilesPerSecond: Number((reconciles / (doneMs / 1000)).toFixed(1)),
      reconcilesPerModel: Number((reconciles / count).toFixed(2)),
      apiWritesPerModel: Number((writes / count).toFixed(2)),
      // How busy the operator itself was: the rest of the time it waited on the API server.
      operatorCpuSeconds: Number(cpu.toFixed(2)),
      operatorCpuShareOfWallTime: Number((cpu / (doneMs / 1000)).toFixed(2)),
      operatorRssMiB: { idle: Math.round(idle.rss / 1024), peak: Math.round(peakRss / 1024), afterwards: Math.round(rssKiB(op.pid ?? 0).rss / 1024) },
      note: 'replicas 0; writes = every write request by user onnx-operator in the namespace (children, status, events), from the audit log',
    };
    fs.mkdirSync(path.join(repoRoot, 'bench/out'), { recursive: true });
    fs.writeFileSync(path.join(repoRoot, 'bench/out/operator.json'), `${JSON.stringify(result, null, 2)}\n`);
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } finally {
    op.kill('SIGTERM');
    kubectl(['delete', 'namespace', ns, '--wait=false']);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
