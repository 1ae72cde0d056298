import { parseRolloutProgress, parseStatus } from './parse-status.ts';
import { PAUSE_REASONS, PHASES, STATUS_KEYS, type ConditionType, type KeyTreeNode, type OnnxModelStatus } from './types.ts';

const DA = `sha256:${'a'.repeat(64)}`;
const DB = `sha256:${'b'.repeat(64)}`;
const T1 = '2026-01-01T00:00:00.000Z';
const T2 = '2026-01-01T00:05:00Z';

/** Every status field set (lists with one item of each shape), as the operator writes it. */
const FULL: OnnxModelStatus = {
  observedGeneration: 3,
  phase: 'Progressing',
  desiredRevision: 'c1',
  stable: { revision: 's1', digest: DA, since: T1 },
  canary: { revision: 'c1', digest: DB, since: T2 },
  currentWeight: 10,
  currentStep: 1,
  rollout: { revision: 'c1', state: 'Paused', step: 1, weight: 10, stateSince: T2, servingSince: T1, pauseReason: 'WaitingForPromote', looks: 4, consecutiveInconclusive: 1, consecutiveErrors: 0 },
  scalingDown: [{ revision: 's0', digest: DA, deleteAfter: T2 }],
  lastAnalysis: {
    time: T2,
    revision: 'c1',
    verdict: 'pass',
    reason: 'WithinBudget',
    message: 'within budget',
    slos: [{ name: 'avail', requests: 1000, badEvents: 1, burnRates: [{ window: '5m', burnRate: 0.5 }], verdict: 'pass', message: 'fine' }],
    gates: [{ name: 'predictions', samples: 400, stableSamples: 1600, value: 0.01, bound: 0.2, verdict: 'pass', message: 'predictions: within the limit' }],
  },
  lastRollback: {
    time: T1,
    revision: 'c0',
    digest: DB,
    reason: 'AnalysisFailed',
    message: 'burning',
    slo: 'avail',
    requests: 500,
    badEvents: 50,
    burnRates: [{ window: '5m', burnRate: 20 }],
    window: '5m/1h',
    lowerBound: 0.08,
    threshold: 0.0144,
    judgement: 'WorseThanStable',
    stable: { revision: 's0', requests: 2000, badEvents: 3 },
  },
  verification: { digest: DB, verified: true, mode: 'Enforce', signer: 'ci', reason: 'Verified', time: T1 },
  failedRevisions: [{ revision: 'c0', digest: DB, reason: 'AnalysisFailed', time: T1 }],
  lastAction: { value: 'promote/1', action: 'promote', nonce: '1', outcome: 'Applied', message: 'promoted', time: T1 },
  url: 'http://iris.ml.svc.cluster.local',
  conditions: [
    { type: 'Ready', status: 'False', reason: 'Progressing', message: 'phase Progressing', observedGeneration: 3, lastTransitionTime: T1 },
    // Written by someone else: kept as it is.
    { type: 'example.com/Synced' as ConditionType, status: 'True', reason: 'Synced', message: 'by another controller', observedGeneration: 2, lastTransitionTime: T1 },
  ],
};

type Json = Record<string, unknown> | unknown[];
const segments = (path: string): string[] => path.replace(/\[(\d+)\]/g, '.$1').split('.');
function at(root: Json, path: string): { parent: Json; key: string } {
  const keys = segments(path);
  let parent = root;
  for (const k of keys.slice(0, -1)) parent = (parent as Record<string, Json>)[k] as Json;
  return { parent, key: keys[keys.length - 1] as string };
}
function withValue(path: string, v: unknown): Record<string, unknown> {
  const root = structuredClone(FULL) as Record<string, unknown>;
  const { parent, key } = at(root, path);
  (parent as Record<string, unknown>)[key] = v;
  return root;
}
function without(root: Record<string, unknown>, path: string): Record<string, unknown> {
  const { parent, key } = at(root, path);
  if (Array.isArray(parent)) parent.splice(Number(key), 1);
  else delete parent[key];
  return root;
}

/** The key tree of a value, as STATUS_KEYS spells it (a list by its first item). */
function treeOf(v: unknown): KeyTreeNode {
  const o = Array.isArray(v) ? v[0] : v;
  if (typeof o !== 'object' || o === null) return true;
  return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, treeOf(x)]));
}
/** Every leaf and list field of a key tree, a list's item fields as `list[0].field`. */
function fieldPaths(tree: KeyTreeNode, value: unknown, at = ''): string[] {
  if (tree === true) return [at];
  const item = (Array.isArray(value) ? value[0] : value) as Record<string, unknown>;
  const base = Array.isArray(value) ? `${at}[0].` : at ? `${at}.` : '';
  return Object.entries(tree).flatMap(([k, t]) => [...(Array.isArray(item[k]) ? [base + k] : []), ...fieldPaths(t, item[k], base + k)]);
}

// [field, a valid value, an invalid value, what the invalid value is not, what is dropped for it]
const FIELDS: [string, unknown, unknown, string, string][] = [
  ['observedGeneration', 0, -1, 'an integer ≥ 0', 'observedGeneration'],
  ['phase', 'RolledBack', 'Done', `one of ${PHASES.join(', ')}`, 'phase'],
  ['desiredRevision', 'c2', 5, 'a string', 'desiredRevision'],
  ['stable', { revision: 's2', digest: DB, since: T2 }, 'stable', 'an object', 'stable'],
  ['stable.revision', 's2', 7, 'a string', 'stable'],
  ['stable.digest', DB, false, 'a string', 'stable'],
  ['stable.since', '2026-01-01T02:00:00+02:00', 'yesterday', 'a date-time', 'stable'],
  ['canary', { revision: 'c2', digest: DB, since: T2 }, [], 'an object', 'canary'],
  ['canary.revision', 'c2', {}, 'a string', 'canary'],
  ['canary.digest', DA, 1, 'a string', 'canary'],
  ['canary.since', '2026-01-01t00:05:00.123456z', '2026-01-01', 'a date-time', 'canary'],
  ['currentWeight', 100, 101, 'an integer in 0..100', 'currentWeight'],
  ['currentStep', 0, 1.5, 'an integer ≥ 0', 'currentStep'],
  ['rollout', { revision: 'c1', state: 'Scaling', step: 0, weight: 0, stateSince: T1, looks: 0, consecutiveInconclusive: 0, consecutiveErrors: 0 }, 'Paused', 'an object', 'rollout'],
  ['rollout.revision', 'c2', '', 'a non-empty string', 'rollout'],
  ['rollout.state', 'Holding', 'Running', 'one of Scaling, Holding, Paused', 'rollout'],
  ['rollout.step', 0, -1, 'an integer ≥ 0', 'rollout'],
  ['rollout.weight', 100, 150, 'an integer in 0..100', 'rollout'],
  ['rollout.stateSince', T1, '2026-13-01T00:00:00Z', 'a date-time', 'rollout'],
  ['rollout.servingSince', T1, 'yesterday', 'a date-time', 'rollout'],
  ['rollout.pauseReason', 'ManualPause', 'Coffee', `one of ${PAUSE_REASONS.join(', ')}`, 'rollout'],
  ['rollout.looks', 0, '3', 'an integer ≥ 0', 'rollout'],
  ['rollout.consecutiveInconclusive', 0, 2.5, 'an integer ≥ 0', 'rollout'],
  ['rollout.consecutiveErrors', 3, -2, 'an integer ≥ 0', 'rollout'],
  ['scalingDown', [], { revision: 's0' }, 'a list', 'scalingDown'],
  ['scalingDown[0]', { revision: 's9', digest: DB, deleteAfter: T1 }, 's0', 'an object', 'scalingDown[0]'],
  ['scalingDown[0].revision', 's9', 1, 'a string', 'scalingDown[0]'],
  ['scalingDown[0].digest', DB, true, 'a string', 'scalingDown[0]'],
  ['scalingDown[0].deleteAfter', T1, 12345, 'a date-time', 'scalingDown[0]'],
  ['lastAnalysis', { time: T1, revision: 'c1', verdict: 'error', slos: [] }, 'pass', 'an object', 'lastAnalysis'],
  ['lastAnalysis.time', T1, 'now', 'a date-time', 'lastAnalysis'],
  ['lastAnalysis.revision', 'c2', [], 'a string', 'lastAnalysis'],
  ['lastAnalysis.verdict', 'error', 'PASS', 'one of pass, fail, inconclusive, error', 'lastAnalysis'],
  ['lastAnalysis.reason', 'NoData', 1, 'a string', 'lastAnalysis.reason'],
  ['lastAnalysis.message', '', {}, 'a string', 'lastAnalysis.message'],
  ['lastAnalysis.slos', [], 'none', 'a list', 'lastAnalysis'],
  ['lastAnalysis.slos[0]', { name: 'lat', requests: 0, badEvents: 0, burnRates: [], verdict: 'inconclusive' }, 5, 'an object', 'lastAnalysis.slos[0]'],
  ['lastAnalysis.slos[0].name', 'lat', 3, 'a string', 'lastAnalysis.slos[0]'],
  ['lastAnalysis.slos[0].requests', 0, -5, 'an integer ≥ 0', 'lastAnalysis.slos[0]'],
  ['lastAnalysis.slos[0].badEvents', 7, 0.5, 'an integer ≥ 0', 'lastAnalysis.slos[0]'],
  ['lastAnalysis.slos[0].burnRates', [], {}, 'a list', 'lastAnalysis.slos[0]'],
  ['lastAnalysis.slos[0].burnRates[0]', { window: '1h', burnRate: 0 }, [], 'an object', 'lastAnalysis.slos[0].burnRates[0]'],
  ['lastAnalysis.slos[0].burnRates[0].window', '1h', 60, 'a string', 'lastAnalysis.slos[0].burnRates[0]'],
  ['lastAnalysis.slos[0].burnRates[0].burnRate', 0, 'high', 'a number', 'lastAnalysis.slos[0].burnRates[0]'],
  ['lastAnalysis.slos[0].verdict', 'inconclusive', 'maybe', 'one of pass, fail, inconclusive, error', 'lastAnalysis.slos[0]'],
  ['lastAnalysis.slos[0].message', 'x', 5, 'a string', 'lastAnalysis.slos[0].message'],
  ['lastAnalysis.gates', [], 'none', 'a list', 'lastAnalysis.gates'],
  ['lastAnalysis.gates[0]', { name: 'groundTruth', samples: 0, stableSamples: 0, value: 0, bound: 2, verdict: 'inconclusive', message: 'waiting' }, 3, 'an object', 'lastAnalysis.gates[0]'],
  ['lastAnalysis.gates[0].name', 'agreement', 'accuracy', 'one of predictions, groundTruth, agreement', 'lastAnalysis.gates[0]'],
  ['lastAnalysis.gates[0].samples', 3, -3, 'an integer ≥ 0', 'lastAnalysis.gates[0]'],
  ['lastAnalysis.gates[0].stableSamples', 3, 'many', 'an integer ≥ 0', 'lastAnalysis.gates[0]'],
  ['lastAnalysis.gates[0].value', 0.3, 'big', 'a number', 'lastAnalysis.gates[0]'],
  ['lastAnalysis.gates[0].bound', 0.2, 'high', 'a number', 'lastAnalysis.gates[0]'],
  ['lastAnalysis.gates[0].verdict', 'fail', 'bad', 'one of pass, fail, inconclusive, error', 'lastAnalysis.gates[0]'],
  ['lastAnalysis.gates[0].message', 'x', 1, 'a string', 'lastAnalysis.gates[0]'],
  ['lastRollback', { time: T1, revision: 'c0', digest: DB, reason: 'ManualAbort', message: 'aborted' }, 1, 'an object', 'lastRollback'],
  ['lastRollback.time', T2, 1767225600000, 'a date-time', 'lastRollback'],
  ['lastRollback.revision', 'c9', 9, 'a string', 'lastRollback'],
  ['lastRollback.digest', DA, 0, 'a string', 'lastRollback'],
  ['lastRollback.reason', 'ManualAbort', false, 'a string', 'lastRollback'],
  ['lastRollback.message', '', [], 'a string', 'lastRollback'],
  ['lastRollback.slo', 'lat', 1, 'a string', 'lastRollback.slo'],
  ['lastRollback.requests', 0, -1, 'an integer ≥ 0', 'lastRollback.requests'],
  ['lastRollback.badEvents', 0, 'many', 'an integer ≥ 0', 'lastRollback.badEvents'],
  ['lastRollback.burnRates', [], 'x', 'a list', 'lastRollback.burnRates'],
  ['lastRollback.burnRates[0]', { window: '30m', burnRate: 6 }, 'x', 'an object', 'lastRollback.burnRates[0]'],
  ['lastRollback.burnRates[0].window', '30m', true, 'a string', 'lastRollback.burnRates[0]'],
  ['lastRollback.burnRates[0].burnRate', 1.5, '1.5', 'a number', 'lastRollback.burnRates[0]'],
  ['lastRollback.window', '30m/6h', 5, 'a string', 'lastRollback.window'],
  ['lastRollback.lowerBound', 0, 'low', 'a number', 'lastRollback.lowerBound'],
  ['lastRollback.threshold', 1, false, 'a number', 'lastRollback.threshold'],
  ['lastRollback.judgement', 'BudgetBurning', 7, 'a string', 'lastRollback.judgement'],
  ['lastRollback.stable', { revision: 's1', requests: 1, badEvents: 0 }, 'x', 'an object', 'lastRollback.stable'],
  ['lastRollback.stable.revision', 's2', 2, 'a string', 'lastRollback.stable'],
  ['lastRollback.stable.requests', 10, -1, 'an integer ≥ 0', 'lastRollback.stable'],
  ['lastRollback.stable.badEvents', 1, 0.5, 'an integer ≥ 0', 'lastRollback.stable'],
  ['verification', { digest: DB, verified: false, mode: 'Audit', time: T1 }, true, 'an object', 'verification'],
  ['verification.digest', DA, 1, 'a string', 'verification'],
  ['verification.verified', false, 'yes', 'true or false', 'verification'],
  ['verification.mode', 'Audit', 'Warn', 'one of Enforce, Audit', 'verification'],
  ['verification.signer', 'key-1', 2, 'a string', 'verification.signer'],
  ['verification.reason', 'BadSignature', 2, 'a string', 'verification.reason'],
  ['verification.time', T2, '01/01/2026', 'a date-time', 'verification'],
  ['failedRevisions', [], 'c0', 'a list', 'failedRevisions'],
  ['failedRevisions[0]', { revision: 'c9', digest: DA, reason: 'Failed', time: T2 }, null, 'an object', 'failedRevisions[0]'],
  ['failedRevisions[0].revision', 'c9', 9, 'a string', 'failedRevisions[0]'],
  ['failedRevisions[0].digest', DA, 9, 'a string', 'failedRevisions[0]'],
  ['failedRevisions[0].reason', 'ProgressDeadlineExceeded', 9, 'a string', 'failedRevisions[0]'],
  ['failedRevisions[0].time', T2, 'soon', 'a date-time', 'failedRevisions[0]'],
  ['lastAction', { value: 'abort', action: 'abort', outcome: 'Ignored', message: 'nothing to abort', time: T2 }, 'abort', 'an object', 'lastAction'],
  ['lastAction.value', 'abort', 1, 'a string', 'lastAction'],
  ['lastAction.action', 'abort', 1, 'a string', 'lastAction'],
  ['lastAction.nonce', '2', 2, 'a string', 'lastAction.nonce'],
  ['lastAction.outcome', 'Invalid', 'Done', 'one of Applied, Ignored, Invalid', 'lastAction'],
  ['lastAction.message', 'ok', 1, 'a string', 'lastAction'],
  ['lastAction.time', T2, 'today', 'a date-time', 'lastAction'],
  ['url', 'http://x', 80, 'a string', 'url'],
  ['conditions', [], {}, 'a list', 'conditions'],
  ['conditions[0]', { type: 'Available', status: 'True', reason: 'Serving', message: 'ok', observedGeneration: 3, lastTransitionTime: T2 }, 'Ready', 'an object', 'conditions[0]'],
  ['conditions[0].type', 'Available', 5, 'a non-empty string', 'conditions[0]'],
  ['conditions[0].status', 'Unknown', true, 'one of True, False, Unknown', 'conditions[0]'],
  ['conditions[0].reason', 'X', 1, 'a string', 'conditions[0]'],
  ['conditions[0].message', '', 1, 'a string', 'conditions[0]'],
  ['conditions[0].observedGeneration', 0, '3', 'an integer ≥ 0', 'conditions[0]'],
  ['conditions[0].lastTransitionTime', T2, 'never', 'a date-time', 'conditions[0]'],
  // Others' conditions need only type and status; an invalid other member goes alone.
  ['conditions[1].type', 'example.com/Other', '', 'a non-empty string', 'conditions[1]'],
  ['conditions[1].status', 'False', 'yes', 'one of True, False, Unknown', 'conditions[1]'],
  ['conditions[1].reason', 'Y', 1, 'a string', 'conditions[1].reason'],
  ['conditions[1].message', 'y', 1, 'a string', 'conditions[1].message'],
  ['conditions[1].observedGeneration', 5, -1, 'an integer ≥ 0', 'conditions[1].observedGeneration'],
  ['conditions[1].lastTransitionTime', T2, 'never', 'a date-time', 'conditions[1].lastTransitionTime'],
];

describe('parseStatus', () => {
  it('the fixture sets every status field and the table covers every one', () => {
    expect(treeOf(FULL)).toEqual(STATUS_KEYS);
    const covered = new Set(FIELDS.map(([f]) => f));
    expect(fieldPaths(STATUS_KEYS, FULL).filter((f) => !covered.has(f))).toEqual([]);
  });

  it('returns a full valid status unchanged, in its own key order', () => {
    const input = structuredClone(FULL);
    const r = parseStatus(input);
    expect(r).toStrictEqual({ status: FULL, problems: [] });
    expect(Object.keys(r.status)).toEqual(Object.keys(FULL));
    const reversed = Object.fromEntries(Object.entries(FULL).reverse());
    expect(Object.keys(parseStatus(reversed).status)).toEqual(Object.keys(reversed));
    expect(parseStatus({})).toStrictEqual({ status: {}, problems: [] });
  });

  it.each(FIELDS)('%s: a valid value is kept as it is', (field, valid) => {
    const input = withValue(field, valid);
    expect(parseStatus(input)).toStrictEqual({ status: structuredClone(input), problems: [] });
  });

  it.each(FIELDS)('%s: an invalid value is dropped, the siblings kept, the problem named', (field, _valid, invalid, what, dropped) => {
    const r = parseStatus(withValue(field, invalid));
    expect(r.status).toStrictEqual(without(structuredClone(FULL) as Record<string, unknown>, dropped));
    expect(r.problems[0]).toBe(`status.${field} is not ${what} (${JSON.stringify(invalid)})`);
    if (dropped !== field) expect(r.problems).toContainEqual(expect.stringMatching(new RegExp(`^status\\.${dropped.replace(/[.[\]]/g, '\\$&')} is dropped: `)));
    else expect(r.problems).toHaveLength(1);
  });

  it('drops an object that lacks a member its type requires, naming the members', () => {
    const r = parseStatus({ stable: { revision: 's1', digest: DA }, failedRevisions: [{ revision: 'c0' }, FULL.failedRevisions?.[0]] });
    expect(r.status).toStrictEqual({ failedRevisions: FULL.failedRevisions });
    expect(r.problems).toEqual(['status.stable is dropped: it needs a valid since', 'status.failedRevisions[0] is dropped: it needs a valid digest, reason, time']);
  });

  it('keeps the valid items of a list and drops each invalid one', () => {
    const ok = { revision: 's0', digest: DA, deleteAfter: T2 };
    const r = parseStatus({ scalingDown: [1, ok, { ...ok, deleteAfter: 'later' }, null, ok] });
    expect(r.status).toStrictEqual({ scalingDown: [ok, ok] });
    expect(r.problems).toEqual([
      'status.scalingDown[0] is not an object (1)',
      'status.scalingDown[2].deleteAfter is not a date-time ("later")',
      'status.scalingDown[2] is dropped: it needs a valid deleteAfter',
      'status.scalingDown[3] is not an object (null)',
    ]);
  });

  it('keeps conditions of types it does not know, with only type and status', () => {
    const other = { type: 'example.com/Synced', status: 'Unknown' };
    expect(parseStatus({ conditions: [other] })).toStrictEqual({ status: { conditions: [other] }, problems: [] });
    const r = parseStatus({ conditions: [{ type: 'Ready', status: 'True' }] });
    expect(r.status).toStrictEqual({ conditions: [] });
    expect(r.problems).toEqual(['status.conditions[0] is dropped: it needs a valid reason, message, observedGeneration, lastTransitionTime']);
  });

  it('takes null members as absent and turns Dates into RFC 3339', () => {
    expect(parseStatus({ phase: null, stable: { revision: 's', digest: DA, since: new Date(T2) } })).toStrictEqual({
      status: { stable: { revision: 's', digest: DA, since: '2026-01-01T00:05:00.000Z' } },
      problems: [],
    });
    expect(parseStatus({ verification: { ...FULL.verification, time: new Date('nope') } }).problems[0]).toBe('status.verification.time is not a date-time (Invalid Date)');
  });

  it('drops and names fields the status does not have; an unknown key does not cost the rollout', () => {
    const r = parseStatus({ phase: 'Stable', replicas: 3, rollout: { ...FULL.rollout, extra: 1 } });
    expect(r.status).toStrictEqual({ phase: 'Stable', rollout: FULL.rollout });
    expect(r.problems).toEqual(['status.replicas is not a status field', 'status.rollout.extra is not a status field']);
  });

  const cyclic: Record<string, unknown> = { a: 1 };
  cyclic['self'] = cyclic;
  const GARBAGE: [string, unknown][] = [
    ['null', null],
    ['undefined', undefined],
    ['0', 0],
    ['-1', -1],
    ['1.5', 1.5],
    ['NaN', NaN],
    ['Infinity', Infinity],
    ['an empty string', ''],
    ['a string', 'x'],
    ['true', true],
    ['an empty list', []],
    ['a list of null', [null]],
    ['a list of scalars', [1, 'x']],
    ['an empty object', {}],
    ['an object of unknown keys', { x: 1 }],
    ['a cyclic object', cyclic],
    ['an object without a prototype', Object.create(null)],
    ['an invalid Date', new Date('nope')],
    ['a BigInt', 10n],
    ['a symbol', Symbol('s')],
    ['a function', () => 1],
  ];

  it('never throws on a value that throws when read', () => {
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    const boom = (): never => {
      throw new Error('boom');
    };
    const getter = Object.defineProperty({}, 'phase', { enumerable: true, get: boom });
    expect(parseStatus(proxy).status).toStrictEqual({});
    expect(parseStatus(getter)).toEqual({ status: {}, problems: ['status could not be read (boom)'] });
  });

  it.each(GARBAGE)('never throws on %s, at the top or in any field', (_name, g) => {
    const top = parseStatus(g);
    if (typeof g === 'object' && g !== null && !Array.isArray(g) && !(g instanceof Date)) expect(top.status).toStrictEqual({});
    else expect(top).toEqual(g === null || g === undefined ? { status: {}, problems: [] } : { status: {}, problems: [expect.stringMatching(/^status is not an object \(/)] });
    for (const [field] of FIELDS) {
      const r = parseStatus(withValue(field, g));
      expect(typeof r.status).toBe('object');
      for (const p of r.problems) expect(p).toMatch(/^status[.[ ]/);
    }
  });
});

describe('parseRolloutProgress', () => {
  it('is the status parser for status.rollout', () => {
    expect(parseRolloutProgress(FULL.rollout)).toStrictEqual({ progress: FULL.rollout, problems: [] });
    expect(parseRolloutProgress({ ...FULL.rollout, weight: 101 })).toEqual({
      progress: undefined,
      problems: ['status.rollout.weight is not an integer in 0..100 (101)', 'status.rollout is dropped: it needs a valid weight'],
    });
    expect(parseRolloutProgress(null).problems).toEqual(['status.rollout is not an object (null)']);
  });
});
