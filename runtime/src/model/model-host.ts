// Loads verified model bytes into a pool of session workers and runs tensors on them. Maps
// onnxruntime's load errors to stable codes with messages a user can act on.
import { Worker } from 'node:worker_threads';
import { RuntimeError } from '../errors.ts';
import { ORT_TO_V2, V2_TO_ORT, type HostTensor } from '../protocol/datatypes.ts';
import { signatureFromMetadata, type ModelSignature } from '../protocol/signature.ts';
import type { Feeds } from '../inference/scheduler.ts';
import { describeOpsets, inspectOnnx, type OnnxHeader } from './onnx-inspect.ts';
import type { ExternalDataFile, InitReply, InitRequest, RunReply, RunRequest, WireTensor } from './worker-protocol.ts';
import { InlineWatch, chooseExecutionMode, screenVerdict, MIN_SAMPLES, type ExecutionMode, type ModeDecision, type WarmupMeasurement } from './execution-mode.ts';
import { createInlineSession, type InlineSession } from './inline-session.ts';

/** Models larger than this never get an inline session (creating one blocks the event loop). */
export const INLINE_MAX_MODEL_BYTES = 64 * 1024 * 1024;
/** Warm-up runs per input size measured inline (after 2 uncounted). */
const INLINE_SAMPLE_RUNS = 20;

export interface CalibrateOptions {
  /** The verified model bytes (for the inline session). */
  bytes: Uint8Array;
  /** Synthesized requests of the sizes inline runs must cover (e.g. 1 row and a full batch). */
  warmups: Feeds[];
  thresholdMs: number;
  graphOptimization: InitRequest['graphOptimization'];
  /** Called when slow inline runs send the model back to the workers (for good). */
  onDemote: (reason: string) => void;
}

export interface HostOptions {
  workers: number;
  threads: number;
  spinning: boolean;
  graphOptimization: InitRequest['graphOptimization'];
  executionProvider: 'cpu' | 'cuda';
  cpuFallback: boolean;
  source: string;
  /** A model directory's external data, verified against the signed manifest. */
  externalData?: ExternalDataFile[];
}

export interface LoadedModel {
  signature: ModelSignature;
  header: OnnxHeader;
  executionProvider: 'cpu' | 'cuda';
  /** onnxruntime's reason when CUDA was requested but the CPU fallback applied. */
  providerFallbackReason: string | undefined;
  ortVersion: string;
  /** Where runs happen now; 'worker' until calibrate() decides otherwise. */
  readonly executionMode: ExecutionMode;
  run(feeds: Feeds): Promise<Feeds>;
  /** Runs the warm-up (rejects when it fails), measures warm-up runs and switches to inline runs when they are cheap enough (execution-mode.ts). */
  calibrate(opts: CalibrateOptions): Promise<ModeDecision & { warmupMs: number }>;
  close(): Promise<void>;
}

const elementsOf = (feeds: Feeds): number => {
  let n = 0;
  for (const t of feeds.values()) n += t.data.length;
  return n;
};

export function mapLoadError(message: string, stage: 'load' | 'provider', header: OnnxHeader, source: string): RuntimeError {
  const opsets = describeOpsets(header);
  if (stage === 'provider') {
    return new RuntimeError(
      'EXECUTION_PROVIDER_UNAVAILABLE',
      `the CUDA execution provider could not be started (${message.split('\n')[0]}); schedule the pod on a GPU node (driver for CUDA 13) with the runtime-gpu image, or set --cpu-fallback=true to serve on CPU`,
    );
  }
  if (/Protobuf parsing failed|ModelProto does not have a graph|Failed to load model because protobuf/i.test(message)) {
    return new RuntimeError('MODEL_CORRUPT', `${source} is not a valid ONNX model (onnxruntime: ${message.split('\n')[0]}); the file is corrupt or truncated — re-export or re-upload it`);
  }
  if (/opset/i.test(message)) {
    const supported = /till opset (\d+)/.exec(message)?.[1];
    return new RuntimeError(
      'MODEL_OPSET_UNSUPPORTED',
      `${source} declares opsets ${opsets}, which this onnxruntime does not support${supported ? ` (ai.onnx up to ${supported})` : ''}; re-export the model with a supported opset (e.g. torch.onnx.export(..., opset_version=${supported ?? 17})) or use a newer runtime image`,
    );
  }
  if (/is not a registered function\/op|Could not find an implementation|No opset import for domain/i.test(message)) {
    const op = /([\w.]*:?\w+)\(-?\d+\) is not a registered/.exec(message)?.[1];
    return new RuntimeError(
      'MODEL_OPERATOR_UNSUPPORTED',
      `${source} uses an operator onnxruntime cannot run${op ? ` (${op})` : ''} (opsets ${opsets}); replace the custom operator when exporting, or build a runtime image that registers it`,
    );
  }
  return new RuntimeError('MODEL_LOAD_FAILED', `onnxruntime could not load ${source}: ${message}`);
}

interface Slot {
  worker: Worker;
  busy: number;
  pending: Map<number, { resolve: (r: { outputs: Feeds; ms: number }) => void; reject: (e: Error) => void }>;
}

function toWire(t: HostTensor): WireTensor {
  return { type: V2_TO_ORT[t.datatype], dims: t.shape, data: t.data };
}

function fromWire(t: WireTensor): HostTensor {
  return { datatype: ORT_TO_V2[t.type] ?? 'FP32', shape: t.dims, data: t.data as HostTensor['data'] };
}

const WORKER_URL = new URL('./session-worker.ts', import.meta.url);

function startWorker(): Slot {
  const worker = new Worker(WORKER_URL);
  return { worker, busy: 0, pending: new Map() };
}

function init(slot: Slot, req: InitRequest): Promise<InitReply> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: InitReply) => {
      if (m.type !== 'init') return;
      slot.worker.off('message', onMessage);
      slot.worker.off('error', reject);
      resolve(m);
    };
    slot.worker.on('message', onMessage);
    slot.worker.once('error', reject);
    slot.worker.postMessage(req);
  });
}

export async function loadModel(bytes: Uint8Array, opts: HostOptions): Promise<LoadedModel> {
  const header = inspectOnnx(bytes, opts.source);
  const req: InitRequest = {
    type: 'init',
    bytes,
    externalData: opts.externalData ?? [],
    threads: opts.threads,
    spinning: opts.spinning,
    graphOptimization: opts.graphOptimization,
    executionProvider: opts.executionProvider,
    cpuFallback: opts.cpuFallback,
  };
  const slots: Slot[] = [];
  const terminateAll = () => Promise.all(slots.map((s) => s.worker.terminate()));
  let first: InitReply;
  try {
    slots.push(startWorker());
    first = await init(slots[0] as Slot, req);
    if (!first.ok) throw mapLoadError(first.error, first.stage, header, opts.source);
    // Further workers get the provider the first one settled on, so a fallback is decided once.
    const rest = { ...req, executionProvider: first.executionProvider };
    for (let i = 1; i < opts.workers; i++) slots.push(startWorker());
    const replies = await Promise.all(slots.slice(1).map((s) => init(s, rest)));
    const failed = replies.find((r) => !r.ok);
    if (failed && !failed.ok) throw mapLoadError(failed.error, failed.stage, header, opts.source);
  } catch (err) {
    await terminateAll();
    if (err instanceof RuntimeError) throw err;
    throw new RuntimeError('MODEL_LOAD_FAILED', `the session worker failed while loading ${opts.source}: ${(err as Error).message}`, { cause: err });
  }
  const { signature, unsupported } = signatureFromMetadata(first.inputs, first.outputs);
  if (unsupported.length > 0) {
    await terminateAll();
    throw new RuntimeError('MODEL_LOAD_FAILED', `${opts.source} has inputs/outputs this runtime cannot serve over the v2 protocol: ${unsupported.join(', ')}; only tensors are supported`);
  }

  let nextId = 0;
  let fatal: Error | undefined;
  for (const slot of slots) {
    slot.worker.on('message', (m: RunReply) => {
      if (m.type !== 'run') return;
      const p = slot.pending.get(m.id);
      if (!p) return;
      slot.pending.delete(m.id);
      slot.busy--;
      if (m.ok) p.resolve({ outputs: new Map(m.outputs.map(([name, t]) => [name, fromWire(t)])), ms: m.ms });
      else p.reject(runFailed(m.error));
    });
    const failAll = (err: Error) => {
      fatal = err;
      for (const p of slot.pending.values()) p.reject(new RuntimeError('INFERENCE_FAILED', `the session worker died: ${err.message}`, { status: 500, cause: err }));
      slot.pending.clear();
    };
    slot.worker.on('error', failAll);
    slot.worker.on('exit', (code) => {
      if (slot.pending.size > 0) failAll(new Error(`exit code ${code}`));
    });
  }

  const workerRun = (feeds: Feeds): Promise<{ outputs: Feeds; ms: number }> => {
    if (fatal) return Promise.reject(new RuntimeError('INFERENCE_FAILED', `the session worker died: ${fatal.message}`, { status: 500 }));
    let slot = slots[0] as Slot;
    for (const s of slots) if (s.busy < slot.busy) slot = s;
    const id = nextId++;
    slot.busy++;
    const msg: RunRequest = { type: 'run', id, feeds: [...feeds].map(([n, t]) => [n, toWire(t)]) };
    return new Promise((resolve, reject) => {
      slot.pending.set(id, { resolve, reject });
      slot.worker.postMessage(msg);
    });
  };

  let mode: ExecutionMode = 'worker';
  let inline: InlineSession | undefined;
  let inlineMaxElements = 0;
  let watch: InlineWatch | undefined;
  let onDemote: (reason: string) => void = () => {};
  const toWireFeeds = (feeds: Feeds): [string, WireTensor][] => [...feeds].map(([n, t]) => [n, toWire(t)]);
  const fromWireOutputs = (outputs: [string, WireTensor][]): Feeds => new Map(outputs.map(([name, t]) => [name, fromWire(t)]));

  const inlineRun = async (session: InlineSession, feeds: Feeds): Promise<Feeds> => {
    let r;
    try {
      r = await session.run(toWireFeeds(feeds));
    } catch (err) {
      throw runFailed((err as Error).message);
    }
    const why = watch?.record(r.ms);
    if (why !== undefined && mode === 'inline') {
      mode = 'worker';
      onDemote(why);
    }
    return fromWireOutputs(r.outputs);
  };

  return {
    signature,
    header,
    executionProvider: first.executionProvider,
    providerFallbackReason: first.providerError,
    ortVersion: first.ortVersion,
    get executionMode() {
      return mode;
    },
    run(feeds: Feeds): Promise<Feeds> {
      if (mode === 'inline' && inline && elementsOf(feeds) <= inlineMaxElements) return inlineRun(inline, feeds);
      return workerRun(feeds).then((r) => r.outputs);
    },
    async calibrate(o: CalibrateOptions): Promise<ModeDecision & { warmupMs: number }> {
      const sizes = [...o.warmups].sort((a, b) => elementsOf(a) - elementsOf(b));
      // The warm-up run proper (cold: it allocates onnxruntime's buffers); its failure is the caller's WARMUP_FAILED.
      const warmupMs = (await workerRun(sizes[0] as Feeds)).ms;
      const worker = (reason: string): ModeDecision & { warmupMs: number } => ({ mode: 'worker', inlineMaxElements: 0, percentileMs: undefined, reason, warmupMs });
      if (!(o.thresholdMs > 0)) return { ...chooseExecutionMode([], o.thresholdMs), warmupMs };
      if (first.executionProvider !== 'cpu') return worker(`inline runs are for the CPU provider only (serving on ${first.executionProvider})`);
      const modelBytes = o.bytes.length + req.externalData.reduce((n, f) => n + f.data.length, 0);
      if (modelBytes > INLINE_MAX_MODEL_BYTES) return worker(`the model is larger than ${INLINE_MAX_MODEL_BYTES} bytes`);
      const tooSlow = (ms: readonly number[]) => `warm-up runs on a worker took ${ms.map((x) => x.toFixed(3)).join(', ')} ms, not under --inline-run-max-ms=${o.thresholdMs}`;
      // 1. Screen on a worker (its own measurement, without the message round trip): a model that
      //    is not cheap there never gets a main-thread session. Two slow runs end the screening
      //    (screenVerdict); the cold warm-up run above does not count (it allocates, and on shared
      //    cores one run can be pre-empted for many milliseconds).
      const screened: Feeds[] = [];
      for (const feeds of sizes) {
        const samples: number[] = [];
        let verdict: ReturnType<typeof screenVerdict> = 'more';
        try {
          while (verdict === 'more') {
            samples.push((await workerRun(feeds)).ms);
            verdict = screenVerdict(samples, o.thresholdMs);
          }
        } catch (err) {
          if (screened.length === 0) return worker(`a warm-up run failed: ${(err as Error).message}`);
          break;
        }
        if (verdict === 'slow') {
          if (screened.length === 0) return worker(tooSlow(samples));
          break;
        }
        screened.push(feeds);
      }
      // 2. Measure inline.
      let session: InlineSession;
      try {
        session = await createInlineSession(o.bytes, o.graphOptimization, req.externalData);
      } catch (err) {
        return worker(`the inline session could not be created: ${(err as Error).message.split('\n')[0]}`);
      }
      const measurements: WarmupMeasurement[] = [];
      for (const feeds of screened) {
        const wire = toWireFeeds(feeds);
        const samples: number[] = [];
        try {
          for (let i = 0; i < 2 + INLINE_SAMPLE_RUNS; i++) {
            const { ms } = await session.run(wire);
            if (i >= 2) samples.push(ms);
          }
        } catch (err) {
          if (measurements.length === 0) {
            await session.release();
            return worker(`an inline warm-up run failed: ${(err as Error).message.split('\n')[0]}`);
          }
          break;
        }
        measurements.push({ elements: elementsOf(feeds), samplesMs: samples });
        if (samples.length < MIN_SAMPLES) break;
      }
      const decision = { ...chooseExecutionMode(measurements, o.thresholdMs), warmupMs };
      if (decision.mode === 'inline') {
        inline = session;
        inlineMaxElements = decision.inlineMaxElements;
        watch = new InlineWatch(o.thresholdMs);
        onDemote = o.onDemote;
        mode = 'inline';
      } else {
        await session.release();
      }
      return decision;
    },
    async close(): Promise<void> {
      mode = 'worker';
      await inline?.release().catch(() => {});
      inline = undefined;
      await Promise.all(
        slots.map(
          (s) =>
            new Promise<void>((resolve) => {
              s.worker.once('exit', () => resolve());
              s.worker.postMessage({ type: 'close' });
              setTimeout(() => void s.worker.terminate(), 2000).unref();
            }),
        ),
      );
    },
  };
}

function runFailed(message: string): RuntimeError {
  return new RuntimeError('INFERENCE_FAILED', `onnxruntime failed to run the model: ${message.split('\n')[0]}`, { status: 500 });
}
