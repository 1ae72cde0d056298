// `npm run bench:rollout [-- --quick] [-- --seed N --concurrency N --cost-models N --only e5,l10]`
// (`-- --silent [--runs N]`: the silent-regression classes instead, bench/shadow-rollout.ts):
// a seeded corpus of canary rollouts through the lab — the real API server, the process kubelet
// running the real runtime, the lab gateway splitting traffic by the operator's HTTPRoute, the
// load generator at 20 req/s, a real Prometheus scraping every 2 s — judged by one operator
// (watching only the bench's namespace), several scenarios at once. Per class: promoted / rolled
// back / paused, fault start → all traffic on stable, next to the statistical limit
// (requestsToDecide at that bad ratio, in seconds at the canary's 4 req/s). Then Prometheus is
// stopped under the outage runs, and 100 models are held mid-rollout to measure the analysis' own
// cost (Prometheus queries per second, operator CPU). Writes bench/out/rollout.json.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { repoRoot } from '../e2e/lab/lab-config.ts';
import { up } from '../e2e/lab/lab.ts';
import { specWindows } from '../operator/src/analysis/index.ts';
import { LABEL_CONTROLLER_INSTANCE } from '../operator/src/api/constants.ts';
import { ensureTestModels } from '../runtime/test-models/build.ts';
import { createTestNamespace, deleteNamespace, kubectl } from '../test/lab-helpers.ts';
import { OperatorProcess } from '../test/operator-process.ts';
import {
  BenchPrometheus,
  characterize,
  ensureSlow2x,
  INSTANCE_ID,
  pool,
  processCpuSeconds,
  runScenario,
  Watch,
  type ModelFile,
  type RunContext,
} from './rollout-lab.ts';
import {
  benchAnalysis,
  CLASSES,
  corpus,
  cost,
  parseSeconds,
  rolloutSpec,
  summarize,
  table,
  targets,
  TRAFFIC,
  type RunDef,
  type RunResult,
} from './rollout-report.ts';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    seed: { type: 'string', default: '1' },
    concurrency: { type: 'string', default: '6' },
    'cost-models': { type: 'string' },
    'skip-cost': { type: 'boolean', default: false },
    only: { type: 'string' },
    report: { type: 'string' },
    silent: { type: 'boolean', default: false },
    runs: { type: 'string' },
  },
});
if (values.runs !== undefined && !values.silent) throw new Error('--runs is for --silent (the silent-regression classes); the corpus sets its own runs per class');
if (values.silent) {
  // Silent regressions (200 OK, wrong predictions) through a shadow step: re-export, 1/5/20/100%
  // of predictions changed. Its own script (its own gateway honouring RequestMirror, load of
  // varied rows); here it gets the lab it needs.
  await up((m) => process.stderr.write(`[bench:rollout] [lab] ${m}\n`));
  execFileSync(process.execPath, ['bench/shadow-rollout.ts', ...(values.runs ? ['--runs', values.runs] : [])], { cwd: repoRoot, stdio: 'inherit' });
  process.exit(0);
}
const quick = values.quick ?? false;
const seed = Number(values.seed);
const concurrency = Number(values.concurrency);
const costModels = Number(values['cost-models'] ?? (quick ? 10 : 100));
if (!Number.isInteger(seed)) throw new Error(`--seed must be a whole number, got '${values.seed}'`);
if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 16)
  throw new Error(`--concurrency must be 1..16, got '${values.concurrency}'`);
if (!Number.isInteger(costModels) || costModels < 1 || costModels > 200)
  throw new Error(`--cost-models must be 1..200, got '${values['cost-models']}'`);
const only = values.only ? values.only.split(',') : undefined;
const log = (m: string) =>
  process.stderr.write(`[bench:rollout ${new Date().toISOString().slice(11, 19)}] ${m}\n`);

/** From the canary's apply to the run's end, at most: the 300 s until a pause without data, pods, slack. */
const RUN_CAP_MS = 9 * 60_000;
/** The operator's --concurrency: models reconciled (and so measured) at once. */
const OPERATOR_CONCURRENCY = 4;

/**
 * `n` models held in a step (pause 1h, never pausing for data) with the analysis running, no load.
 * Their pods run the lab's echo image, which answers the runtime's probes: a stable and a canary pod
 * per model (a canary needs a serving stable revision) cost two small processes, not two runtimes.
 */
async function measureCost(
  ctx: { namespace: string; watch: Watch; operator: OperatorProcess },
  n: number,
  settle: boolean,
) {
  const analysis = { ...(rolloutSpec().analysis as Record<string, unknown>), maxInconclusive: 0 };
  const spec = { ...rolloutSpec(), steps: [{ weight: TRAFFIC.weight, pause: '1h' }], analysis };
  const doc = (i: number, version: number) =>
    stringify({
      apiVersion: 'serving.onnxop.io/v1alpha1',
      kind: 'OnnxModel',
      metadata: {
        name: `cost-${i}`,
        namespace: ctx.namespace,
        labels: { [LABEL_CONTROLLER_INSTANCE]: INSTANCE_ID },
      },
      spec: {
        model: {
          uri: `https://models.example.com/cost-${i}.onnx`,
          digest: `sha256:${(i * 16 + version).toString(16).padStart(64, '0')}`,
          name: 'm',
        },
        runtime: { replicas: 1, image: 'lab.onnxop.io/echo:v1' },
        traffic: { gatewayAPI: { hostnames: [`cost-${i}.${ctx.namespace}.lab`] } },
        rollout: spec,
      },
    });
  const names = Array.from({ length: n }, (_, i) => `cost-${i}`);
  const holding = (x: string) => ctx.watch.now(x).rollout?.state === 'Holding';
  /** Waits until every model is `what`, at most timeoutMs; returns how many are. */
  const waitAll = async (ok: (name: string) => boolean, timeoutMs: number) => {
    const deadline = Date.now() + timeoutMs;
    while (!names.every(ok) && Date.now() < deadline) await sleep(1000);
    return names.filter(ok).length;
  };
  await kubectl(['apply', '--server-side', '-f', '-'], names.map((_, i) => doc(i, 1)).join('---\n'));
  const stable = await waitAll(
    (x) => ctx.watch.now(x).phase === 'Stable' && !!ctx.watch.now(x).stable,
    6 * 60_000,
  );
  log(`cost: ${stable} of ${n} stable; moving them to a canary`);
  await kubectl(['apply', '--server-side', '-f', '-'], names.map((_, i) => doc(i, 2)).join('---\n'));
  const held = await waitAll(holding, 8 * 60_000);
  if (held < n / 2)
    throw new Error(
      `cost: only ${held} of ${n} models reached their step (pods: kubectl -n ${ctx.namespace} get pods)`,
    );
  const heldNames = names.filter(holding);
  const youngest = () =>
    Math.min(...heldNames.map((x) => Date.now() - Date.parse(ctx.watch.now(x).canary?.since ?? '')));
  // Once every canary is older than the short window, each SLO has two distinct windows to query.
  const shortMs = parseSeconds(benchAnalysis().burnRateWindows[0]?.short ?? '5m') * 1000;
  const settleDeadline = Date.now() + 7 * 60_000;
  if (settle) while (youngest() < shortMs + 15_000 && Date.now() < settleDeadline) await sleep(2000);
  log(
    `cost: measuring ${heldNames.length} models held at their step, youngest canary ${Math.round(youngest() / 1000)} s old`,
  );
  const pid = ctx.operator.child?.pid ?? 0;
  const q0 = await ctx.operator.metric('onnxop_operator_prometheus_queries_total');
  const m0 = await ctx.operator.metric('onnxop_operator_analysis_verdicts_total');
  const c0 = processCpuSeconds(pid);
  const t0 = Date.now();
  await sleep(quick ? 30_000 : 60_000);
  const q1 = await ctx.operator.metric('onnxop_operator_prometheus_queries_total');
  const m1 = await ctx.operator.metric('onnxop_operator_analysis_verdicts_total');
  const c1 = processCpuSeconds(pid);
  const seconds = (Date.now() - t0) / 1000;
  const stillHeld = names.filter(holding).length;
  const a = benchAnalysis();
  const requestsPerLook = a.slos.length * specWindows(a).length * 2;
  const result = cost({
    models: stillHeld,
    seconds,
    queries: q1 - q0,
    measurements: m1 - m0,
    cpuSeconds: c1 - c0,
    intervalSeconds: parseSeconds(a.interval),
    requestsPerLook,
    inFlight: OPERATOR_CONCURRENCY,
  });
  await kubectl(['-n', ctx.namespace, 'delete', 'onnxmodel', '--all', '--wait=false']);
  return { ...result, applied: n, canaryAgeSeconds: Math.round(youngest() / 1000), requestsPerLook };
}

async function main(): Promise<void> {
  const started = new Date();
  // The operator runs from the working tree: which commit, and which of its files differ from it.
  const git = (args: string[]) => execFileSync('git', args, { cwd: repoRoot, encoding: 'utf8' }).trim();
  const tree = {
    commit: git(['rev-parse', 'HEAD']),
    uncommittedOperatorFiles: git(['status', '--porcelain', '--', 'operator/src', 'lib'])
      .split('\n')
      .filter(Boolean),
  };
  await up((m) => log(`[lab] ${m}`));
  await kubectl([
    'apply',
    '--server-side',
    '--force-conflicts',
    '-f',
    path.join(repoRoot, 'crds/onnxmodel.yaml'),
  ]);
  await kubectl(['wait', '--for=condition=Established', 'crd/onnxmodels.serving.onnxop.io', '--timeout=30s']);
  const tm = ensureTestModels();
  const files: Record<string, ModelFile> = { ...tm, logreg_slow2x: ensureSlow2x() };
  const runs = corpus(seed, quick, only);
  // The fault models' latency at steady state, outside the cluster: the latency classes' bad ratios.
  const thresholdSeconds =
    benchAnalysis().slos.find((x) => x.builtin === 'latency')?.latencyThresholdSeconds ?? 0.005;
  const canaryModels = ['logreg', ...new Set(CLASSES.map((c) => c.canary))];
  log(`characterizing ${canaryModels.join(', ')} on loopback`);
  const faultModels = await characterize(
    Object.fromEntries(canaryModels.map((m) => [m, files[m] as ModelFile])),
    {
      rate: 10,
      seconds: 30,
      thresholdSeconds,
      body: JSON.stringify({
        inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 4], data: [5.1, 3.5, 1.4, 0.2] }],
      }),
    },
  );
  const steady = Object.fromEntries(faultModels.map((m) => [m.model, m.slowShare]));
  log(
    `slower than ${thresholdSeconds} s: ${faultModels.map((m) => `${m.model} ${(m.slowShare * 100).toFixed(1)}% (p50 ${m.p50Ms} ms)`).join(', ')}`,
  );
  log(`${runs.length} runs, ${concurrency} at once, seed ${seed}${quick ? ' (quick)' : ''}`);

  const prometheus = new BenchPrometheus();
  await prometheus.start();
  const namespace = await createTestNamespace('bench-rollout');
  const operator = new OperatorProcess('onnx-operator-bench-rollout', () => [
    '--namespace',
    namespace,
    '--prometheus-url',
    prometheus.url,
    '--prometheus-scrape-interval',
    '2s',
    '--prometheus-timeout',
    '2s',
    '--instance-id',
    INSTANCE_ID,
    '--concurrency',
    String(OPERATOR_CONCURRENCY),
    '--log-level',
    'info',
  ]);
  const watch = new Watch(namespace);
  // Interrupted: stop what this benchmark started (its operator, its Prometheus, its namespace).
  const interrupted = (signal: string) => {
    log(`${signal}: cleaning up`);
    void Promise.allSettled([operator.stop(), prometheus.close(), deleteNamespace(namespace)]).then(() =>
      process.exit(130),
    );
  };
  process.once('SIGINT', interrupted).once('SIGTERM', interrupted);
  const results: RunResult[] = [];
  let costResult: Awaited<ReturnType<typeof measureCost>> | { error: string } | undefined;
  let corpusCpu: { seconds: number; cpuSeconds: number } | undefined;
  const loadBefore = os.loadavg();
  try {
    await operator.start();
    await watch.start();
    const pid = () => operator.child?.pid;
    const ctx: RunContext = {
      namespace,
      watch,
      prometheus,
      operatorPid: pid,
      stable: files.logreg as ModelFile,
      canaryFile: (run: RunDef) => files[run.cls.canary] as ModelFile,
      spec: rolloutSpec(),
      capMs: RUN_CAP_MS,
      log,
    };
    const cpu0 = processCpuSeconds(pid() ?? 0);
    const t0 = Date.now();
    const report = (r: RunResult) => {
      results.push(r);
      log(
        `${r.name}: ${r.outcome}${r.reason ? ` (${r.reason})` : ''}${r.faultToStable !== undefined ? `, fault → stable ${r.faultToStable} s` : ''}${r.faultToPromoted !== undefined ? `, promoted after ${r.faultToPromoted} s` : ''}${r.foreignOperators ? ` [other operators: ${r.foreignOperators.join(', ')}]` : ''}`,
      );
    };
    await pool(
      runs.filter((r) => !r.cls.outage),
      concurrency,
      async (run) => {
        report(await runScenario(run, ctx));
      },
    );

    // The outage runs together: Prometheus is stopped once each canary holds its step with a
    // measurement taken, then started again for what follows.
    const outageRuns = runs.filter((r) => r.cls.outage);
    if (outageRuns.length > 0) {
      const outage: { stoppedAt?: number } = {};
      const settled = new Set<string>();
      const scenarios = outageRuns.map((run) =>
        runScenario(run, ctx, { stoppedAt: () => outage.stoppedAt }).then(
          (r) => (settled.add(run.name), report(r)),
        ),
      );
      const deadline = Date.now() + 6 * 60_000;
      const holding = (name: string) => {
        const s = watch.now(name);
        return s.rollout?.state === 'Holding' && !!s.canary && s.lastAnalysis?.revision === s.canary.revision;
      };
      while (!outageRuns.every((r) => settled.has(r.name) || holding(r.name)) && Date.now() < deadline)
        await sleep(250);
      outage.stoppedAt = Date.now();
      log(`stopping Prometheus under ${outageRuns.filter((r) => !settled.has(r.name)).length} canaries`);
      await prometheus.stop();
      await Promise.all(scenarios);
      await prometheus.start();
    }
    corpusCpu = { seconds: (Date.now() - t0) / 1000, cpuSeconds: processCpuSeconds(pid() ?? 0) - cpu0 };

    if (!values['skip-cost']) {
      log(`cost: ${costModels} models held mid-rollout`);
      costResult = await measureCost({ namespace, watch, operator }, costModels, !quick).catch(
        (err: unknown) => ({ error: err instanceof Error ? err.message : String(err) }),
      );
    }
  } finally {
    await watch.stop().catch(() => undefined);
    await operator.stop();
    await prometheus.close();
    await deleteNamespace(namespace);
  }

  const analysis = benchAnalysis();
  const { summaries, verdicts } = summarizeAll(results, steady);
  const out = {
    started: started.toISOString(),
    tree,
    finished: new Date().toISOString(),
    machine: {
      cpus: os.cpus().length,
      loadAverageBefore: loadBefore.map((x) => Math.round(x * 10) / 10),
      loadAverageAfter: os.loadavg().map((x) => Math.round(x * 10) / 10),
    },
    command: `npm run bench:rollout --${quick ? ' --quick' : ''} --seed ${seed} --concurrency ${concurrency}${only ? ` --only ${only.join(',')}` : ''}`,
    seed,
    quick,
    concurrency,
    traffic: {
      ...TRAFFIC,
      canaryRequestsPerSecond: (TRAFFIC.rate * TRAFFIC.weight) / 100,
      scrapeIntervalSeconds: 2,
    },
    rollout: rolloutSpec(),
    intervalSeconds: parseSeconds(analysis.interval),
    notes: [
      'limits: requestsToDecide (fixed-sample, alpha 0.05) at the class bad ratio (availability: the poisoned share; latency: the share slower than the threshold Prometheus counted over the canary life, median over the runs; faultModels has each model at steady state on loopback), against the pair line (14.4 × budget) and against 1 × budget; seconds at the canary request rate',
      'ours / limit: median fault → stable over the reference limit (the fastest fail); for healthy canaries median time to promotion over the slowest pass',
      `judge on expected counts: planMeasurements + judge every interval on exactly the expected counts at these ratios, up to ${REPLAY_HORIZON_SECONDS} s (what the statistics alone need)`,
      `the bench's operator runs with --namespace <bench namespace> --instance-id ${INSTANCE_ID} and labels its models, so other operators in the lab leave them alone; runs with foreignOperators saw another operator with that instance id`,
    ],
    faultModels,
    classes: summaries,
    targets: verdicts,
    cost: costResult,
    operatorDuringCorpus: corpusCpu
      ? { ...corpusCpu, cpuCores: Math.round((corpusCpu.cpuSeconds / corpusCpu.seconds) * 100) / 100 }
      : undefined,
    runs: results,
  };
  fs.mkdirSync(path.join(repoRoot, 'bench/out'), { recursive: true });
  fs.writeFileSync(OUT, `${JSON.stringify(out, null, 2)}\n`);
  print(summaries, verdicts, costResult);
}

const OUT = path.join(repoRoot, 'bench/out/rollout.json');
/** How far the judge is replayed on expected counts. */
const REPLAY_HORIZON_SECONDS = 900;

function summarizeAll(results: readonly RunResult[], steady: Partial<Record<string, number>>) {
  const summaries = CLASSES.map((cls) => ({ cls, runs: results.filter((r) => r.cls === cls.id) }))
    .filter((c) => c.runs.length > 0)
    .map((c) => summarize(c.cls, c.runs, REPLAY_HORIZON_SECONDS, steady));
  return { summaries, verdicts: targets(summaries) };
}

function print(
  summaries: ReturnType<typeof summarizeAll>['summaries'],
  verdicts: ReturnType<typeof targets>,
  costResult: unknown,
): void {
  process.stdout.write(`${table(summaries)}\n\n`);
  for (const t of verdicts)
    process.stdout.write(`${t.met ? 'met    ' : 'NOT MET'}  ${t.target}: ${t.detail}\n`);
  if (costResult) process.stdout.write(`\ncost: ${JSON.stringify(costResult)}\n`);
  process.stdout.write(`wrote ${path.relative(repoRoot, OUT)}\n`);
}

/** --report FILE: the summaries and targets of a saved run computed again (after a change of this file), written to bench/out/rollout.json. */
function report(file: string): void {
  const saved = JSON.parse(fs.readFileSync(file, 'utf8')) as {
    runs: RunResult[];
    faultModels?: { model: string; slowShare: number }[];
    cost?: unknown;
  };
  const steady = Object.fromEntries((saved.faultModels ?? []).map((m) => [m.model, m.slowShare]));
  const { summaries, verdicts } = summarizeAll(saved.runs, steady);
  fs.writeFileSync(
    OUT,
    `${JSON.stringify({ ...saved, summarized: new Date().toISOString(), classes: summaries, targets: verdicts }, null, 2)}\n`,
  );
  print(summaries, verdicts, saved.cost);
}

(values.report ? Promise.resolve(report(values.report)) : main()).catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
