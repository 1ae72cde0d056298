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
      },
      strict: true,
      allowPositionals: false,
    }) as { values: Record<string, string | undefined> });
  } catch (err) {
    throw new GatewayConfigError(
      'InvalidFlag',
      `${(err as Error).message}; flags: --port --host --kubeconfig --log-level --upstream-timeout-ms --watchdog-ms --resync-ms`,
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
  return {
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
