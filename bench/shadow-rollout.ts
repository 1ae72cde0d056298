// bench:shadow-rollout — silent regressions through a shadow step in the lab (issue 15): a stable
// classifier, and canaries that are the same model re-exported or change 1%, 5%, 20% or 100% of
// the predictions on the rows the load sends (every answer a 200). Real API server, operator,
// runtime pods, Prometheus and a gateway of its own honouring RequestMirror; steady load. Per class:
// detection rate (rolled back), time from the new spec to the route back on stable alone (or to
// promotion), client errors, and client requests a wrong canary answered.
//
//   bash scripts/run.sh node bench/shadow-rollout.ts [--runs 2]     (needs the lab up)
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startLoad } from '../e2e/lab/loadgen/run-load.ts';
import { prometheusUrl } from '../e2e/lab/prometheus.ts';
import { ensureTestModels, shadowRows, type TestModel, type TestModelName } from '../runtime/test-models/build.ts';
import { applyCrd, applyModel, createTestNamespace, deleteNamespace, kubectl, waitForModel } from '../test/lab-helpers.ts';
import { OperatorProcess } from '../test/operator-process.ts';
import { SuiteGateway } from '../test/suite-gateway.ts';

const { values } = parseArgs({ options: { runs: { type: 'string' } } });
const runs = Number(values.runs ?? 2);
/** 100 rows per request; with this seed classifier_flip_P changes exactly P of them (P = 1, 5, 20). */
const ROWS = shadowRows(100, 100);
const CLASSES: { id: string; canary: TestModelName; expect: 'promoted' | 'rolledBack' }[] = [
  { id: 're-export', canary: 'classifier_reexport', expect: 'promoted' },
  { id: '1% changed', canary: 'classifier_flip_1', expect: 'rolledBack' },
  { id: '5% changed', canary: 'classifier_flip_5', expect: 'rolledBack' },
  { id: '20% changed', canary: 'classifier_flip_20', expect: 'rolledBack' },
  { id: '100% changed', canary: 'classifier_flip_100', expect: 'rolledBack' },
];
const SPEC = {
  steps: [
    { shadow: 20, pause: '30s' },
    { weight: 50, pause: '10s' },
  ],
  analysis: {
    interval: '5s',
    // Loose enough to pass a healthy canary on the few client requests of a 10 s step at 5 req/s.
    slos: [{ name: 'availability', builtin: 'availability', objective: 90 }],
    burnRateWindows: [{ short: '10s', long: '1m', threshold: 2 }],
    minRequests: 20,
    maxInconclusive: 0,
    quality: { agreement: { minAgreement: 99.9, minSamples: 500 } },
  },
  progressDeadline: '2m',
  scaleDownDelay: '5s',
};

interface Status {
  observedGeneration?: number;
  phase?: string;
  canary?: { revision: string };
  stable?: { revision: string; digest: string };
}
const models = ensureTestModels();
const gateway = new SuiteGateway('shadow-bench');
const operator = new OperatorProcess('onnx-operator-shadow-bench', () => ['--instance-id', 'shadow-bench', '--prometheus-url', prometheusUrl, '--prometheus-scrape-interval', '2s', '--prometheus-timeout', '2s']);
await applyCrd();
await gateway.start();
const ns = await createTestNamespace('shadow-bench');
await operator.start();
const cleanUp = async () => {
  await operator.stop();
  await gateway.stop();
  await deleteNamespace(ns);
};
// Interrupted: the operator and gateway this run started go with it.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void cleanUp().finally(() => process.exit(130)));

const apply = (name: string, file: TestModel) =>
  applyModel(ns, {
    apiVersion: 'serving.onnxop.io/v1alpha1',
    kind: 'OnnxModel',
    metadata: { name, labels: { 'serving.onnxop.io/controller-instance': 'shadow-bench' } },
    spec: { model: { uri: `file://${file.path}`, digest: file.digest, name: 'm' }, ...gateway.modelSpec(name, ns), rollout: SPEC },
  });
const until = (name: string, what: string, ok: (s: Status) => boolean) => waitForModel<Status>(ns, name, what, ok, 240_000, 500);

const results: { cls: string; outcome: string; seconds: number; clientErrors: number; canaryAnswered: number }[] = [];
try {
  for (const cls of CLASSES) {
    for (let run = 0; run < runs; run++) {
      const name = `${cls.canary.replaceAll('_', '-')}-${run}`;
      await apply(name, models.classifier);
      const stable = await until(name, 'stable', (s) => s.phase === 'Stable');
      const load = startLoad({ url: `http://127.0.0.1:${gateway.port}/v2/models/m/infer`, method: 'POST', headers: { 'content-type': 'application/json', host: `${name}.${ns}.lab` }, body: JSON.stringify({ inputs: [{ name: 'features', datatype: 'FP32', shape: [ROWS.length, 4], data: ROWS.flat() }] }), rate: 10, maxRequests: 5000, durationMs: 300_000, timeoutMs: 5000, groupByHeader: 'x-onnxop-revision' });
      const generation = await apply(name, models[cls.canary]);
      await until(name, 'the new spec observed', (s) => (s.observedGeneration ?? 0) >= generation);
      const t0 = performance.now();
      const end = await until(name, 'the rollout to end', (s) => s.phase === 'RolledBack' || (s.phase === 'Stable' && !s.canary));
      const seconds = (performance.now() - t0) / 1000;
      const traffic = await load.stop();
      const ok = traffic.total.statusCodes['200'] ?? 0;
      const canaryAnswered = Object.entries(traffic.byGroup).filter(([rev]) => rev !== stable.stable?.revision).reduce((n, [, g]) => n + g.count, 0);
      results.push({ cls: cls.id, outcome: end.phase === 'RolledBack' ? 'rolledBack' : 'promoted', seconds, clientErrors: traffic.total.count - ok, canaryAnswered });
      console.log(`${cls.id} run ${run + 1}: ${results.at(-1)?.outcome} after ${seconds.toFixed(1)} s; client errors ${traffic.total.count - ok} of ${traffic.total.count}; answered by the canary ${canaryAnswered}`);
      await kubectl(['-n', ns, 'delete', 'onnxmodel', name, '--wait=false']);
    }
  }
} finally {
  await cleanUp();
}

console.log('\nclass          expected     detected (rolled back)  median s to stable  client errors  answered by a wrong canary');
for (const cls of CLASSES) {
  const r = results.filter((x) => x.cls === cls.id);
  const times = r.map((x) => x.seconds).sort((a, b) => a - b);
  const detected = r.filter((x) => x.outcome === 'rolledBack').length;
  console.log(`${cls.id.padEnd(14)} ${cls.expect.padEnd(12)} ${`${detected}/${r.length}`.padEnd(23)} ${(times[Math.floor(times.length / 2)] ?? NaN).toFixed(1).padEnd(19)} ${r.reduce((n, x) => n + x.clientErrors, 0)}              ${cls.expect === 'rolledBack' ? r.reduce((n, x) => n + x.canaryAnswered, 0) : '—'}`);
}
const out = path.join(import.meta.dirname, 'out', 'shadow-rollout.json');
fs.mkdirSync(path.dirname(out), { recursive: true });
fs.writeFileSync(out, JSON.stringify({ when: new Date().toISOString(), spec: SPEC, rowsPerRequest: ROWS.length, rate: 10, results }, null, 2) + '\n');
