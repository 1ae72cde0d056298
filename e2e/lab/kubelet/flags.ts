// Command-line flags of the lab kubelet (pure parsing; defaults from lab-config.ts).
import path from 'node:path';
import { labImageDir, labPaths, labPorts, labRegistry } from '../lab-config.ts';
import { KubeletError } from './errors.ts';

export interface KubeletFlags {
  kubeconfig: string;
  /** Kubelet state (IP allocations) lives here. */
  stateDir: string;
  /** Container logs: <logDir>/<namespace>_<pod>_<container>.log */
  logDir: string;
  /** host:port of the lab registry (plain HTTP, loopback) images are pulled from. */
  registry: string;
  /** Pulled image blobs and unpacked root filesystems (kept across lab restarts). */
  imageDir: string;
  healthPort: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  leaseIntervalMs: number;
  statusIntervalMs: number;
  /** How long an empty watch stream may stay silent before it is restarted. */
  watchdogMs: number;
  shutdownGraceMs: number;
  logLevel: string;
  /** Overrides the version read from e2e/lab/k8s/VERSION. */
  kubeletVersion?: string;
}

export const usage = `usage: node e2e/lab/kubelet/main.ts [flags]
  --kubeconfig <path>          kubeconfig of the lab API server (default <lab-dir>/kubeconfig)
  --lab-dir <dir>              lab directory (default ${labPaths.dir}); sets the defaults below
  --state-dir <dir>            kubelet state, e.g. IP allocations (default <lab-dir>/kubelet)
  --log-dir <dir>              container logs (default <lab-dir>/logs/pods)
  --registry <host:port>       lab registry pods' images are pulled from (default ${labRegistry})
  --image-dir <dir>            pulled and unpacked images (default ${labImageDir})
  --health-port <port>         GET /healthz on 127.0.0.1 (default ${labPorts.kubeletHealth})
  --backoff-base-ms <ms>       crash-loop back-off base (default 1000; real kubelet: 10000)
  --backoff-max-ms <ms>        crash-loop back-off cap (default 30000; real kubelet: 300000)
  --lease-interval-ms <ms>     node Lease renewal (default 10000)
  --status-interval-ms <ms>    node status heartbeat (default 60000)
  --watchdog-ms <ms>           restart a silent pod watch after this long (default 120000)
  --shutdown-grace-ms <ms>     SIGTERM→SIGKILL grace on kubelet shutdown (default 5000)
  --kubelet-version <v>        reported kubeletVersion (default: e2e/lab/k8s/VERSION)
  --log-level <level>          pino level (default info)`;

const numeric = ['health-port', 'backoff-base-ms', 'backoff-max-ms', 'lease-interval-ms', 'status-interval-ms', 'watchdog-ms', 'shutdown-grace-ms'] as const;
const strings = ['kubeconfig', 'lab-dir', 'state-dir', 'log-dir', 'registry', 'image-dir', 'kubelet-version', 'log-level'] as const;

export function parseFlags(argv: readonly string[]): KubeletFlags {
  const values = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (!arg.startsWith('--')) throw new KubeletError('FLAG_INVALID', `unexpected argument "${arg}"\n${usage}`);
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(2, eq) : arg.slice(2);
    if (!(numeric as readonly string[]).includes(name) && !(strings as readonly string[]).includes(name)) {
      throw new KubeletError('FLAG_INVALID', `unknown flag --${name}\n${usage}`);
    }
    const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined) throw new KubeletError('FLAG_INVALID', `flag --${name} needs a value`);
    values.set(name, value);
  }
  const num = (name: (typeof numeric)[number], d: number): number => {
    const raw = values.get(name);
    if (raw === undefined) return d;
    const n = Number(raw);
    if (!Number.isInteger(n) || n <= 0) throw new KubeletError('FLAG_INVALID', `--${name} must be a positive integer, got "${raw}"`);
    return n;
  };
  const labDir = values.get('lab-dir') ?? labPaths.dir;
  const flags: KubeletFlags = {
    kubeconfig: values.get('kubeconfig') ?? path.join(labDir, 'kubeconfig'),
    stateDir: values.get('state-dir') ?? path.join(labDir, 'kubelet'),
    logDir: values.get('log-dir') ?? path.join(labDir, 'logs', 'pods'),
    registry: values.get('registry') ?? labRegistry,
    imageDir: values.get('image-dir') ?? labImageDir,
    healthPort: num('health-port', labPorts.kubeletHealth),
    backoffBaseMs: num('backoff-base-ms', 1000),
    backoffMaxMs: num('backoff-max-ms', 30000),
    leaseIntervalMs: num('lease-interval-ms', 10000),
    statusIntervalMs: num('status-interval-ms', 60000),
    watchdogMs: num('watchdog-ms', 120000),
    shutdownGraceMs: num('shutdown-grace-ms', 5000),
    logLevel: values.get('log-level') ?? 'info',
  };
  const version = values.get('kubelet-version');
  if (version !== undefined) flags.kubeletVersion = version;
  if (flags.backoffMaxMs < flags.backoffBaseMs) throw new KubeletError('FLAG_INVALID', `--backoff-max-ms (${flags.backoffMaxMs}) must be at least --backoff-base-ms (${flags.backoffBaseMs})`);
  return flags;
}
