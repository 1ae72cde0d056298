// The composition root: wires config → artifact → session workers → scheduler → model health →
// prediction log → HTTP, and owns start-up and graceful shutdown. Everything else is a part.
import { writeFileSync, existsSync } from 'node:fs';
import type { Logger } from 'pino';
import type { RuntimeConfig } from './config/config.ts';
import { RuntimeError, errorMessage } from './errors.ts';
import { fetchArtifact, type FetchOptions } from './artifact/fetch.ts';
import { checkFileAgainstManifest, isLocalDirectory, loadModelDir, localPath } from './artifact/model-dir.ts';
import type { ExternalDataFile } from './model/worker-protocol.ts';
import { loadModel, type LoadedModel } from './model/model-host.ts';
import { containerCpus } from './model/threads.ts';
import { describeOpsets } from './model/onnx-inspect.ts';
import { Scheduler } from './inference/scheduler.ts';
import { createMetrics, type RuntimeMetrics } from './metrics/metrics.ts';
import { ModelHealth, loadBaseline } from './model-health/model-health.ts';
import { GroundTruth } from './predictions/ground-truth.ts';
import { createSink, type PredictionSink } from './predictions/prediction-log.ts';
import { KafkaSink } from './predictions/kafka-sink.ts';
import { isBatchable } from './protocol/signature.ts';
import { Codec } from './protocol/codec.ts';
import { baselineMedians, loadWarmupRequest, repeatRows, warmupFeeds } from './inference/warmup.ts';
import { App } from './server/app.ts';
import { startHttpServer, type HttpServer } from './server/http-server.ts';
import { ByteBudget } from './server/body.ts';
import { startGrpcServer, type GrpcServer } from './grpc/grpc-server.ts';
import { startShadow, type ShadowServer } from './shadow/start.ts';
import type { SpanExporter } from '@opentelemetry/sdk-trace';
import type { Tracing } from './tracing/otel-tracer.ts';

export interface RunningRuntime {
  port: number;
  /** The gRPC service's port; undefined with --grpc=false. */
  grpcPort: number | undefined;
  /** The shadow listener's port (mirrored requests: shadow/shadow-server.ts). */
  shadowPort: number;
  app: App;
  metrics: RuntimeMetrics;
  /** Large requests' decoding and encoding (tests read its counters). */
  codec: Codec;
  /** Resolves when the model is ready; rejects with the load error (a RuntimeError with a code). */
  loaded: Promise<void>;
  /** Not ready → stop accepting → drain → release. Idempotent. */
  shutdown(reason: string): Promise<{ drained: boolean }>;
  /** With tracing on (OTEL_* variables: config.tracing). */
  tracing: Tracing | undefined;
}

export interface RuntimeHooks {
  /** Replaces the OTLP exporter when tracing is on (tests pass the SDK's in-memory exporter). */
  spanExporter?: SpanExporter;
}

export { warmupFeeds };

function writeTerminationMessage(message: string): void {
  // Kubernetes shows this file's content in the pod status (lastState.terminated.message), where
  // `kubectl describe` and the operator read why the model could not be served.
  const path = process.env.ONNXOP_TERMINATION_LOG ?? '/dev/termination-log';
  try {
    if (existsSync(path)) writeFileSync(path, message.slice(0, 4000));
  } catch {
    // best effort
  }
}

export async function startRuntime(config: RuntimeConfig, log: Logger, hooks: RuntimeHooks = {}): Promise<RunningRuntime> {
  const metrics = createMetrics(config.modelName, config.revision);
  // The OpenTelemetry SDK is loaded only when tracing is on: off, it costs nothing.
  const tracing = config.tracing
    ? (await import('./tracing/otel-tracer.ts')).startTracing(config.tracing, { name: config.modelName, revision: config.revision }, log, hooks.spanExporter)
    : undefined;
  const sink: PredictionSink =
    config.predictionLog === 'kafka'
      ? new KafkaSink(config, metrics, log)
      : createSink(
          config.predictionLog,
          (n) => metrics.predictionsLogged.inc(n),
          (n) => metrics.predictionLogDropped.inc(n),
        );
  // Request body bytes held at once, by REST and gRPC requests together.
  const budget = new ByteBudget(config.maxBufferedBytes, (used) => metrics.requestBytesBuffered.set(used));
  // The codec process's heap: JSON.parse of a body takes several times its size (numbers become
  // JS values); 16× the largest body, at least 512 MiB.
  const codec = new Codec({ maxHeapMb: Math.max(512, Math.ceil((16 * config.maxBodyBytes) / 2 ** 20)) });
  const app = new App({
    modelName: config.modelName,
    revision: config.revision,
    requestTimeoutMs: config.requestTimeoutMs,
    predictionLogInputs: config.predictionLogInputs,
    metrics,
    sink,
    codec,
  });
  let health: ModelHealth | undefined;
  // Listen first: liveness and /metrics answer while the model downloads and loads.
  const http: HttpServer = await startHttpServer(app, {
    host: config.host,
    port: config.port,
    maxBodyBytes: config.maxBodyBytes,
    budget,
    headersTimeoutMs: config.headersTimeoutMs,
    bodyTimeoutMs: config.bodyTimeoutMs,
    requestTimeoutMs: config.requestTimeoutMs,
    maxHeaderBytes: config.maxHeaderBytes,
    revision: config.revision,
    metrics,
    beforeScrape: () => health?.refresh(),
    tracer: tracing?.tracer,
  });
  log.info({ port: http.port, host: config.host }, 'listening');
  let grpc: GrpcServer | undefined;
  if (config.grpc) {
    try {
      grpc = await startGrpcServer(app, { host: config.host, port: config.grpcPort, maxMessageBytes: config.maxBodyBytes, budget, metrics, tracer: tracing?.tracer });
    } catch (err) {
      http.closeAll();
      await new Promise<void>((resolve) => http.server.close(() => resolve()));
      throw err;
    }
    log.info({ grpcPort: grpc.port, host: config.host }, 'gRPC listening');
  }
  let shadow: ShadowServer;
  try {
    shadow = await startShadow(app, config, { budget, codec, registry: metrics.registry, log });
  } catch (err) {
    http.closeAll();
    await new Promise<void>((resolve) => http.server.close(() => resolve()));
    await grpc?.stop(0);
    throw err;
  }

  let model: LoadedModel | undefined;
  let scheduler: Scheduler | undefined;

  const load = async (): Promise<void> => {
    const t0 = performance.now();
    const fetchOpts: FetchOptions = {
      maxBytes: config.maxModelBytes,
      timeoutMs: config.fetchTimeoutMs,
      retries: config.fetchRetries,
      ociPlainHttp: config.ociPlainHttp,
      onRetry: (attempt, err) => log.warn({ attempt, err: errorMessage(err) }, 'artifact fetch failed; retrying'),
    };
    let artifact: { bytes: Uint8Array; digest: string; source: string; externalData: ExternalDataFile[] };
    if (await isLocalDirectory(config.modelUri)) {
      // A model directory: every file re-checked against the signed manifest (artifact/model-dir.ts).
      const dir = await loadModelDir(localPath(config.modelUri)!, {
        modelFile: config.modelFile,
        manifestBundle: config.manifestBundle,
        expectedDigest: config.modelDigest,
        maxBytes: config.maxModelBytes,
        fetch: fetchOpts,
      });
      artifact = dir;
      log.info(
        { source: dir.source, files: dir.files, externalData: dir.externalData.map((f) => f.path), bytes: dir.loadedBytes, digest: dir.digest, manifestBundle: config.manifestBundle },
        'model directory matches the signed manifest',
      );
    } else {
      artifact = { ...(await fetchArtifact(config.modelUri, config.modelDigest, fetchOpts)), externalData: [] };
      if (config.manifestBundle !== '') await checkFileAgainstManifest(artifact.digest, artifact.source, config.manifestBundle, fetchOpts);
      log.info({ source: artifact.source, bytes: artifact.bytes.length, digest: artifact.digest }, 'artifact fetched and digest verified');
    }
    const workers = config.maxConcurrentRuns;
    const cpus = containerCpus();
    const threads = config.threads > 0 ? config.threads : Math.max(1, Math.floor(cpus.cpus / workers));
    model = await loadModel(artifact.bytes, {
      workers,
      threads,
      graphOptimization: config.graphOptimization,
      executionProvider: config.executionProvider,
      cpuFallback: config.cpuFallback,
      spinning: config.threadSpinning,
      source: artifact.source,
      externalData: artifact.externalData,
    });
    if (model.providerFallbackReason) {
      metrics.providerFallbacks.inc({ requested: config.executionProvider });
      log.error(
        { code: 'EXECUTION_PROVIDER_UNAVAILABLE', requested: config.executionProvider, reason: model.providerFallbackReason },
        'CUDA is unavailable; serving on CPU because --cpu-fallback=true',
      );
    }
    metrics.modelInfo.set(
      {
        digest: config.modelDigest,
        ort_version: model.ortVersion,
        execution_provider: model.executionProvider,
        requested_execution_provider: config.executionProvider,
        opset: describeOpsets(model.header),
      },
      1,
    );
    const baseline = config.baselineProfile ? await loadBaseline(config.baselineProfile, model.signature) : undefined;
    health = new ModelHealth({ signature: model.signature, metrics, maxFeatures: config.featureStatsMaxFeatures, window: config.featureWindow, task: config.task, baseline });
    const batchable = isBatchable(model.signature);
    if (config.maxBatchSize > 1 && !batchable) log.warn('dynamic batching is off: not every input and output has a dynamic first dimension');
    const loaded = model;
    scheduler = new Scheduler(
      { maxBatchSize: config.maxBatchSize, maxQueueDelayMs: config.maxQueueDelayMs, queueLimit: config.queueLimit, maxConcurrentRuns: workers, batchable, tracer: tracing?.tracer },
      (feeds) => loaded.run(feeds),
      {
        queueWait: (s) => metrics.queueDuration.observe(s),
        run: (rows, s, ok) => {
          metrics.computeDuration.observe(s);
          metrics.batchSize.observe(rows);
          (ok ? metrics.runsOk : metrics.runsError).inc();
        },
        depth: (n) => metrics.queueDepth.set(n),
      },
    );
    let executionMode = 'worker (no warm-up)';
    if (config.warmup) {
      // The warm-up run, then adaptive execution: runs of one row and of a full batch are measured,
      // and a model that cheap runs inline on the event loop (model/execution-mode.ts).
      const batch = batchable && config.maxBatchSize > 1;
      let warmups;
      let given = false;
      if (config.warmupRequest !== '') {
        const w = await loadWarmupRequest(config.warmupRequest, model.signature);
        warmups = [w.feeds];
        if (batch && w.rows > 0 && w.rows < config.maxBatchSize) warmups.push(repeatRows(w.feeds, w.rows, config.maxBatchSize));
        given = true;
      } else {
        const values = baseline ? baselineMedians(baseline) : undefined;
        warmups = [warmupFeeds(model.signature, 1, values)];
        if (batch) warmups.push(warmupFeeds(model.signature, config.maxBatchSize, values));
      }
      const source = given ? `--warmup-request ${config.warmupRequest}` : baseline ? 'the baseline profile medians' : 'ones';
      try {
        const decision = await model.calibrate({
          bytes: artifact.bytes,
          warmups,
          thresholdMs: config.inlineRunMaxMs,
          graphOptimization: config.graphOptimization,
          onDemote: (reason) => {
            metrics.inlineExecution.set(0);
            log.warn({ reason }, 'inline runs got slow; running on the session workers from now on');
          },
        });
        log.info({ ms: Number(decision.warmupMs.toFixed(3)), input: source }, 'warm-up run done');
        metrics.inlineExecution.set(decision.mode === 'inline' ? 1 : 0);
        executionMode = decision.mode;
        log.info(
          { mode: decision.mode, reason: decision.reason, p95Ms: decision.percentileMs === undefined ? undefined : Number(decision.percentileMs.toFixed(4)), inlineMaxElements: decision.inlineMaxElements || undefined },
          decision.mode === 'inline' ? 'runs execute inline on the event loop' : 'runs execute on session workers',
        );
      } catch (err) {
        // A request its owner gave as representative must work: the model is not servable.
        if (given) throw new RuntimeError('WARMUP_FAILED', `the warm-up run on --warmup-request ${config.warmupRequest} failed: ${errorMessage(err)}`, { cause: err });
        // The session loaded; a data-dependent model may reject synthetic values. Serve, but say so.
        executionMode = 'worker (warm-up failed)';
        log.warn({ code: 'WARMUP_FAILED', err: errorMessage(err), input: source }, 'warm-up run failed on synthesized inputs; serving anyway (give a representative request with --warmup-request)');
      }
    }
    app.setModel({ signature: model.signature, scheduler, health, groundTruth: new GroundTruth(config.pendingPredictionsMax, health.plan, metrics), executionProvider: model.executionProvider });
    const seconds = (performance.now() - t0) / 1000;
    metrics.loadDuration.set(seconds);
    if (app.phase === 'loading') app.setPhase('ready');
    log.info(
      {
        seconds: Number(seconds.toFixed(3)),
        executionProvider: model.executionProvider,
        threads,
        threadsFrom: config.threads > 0 ? '--threads' : cpus.source,
        workers,
        executionMode,
        batching: batchable && config.maxBatchSize > 1 ? { maxBatchSize: config.maxBatchSize, maxQueueDelayMs: config.maxQueueDelayMs } : 'off',
        task: health.plan.kind,
        inputs: model.signature.inputs,
        outputs: model.signature.outputs,
      },
      'model ready',
    );
  };

  const loaded = load().catch((err: unknown) => {
    app.setPhase('failed');
    const e = err instanceof RuntimeError ? err : new RuntimeError('MODEL_LOAD_FAILED', `loading the model failed: ${errorMessage(err)}`, { cause: err });
    log.fatal({ code: e.code, err: e.message }, 'model not served');
    writeTerminationMessage(`${e.code}: ${e.message}`);
    throw e;
  });
  loaded.catch(() => {}); // observed by the caller; avoid an unhandled rejection here

  let shutdownPromise: Promise<{ drained: boolean }> | undefined;
  const shutdown = (reason: string) =>
    (shutdownPromise ??= (async () => {
      log.info({ reason, active: http.active(), queued: scheduler?.queued ?? 0 }, 'shutting down: not ready');
      app.setPhase('draining');
      if (config.shutdownDelayMs > 0) await new Promise((r) => setTimeout(r, config.shutdownDelayMs));
      await http.stopAccepting();
      const t0 = performance.now();
      const grpcDrained = grpc ? await grpc.stop(config.drainTimeoutMs) : true;
      const drained = (await http.drained(Math.max(0, config.drainTimeoutMs - (performance.now() - t0)))) && grpcDrained;
      await scheduler?.idle();
      http.closeAll();
      await shadow.close();
      await sink.close();
      await codec.close();
      await model?.close();
      // Spans still buffered go out now, bounded: an unreachable collector does not hold up the exit.
      await tracing?.shutdown(2000);
      log.info({ drained, requests: await totalRequests(metrics) }, 'shut down');
      return { drained };
    })());

  return { port: http.port, grpcPort: grpc?.port, shadowPort: shadow.port, app, metrics, codec, loaded, shutdown, tracing };
}

async function totalRequests(metrics: RuntimeMetrics): Promise<Record<string, number>> {
  const v = await metrics.requests.get();
  return Object.fromEntries(v.values.map((x) => [String(x.labels.outcome), x.value]));
}
