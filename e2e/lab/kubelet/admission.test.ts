import { admitPod } from './admission.ts';
import type { Pod } from './types.ts';

const gpuPod = (uid: string, n: number): Pod => ({ metadata: { name: uid, uid }, spec: { containers: [{ name: 'c', resources: { limits: { 'nvidia.com/gpu': String(n) } } }] } });

describe('admission', () => {
  test('pods without device requests are admitted anywhere', () => {
    expect(admitPod({ metadata: { name: 'p', uid: 'p' }, spec: { containers: [{ name: 'c' }] } }, { cpu: '4' }, [])).toEqual({ ok: true });
  });
  test('GPUs up to capacity are admitted; beyond is OutOfnvidia.com/gpu', () => {
    const cap = { cpu: '4', 'nvidia.com/gpu': '2' };
    expect(admitPod(gpuPod('a', 1), cap, [gpuPod('b', 1)]).ok).toBe(true);
    expect(admitPod(gpuPod('a', 1), cap, [gpuPod('b', 2)])).toMatchObject({ ok: false, reason: 'OutOfnvidia.com/gpu' });
    expect(admitPod(gpuPod('a', 1), { cpu: '4' }, [])).toMatchObject({ ok: false, reason: 'OutOfnvidia.com/gpu' });
  });
});
