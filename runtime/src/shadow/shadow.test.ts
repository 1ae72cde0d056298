// The shadow listener end to end on real onnxruntime sessions: a stable runtime and a canary runtime
// in-process, mirrored requests sent to the canary's shadow port the way a gateway's RequestMirror
// does, and the comparison read from the canary's /metrics. Mirrored requests never count as client
// requests on either side.
import { afterAll, beforeAll, describe, expect, jest, test } from '@jest/globals';
import { METRIC_REQUESTS_TOTAL, METRIC_SHADOW_COMPARISONS, METRIC_SHADOW_DIFFERENCE, METRIC_SHADOW_REQUESTS } from '../../../lib/contract/index.ts';
import { metricValue, post, request, start } from '../../test-support/harness.ts';
import { RUNTIME_TEST_TIMEOUT_MS } from '../../test-support/timing.ts';
import { shadowRows, type TestModelName } from '../../test-models/build.ts';
import type { RunningRuntime } from '../serve.ts';

jest.setTimeout(RUNTIME_TEST_TIMEOUT_MS);

type Rt = RunningRuntime & { url: string };
const ROWS = shadowRows(200, 7);
const body = (name: string, rows: number[][]) => ({ inputs: [{ name: 'features', shape: [rows.length, 4], datatype: 'FP32', data: rows }] });

async function pair(stableModel: TestModelName, canaryModel: TestModelName, served: string): Promise<{ stable: Rt; canary: Rt }> {
  const stable = await start(stableModel, { modelName: served, revision: 'stable1' });
  await stable.loaded;
  const canary = await start(canaryModel, { modelName: served, revision: 'canary1', shadowCompareUrl: `http://127.0.0.1:${stable.shadowPort}` });
  await canary.loaded;
  return { stable, canary };
}

/** Mirrors `rows` to the canary's shadow port in requests of 10 rows; the shadow port's own answers. */
async function mirror(canary: Rt, served: string, rows: number[][]): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < rows.length; i += 10) {
    const r = await post(`http://127.0.0.1:${canary.shadowPort}/v2/models/${served}/infer`, body(served, rows.slice(i, i + 10)));
    statuses.push(r.status);
  }
  return statuses;
}

async function counts(rt: Rt) {
  const text = (await request(`${rt.url}/metrics`)).text;
  const c = (outcome: string) => metricValue(text, METRIC_SHADOW_COMPARISONS, { stable_revision: 'stable1', outcome }) ?? 0;
  return { text, agree: c('agree'), disagree: c('disagree'), canaryError: c('canary_error'), stableError: c('stable_error') };
}

describe.each([
  ['classifier_reexport', 200, 0],
  ['classifier_flip_20', 200 - 0.2 * 200, 0.2 * 200],
  ['classifier_constant', undefined, undefined],
  ['classifier_swapped', undefined, undefined],
] as const)('stable classifier, canary %s', (canaryModel, agreeExpected, disagreeExpected) => {
  let rts: { stable: Rt; canary: Rt };
  beforeAll(async () => {
    rts = await pair('classifier', canaryModel, 'clf');
  });
  afterAll(async () => {
    await rts.canary.shutdown('test');
    await rts.stable.shutdown('test');
  });

  test('every mirrored row is compared with stable\'s answer for the same input', async () => {
    expect(await mirror(rts.canary, 'clf', ROWS)).toEqual(Array(20).fill(200));
    const c = await counts(rts.canary);
    expect(c.agree + c.disagree).toBe(200);
    expect([c.canaryError, c.stableError]).toEqual([0, 0]);
    // Flip 20: the rows whose feature 0 is in the top fifth of [-4, 4] (sampled: about 40 of 200).
    const flipped = ROWS.filter((r) => (r[0] ?? 0) > 4 - 1.6).length;
    if (canaryModel === 'classifier_flip_20') expect([c.agree, c.disagree]).toEqual([200 - flipped, flipped]);
    else if (agreeExpected !== undefined) expect([c.agree, c.disagree]).toEqual([agreeExpected, disagreeExpected]);
    else expect(c.disagree).toBeGreaterThan(40);
    // Shadow traffic is not client traffic: neither side counts it in onnxop_requests_total.
    expect(metricValue(c.text, METRIC_REQUESTS_TOTAL, { outcome: 'success' })).toBe(0);
    expect(metricValue(c.text, METRIC_SHADOW_REQUESTS, { role: 'mirror', outcome: 'success' })).toBe(20);
    const stableText = (await request(`${rts.stable.url}/metrics`)).text;
    expect(metricValue(stableText, METRIC_REQUESTS_TOTAL, { outcome: 'success' })).toBe(0);
    expect(metricValue(stableText, METRIC_SHADOW_REQUESTS, { role: 'compare', outcome: 'success' })).toBe(20);
  });
});

describe('regressors', () => {
  test.each([
    ['regressor', 200, 0],
    ['regressor_biased', 0, 200],
  ] as const)('stable regressor, canary %s: rows within float noise agree', async (canaryModel, agree, disagree) => {
    const rts = await pair('regressor', canaryModel, 'reg');
    try {
      await mirror(rts.canary, 'reg', ROWS);
      const c = await counts(rts.canary);
      expect([c.agree, c.disagree]).toEqual([agree, disagree]);
      // Every row's difference is in the histogram; the biased one's all near 0.05.
      expect(metricValue(c.text, `${METRIC_SHADOW_DIFFERENCE}_count`, { stable_revision: 'stable1' })).toBe(200);
      expect(metricValue(c.text, `${METRIC_SHADOW_DIFFERENCE}_bucket`, { stable_revision: 'stable1', le: '0.01' })).toBe(canaryModel === 'regressor' ? 200 : 0);
      expect(metricValue(c.text, `${METRIC_SHADOW_DIFFERENCE}_bucket`, { stable_revision: 'stable1', le: '0.1' })).toBe(200);
    } finally {
      await rts.canary.shutdown('test');
      await rts.stable.shutdown('test');
    }
  });
});

describe('failures on either side', () => {
  let rts: { stable: Rt; canary: Rt };
  beforeAll(async () => {
    rts = await pair('classifier', 'classifier', 'clf');
  });
  afterAll(async () => {
    await rts.canary.shutdown('test');
    await rts.stable.shutdown('test');
  });

  test('a request both sides refuse is skipped; stable gone is stable_error; the shadow port answers only infer', async () => {
    const bad = await post(`http://127.0.0.1:${rts.canary.shadowPort}/v2/models/clf/infer`, { inputs: [{ name: 'nope', shape: [1], datatype: 'FP32', data: [1] }] });
    expect(bad.status).toBe(400);
    expect((await request(`http://127.0.0.1:${rts.canary.shadowPort}/metrics`)).status).toBe(404);
    expect((await counts(rts.canary)).text).toContain(`${METRIC_SHADOW_COMPARISONS}{stable_revision="stable1",outcome="skipped"`);
    await rts.stable.shutdown('test');
    expect(await mirror(rts.canary, 'clf', ROWS.slice(0, 10))).toEqual([200]);
    const text = (await request(`${rts.canary.url}/metrics`)).text;
    expect(metricValue(text, METRIC_SHADOW_COMPARISONS, { stable_revision: 'unknown', outcome: 'stable_error' })).toBe(10);
  });
});

describe('a stable revision that never answers', () => {
  test('mirrors beyond 32 in flight are dropped at once (skipped), the rest time out as stable_error, and clients are never held up', async () => {
    // A "stable" that accepts connections and never answers.
    const { createServer } = await import('node:http');
    const silent = createServer(() => {});
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as { port: number }).port;
    const canary = await start('classifier', { modelName: 'clf', revision: 'canary1', shadowCompareUrl: `http://127.0.0.1:${port}`, requestTimeoutMs: 3000 });
    await canary.loaded;
    try {
      const mirrored = Array.from({ length: 40 }, () => post(`http://127.0.0.1:${canary.shadowPort}/v2/models/clf/infer`, body('clf', ROWS.slice(0, 1))));
      // While 32 mirrors wait on stable, a client request on the client port is answered.
      const client = await post(`${canary.url}/v2/models/clf/infer`, body('clf', ROWS.slice(0, 1)));
      expect(client.status).toBe(200);
      const statuses = (await Promise.all(mirrored)).map((r) => r.status);
      expect(statuses.filter((s) => s === 429)).toHaveLength(8);
      expect(statuses.filter((s) => s === 200)).toHaveLength(32);
      const text = (await request(`${canary.url}/metrics`)).text;
      expect(metricValue(text, METRIC_SHADOW_COMPARISONS, { stable_revision: 'unknown', outcome: 'skipped' })).toBe(8);
      expect(metricValue(text, METRIC_SHADOW_COMPARISONS, { stable_revision: 'unknown', outcome: 'stable_error' })).toBe(32);
    } finally {
      await canary.shutdown('test');
      silent.closeAllConnections();
      await new Promise((r) => silent.close(r));
    }
  });
});
