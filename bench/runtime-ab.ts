// Did a change make the runtime slower? `npm run bench:runtime-ab -- <ref> [<ref>…]` runs our
// runtime as of each commit (and of this working tree, `.`, when not named: always the last)
// serving logreg with default flags, started once each, under the same closed loop as
// bench:runtime's (c) (16 connections, BENCH_SECONDS per run), in BENCH_ROUNDS rounds (5 by
// default) whose order rotates, so that no version always runs first after a pause or last after
// the others warmed the machine. Prints each version's median req/s and its ratio to the first
// named, per round; writes bench/out/runtime-ab.json. Quicker than bench:runtime's
// BENCH_BASELINE_REF (which runs every other target too): the tool for bisecting a regression.
// Throughput on two shared cores moves ±10–20% from run to run with whatever else the machine does;
// each version's CPU time per request (its process's user + system time over the run, from
// /proc/<pid>/stat) moves much less, and says whether the server does more work per request.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureTestModels } from '../runtime/test-models/build.ts';
import { checkoutAt, load, median, ROOT, SECONDS, startRuntime, stop, type Result } from './runtime-harness.ts';

const refs = process.argv.slice(2);
if (refs.length === 0 || refs.some((r) => r.startsWith('-'))) {
  console.error('usage: npm run bench:runtime-ab -- <commit> [<commit>…]   (. = this working tree, added last when not named)');
  process.exit(2);
}
if (!refs.includes('.')) refs.push('.');
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
if (!Number.isInteger(ROUNDS) || ROUNDS < 1 || ROUNDS > 20) throw new Error(`BENCH_ROUNDS must be 1..20, got '${process.env.BENCH_ROUNDS}'`);
const logreg = ensureTestModels().logreg;
const body = JSON.stringify({ inputs: [{ name: 'features', shape: [1, 4], datatype: 'FP32', data: [0.1, 0.2, 0.3, 0.4] }] });
const path = '/v2/models/logreg/infer';

/** User + system CPU seconds of a process so far (Linux /proc; undefined elsewhere). */
function cpuSeconds(pid: number | undefined): number | undefined {
  try {
    // Fields after the command name (which may hold spaces, hence after the last ')'): utime and stime are the 12th and 13th.
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(')').pop()!.trim().split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // USER_HZ is 100 on Linux
  } catch {
    return undefined;
  }
}

const versions: { ref: string; commit: string; runtime: Awaited<ReturnType<typeof startRuntime>>; remove: () => void; runs: Result[]; cpuUsPerRequest: number[] }[] = [];
try {
  for (const ref of refs) {
    const checkout = ref === '.' ? { dir: ROOT, commit: 'working tree', remove: () => {} } : checkoutAt(ref);
    versions.push({ ref, commit: checkout.commit, runtime: await startRuntime('logreg', logreg, [], checkout.dir), remove: checkout.remove, runs: [], cpuUsPerRequest: [] });
  }
  console.log(`logreg, concurrency 16, ${SECONDS} s per run, ${ROUNDS} rounds; versions: ${versions.map((v) => `${v.ref} (${v.commit.slice(0, 12)})`).join(', ')}`);
  for (let round = 0; round < ROUNDS; round++)
    for (let i = 0; i < versions.length; i++) {
      const v = versions[(round + i) % versions.length]!;
      // load() warms up for a second before it counts; the CPU time of that second is left out
      // approximately by scaling to the counted requests' share of the run's wall time.
      const cpu0 = cpuSeconds(v.runtime.child.pid);
      const t0 = performance.now();
      const r = await load(`${v.ref} #${round + 1}`.padEnd(20), v.runtime.port, path, body, 16);
      const cpu1 = cpuSeconds(v.runtime.child.pid);
      const wall = (performance.now() - t0) / 1000;
      v.runs[round] = r;
      if (cpu0 !== undefined && cpu1 !== undefined) v.cpuUsPerRequest[round] = (((cpu1 - cpu0) * (r.seconds / wall)) / r.requests) * 1e6;
    }
} finally {
  for (const v of versions) {
    await stop(v.runtime.child);
    v.remove();
  }
}
const first = versions[0]!;
const summary = versions.map((v) => ({
  ref: v.ref,
  commit: v.commit,
  median_req_s: Math.round(median(v.runs.map((r) => r.throughput))),
  ratio_to_first: median(v.runs.map((r) => r.throughput)) / median(first.runs.map((r) => r.throughput)),
  round_ratios: v.runs.map((r, i) => r.throughput / first.runs[i]!.throughput),
  cpu_us_per_request: v.cpuUsPerRequest.length ? median(v.cpuUsPerRequest) : undefined,
  cpu_us_per_request_rounds: v.cpuUsPerRequest,
  runs: v.runs,
}));
for (const s of summary)
  console.log(
    `${s.ref.padEnd(12)} median ${String(s.median_req_s).padStart(6)} req/s  ${s.ratio_to_first.toFixed(2)} of ${first.ref} (rounds ${s.round_ratios.map((r) => r.toFixed(2)).join(', ')})` +
      (s.cpu_us_per_request === undefined ? '' : `; server CPU ${s.cpu_us_per_request.toFixed(1)} µs/request (rounds ${s.cpu_us_per_request_rounds.map((x) => x.toFixed(0)).join(', ')})`),
  );
mkdirSync(join(ROOT, 'bench/out'), { recursive: true });
writeFileSync(join(ROOT, 'bench/out/runtime-ab.json'), `${JSON.stringify({ date: new Date().toISOString(), seconds_per_run: SECONDS, rounds: ROUNDS, node: process.version, versions: summary }, null, 1)}\n`);
console.log('wrote bench/out/runtime-ab.json');
