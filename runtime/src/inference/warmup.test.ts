// The warm-up input on a model with a guarded input range (`guarded`: idx must be 0 or -1): ones
// fail (logged, served anyway), the baseline profile's medians and a --warmup-request work, and a
// --warmup-request that fails stops start-up.
import { afterAll, afterEach, describe, expect, jest, test } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { post, testConfig } from '../../test-support/harness.ts';
import { RUNTIME_TEST_TIMEOUT_MS } from '../../test-support/timing.ts';
import type { RuntimeConfig } from '../config/config.ts';
import { startRuntime, type RunningRuntime } from '../serve.ts';
import { warmupFeeds, baselineMedians } from './warmup.ts';

jest.setTimeout(RUNTIME_TEST_TIMEOUT_MS);

const dir = mkdtempSync(join(tmpdir(), 'warmup-'));
const file = (name: string, content: unknown) => {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(content));
  return path;
};
const request = (idx: number) => ({
  inputs: [
    { name: 'features', shape: [1, 2], datatype: 'FP32', data: [[0.5, 1.5]] },
    { name: 'idx', shape: [1], datatype: 'INT64', data: [idx] },
  ],
});

const running: RunningRuntime[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((rt) => rt.shutdown('test')));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Starts `guarded` with a logger whose lines the test reads. */
async function start(overrides: Partial<RuntimeConfig>) {
  const lines: { msg: string; [k: string]: unknown }[] = [];
  const log = pino({ level: 'info' }, { write: (s: string) => lines.push(JSON.parse(s)) });
  const rt = await startRuntime(testConfig('guarded', overrides), log);
  running.push(rt);
  return { rt, lines, url: `http://127.0.0.1:${rt.port}` };
}

describe('warm-up input', () => {
  test('ones fail on a guarded model: WARMUP_FAILED logged, the model still serves', async () => {
    const { rt, lines, url } = await start({});
    await rt.loaded;
    expect(lines.find((l) => l.code === 'WARMUP_FAILED')).toMatchObject({ input: 'ones', msg: expect.stringMatching(/--warmup-request/) });
    expect((await post(`${url}/v2/models/guarded/infer`, request(0))).status).toBe(200);
  });

  test("the baseline profile's medians are a valid input", async () => {
    const baseline = file('baseline.json', { version: 1, features: [{ input: 'idx', feature: 0, sample: [0, 0, 0, 0, 0, 0, 1, 0, 0, 0, -1] }] });
    const { rt, lines } = await start({ baselineProfile: baseline });
    await rt.loaded;
    expect(lines.find((l) => l.msg === 'warm-up run done')).toMatchObject({ input: 'the baseline profile medians' });
    expect(lines.find((l) => l.code === 'WARMUP_FAILED')).toBeUndefined();
  });

  test('--warmup-request: a representative request warms up; one that fails stops start-up', async () => {
    const good = await start({ warmupRequest: file('good.json', request(0)) });
    await good.rt.loaded;
    expect(good.lines.find((l) => l.msg === 'warm-up run done')).toMatchObject({ input: expect.stringMatching(/^--warmup-request .*good\.json$/) });

    const bad = await start({ warmupRequest: file('bad.json', request(1)) });
    await expect(bad.rt.loaded).rejects.toMatchObject({ code: 'WARMUP_FAILED', message: expect.stringMatching(/the warm-up run on --warmup-request .*bad\.json failed: onnxruntime failed to run the model/) });

    const invalid = await start({ warmupRequest: file('invalid.json', { inputs: [{ name: 'idx', shape: [1], datatype: 'FP32', data: [0] }] }) });
    await expect(invalid.rt.loaded).rejects.toMatchObject({ code: 'WARMUP_FAILED', message: expect.stringMatching(/invalid\.json is not a valid request for this model: inputs\[idx\]\.datatype is FP32 but the model expects INT64/) });

    const missing = await start({ warmupRequest: join(dir, 'nope.json') });
    await expect(missing.rt.loaded).rejects.toMatchObject({ code: 'WARMUP_FAILED', message: expect.stringMatching(/nope\.json cannot be read/) });
  });

  test('synthesized feeds: medians per feature along the last dimension, integers rounded, the rest ones', () => {
    const sig = {
      inputs: [
        { name: 'x', datatype: 'FP32' as const, shape: ['batch', 3] },
        { name: 'n', datatype: 'INT32' as const, shape: [2] },
      ],
      outputs: [],
    };
    const values = baselineMedians({ version: 1, features: [{ input: 'x', feature: 2, sample: [5, 1, 3] }, { input: 'n', feature: 0, sample: [2.6, 2.6, 2.6] }] });
    const feeds = warmupFeeds(sig, 2, values);
    expect(Array.from(feeds.get('x')!.data as Float32Array)).toEqual([1, 1, 3, 1, 1, 3]);
    expect(feeds.get('x')!.shape).toEqual([2, 3]);
    expect(Array.from(feeds.get('n')!.data as Int32Array)).toEqual([3, 3]);
  });
});
