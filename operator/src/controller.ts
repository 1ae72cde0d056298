// The OnnxModel controller: informers feed a queue of `namespace/name` keys; each key is reconciled
// by gathering what is observed, asking the pure core for the desired state, and letting the
// executor write only the differences.
import type { Logger } from 'pino';
import { randomUUID } from 'node:crypto';
import { LABEL_CONTROLLER_INSTANCE, LABEL_MODEL } from './api/constants.ts';
import { safeParseOnnxModel } from './api/parse.ts';
import { reconcile } from './core/reconcile.ts';
import type { DistributionAnswer, DistributionRequest, MeasurementAnswer, MeasurementRequest } from './analysis/types.ts';
import type { OnnxModel } from './api/types.ts';
import { DEFAULT_SCRAPE_INTERVAL_SECONDS } from './core/reconcile.ts';
import { dueMeasurements } from './core/rollout/analysis-step.ts';
import type { CoreConfig, KubeObject as CoreObject, Measurements, ObservedChildren } from './core/types.ts';
import { OperatorError, isTransient } from './errors.ts';
import { Executor, type ChildRef } from './kube/executor.ts';
import type { ObjectCache } from './kube/informer.ts';
import { createCache } from './kube/namespaced-informers.ts';
import { keyOf, type KubeObject } from './kube/object-meta.ts';
import { apiVersionOf, resources, type ResourceType } from './kube/resources.ts';
import type { KubeClient } from './kube/rest-client.ts';
import { WorkQueue } from './kube/workqueue.ts';
import type { OperatorMetrics } from './metrics.ts';
import type { ModelVerifier } from './verification/index.ts';

export interface ControllerOptions {
  client: KubeClient;
  log: Logger;
  metrics: OperatorMetrics;
  core: CoreConfig;
  concurrency: number;
  fieldManager: string;
  identity: string;
  gatewayApi: boolean;
  watchdogMs: number;
  /** Watch only these namespaces (--namespace a,b): one informer per namespace and resource; all namespaces when unset or empty. */
  namespaces?: readonly string[];
  /** Reconcile only models labelled with this controller instance (--instance-id); unset: only unlabelled ones. */
  instanceId?: string;
  /** Signature verification before deployment; without it, models with spec.signature wait in Verifying (Enforce). */
  verifier?: ModelVerifier;
  /** Answers the analysis' queries; without it every due measurement is an error (no Prometheus configured). */
  prometheus?: MeasurementSource;
  clock?: () => Date;
}

export interface MeasurementSource {
  measure(requests: MeasurementRequest[], at: Date): Promise<MeasurementAnswer[]>;
  distributions(requests: DistributionRequest[], at: Date): Promise<DistributionAnswer[]>;
}

const childKinds = (gatewayApi: boolean): ResourceType[] =>
  [resources.controllerRevision, resources.deployment, resources.service, resources.horizontalPodAutoscaler, ...(gatewayApi ? [resources.httpRoute] : [])];

export class Controller {
  readonly #o: ControllerOptions;
  readonly #models: ObjectCache;
  readonly #children = new Map<string, ObjectCache>();
  readonly #queue: WorkQueue;
  readonly #executor: Executor;
  /** The burn-rate series set per model key, so they can be removed when they no longer apply. */
  readonly #burnRateSeries = new Map<string, { namespace: string; name: string; slo: string; window: string }[]>();

  constructor(opts: ControllerOptions) {
    this.#o = opts;
    const informer = (resource: ResourceType, labelSelector?: string): ObjectCache =>
      createCache(
        {
          client: opts.client,
          resource,
          log: opts.log,
          labelSelector,
          watchdogMs: opts.watchdogMs,
          onRestart: (reason) => opts.metrics.watchRestarts.inc({ resource: resource.plural, reason }),
        },
        opts.namespaces ?? [],
      );
    this.#models = informer(resources.onnxModel, opts.instanceId ? `${LABEL_CONTROLLER_INSTANCE}=${opts.instanceId}` : `!${LABEL_CONTROLLER_INSTANCE}`);
    this.#models.onChange((_type, obj) => this.#queue.add(keyOf(obj)));
    for (const kind of childKinds(opts.gatewayApi)) {
      // Only the operator's children are cached: they all carry the model label.
      const inf = informer(kind, LABEL_MODEL);
      inf.onChange((_type, obj) => {
        const model = obj.metadata.labels?.[LABEL_MODEL];
        if (model && obj.metadata.namespace) this.#queue.add(`${obj.metadata.namespace}/${model}`);
      });
      this.#children.set(apiVersionOf(kind) + '/' + kind.kind, inf);
    }
    // A namespace that starts or stops requiring signatures re-reconciles its models.
    opts.verifier?.onNamespaceChange((namespace) => {
      for (const m of this.#models.list()) if (m.metadata.namespace === namespace) this.#queue.add(keyOf(m));
    });
    this.#queue = new WorkQueue({
      concurrency: opts.concurrency,
      process: (key) => this.reconcileKey(key),
      onError: (key, err, retryInMs) => {
        const [namespace, name] = key.split('/');
        const code = err instanceof OperatorError ? err.code : 'RECONCILE_FAILED';
        opts.metrics.reconcileErrors.inc({ code });
        opts.log.warn({ err, namespace, name, retryInMs, transient: isTransient(err) }, 'reconcile failed; will retry');
      },
    });
    this.#executor = new Executor({
      client: opts.client,
      fieldManager: opts.fieldManager,
      reportingController: 'serving.onnxop.io/onnx-operator',
      reportingInstance: opts.identity,
      log: opts.log,
      onWrite: (verb, kind) => opts.metrics.apiWrites.inc({ verb, kind }),
      onWritten: (obj) => (obj.kind === resources.onnxModel.kind ? this.#models : this.#children.get(`${obj.apiVersion}/${obj.kind}`))?.upsert(obj),
    });
  }

  get queueDepth(): number {
    return this.#queue.depth;
  }

  /** Starts every informer and resolves when all caches are synced. */
  async start(): Promise<void> {
    await Promise.all([this.#models.start(), ...[...this.#children.values()].map((i) => i.start()), this.#o.verifier?.start()]);
    this.#queue.start();
    this.#o.log.info({ models: this.#models.list().length }, 'caches synced');
  }

  async stop(): Promise<void> {
    await this.#queue.shutdown();
    await Promise.all([this.#models.stop(), ...[...this.#children.values()].map((i) => i.stop()), this.#o.verifier?.stop()]);
  }

  #observedChildren(model: KubeObject): ObservedChildren {
    const mine = (kind: ResourceType): CoreObject[] =>
      (this.#children.get(apiVersionOf(kind) + '/' + kind.kind)?.list() ?? []).filter(
        (o) =>
          o.metadata.namespace === model.metadata.namespace &&
          o.metadata.labels?.[LABEL_MODEL] === model.metadata.name &&
          (o.metadata.ownerReferences ?? []).some((r) => r.uid === model.metadata.uid),
      ) as CoreObject[];
    return {
      controllerRevisions: mine(resources.controllerRevision),
      deployments: mine(resources.deployment),
      services: mine(resources.service),
      horizontalPodAutoscalers: mine(resources.horizontalPodAutoscaler),
      ...(this.#o.gatewayApi ? { httpRoutes: mine(resources.httpRoute) } : {}),
    };
  }

  #lookup(ref: ChildRef): KubeObject | undefined {
    for (const [id, inf] of this.#children) {
      if (id === `${ref.apiVersion}/${ref.kind}`) return inf.get(ref.namespace, ref.name);
    }
    return undefined;
  }

  #forgetModelSeries(key: string, namespace: string, name: string): void {
    this.#o.metrics.canaryWeight.remove({ namespace, name });
    this.#o.metrics.rolloutStep.remove({ namespace, name });
    this.#clearBurnRates(key);
  }

  #clearBurnRates(key: string): void {
    for (const labels of this.#burnRateSeries.get(key) ?? []) this.#o.metrics.burnRate.remove(labels);
    this.#burnRateSeries.delete(key);
  }

  /** The one I/O call of an analysis round: the core says what is due, Prometheus answers. */
  async #measure(model: OnnxModel, now: Date): Promise<Measurements | undefined> {
    const due = dueMeasurements(model, now, this.#o.core.scrapeIntervalSeconds ?? DEFAULT_SCRAPE_INTERVAL_SECONDS);
    if (!due) return undefined;
    const noPrometheus = 'the operator has no Prometheus to query (--prometheus-url is not set)';
    const prometheus = this.#o.prometheus;
    const [answers, distributionAnswers] = prometheus
      ? await Promise.all([prometheus.measure(due.requests, now), prometheus.distributions(due.distributions, now)])
      : [due.requests.map((r) => ({ id: r.id, ok: false as const, error: noPrometheus })), due.distributions.map((r) => ({ id: r.id, ok: false as const, error: noPrometheus }))];
    return {
      revision: due.revision,
      time: now.toISOString(),
      requests: due.requests,
      answers,
      ...(due.distributions.length > 0 ? { distributions: due.distributions, distributionAnswers } : {}),
    };
  }

  async reconcileKey(key: string): Promise<{ requeueAfterMs?: number }> {
    const [namespace = '', name = ''] = key.split('/');
    const started = process.hrtime.bigint();
    const log = this.#o.log.child({ namespace, name, reconcileID: randomUUID() });
    this.#o.metrics.queueDepth.set(this.#queue.depth);
    this.#o.metrics.queueActive.set(this.#queue.active);
    try {
      const obj = this.#models.get(namespace, name);
      // Gone or going: the garbage collector removes the children through their ownerReferences,
      // and the model's own series go with it (a gauge left behind would describe nothing).
      if (!obj || obj.metadata.deletionTimestamp) {
        this.#forgetModelSeries(key, namespace, name);
        return {};
      }
      const parsed = safeParseOnnxModel(obj);
      if (!parsed.ok) {
        // The CRD's schema should have refused it; nothing to do until the object changes.
        log.error({ err: parsed.error, field: parsed.error.field }, 'OnnxModel is invalid; waiting for a change');
        this.#o.metrics.reconcileErrors.inc({ code: 'SPEC_INVALID' });
        return {};
      }
      if (parsed.statusProblems.length > 0) log.warn({ problems: parsed.statusProblems }, 'status has invalid values; they are dropped and the next status write replaces them');
      // Verification first: the core creates no pod of a revision whose verdict it does not have.
      const v = this.#o.verifier ? await this.#o.verifier.decide(parsed.model) : { model: parsed.model };
      const now = (this.#o.clock ?? (() => new Date()))();
      const measurements = await this.#measure(v.model, now);
      const out = reconcile({
        model: v.model,
        children: this.#observedChildren(obj),
        now,
        config: this.#o.core,
        capabilities: { gatewayAPI: this.#o.gatewayApi },
        ...(v.verification ? { verification: v.verification } : {}),
        ...(measurements ? { measurements } : {}),
      });
      const result = await this.#executor.execute(obj, out, (ref) => this.#lookup(ref));
      if (out.rolloutOutcome) this.#o.metrics.rollouts.inc({ namespace, name, outcome: out.rolloutOutcome });
      const weight = out.status.currentWeight;
      if (typeof weight === 'number') this.#o.metrics.canaryWeight.set({ namespace, name }, weight);
      this.#o.metrics.rolloutStep.set({ namespace, name }, out.status.canary ? (out.status.currentStep ?? 0) : -1);
      const analysis = out.status.lastAnalysis;
      // Burn rates describe the current canary only: its series go when it does.
      if (!out.status.canary) this.#clearBurnRates(key);
      if (measurements && analysis && analysis.time === measurements.time) {
        this.#o.metrics.analysisVerdicts.inc({ verdict: analysis.verdict });
        this.#clearBurnRates(key);
        const series = analysis.slos.flatMap((slo) => slo.burnRates.map((b) => ({ labels: { namespace, name, slo: slo.name, window: b.window }, value: b.burnRate })));
        for (const s of series) this.#o.metrics.burnRate.set(s.labels, s.value);
        if (series.length > 0) this.#burnRateSeries.set(key, series.map((s) => s.labels));
        log.info({ revision: analysis.revision, verdict: analysis.verdict, reason: analysis.reason }, analysis.message ?? 'analysed');
      }
      if (result.applied + result.deleted + result.events > 0 || result.statusWritten) {
        log.info({ revision: out.status.stable?.revision, phase: out.status.phase, ...result }, 'reconciled');
      } else {
        log.debug('in sync');
      }
      this.#o.metrics.reconciles.inc({ result: 'success' });
      const requeues = [out.requeueAfterMs, v.requeueAfterMs].filter((ms): ms is number => ms !== undefined);
      return requeues.length === 0 ? {} : { requeueAfterMs: Math.min(...requeues) };
    } catch (err) {
      this.#o.metrics.reconciles.inc({ result: 'error' });
      throw err;
    } finally {
      this.#o.metrics.reconcileDuration.observe(Number(process.hrtime.bigint() - started) / 1e9);
    }
  }
}
