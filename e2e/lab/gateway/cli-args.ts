// Pure: the gateway's command line → options, with errors that name the flag and the fix.
import { parseArgs } from 'node:util';

export class GatewayConfigError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'GatewayConfigError';
    this.code = code;
  }
}

export interface GatewayArgs {
  port: number;
  host: string;
  kubeconfig: string;
  logLevel: string;
  upstreamTimeoutMs: number;
  watchdogMs: number;
  resyncMs: number;
  /**
   * Another Gateway (in the lab gateway's namespace) than the lab's own: a test runs its own gateway
   * process for its routes (parentRefs naming it) without touching the shared one.
   */
  gatewayName?: string;
  /**
   * Also take connections from pods on the lab bridge address at this port (the lab has no cluster
   * DNS or kube-proxy: a pod reaches `name.namespace.svc` Services through it as its HTTP_PROXY).
   */
  podsPort?: number;
}

const loopback = /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;

function positiveInt(flag: string, text: string, max: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0 || n > max) {
    throw new GatewayConfigError(
      'InvalidFlag',
      `--${flag} must be an integer between 1 and ${max} (got "${text}")`,
    );
  }
  return n;
}

export function parseGatewayArgs(
  argv: readonly string[],
  defaults: { port: number; kubeconfig: string },
): GatewayArgs {
  let values: Record<string, string | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        kubeconfig: { type: 'string' },
        'log-level': { type: 'string' },
        'upstream-timeout-ms': { type: 'string' },
        'watchdog-ms': { type: 'string' },
        'resync-ms': { type: 'string' },
        'gateway-name': { type: 'string' },
        'pods-port': { type: 'string' },
      },
      strict: true,
      allowPositionals: false,
    }) as { values: Record<string, string | undefined> });
  } catch (err) {
    throw new GatewayConfigError(
      'InvalidFlag',
      `${(err as Error).message}; flags: --port --host --kubeconfig --log-level --upstream-timeout-ms --watchdog-ms --resync-ms --gateway-name --pods-port`,
      { cause: err },
    );
  }
  const host = values.host ?? '127.0.0.1';
  // The lab never listens beyond loopback.
  if (!loopback.test(host))
    throw new GatewayConfigError('InvalidFlag', `--host must be a 127.x.y.z address (got "${host}")`);
  const logLevel = values['log-level'] ?? process.env.LOG_LEVEL ?? 'info';
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(logLevel)) {
    throw new GatewayConfigError(
      'InvalidFlag',
      `--log-level must be one of fatal, error, warn, info, debug, trace, silent (got "${logLevel}")`,
    );
  }
  const gatewayName = values['gateway-name'];
  if (gatewayName !== undefined && !/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(gatewayName))
    throw new GatewayConfigError('InvalidFlag', `--gateway-name must be a DNS label, e.g. shadow-test (got "${gatewayName}")`);
  return {
    ...(gatewayName !== undefined ? { gatewayName } : {}),
    ...(values['pods-port'] !== undefined ? { podsPort: positiveInt('pods-port', values['pods-port'], 65535) } : {}),
    port: values.port === undefined ? defaults.port : positiveInt('port', values.port, 65535),
    host,
    kubeconfig: values.kubeconfig ?? defaults.kubeconfig,
    logLevel,
    upstreamTimeoutMs:
      values['upstream-timeout-ms'] === undefined
        ? 30_000
        : positiveInt('upstream-timeout-ms', values['upstream-timeout-ms'], 3_600_000),
    watchdogMs:
      values['watchdog-ms'] === undefined
        ? 120_000
        : positiveInt('watchdog-ms', values['watchdog-ms'], 3_600_000),
    resyncMs:
      values['resync-ms'] === undefined ? 60_000 : positiveInt('resync-ms', values['resync-ms'], 3_600_000),
  };
}
