// bench:shadow-cost — what a shadow step costs the stable pod (docs/rollout.md, "Shadow steps").
// During a shadow step the canary asks the stable revision's shadow port for the same input as each
// mirrored request; the stable pod runs the model once more for it. This measures the stable
// runtime's CPU per client request with and without those compare requests at a shadow share,
// in alternating rounds on one machine, as ratios side by side (never a timed assertion).
//
//   node bench/shadow-cost.ts [--rate 200] [--shadow 20] [--seconds 10] [--rounds 3]
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { HEADER_SHADOW, SHADOW_COMPARE } from '../lib/contract/index.ts';
import { runLoad } from '../e2e/lab/loadgen/run-load.ts';
import { metricValue } from '../runtime/test-support/harness.ts';
import { serveChild } from '../runtime/test-support/child-runtime.ts';
import { shadowRows } from '../runtime/test-models/build.ts';
import { freePort } from '../test/operator-process.ts';

const { values } = parseArgs({ options: { rate: { type: 'string' }, shadow: { type: 'string' }, seconds: { type: 'string' }, rounds: { type: 'string' } } });
const rate = Number(values.rate ?? 200);
const share = Number(values.shadow ?? 20) / 100;
const seconds = Number(values.seconds ?? 10);
const rounds = Number(values.rounds ?? 3);

const shadowPort = await freePort();
const stable = await serveChild('classifier', [`--shadow-port=${shadowPort}`]);
const body = JSON.stringify({ inputs: [{ name: 'features', datatype: 'FP32', shape: [4, 4], data: shadowRows(4, 1).flat() }] });
const headers = { 'content-type': 'application/json' };
const cpu = async () => {
  const text = await stable.metrics();
  return metricValue(text, 'onnxop_process_process_cpu_seconds_total') ?? Number.NaN;
};
const load = (url: string, r: number, extra: Record<string, string> = {}) =>
  runLoad({ url, method: 'POST', headers: { ...headers, ...extra }, body, rate: r, durationMs: seconds * 1000, maxRequests: Math.ceil(r * seconds) + 10, timeoutMs: 5000 });

interface Phase {
  clientRequests: number;
  compareRequests: number;
  cpuSeconds: number;
  cpuMsPerClientRequest: number;
}
async function phase(withCompare: boolean): Promise<Phase> {
  const before = await cpu();
  const [client, compare] = await Promise.all([
    load(`${stable.url}/v2/models/classifier/infer`, rate),
    withCompare ? load(`http://127.0.0.1:${shadowPort}/v2/models/classifier/infer`, rate * share, { [HEADER_SHADOW]: SHADOW_COMPARE }) : undefined,
  ]);
  const cpuSeconds = (await cpu()) - before;
  const ok = (l: typeof client | undefined) => l?.total.statusCodes['200'] ?? 0;
  return { clientRequests: ok(client), compareRequests: ok(compare), cpuSeconds, cpuMsPerClientRequest: (cpuSeconds * 1000) / Math.max(1, ok(client)) };
}

// Warm-up, then alternating rounds so drift on a shared machine hits both sides alike.
await phase(false);
const results: { round: number; without: Phase; with: Phase; ratio: number }[] = [];
for (let round = 1; round <= rounds; round++) {
  const first = round % 2 === 1;
  const a = first ? await phase(false) : await phase(true);
  const b = first ? await phase(true) : await phase(false);
  const [without, withCompare] = first ? [a, b] : [b, a];
  results.push({ round, without, with: withCompare, ratio: withCompare.cpuMsPerClientRequest / without.cpuMsPerClientRequest });
  console.log(`round ${round}: stable CPU per client request ${without.cpuMsPerClientRequest.toFixed(3)} ms without, ${withCompare.cpuMsPerClientRequest.toFixed(3)} ms with ${withCompare.compareRequests} compare requests (shadow ${share * 100}%): ×${results.at(-1)?.ratio.toFixed(3)}`);
}
const ratios = results.map((r) => r.ratio).sort((x, y) => x - y);
const median = ratios[Math.floor(ratios.length / 2)] ?? Number.NaN;
console.log(`median ×${median.toFixed(3)} stable CPU per client request at shadow ${share * 100}% (${rate} client req/s; compare requests skip model health, the prediction log and ground truth)`);
const out = path.join(import.meta.dirname, 'out', 'shadow-cost.json');
fs.mkdirSync(path.dirname(out), { recursive: true });
fs.writeFileSync(out, JSON.stringify({ rate, shadowPercent: share * 100, seconds, rounds: results, medianRatio: median, loadAverage: (await import('node:os')).loadavg() }, null, 2) + '\n');
await stable.stop();
