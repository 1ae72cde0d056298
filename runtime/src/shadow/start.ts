// Wiring of the shadow listener from the runtime's config (serve.ts calls this once).
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { RuntimeConfig } from '../config/config.ts';
import type { Codec } from '../protocol/codec.ts';
import type { App } from '../server/app.ts';
import type { ByteBudget } from '../server/body.ts';
import { compareTarget } from './compare-client.ts';
import { ShadowMetrics } from './shadow-metrics.ts';
import { startShadowServer, type ShadowServer } from './shadow-server.ts';

export type { ShadowServer };

/** Mirrored requests handled at once; a mirror beyond it is dropped (outcome skipped), never queued. */
export const SHADOW_MAX_IN_FLIGHT = 32;

export function startShadow(app: App, config: RuntimeConfig, deps: { budget: ByteBudget; codec: Codec; registry: Registry; log: Logger }): Promise<ShadowServer> {
  return startShadowServer(app, {
    host: config.host,
    port: config.shadowPort,
    modelName: config.modelName,
    revision: config.revision,
    maxBodyBytes: config.maxBodyBytes,
    budget: deps.budget,
    bodyTimeoutMs: config.bodyTimeoutMs,
    requestTimeoutMs: config.requestTimeoutMs,
    headersTimeoutMs: config.headersTimeoutMs,
    maxHeaderBytes: config.maxHeaderBytes,
    compare: config.shadowCompareUrl === '' ? undefined : compareTarget(config.shadowCompareUrl, process.env),
    maxInFlight: SHADOW_MAX_IN_FLIGHT,
    codec: deps.codec,
    metrics: new ShadowMetrics(deps.registry),
    log: deps.log.child({ component: 'shadow' }),
  });
}
