#!/usr/bin/env node
// onnx-operator: the composition root. `onnx-operator run` starts the controller.
import os from 'node:os';
import { KubeConfig } from '@kubernetes/client-node';
import { configHelp, parseConfig, type OperatorConfig } from './config.ts';
import { Controller } from './controller.ts';
import { isNotFound, OperatorError } from './errors.ts';
import { startHttpServer } from './http-server.ts';
import { LeaderElector } from './kube/leader-election.ts';
import { RestKubeClient, type KubeClient } from './kube/rest-client.ts';
import { createLogger } from './log.ts';
import { createMetrics } from './metrics.ts';
import { createPrometheusClient, queryMetricsObserver } from './prometheus/index.ts';
import { ModelVerifier } from './verification/index.ts';

export const version = '0.1.0';

async function gatewayApiAvailable(client: KubeClient, mode: OperatorConfig['gatewayApi']): Promise<boolean> {
  if (mode !== 'auto') return mode === 'enabled';
  try {
    await client.request({ method: 'GET', path: '/apis/gateway.networking.k8s.io/v1' });
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}

async function run(argv: string[]): Promise<void> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(configHelp());
    return;
  }
  const config = parseConfig(argv, process.env, os.hostname());
  const log = createLogger(config.logLevel);
  const kc = new KubeConfig();
  if (config.kubeconfig) kc.loadFromFile(config.kubeconfig);
  else kc.loadFromCluster();
  const metrics = createMetrics();
  const client = new RestKubeClient(kc, { userAgent: `onnx-operator/${version}`, onResponse: (method, code) => metrics.kubeRequests.inc({ method, code }) });
  const gatewayApi = await gatewayApiAvailable(client, config.gatewayApi);
  const prometheus = config.prometheusUrl
    ? createPrometheusClient(
        {
          url: config.prometheusUrl,
          timeoutMs: config.prometheusTimeoutMs,
          ...(config.prometheusBearerTokenFile ? { bearerTokenFile: config.prometheusBearerTokenFile } : {}),
          ...(config.prometheusCaFile ? { caFile: config.prometheusCaFile } : {}),
        },
        { onQuery: queryMetricsObserver(metrics) },
      )
    : undefined;
  const controller = new Controller({
    ...(prometheus ? { prometheus } : {}),
    client,
    log,
    metrics,
    concurrency: config.concurrency,
    fieldManager: config.fieldManager,
    identity: config.identity,
    gatewayApi,
    namespaces: config.watchNamespaces,
    ...(config.instanceId ? { instanceId: config.instanceId } : {}),
    watchdogMs: config.watchdogSeconds * 1000,
    verifier: new ModelVerifier({
      client,
      log,
      requireSignatureNamespaces: config.requireSignatureNamespaces,
      namespaces: config.watchNamespaces,
      resyncMs: config.verificationResyncSeconds * 1000,
      watchdogMs: config.watchdogSeconds * 1000,
      clock: () => new Date(),
    }),
    core: {
      defaultRuntimeImage: config.runtimeImage,
      defaultGatewayParentRefs: config.defaultGateway ? [{ group: 'gateway.networking.k8s.io', kind: 'Gateway', ...config.defaultGateway }] : [],
      fieldManager: config.fieldManager,
      clusterDomain: config.clusterDomain,
      scrapeIntervalSeconds: config.prometheusScrapeIntervalMs / 1000,
      ...(config.predictionKafka ? { predictionKafka: config.predictionKafka } : {}),
    },
  });
  let synced = false;
  // A candidate waiting for the Lease is healthy and ready (as in controller-runtime): with two
  // replicas the standby must not hold a rollout or a PodDisruptionBudget up.
  let standby = false;
  let shuttingDown = false;
  const server = await startHttpServer(config.httpHost, config.httpPort, metrics.registry, {
    live: () => !shuttingDown,
    ready: () => (synced || standby) && !shuttingDown,
  });
  const address = server.address();
  log.info({ version, gatewayApi, leaderElect: config.leaderElect, http: typeof address === 'object' && address ? `${address.address}:${address.port}` : '' }, 'onnx-operator starting');

  const elector = config.leaderElect
    ? new LeaderElector({ client, namespace: config.leaderElectionNamespace, name: config.leaderElectionId, identity: config.identity, log })
    : undefined;

  const shutdown = async (signal: string, code = 0): Promise<void> => {
    if (shuttingDown) return;
    shuttingDown = true;
    log.info({ signal }, 'shutting down');
    await controller.stop();
    await prometheus?.close();
    await elector?.release();
    server.close();
    process.exit(code);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));

  if (elector) {
    standby = true;
    await elector.run(() => void shutdown('leadership-lost', 1));
    standby = false;
  }
  // Without leader election this instance is the only one that reconciles: it leads.
  metrics.leader.set(1);
  await controller.start();
  synced = true;
}

async function main(): Promise<void> {
  const [command, ...rest] = process.argv.slice(2);
  switch (command) {
    case 'run':
      return run(rest);
    case 'verify': {
      // The same verifier the controller uses, for users to try before they push.
      const { runVerifyCommand } = await import('./verify-cli.ts');
      process.exitCode = await runVerifyCommand(rest);
      return;
    }
    case 'version':
      process.stdout.write(`${version}\n`);
      return;
    case undefined:
    case '--help':
    case '-h':
    case 'help':
      process.stdout.write(['Usage: onnx-operator <command>', '', 'Commands:', '  run       start the controller (see run --help)', '  verify    check an artifact and its signature bundle against a key or identity (see verify --help)', '  version   print the version', ''].join('\n'));
      return;
    default:
      throw new OperatorError('CONFIG_INVALID', `unknown command '${command}'; run 'onnx-operator --help' for the list`, { transient: false });
  }
}

main().catch((err: unknown) => {
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`onnx-operator: ${message}\n`);
  process.exit(err instanceof OperatorError && err.code === 'CONFIG_INVALID' ? 2 : 1);
});
