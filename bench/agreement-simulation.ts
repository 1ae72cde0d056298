// The agreement gate's decisions on silent regressions, simulated on the real judge (no lab): for
// canaries that change 0% (a re-export), 1%, 5%, 20% and 100% of predictions, each mirrored row
// disagrees with that probability; the gate is judged at every look exactly as the operator judges
// it (judge() with the canary's cumulative counts, the repeated-look levels), and the step ends the
// way the state machine ends it: a fail rolls back at once, a pass after the pause advances, and
// maxInConclusive inconclusive looks in a row pause for a human. Detection rate = rolled back;
// time = seconds from the step's start to the decision. bench/shadow-rollout.ts runs such classes
// in the lab; this measures the statistics alone, on many more runs.
//
//   node bench/agreement-simulation.ts [--runs 400]
import { parseArgs } from 'node:util';
import { judge } from '../operator/src/analysis/judge.ts';
import { planQuality } from '../operator/src/analysis/quality.ts';
import { analysisSpec } from '../operator/src/analysis/test-fixtures.ts';
import type { QualityGates } from '../operator/src/api/types.ts';
import { seededRandom } from '../lib/test-support/seeded-random.ts';

const { values } = parseArgs({ options: { runs: { type: 'string' } } });
const runs = Number(values.runs ?? 400);

/** bench:rollout's shape: a look every 10 s, a 1 m shadow step; mirrored rows per second vary (20 req/s × 20% × rows per request). */
const INTERVAL_S = 10;
const PAUSE_S = 60;
const MAX_INCONCLUSIVE = 30;

type Outcome = 'rolledBack' | 'advanced' | 'paused';

function once(quality: QualityGates, flip: number, rowsPerSecond: number, random: () => number): { outcome: Outcome; seconds: number } {
  const analysis = analysisSpec({ quality, maxInconclusive: MAX_INCONCLUSIVE });
  let agree = 0;
  let disagree = 0;
  let inconclusive = 0;
  for (let look = 1; ; look++) {
    const t = look * INTERVAL_S;
    for (let i = 0; i < rowsPerSecond * INTERVAL_S; i++) {
      if (random() < flip) disagree++;
      else agree++;
    }
    // The window is the canary's counted life (capped at 1 h): cumulative counts.
    const requests = planQuality({ quality, namespace: 'b', servedModelName: 'm', canary: 'c', stable: 's', window: `${t}s`, windowSeconds: t, shadow: true });
    const answers = requests.map((r) => ({ id: r.id, ok: true as const, counts: r.series === 'comparisons' ? { agree, disagree } : ({} as Record<string, number>) }));
    const j = judge({ analysis, requests: [], answers: [], look, shadow: true, gates: { requests, answers, countedForMs: t * 1000 } });
    if (j.verdict === 'fail') return { outcome: 'rolledBack', seconds: t };
    inconclusive = j.verdict === 'inconclusive' ? inconclusive + 1 : 0;
    if (j.verdict === 'pass' && t >= PAUSE_S) return { outcome: 'advanced', seconds: t };
    if (inconclusive >= MAX_INCONCLUSIVE) return { outcome: 'paused', seconds: t };
  }
}

const random = seededRandom(20261130);
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
for (const [minAgreement, rowsPerSecond] of [[99, 4], [99, 40], [99.9, 40]] as const) {
  const quality: QualityGates = { agreement: { minAgreement, minSamples: 200 } };
  console.log(`\nminAgreement ${minAgreement}, minSamples 200; ${rowsPerSecond} mirrored rows/s, a look every ${INTERVAL_S} s, ${PAUSE_S} s pause, ${runs} runs per class`);
  console.log('changed   rolled back  advanced  paused   median s to decision (p90)');
  for (const flip of [0, 0.01, 0.05, 0.2, 1]) {
    const results = Array.from({ length: runs }, () => once(quality, flip, rowsPerSecond, random));
    const count = (o: Outcome) => results.filter((r) => r.outcome === o).length / runs;
    const times = results.map((r) => r.seconds).sort((a, b) => a - b);
    const q = (p: number) => times[Math.min(times.length - 1, Math.floor(p * times.length))];
    console.log(`${pct(flip).padStart(6)}   ${pct(count('rolledBack')).padStart(10)}  ${pct(count('advanced')).padStart(8)}  ${pct(count('paused')).padStart(6)}   ${q(0.5)} (${q(0.9)})`);
  }
}
