// The Argo CD health check and resource actions of OnnxModel, run in Argo CD's own Lua engine
// (github.com/argoproj/argo-cd/v3/util/lua, built from the Go module proxy by
// argocd/lua-engine/build.sh) on status objects captured from lab runs (argocd/capture-testdata.ts).
// Every case of health_test.yaml and actions/action_test.yaml runs four times: the scripts from the
// files and from the argocd-cm snippet (parsed by Argo CD's settings manager), each with Argo CD's
// useOpenLibs on and off — off is what argocd-cm health scripts get by default and what every action
// gets in Argo CD's API server, so the scripts must not need the string or math library.
import { beforeAll, describe, expect, test } from '@jest/globals';
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { ACTIONS, ANNOTATION_ACTION } from '../operator/src/api/constants.ts';
import { PAUSE_REASONS, PHASES } from '../operator/src/api/types.ts';
import { CUSTOMIZATION_DIR, repoRoot } from './generate.ts';
import { luaEngine, runEngineTests, type EngineReport, type RunOptions } from './lua-engine.ts';

const dir = path.join(repoRoot, CUSTOMIZATION_DIR);
const KEY = 'serving.onnxop.io/OnnxModel';

interface HealthTests {
  tests: { inputPath: string; healthStatus: { status: string; message?: string } }[];
}
interface ActionTests {
  discoveryTests: { inputPath: string; result: { name: string; disabled?: boolean }[] }[];
  actionTests: { action: string; inputPath: string; expectedOutputPath: string }[];
}
const healthTests = parse(fs.readFileSync(path.join(dir, 'health_test.yaml'), 'utf8')) as HealthTests;
const actionTests = parse(fs.readFileSync(path.join(dir, 'actions/action_test.yaml'), 'utf8')) as ActionTests;

const RUNS: (RunOptions & { name: string })[] = [
  { name: 'files, useOpenLibs true (as Argo CD runs built-in scripts)', fromArgocdCm: false, openLibs: true },
  { name: 'files, useOpenLibs false', fromArgocdCm: false, openLibs: false },
  { name: 'argocd-cm snippet, useOpenLibs false (as shipped)', fromArgocdCm: true, openLibs: false },
  { name: 'argocd-cm snippet, useOpenLibs true', fromArgocdCm: true, openLibs: true },
];
const reports = new Map<string, EngineReport>();

beforeAll(() => {
  // The first run builds the engine from the Go module proxy: minutes on a cold cache.
  const binary = luaEngine();
  for (const run of RUNS) reports.set(run.name, runEngineTests(binary, run));
}, 1_800_000);

const find = (run: string, suite: string, input: string, action?: string) =>
  reports.get(run)?.results.find((r) => r.key === KEY && r.suite === suite && r.input === input && r.action === action);

describe.each(RUNS.map((r) => r.name))('Argo CD Lua engine: %s', (run) => {
  test('runs in Argo CD v3 with its gopher-lua, and no case is missing or extra', () => {
    const report = reports.get(run);
    expect(report?.engine['github.com/argoproj/argo-cd/v3']).toMatch(/^v3\./);
    expect(report?.engine['github.com/yuin/gopher-lua']).toMatch(/^v1\./);
    const expected = healthTests.tests.length + actionTests.discoveryTests.length + actionTests.actionTests.length;
    expect(report?.results.filter((r) => r.key === KEY)).toHaveLength(expected);
  });

  test.each(healthTests.tests.map((t) => [t.inputPath, t.healthStatus.status] as const))('health of %s is %s', (input) => {
    const r = find(run, 'health', input);
    expect(r?.error).toBeUndefined();
    expect(r?.got).toEqual(r?.want);
    expect(r?.ok).toBe(true);
  });

  test.each(actionTests.discoveryTests.map((t) => [t.inputPath, t.result.filter((a) => !a.disabled).map((a) => a.name).join(', ') || 'none'] as const))('actions discovered on %s (enabled: %s)', (input) => {
    const r = find(run, 'discovery', input);
    expect(r?.error).toBeUndefined();
    expect(r?.got).toEqual(r?.want);
    expect(r?.ok).toBe(true);
  });

  test.each(actionTests.actionTests.map((t) => [t.action, t.inputPath] as const))('action %s on %s sets only the action annotation', (action, input) => {
    const r = find(run, 'action', input, action);
    expect(r?.error).toBeUndefined();
    expect(r?.got).toEqual(r?.want);
    expect(r?.ok).toBe(true);
    // What Argo CD's API server would send: a merge patch of that one annotation, never spec.
    const value = (r?.patch?.['metadata'] as { annotations?: Record<string, string> } | undefined)?.annotations?.[ANNOTATION_ACTION];
    expect(r?.patch).toEqual({ metadata: { annotations: { [ANNOTATION_ACTION]: value } } });
    expect(value).toMatch(new RegExp(`^${action}/[1-9][0-9]*$`));
  });
});

describe('the captured test inputs cover every state the health check tells apart', () => {
  const inputs = healthTests.tests.map((t) => parse(fs.readFileSync(path.join(dir, t.inputPath), 'utf8')) as { metadata: { generation: number }; status?: { observedGeneration?: number; phase?: string; rollout?: { pauseReason?: string; state?: string } } });
  const statuses = healthTests.tests.map((t) => t.healthStatus.status);

  test('each health status is expected at least once', () => {
    expect(new Set(statuses)).toEqual(new Set(['Healthy', 'Progressing', 'Suspended', 'Degraded']));
  });

  test('the phases a user meets in a rollout, the pauses for a human, and a generation not observed', () => {
    const phases = new Set(inputs.map((m) => m.status?.phase));
    for (const phase of PHASES.filter((p) => p !== 'Pending' && p !== 'Verifying' && p !== 'Deploying')) expect(phases).toContain(phase);
    const pauses = new Set(inputs.map((m) => m.status?.rollout?.pauseReason));
    for (const reason of PAUSE_REASONS.filter((r) => r !== 'TrafficProviderUnavailable')) expect(pauses).toContain(reason);
    expect(inputs.some((m) => m.status === undefined)).toBe(true);
    expect(inputs.some((m) => (m.status?.observedGeneration ?? 0) > 0 && (m.status?.observedGeneration ?? 0) < m.metadata.generation)).toBe(true);
  });

  test('every action is run at least once, and each discovery input is a captured one', () => {
    expect(new Set(actionTests.actionTests.map((t) => t.action))).toEqual(new Set(ACTIONS));
    for (const t of actionTests.discoveryTests) expect(fs.readFileSync(path.join(dir, 'actions', t.inputPath), 'utf8')).toMatch(/^# Captured from a lab run/);
  });

  test('every input is a capture from a lab run', () => {
    for (const t of healthTests.tests) expect(fs.readFileSync(path.join(dir, t.inputPath), 'utf8')).toMatch(/^# Captured from a lab run by argocd\/capture-testdata\.ts/);
  });
});
