// One scenario of `npm run bench:peers` (docs/comparison.md) for real, so that the peer's build and
// the benchmark's wiring cannot rot unnoticed: Flagger v1.36.1 (built from the Go module proxy by the
// test set-up, cached), its CRDs from its own module, the program as a local process watching this
// suite's namespace, a Canary (the benchmark's tuned configuration) over a Deployment of our runtime,
// the lab gateway serving Flagger's HTTPRoute, the suite's own Prometheus. The new version fails
// 30% of requests; Flagger must roll it back and take the traffic off it.
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import fs from 'node:fs';
import { FlaggerTool } from '../bench/peers/flagger.ts';
import { runPeerScenario } from '../bench/peers/lab.ts';
import { PEER_CLASSES, peerCorpus, toolDef, type PeerRunDef } from '../bench/peers/scenarios.ts';
import { BenchPrometheus } from '../bench/rollout-lab.ts';
import { ensureTestModels } from '../runtime/test-models/build.ts';
import { createTestNamespace, deleteNamespace, kubectlJson } from './lab-helpers.ts';

const prometheus = new BenchPrometheus();
const flagger = new FlaggerTool(toolDef('flagger-tuned'));
let ns = '';

beforeAll(async () => {
  await prometheus.start();
  ns = await createTestNamespace('peers-it');
  await flagger.start({ namespace: ns, prometheusUrl: prometheus.url, log: () => undefined });
}, 180_000);

afterAll(async () => {
  await flagger.stop();
  await prometheus.close();
  if (ns) await deleteNamespace(ns);
});

test('Flagger rolls a failing canary back in the lab, and the benchmark times it from the route', async () => {
  const m = ensureTestModels();
  const errors = PEER_CLASSES.find((c) => c.id === 'errors 2%');
  const [base] = peerCorpus({ seed: 1, quick: false, runs: 1, tools: ['flagger-tuned'], classes: ['e2'] });
  if (!errors || !base) throw new Error('no errors class');
  const run: PeerRunDef = { ...base, cls: { ...errors, poison: 0.3 } };
  const r = await runPeerScenario(flagger, run, {
    namespace: ns,
    files: {
      logreg: m.logreg,
      classifier: m.classifier,
      classifier_reexport: m.classifier_reexport,
      classifier_swapped: m.classifier_swapped,
      logreg_faulty: m.logreg_faulty,
      logreg_slow: m.logreg_slow,
      logreg_faulty_twin: m.logreg_faulty,
    },
    prometheus,
    log: () => undefined,
  });
  const log = fs.readFileSync(flagger.logFile, 'utf8');
  expect({ outcome: r.outcome, reason: r.reason }).toEqual({
    outcome: 'rolledBack',
    reason: expect.stringMatching(/Canary analysis failed/),
  });
  // Flagger halted on our error-rate template (error rate in percent over the threshold of 0.1).
  expect(log).toMatch(new RegExp(`Halt ${run.name}\\.${ns} advancement error-rate [0-9.]+ > 0\\.1`));
  expect(log).toContain(`Rolling back ${run.name}.${ns} failed checks threshold reached 3`);
  // The weights came from Flagger's own HTTPRoute: 20% on the canary, then none.
  expect(r.weights[0]?.[1]).toBe(20);
  expect(r.weights.at(-1)?.[1]).toBe(0);
  expect(r.times.faultToStable).toBeGreaterThan(0);
  // Clients saw the canary's failures: its answers carried its revision, and about 30% of them failed.
  expect(r.newVersionRequests).toBeGreaterThan(0);
  expect(r.load?.errors).toBeGreaterThan(0);
  const bad = r.buckets.reduce((n, b) => n + b[2], 0);
  expect(bad).toBeLessThanOrEqual(r.buckets.reduce((n, b) => n + b[3], 0));
  // The route is back on the primary, which still runs the first version.
  const route = await kubectlJson<{ spec: { rules: { backendRefs: { name: string; weight: number }[] }[] } }>(
    ['-n', ns, 'get', 'httproute', run.name],
  ).catch(() => undefined);
  if (route)
    expect(route.spec.rules[0]?.backendRefs.find((b) => b.name === `${run.name}-canary`)?.weight ?? 0).toBe(
      0,
    );
}, 420_000);
