// Where tracing's cost goes (docs/runtime.md, "Tracing"). bench:runtime gives
// the throughput ratio of a saturated runtime with tracing on against off, on a machine whose cores
// Jaeger shares; this measures, at a fixed request rate, the runtime's own CPU per request with
// tracing off, on but sampling nothing (parentbased_always_off: spans are created, none recorded)
// and on at 100% (always_on, exported over OTLP/HTTP to a real Jaeger on loopback), and Jaeger's CPU
// per request, in alternating rounds as ratios side by side (never a timed assertion).
//
//   bash scripts/run.sh node bench/tracing-cost.ts [--rate 300] [--seconds 8] [--rounds 3]
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { jaegerCommand } from '../e2e/lab/jaeger.ts';
import { runLoad } from '../e2e/lab/loadgen/run-load.ts';
import { startRuntime } from '../runtime/test-support/child-runtime.ts';
import { metricValue, models } from '../runtime/test-support/harness.ts';
import { freePort } from '../test/operator-process.ts';

const { values } = parseArgs({ options: { rate: { type: 'string' }, seconds: { type: 'string' }, rounds: { type: 'string' } } });
const rate = Number(values.rate ?? 300);
const seconds = Number(values.seconds ?? 8);
const rounds = Number(values.rounds ?? 3);
const ROOT = join(import.meta.dirname, '..');

const jaegerBin = spawnSync('bash', [join(ROOT, 'e2e/lab/jaeger-build/build.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).stdout.trim().split('\n').pop() ?? '';
const [otlp, query, queryGrpc, health] = [await freePort(), await freePort(), await freePort(), await freePort()];
const cmd = jaegerCommand(jaegerBin, join(mkdtempSync(join(tmpdir(), 'tracing-cost-jaeger-')), 'jaeger.yaml'), { otlpHttp: `127.0.0.1:${otlp}`, query: `127.0.0.1:${query}`, queryGrpc: `127.0.0.1:${queryGrpc}`, health: `127.0.0.1:${health}` });
const jaeger = spawn(cmd.command, cmd.args, { stdio: 'ignore' });
for (let waited = 0; !(await fetch(`http://127.0.0.1:${health}/status`).then((r) => r.ok, () => false)); waited += 100) {
  if (waited > 60_000 || jaeger.exitCode !== null) throw new Error('Jaeger did not become healthy in 60 s');
  await new Promise((r) => setTimeout(r, 100));
}
/** CPU seconds a process used so far (/proc/<pid>/stat utime + stime). */
const procCpu = (pid: number): number => {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
};

const m = models().logreg;
// Every run on the session workers: the adaptive inline decision, taken from warm-up timings on a
// shared machine, could otherwise differ between the three runtimes.
const args = ['--model-name=logreg', `--model-uri=${m.path}`, `--model-digest=${m.digest}`, '--revision=bench', '--threads=1', '--inline-run-max-ms=0'];
const endpoint = { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${otlp}`, OTEL_BSP_SCHEDULE_DELAY: '1000' };
const variants = {
  off: {},
  on_sampling_nothing: { ...endpoint, OTEL_TRACES_SAMPLER: 'parentbased_always_off' },
  on_100pct: { ...endpoint, OTEL_TRACES_SAMPLER: 'always_on' },
} as const;
type Variant = keyof typeof variants;
const servers = Object.fromEntries(
  await Promise.all(
    (Object.keys(variants) as Variant[]).map(async (v) => {
      const rt = startRuntime(args, { ...variants[v] });
      return [v, { port: await rt.port, child: rt.child }] as const;
    }),
  ),
) as Record<Variant, { port: number; child: ReturnType<typeof startRuntime>['child'] }>;

const body = JSON.stringify({ inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 4], data: [0.1, 0.2, 0.3, 0.4] }] });
const cpuOf = async (port: number) => metricValue(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text(), 'onnxop_process_process_cpu_seconds_total') ?? Number.NaN;

interface Phase {
  requests: number;
  runtimeCpuMsPerRequest: number;
  jaegerCpuMsPerRequest: number;
}
async function phase(v: Variant): Promise<Phase> {
  const { port } = servers[v];
  const before = await cpuOf(port);
  const jBefore = procCpu(jaeger.pid as number);
  const load = await runLoad({ url: `http://127.0.0.1:${port}/v2/models/logreg/infer`, method: 'POST', headers: { 'content-type': 'application/json' }, body, rate, durationMs: seconds * 1000, maxRequests: Math.ceil(rate * seconds) + 10, timeoutMs: 5000 });
  // Spans still in the batch processor are exported within a second (OTEL_BSP_SCHEDULE_DELAY).
  await new Promise((r) => setTimeout(r, 1500));
  const cpu = (await cpuOf(port)) - before;
  const jaegerCpu = procCpu(jaeger.pid as number) - jBefore;
  const requests = load.total.statusCodes['200'] ?? 0;
  return { requests, runtimeCpuMsPerRequest: (cpu * 1000) / Math.max(1, requests), jaegerCpuMsPerRequest: (jaegerCpu * 1000) / Math.max(1, requests) };
}

const order: Variant[] = ['off', 'on_sampling_nothing', 'on_100pct'];
for (const v of order) await phase(v); // warm-up
const results: Record<Variant, Phase[]> = { off: [], on_sampling_nothing: [], on_100pct: [] };
for (let round = 1; round <= rounds; round++) {
  // Rotate the order so a busy stretch of the shared machine does not always hit the same variant.
  const turn = [...order.slice((round - 1) % 3), ...order.slice(0, (round - 1) % 3)];
  for (const v of turn) results[v].push(await phase(v));
  const r = (v: Variant) => results[v].at(-1) as Phase;
  console.log(
    `round ${round}: runtime CPU per request off ${r('off').runtimeCpuMsPerRequest.toFixed(3)} ms, on sampling nothing ${r('on_sampling_nothing').runtimeCpuMsPerRequest.toFixed(3)} ms (x${(r('on_sampling_nothing').runtimeCpuMsPerRequest / r('off').runtimeCpuMsPerRequest).toFixed(2)}), on 100% ${r('on_100pct').runtimeCpuMsPerRequest.toFixed(3)} ms (x${(r('on_100pct').runtimeCpuMsPerRequest / r('off').runtimeCpuMsPerRequest).toFixed(2)}); Jaeger ${r('on_100pct').jaegerCpuMsPerRequest.toFixed(3)} ms per traced request`,
  );
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const med = (v: Variant, k: keyof Phase) => median(results[v].map((p) => p[k]));
console.log(
  `median: runtime CPU per request x${(med('on_sampling_nothing', 'runtimeCpuMsPerRequest') / med('off', 'runtimeCpuMsPerRequest')).toFixed(2)} sampling nothing, x${(med('on_100pct', 'runtimeCpuMsPerRequest') / med('off', 'runtimeCpuMsPerRequest')).toFixed(2)} at 100%; Jaeger ${med('on_100pct', 'jaegerCpuMsPerRequest').toFixed(3)} ms CPU per traced request against the runtime's ${med('on_100pct', 'runtimeCpuMsPerRequest').toFixed(3)} ms`,
);
for (const s of Object.values(servers)) s.child.kill('SIGTERM');
jaeger.kill('SIGTERM');
