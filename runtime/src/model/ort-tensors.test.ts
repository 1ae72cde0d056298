import { readFileSync } from 'node:fs';
import { describe, expect, test } from '@jest/globals';
import { ensureTestModels } from '../../test-models/build.ts';
import { RUNTIME_TEST_TIMEOUT_MS } from '../../test-support/timing.ts';
import { loadModel } from './model-host.ts';
import { sessionOptions } from './ort-tensors.ts';

describe('session options', () => {
  test('thread spinning is off unless asked for, and onnxruntime takes either setting', async () => {
    const off = sessionOptions({ threads: 2, graphOptimization: 'all' }, 'cpu');
    const on = sessionOptions({ threads: 2, graphOptimization: 'all', spinning: true }, 'cpu');
    expect(off.extra).toEqual({ session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } });
    expect(on.extra).toEqual({ session: { intra_op: { allow_spinning: '1' }, inter_op: { allow_spinning: '1' } } });
    // A real session on a worker with each setting (onnxruntime refuses unknown or non-string entries).
    const m = ensureTestModels().mlp;
    for (const spinning of [false, true]) {
      const model = await loadModel(readFileSync(m.path), { workers: 1, threads: 2, spinning, graphOptimization: 'all', executionProvider: 'cpu', cpuFallback: false, source: m.path });
      try {
        const out = await model.run(new Map([['x', { datatype: 'FP32', shape: [2, 64], data: new Float32Array(2 * 64).fill(0.5) }]]));
        expect([...out.values()][0]?.shape).toEqual([2, 8]);
      } finally {
        await model.close();
      }
    }
  }, RUNTIME_TEST_TIMEOUT_MS);
});
