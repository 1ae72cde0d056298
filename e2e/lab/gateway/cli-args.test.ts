import { parseGatewayArgs } from './cli-args.ts';
import { backoffDelay } from './hardened-informer.ts';

const defaults = { port: 17081, kubeconfig: '/lab/kubeconfig' };

describe('parseGatewayArgs', () => {
  it('uses the lab defaults', () => {
    expect(parseGatewayArgs([], defaults)).toEqual({
      port: 17081,
      host: '127.0.0.1',
      kubeconfig: '/lab/kubeconfig',
      logLevel: process.env.LOG_LEVEL ?? 'info',
      upstreamTimeoutMs: 30_000,
      watchdogMs: 120_000,
      resyncMs: 60_000,
    });
  });
  it('reads the flags', () => {
    expect(
      parseGatewayArgs(
        ['--port', '18000', '--kubeconfig', 'k', '--log-level', 'debug', '--upstream-timeout-ms', '500'],
        defaults,
      ),
    ).toMatchObject({
      port: 18000,
      kubeconfig: 'k',
      logLevel: 'debug',
      upstreamTimeoutMs: 500,
    });
  });
  it('takes another Gateway name and a port for pods (tests run their own gateway)', () => {
    expect(parseGatewayArgs(['--gateway-name', 'shadow-1', '--pods-port', '18082'], defaults)).toMatchObject({ gatewayName: 'shadow-1', podsPort: 18082 });
  });
  it.each([
    [['--gateway-name', 'Not_A_Label'], /--gateway-name must be a DNS label/],
    [['--pods-port', '70000'], /--pods-port must be an integer/],
    [['--port', '0'], /--port must be an integer between 1 and 65535/],
    [['--port', 'http'], /--port must be/],
    [['--host', '0.0.0.0'], /--host must be a 127\.x\.y\.z address/],
    [['--log-level', 'loud'], /--log-level must be one of/],
    [['--nope'], /Unknown option/],
  ])('refuses %j', (argv, msg) => {
    expect(() => parseGatewayArgs(argv, defaults)).toThrow(
      expect.objectContaining({ code: 'InvalidFlag', message: expect.stringMatching(msg) }),
    );
  });
});

describe('backoffDelay', () => {
  it.each([
    [1, 0.999999, 500],
    [1, 0, 250],
    [2, 1, 1000],
    [4, 1, 4000],
    [10, 1, 30_000],
    [50, 0, 15_000],
  ])('failure %d with jitter %d → %d ms', (failures, r, want) => {
    expect(backoffDelay(failures, 500, 30_000, () => r)).toBe(want);
  });
});
