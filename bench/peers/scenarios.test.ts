import { CLASSIFIER_MIXED_ROWS } from '../../runtime/test-models/build.ts';
import {
  bucketize,
  meetsExpectation,
  newVersionRequests,
  PEER_CLASSES,
  peerCorpus,
  peersTable,
  summarizePeers,
  timesOf,
  TOOLS,
  type PeerClass,
  type PeerRunResult,
} from './scenarios.ts';

const cls = (id: string): PeerClass => {
  const c = PEER_CLASSES.find((x) => x.id === id);
  if (!c) throw new Error(id);
  return c;
};

const result = (over: Partial<PeerRunResult>): PeerRunResult => ({
  tool: 'onnx-operator',
  cls: 'errors 2%',
  name: 'e2-1',
  outcome: 'rolledBack',
  times: {},
  seconds: 60,
  weights: [],
  buckets: [],
  ...over,
});

describe('peerCorpus', () => {
  it('gives every tool the same runs: names, features and poisoned requests', () => {
    const runs = peerCorpus({ seed: 1, quick: false });
    expect(runs).toHaveLength(TOOLS.length * PEER_CLASSES.reduce((n, c) => n + c.runs, 0));
    const byTool = (id: string) => runs.filter((r) => r.tool === id).map(({ tool: _t, ...r }) => r);
    expect(byTool('flagger-documented')).toEqual(byTool('onnx-operator'));
    expect(new Set(runs.map((r) => r.poisonSeed)).size).toBe(PEER_CLASSES.length);
    const e2 = (rs: typeof runs) => rs.find((r) => r.cls.tag === 'e2')?.rows;
    expect(e2(peerCorpus({ seed: 2, quick: false }))).not.toEqual(e2(runs));
  });

  it('sends one seeded row per request, or the 16 mixed rows where the class judges predictions', () => {
    for (const r of peerCorpus({ seed: 1, quick: false })) {
      if (r.cls.rows === 'one') expect(r.rows).toHaveLength(1);
      else expect(r.rows).toEqual(CLASSIFIER_MIXED_ROWS.map((row) => [...row]));
      for (const row of r.rows) expect(row).toHaveLength(4);
    }
    // A class whose canary changes predictions needs rows that show it.
    expect(PEER_CLASSES.find((c) => c.tag === 'sr')).toMatchObject({ canary: 'classifier_swapped', rows: 'mixed', canaryAtFault: true, expect: 'rolledBack' });
  });

  it('selects tools, classes and the number of runs', () => {
    const runs = peerCorpus({
      seed: 1,
      quick: false,
      runs: 2,
      tools: ['flagger-tuned'],
      classes: ['e2', 'po'],
    });
    expect(runs.map((r) => `${r.tool}/${r.name}`)).toEqual([
      'flagger-tuned/e2-1',
      'flagger-tuned/e2-2',
      'flagger-tuned/po-1',
      'flagger-tuned/po-2',
    ]);
    expect(peerCorpus({ seed: 1, quick: true }).every((r) => r.cls.quickRuns > 0)).toBe(true);
  });
});

describe('bucketize', () => {
  it('counts requests, bad ones and the new version per 5 s from the apply', () => {
    const b = bucketize(
      [
        { atMs: -4000, group: 'v1', status: 200 },
        { atMs: 100, group: 'v1', status: 200 },
        { atMs: 4999, group: 'v2', status: 500 },
        { atMs: 5000, group: 'v2', status: 200 },
        { atMs: 6000, group: '(none)' },
      ],
      'v2',
      'error',
    );
    expect(b).toEqual([
      [-5, 1, 0, 0],
      [0, 2, 1, 1],
      [5, 2, 1, 1],
    ]);
  });

  it('counts every answer of the new version as bad when it is the slow one', () => {
    const samples = [
      { atMs: 0, group: 'v2', status: 200 },
      { atMs: 1, group: 'v1', status: 200 },
    ];
    expect(bucketize(samples, 'v2', 'errorOrNewVersion')).toEqual([[0, 2, 1, 1]]);
    expect(bucketize(samples, undefined, 'errorOrNewVersion')).toEqual([[0, 2, 0, 0]]);
  });
});

describe('timesOf and newVersionRequests', () => {
  const weights: [number, number][] = [
    [12, 20],
    [30, 50],
    [42.5, 0],
  ];

  it('times a rollback from the first weight above 0 to the first 0 after it', () => {
    expect(timesOf(weights, 'rolledBack')).toEqual({ faultStart: 12, faultToStable: 30.5 });
    expect(timesOf([...weights.slice(0, 2), [80, 100]], 'promoted')).toEqual({
      faultStart: 12,
      faultToPromoted: 68,
    });
    expect(timesOf([], 'stuck')).toEqual({});
    expect(timesOf(weights.slice(0, 2), 'paused', 312)).toEqual({ faultStart: 12, faultToPaused: 300 });
    // A rollback the tool reported without taking the traffic back has no time.
    expect(timesOf(weights.slice(0, 2), 'rolledBack')).toEqual({ faultStart: 12 });
  });

  it('counts the new version until the traffic is back on stable, the rollback bucket included', () => {
    const buckets: [number, number, number, number][] = [
      [10, 100, 0, 3],
      [40, 100, 0, 10],
      [45, 100, 0, 2],
    ];
    expect(newVersionRequests(buckets, weights, 'rolledBack')).toBe(13);
    expect(newVersionRequests(buckets, weights, 'stuck')).toBe(15);
  });
});

describe('summarizePeers', () => {
  it('counts outcomes, false rollbacks and whether each class went as it should', () => {
    const s = summarizePeers([
      result({
        tool: 'flagger-tuned',
        cls: 'healthy',
        outcome: 'rolledBack',
        times: { faultStart: 5, faultToStable: 30 },
      }),
      result({
        tool: 'onnx-operator',
        cls: 'healthy',
        outcome: 'promoted',
        times: { faultStart: 5, faultToPromoted: 170 },
      }),
      result({
        tool: 'onnx-operator',
        cls: 'errors 2%',
        times: { faultStart: 5, faultToStable: 40 },
        newVersionRequests: 200,
      }),
      result({
        tool: 'onnx-operator',
        cls: 'errors 2%',
        name: 'e2-2',
        times: { faultStart: 5, faultToStable: 60 },
        newVersionRequests: 300,
      }),
      result({ tool: 'flagger-documented', cls: 'shared incident', outcome: 'rolledBack' }),
      result({ tool: 'flagger-documented', cls: 'no traffic', outcome: 'rolledBack' }),
    ]);
    const by = (tool: string, c: string) => s.find((x) => x.tool === tool && x.cls === c);
    expect(by('flagger-tuned', 'healthy')).toMatchObject({
      rolledBack: 1,
      falseRollbacks: 1,
      expected: false,
    });
    expect(by('onnx-operator', 'healthy')).toMatchObject({ promoted: 1, falseRollbacks: 0, expected: true });
    expect(by('onnx-operator', 'errors 2%')).toMatchObject({
      runs: 2,
      rolledBack: 2,
      expected: true,
      faultToStable: { n: 2, median: 40, max: 60 },
      badCanaryRequests: { n: 2, median: 200, max: 300 },
    });
    expect(by('flagger-documented', 'shared incident')).toMatchObject({ falseRollbacks: 1, expected: false });
    // Rolling back a canary nobody sent traffic to is not a false rollback: it was never shown good.
    expect(by('flagger-documented', 'no traffic')).toMatchObject({ falseRollbacks: 0, expected: true });
    // Classes in PEER_CLASSES order, tools in TOOLS order within a class.
    expect(s.map((x) => `${x.cls}/${x.tool}`).slice(0, 2)).toEqual([
      'healthy/onnx-operator',
      'healthy/flagger-tuned',
    ]);
    const table = peersTable(s);
    expect(table.split('\n')).toHaveLength(2 + s.length);
    expect(table).toContain(
      '| errors 2% | onnx-operator | 2 | 2 rolled back | yes | 40 (max 60) | – | 200 (max 300) | 0 |',
    );
  });

  it('holds each class to what a tool that decides well does', () => {
    expect(meetsExpectation(cls('no traffic'), 'paused')).toBe(true);
    expect(meetsExpectation(cls('no traffic'), 'promoted')).toBe(false);
    expect(meetsExpectation(cls('shared incident'), 'paused')).toBe(true);
    expect(meetsExpectation(cls('shared incident'), 'rolledBack')).toBe(false);
    expect(meetsExpectation(cls('prometheus outage'), 'stuck')).toBe(false);
    expect(meetsExpectation(cls('errors 2%'), 'promoted')).toBe(false);
  });
});
