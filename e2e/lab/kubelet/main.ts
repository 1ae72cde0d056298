// Entry point: node e2e/lab/kubelet/main.ts --kubeconfig <path> [flags] (see flags.ts).
import fs from 'node:fs';
import { pino } from 'pino';
import { errorMessage, KubeletError } from './errors.ts';
import { parseFlags, usage } from './flags.ts';
import { startHealthServer } from './health-server.ts';
import { KubeApi } from './kube-api.ts';
import { Kubelet } from './kubelet.ts';

async function main(): Promise<void> {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    process.stdout.write(`${usage}\n`);
    process.exit(0);
  }
  let flags;
  try {
    flags = parseFlags(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${errorMessage(err)}\n`);
    process.exit(2);
  }
  const log = pino({ level: flags.logLevel, base: { component: 'lab-kubelet' } });
  if (!fs.existsSync(flags.kubeconfig)) {
    throw new KubeletError('FLAG_INVALID', `kubeconfig ${flags.kubeconfig} does not exist; start the lab control plane first or pass --kubeconfig`);
  }
  fs.mkdirSync(flags.stateDir, { recursive: true });
  fs.mkdirSync(flags.logDir, { recursive: true });
  const kubelet = new Kubelet(flags, new KubeApi(flags.kubeconfig), log);
  const server = await startHealthServer(flags.healthPort, () => kubelet.health(), () => kubelet.snapshot());
  let shuttingDown = false;
  const shutdown = (signal: string): void => {
    if (shuttingDown) return;
    shuttingDown = true;
    log.info({ signal }, 'shutting down: stopping all pods');
    const force = setTimeout(() => {
      log.error('shutdown took too long; exiting');
      process.exit(1);
    }, flags.shutdownGraceMs + 15000);
    void kubelet.shutdown().finally(() => {
      clearTimeout(force);
      server.close();
      log.info('stopped');
      process.exit(0);
    });
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  await kubelet.start();
  log.info({ port: flags.healthPort, stateDir: flags.stateDir, logDir: flags.logDir }, 'lab kubelet running');
}

main().catch((err: unknown) => {
  process.stderr.write(`lab kubelet failed: ${errorMessage(err)}${err instanceof KubeletError ? ` (${err.code})` : ''}\n`);
  process.exit(1);
});
