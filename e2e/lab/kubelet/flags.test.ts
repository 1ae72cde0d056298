import { parseFlags } from './flags.ts';

describe('flags', () => {
  test('defaults derive from --lab-dir', () => {
    const f = parseFlags(['--lab-dir', '/x']);
    expect(f).toMatchObject({ kubeconfig: '/x/kubeconfig', stateDir: '/x/kubelet', logDir: '/x/logs/pods', backoffBaseMs: 1000, backoffMaxMs: 30000 });
  });
  test('--name=value and explicit overrides', () => {
    const f = parseFlags(['--kubeconfig=/k', '--backoff-base-ms', '200', '--backoff-max-ms=400', '--kubelet-version', 'v1.0.0']);
    expect(f).toMatchObject({ kubeconfig: '/k', backoffBaseMs: 200, backoffMaxMs: 400, kubeletVersion: 'v1.0.0' });
  });
  test('errors name the flag', () => {
    expect(() => parseFlags(['--nope', '1'])).toThrow(/unknown flag --nope/);
    expect(() => parseFlags(['--health-port', 'x'])).toThrow(expect.objectContaining({ code: 'FLAG_INVALID', message: expect.stringContaining('--health-port') }));
    expect(() => parseFlags(['--backoff-base-ms', '500', '--backoff-max-ms', '100'])).toThrow(/--backoff-max-ms/);
    expect(() => parseFlags(['--kubeconfig'])).toThrow(/needs a value/);
  });
});
