import { describe, expect, test } from '@jest/globals';
import { parseConfig } from './config.ts';

describe('parseConfig', () => {
  test('defaults', () => {
    const c = parseConfig([], {}, 'host');
    expect(c).toMatchObject({ httpHost: '0.0.0.0', httpPort: 8080, leaderElect: true, concurrency: 4, gatewayApi: 'auto', fieldManager: 'onnx-operator' });
    expect(c.identity).toMatch(/^host_\d+$/);
  });
  test('flags win over environment', () => {
    const c = parseConfig(['--concurrency', '8', '--default-gateway', 'gw/public'], { CONCURRENCY: '2', LEADER_ELECT: 'false' }, 'h');
    expect(c.concurrency).toBe(8);
    expect(c.leaderElect).toBe(false);
    expect(c.defaultGateway).toEqual({ namespace: 'gw', name: 'public' });
  });
  test('namespaces that require signatures', () => {
    expect(parseConfig([], {}, 'h')).toMatchObject({ requireSignatureNamespaces: [], verificationResyncSeconds: 120 });
    expect(parseConfig(['--require-signature-namespaces', ' prod, ml ,'], {}, 'h').requireSignatureNamespaces).toEqual(['prod', 'ml']);
    expect(parseConfig([], { REQUIRE_SIGNATURE_NAMESPACES: '*' }, 'h').requireSignatureNamespaces).toEqual(['*']);
  });
  test.each([
    [['--concurrency', '0'], /--concurrency .*'0': use a whole number from 1 to 64/],
    [['--http-port', 'x'], /--http-port .*'x'/],
    [['--leader-elect', 'yes'], /--leader-elect .*use one of true, false/],
    [['--default-gateway', 'public'], /NAMESPACE\/NAME/],
    [['--no-such-flag'], /Unknown option '--no-such-flag'.*--help/],
    [['--require-signature-namespaces', 'ml,Bad_Name'], /--require-signature-namespaces .*'Bad_Name' is not a namespace name/],
    [['--verification-resync-seconds', '1'], /--verification-resync-seconds .*from 5 to 86400/],
  ])('%j is refused naming the flag and the fix', (argv, message) => {
    expect(() => parseConfig(argv, {}, 'h')).toThrow(message);
  });
});
