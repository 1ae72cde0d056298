// `npm run bench:peers [-- --quick] [-- --only flagger-tuned,e2 --runs N --seed N --concurrency N]`
// (`--resume [--rerun onnx-operator]`: continue a saved, unfinished run, optionally redoing tools' phases):
// rollout decisions side by side (docs/comparison.md). The same scenario classes — the same models,
// faults, load (20 req/s through the lab gateway) and Prometheus (the benchmark's own, scraping every
// 2 s) — replayed through onnx-operator, Flagger v1.36.1 and Argo Rollouts v1.10.2 (each as its
// documentation's example configures it and tuned to our schedule), one tool at a time on the same
// lab, each in its own namespace with its own process. Per tool and class: promoted / rolled back /
// paused / stuck, fault start → all traffic on stable, requests answered by a bad canary, false
// rollbacks. Writes bench/out/peers.json and, per class, a timeline SVG in bench/out/peers/.
// `--report FILE [--out DIR]`: the table and the SVGs of a saved run again (docs/comparison/ holds
// the committed one).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { labPaths, repoRoot } from '../e2e/lab/lab-config.ts';
import { up } from '../e2e/lab/lab.ts';
import { encodeModel } from '../runtime/test-models/onnx-writer.ts';
import { ensureTestModels, logregFaulty } from '../runtime/test-models/build.ts';
import { applyCrd, createTestNamespace, deleteNamespace } from '../test/lab-helpers.ts';
import { BenchPrometheus, pool, type ModelFile } from './rollout-lab.ts';
import { TRAFFIC } from './rollout-report.ts';
import { ArgoRolloutsTool } from './peers/argo-rollouts.ts';
import { FlaggerTool } from './peers/flagger.ts';
import { peerBinary, runPeerScenario, type PeerTool } from './peers/lab.ts';
import { OnnxOperatorTool, peersRolloutSpec } from './peers/onnx-operator.ts';
import { runtimeImage } from './peers/workload.ts';
import {
  BUCKET_S,
  LEAD_S,
  OUTAGE_AFTER_S,
  PEER_CLASSES,
  peerCorpus,
  peersTable,
  summarizePeers,
  TOOLS,
  toolDef,
  type ModelName,
  type PeerRunDef,
  type PeerRunResult,
  type ToolDef,
  type ToolId,
} from './peers/scenarios.ts';
import { timelineSvg } from './peers/timeline-svg.ts';
import { createHash } from 'node:crypto';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    seed: { type: 'string', default: '1' },
    runs: { type: 'string' },
    concurrency: { type: 'string', default: '6' },
    only: { type: 'string' },
    report: { type: 'string' },
    resume: { type: 'boolean', default: false },
    rerun: { type: 'string' },
    out: { type: 'string' },
  },
});
const log = (m: string) =>
  process.stderr.write(`[bench:peers ${new Date().toISOString().slice(11, 19)}] ${m}\n`);
const OUT = path.join(repoRoot, 'bench/out/peers.json');
const OUT_DIR = path.join(repoRoot, 'bench/out/peers');

function tool(def: ToolDef): PeerTool {
  switch (def.peer) {
    case 'onnx-operator':
      return new OnnxOperatorTool(def);
    case 'flagger':
      return new FlaggerTool(def);
    case 'argo-rollouts':
      return new ArgoRolloutsTool(def);
  }
}

/** logreg_faulty under another graph name: the same behaviour, another digest (the shared incident's second version). */
function ensureFaultyTwin(): ModelFile {
  const dir = path.join(repoRoot, 'bench/out/models');
  fs.mkdirSync(dir, { recursive: true });
  const bytes = encodeModel({ ...logregFaulty, name: 'logreg_faulty_twin' });
  const file = path.join(dir, 'logreg_faulty_twin.onnx');
  fs.writeFileSync(`${file}.${process.pid}.tmp`, bytes, { mode: 0o644 });
  fs.renameSync(`${file}.${process.pid}.tmp`, file);
  return { path: file, digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}` };
}

/** The versions the peers run at: the directory names of their cached builds. */
function peerVersions(ids: readonly ToolId[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const peer of ['flagger', 'argo-rollouts'] as const)
    if (ids.some((id) => toolDef(id).peer === peer))
      out[peer] = path.basename(path.dirname(peerBinary(peer)));
  return out;
}

/** The configurations as committed (placeholders unfilled), per tool. */
function configurations(): Record<ToolId, Record<string, string>> {
  const read = (f: string) => fs.readFileSync(path.join(repoRoot, 'bench/peers', f), 'utf8');
  return {
    'onnx-operator': { 'spec.rollout': JSON.stringify(peersRolloutSpec()) },
    'flagger-documented': {
      'canary-documented.yaml': read('flagger/canary-documented.yaml'),
      'metric-templates.yaml': read('flagger/metric-templates.yaml'),
    },
    'flagger-tuned': {
      'canary-tuned.yaml': read('flagger/canary-tuned.yaml'),
      'metric-templates.yaml': read('flagger/metric-templates.yaml'),
    },
    'argo-rollouts-documented': {
      'rollout-documented.yaml': read('argo-rollouts/rollout-documented.yaml'),
      'analysis-documented.yaml': read('argo-rollouts/analysis-documented.yaml'),
    },
    'argo-rollouts-tuned': {
      'rollout-tuned.yaml': read('argo-rollouts/rollout-tuned.yaml'),
      'analysis-tuned.yaml': read('argo-rollouts/analysis-tuned.yaml'),
    },
  };
}

interface PeersFile {
  started: string;
  finished: string;
  results: PeerRunResult[];
  [k: string]: unknown;
}

/** The table, the SVGs and the summaries of a set of results, written to `dir`. */
function writeReport(saved: PeersFile, dir: string): ReturnType<typeof summarizePeers> {
  const summaries = summarizePeers(saved.results);
  fs.mkdirSync(dir, { recursive: true });
  for (const cls of PEER_CLASSES) {
    const runs = TOOLS.map((t) => saved.results.find((r) => r.tool === t.id && r.cls === cls.id)).filter(
      (r): r is PeerRunResult => !!r,
    );
    if (runs.length === 0) continue;
    const svg = timelineSvg({
      title: `${cls.id}: ${cls.stable} → ${cls.canary}${cls.rate > 0 ? `, ${cls.rate} req/s` : ', no traffic'}${cls.poison > 0 ? `, ${cls.poison * 100}% of requests poisoned` : ''}${cls.outage ? `, Prometheus stopped ${OUTAGE_AFTER_S} s into the canary` : ''}`,
      subtitle: `first run of each tool (${saved.started.slice(0, 10)}); the dot is where the run ended`,
      badLabel: cls.badLabel,
      leadSeconds: LEAD_S,
      bucketSeconds: BUCKET_S,
      series: runs.map((r) => {
        const def = toolDef(r.tool);
        return {
          label: def.label,
          color: def.color,
          weights: r.weights,
          buckets: r.buckets,
          end: r.seconds,
          ...(r.outageAt !== undefined ? { outageAt: r.outageAt } : {}),
          note: `${r.outcome === 'rolledBack' ? 'rolled back' : r.outcome}${r.times.faultToStable !== undefined ? ` ${r.times.faultToStable} s after the fault` : ''}${r.times.faultToPromoted !== undefined ? ` ${r.times.faultToPromoted} s after its first traffic` : ''}${r.times.faultToPaused !== undefined ? ` ${r.times.faultToPaused} s after its first traffic` : ''}${r.outcome === 'stuck' ? ` at the ${Math.round(r.seconds / 60)}-minute cap` : ''}`,
        };
      }),
    });
    fs.writeFileSync(path.join(dir, `${cls.tag}.svg`), svg);
  }
  const table = peersTable(summaries);
  fs.writeFileSync(path.join(dir, 'table.md'), `${table}\n`);
  process.stdout.write(`${table}\n\nwrote ${path.relative(repoRoot, dir)}/*.svg, table.md\n`);
  return summaries;
}

async function main(): Promise<void> {
  const started = new Date();
  const seed = Number(values.seed);
  const concurrency = Number(values.concurrency);
  const runs = values.runs === undefined ? undefined : Number(values.runs);
  if (!Number.isInteger(seed)) throw new Error(`--seed must be a whole number, got '${values.seed}'`);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 12)
    throw new Error(`--concurrency must be 1..12, got '${values.concurrency}'`);
  if (runs !== undefined && (!Number.isInteger(runs) || runs < 1 || runs > 10))
    throw new Error(`--runs must be 1..10, got '${values.runs}'`);
  const only = values.only
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const toolIds = TOOLS.map((t) => t.id as string);
  const tags = PEER_CLASSES.map((c) => c.tag);
  for (const o of only ?? [])
    if (!toolIds.includes(o) && !tags.includes(o))
      throw new Error(
        `--only: '${o}' is neither a tool (${toolIds.join(', ')}) nor a class (${tags.join(', ')})`,
      );
  const onlyTools = only?.filter((o) => toolIds.includes(o)) as ToolId[] | undefined;
  const onlyClasses = only?.filter((o) => tags.includes(o));
  const corpus = peerCorpus({
    seed,
    quick: values.quick ?? false,
    ...(runs !== undefined ? { runs } : {}),
    ...(onlyTools?.length ? { tools: onlyTools } : {}),
    ...(onlyClasses?.length ? { classes: onlyClasses } : {}),
  });
  if (corpus.length === 0) throw new Error('nothing to run');
  const command = `npm run bench:peers --${values.quick ? ' --quick' : ''} --seed ${seed} --concurrency ${concurrency}${runs !== undefined ? ` --runs ${runs}` : ''}${only ? ` --only ${only.join(',')}` : ''}`;
  const git = (args: string[]) => execFileSync('git', args, { cwd: repoRoot, encoding: 'utf8' }).trim();
  const tree = {
    commit: git(['rev-parse', 'HEAD']),
    uncommittedFiles: git([
      'status',
      '--porcelain',
      '--',
      'operator/src',
      'lib',
      'runtime/src',
      'bench/peers',
    ])
      .split('\n')
      .filter(Boolean),
  };
  const selected = [...new Set(corpus.map((r) => r.tool))];
  const versions = peerVersions(selected); // builds a missing peer before the lab work starts
  await up((m) => log(`[lab] ${m}`));
  await applyCrd();
  const tm = ensureTestModels();
  const files: Record<ModelName, ModelFile> = {
    logreg: tm.logreg,
    classifier: tm.classifier,
    classifier_reexport: tm.classifier_reexport,
    classifier_swapped: tm.classifier_swapped,
    logreg_faulty: tm.logreg_faulty,
    logreg_slow: tm.logreg_slow,
    logreg_faulty_twin: ensureFaultyTwin(),
  };
  // Our operator's pods run the same image as the peers' (the operator reads RUNTIME_IMAGE).
  process.env['RUNTIME_IMAGE'] = runtimeImage();
  const prometheus = new BenchPrometheus();
  await prometheus.start();
  const loadBefore = os.loadavg();
  log(`${corpus.length} runs over ${selected.join(', ')}; Prometheus at ${prometheus.url}`);
  const results: PeerRunResult[] = [];
  const phases: { tool: ToolId; seconds: number; finished?: string; commit?: string }[] = [];
  // --resume: the tools whose phase a saved, unfinished run completed are kept, not run again.
  if (values.rerun && !values.resume) throw new Error('--rerun drops phases of a saved run: use it with --resume');
  const resumed =
    values.resume && fs.existsSync(OUT) ? (JSON.parse(fs.readFileSync(OUT, 'utf8')) as PeersFile) : undefined;
  if (resumed) {
    if (resumed['command'] !== command)
      throw new Error(`--resume: ${OUT} is from '${String(resumed['command'])}', not '${command}'`);
    // --rerun a,b: those tools' saved phases are dropped and run again (e.g. after a fix to one tool).
    const rerun = new Set((values.rerun ?? '').split(',').filter(Boolean));
    for (const id of rerun) if (!TOOLS.some((t) => t.id === id)) throw new Error(`--rerun: unknown tool '${id}' (one of ${TOOLS.map((t) => t.id).join(', ')})`);
    const done = ((resumed['phases'] as typeof phases | undefined) ?? []).filter((p) => !rerun.has(p.tool));
    phases.push(...done);
    results.push(...resumed.results.filter((r) => done.some((p) => p.tool === r.tool)));
    log(`resuming: ${done.map((p) => p.tool).join(', ') || 'nothing'} done${rerun.size ? `; running ${[...rerun].join(', ')} again` : ''}`);
  }
  /** Everything so far, written after each tool's phase (`complete` once all ran). */
  const save = (complete: boolean): PeersFile => {
    const out: PeersFile = {
      started: resumed?.started ?? started.toISOString(),
      ...(resumed
        ? { resumed: [...((resumed['resumed'] as string[] | undefined) ?? []), started.toISOString()] }
        : {}),
      finished: new Date().toISOString(),
      complete,
      command,
      tree,
      machine: {
        cpus: os.cpus().length,
        loadAverageBefore:
          (resumed?.['machine'] as { loadAverageBefore?: number[] } | undefined)?.loadAverageBefore ??
          loadBefore.map((x) => Math.round(x * 10) / 10),
        loadAverageAfter: os.loadavg().map((x) => Math.round(x * 10) / 10),
      },
      versions,
      lab: {
        runtime: fs.existsSync(path.join(labPaths.run, 'runtime'))
          ? fs.readFileSync(path.join(labPaths.run, 'runtime'), 'utf8').trim()
          : undefined,
        runtimeImage: process.env['RUNTIME_IMAGE'],
      },
      traffic: {
        rate: TRAFFIC.rate,
        leadSeconds: LEAD_S,
        bucketSeconds: BUCKET_S,
        outageAfterSeconds: OUTAGE_AFTER_S,
        scrapeIntervalSeconds: 2,
      },
      phases,
      configurations: configurations(),
      results,
    };
    fs.mkdirSync(path.dirname(OUT), { recursive: true });
    fs.writeFileSync(OUT, `${JSON.stringify(out, null, 1)}\n`);
    return out;
  };

  let current: { t: PeerTool; ns: string } | undefined;
  const interrupted = (signal: string) => {
    log(`${signal}: cleaning up`);
    void Promise.allSettled([
      current?.t.stop(),
      prometheus.close(),
      current && deleteNamespace(current.ns),
    ]).then(() => process.exit(130));
  };
  process.once('SIGINT', interrupted).once('SIGTERM', interrupted);
  try {
    for (const id of selected) {
      if (phases.some((p) => p.tool === id)) continue;
      const def = toolDef(id);
      const t0 = Date.now();
      const ns = await createTestNamespace(
        `bench-peers-${def.peer === 'argo-rollouts' ? 'argo' : def.peer}-${def.config}`,
      );
      const t = tool(def);
      current = { t, ns };
      const report = (r: PeerRunResult) => {
        results.push(r);
        const times = [
          r.times.faultToStable !== undefined ? `fault → stable ${r.times.faultToStable} s` : '',
          r.times.faultToPromoted !== undefined ? `fault → promoted ${r.times.faultToPromoted} s` : '',
          r.newVersionRequests !== undefined ? `${r.newVersionRequests} requests on the new version` : '',
        ].filter(Boolean);
        log(
          `${id}/${r.name}: ${r.outcome}${r.reason ? ` (${r.reason})` : ''}${times.length ? `, ${times.join(', ')}` : ''}`,
        );
      };
      try {
        log(`${id}: starting in ${ns}`);
        await t.start({ namespace: ns, prometheusUrl: prometheus.url, log });
        const mine = corpus.filter((r) => r.tool === id);
        const ctx = { namespace: ns, files, prometheus, log };
        await pool(
          mine.filter((r) => !r.cls.outage),
          concurrency,
          async (run: PeerRunDef) => report(await runPeerScenario(t, run, ctx)),
        );
        // The outage stops the benchmark's Prometheus: those runs go alone.
        for (const run of mine.filter((r) => r.cls.outage))
          report(await runPeerScenario(t, run, { ...ctx, outage: true }));
      } finally {
        await t.stop();
        await deleteNamespace(ns);
        current = undefined;
      }
      phases.push({
        tool: id,
        seconds: Math.round((Date.now() - t0) / 1000),
        finished: new Date().toISOString(),
        commit: tree.commit,
      });
      save(false);
    }
  } finally {
    await prometheus.close();
  }
  const out = save(true);
  writeReport(out, OUT_DIR);
  process.stdout.write(`wrote ${path.relative(repoRoot, OUT)}\n`);
}

if (values.report) {
  const saved = JSON.parse(fs.readFileSync(values.report, 'utf8')) as PeersFile;
  writeReport(saved, values.out ?? OUT_DIR);
} else
  main().catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
