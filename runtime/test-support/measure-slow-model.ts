// Prints how long the slow test model takes here (load and warm runs, as the tests measure it), as
// one JSON line. scripts/slow-cpu-test.sh runs it with and without the CPU slowed.
//   node runtime/test-support/measure-slow-model.ts
import { slowModelTiming } from './timing.ts';

const t = await slowModelTiming();
process.stdout.write(JSON.stringify({ loadMs: Math.round(t.loadMs), runsMs: t.runsMs.map((ms) => Math.round(ms)) }) + '\n');
