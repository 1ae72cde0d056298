// Runs in a worker thread and owns one onnxruntime session. onnxruntime-node's `run` executes the
// graph synchronously on the calling thread (its async API only defers the call with
// setImmediate), so running it on the main thread would freeze health checks and /metrics for the
// whole run. Each worker holds its own session; the main thread only moves tensors.
import { parentPort } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import type { InitRequest, InitReply, RunRequest, RunReply, WireTensor } from './worker-protocol.ts';

if (!parentPort) throw new Error('session-worker.ts must run as a worker thread');
const port = parentPort;
let session: ort.InferenceSession | undefined;
// onnxruntime's own console logging would bypass the JSON logs; errors come back as messages.
ort.env.logLevel = 'fatal';

function sessionOptions(req: InitRequest, provider: 'cpu' | 'cuda'): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: [provider],
    intraOpNumThreads: req.threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: req.graphOptimization,
    // onnxruntime would print its own errors to stderr; the runtime logs them as JSON instead.
    logSeverityLevel: 4,
  };
}

async function init(req: InitRequest): Promise<InitReply> {
  let providerError: string | undefined;
  try {
    session = await ort.InferenceSession.create(req.bytes, sessionOptions(req, req.executionProvider));
  } catch (err) {
    if (req.executionProvider !== 'cuda') return { type: 'init', ok: false, error: (err as Error).message, stage: 'load' };
    providerError = (err as Error).message;
    if (!req.cpuFallback) return { type: 'init', ok: false, error: providerError, stage: 'provider' };
    try {
      session = await ort.InferenceSession.create(req.bytes, sessionOptions(req, 'cpu'));
    } catch (err2) {
      return { type: 'init', ok: false, error: (err2 as Error).message, stage: 'load' };
    }
  }
  const meta = (m: readonly ort.InferenceSession.ValueMetadata[]) =>
    m.map((v) => (v.isTensor ? { name: v.name, isTensor: true, type: v.type, shape: [...v.shape] } : { name: v.name, isTensor: false }));
  return {
    type: 'init',
    ok: true,
    inputs: meta(session.inputMetadata),
    outputs: meta(session.outputMetadata),
    executionProvider: providerError ? 'cpu' : req.executionProvider,
    providerError,
    ortVersion: ort.env.versions.node ?? ort.env.versions.common,
  };
}

async function run(req: RunRequest): Promise<{ reply: RunReply; transfer: ArrayBuffer[] }> {
  if (!session) return { reply: { type: 'run', id: req.id, ok: false, error: 'session not initialized' }, transfer: [] };
  const feeds: Record<string, ort.Tensor> = {};
  for (const [name, t] of req.feeds) {
    const tensor = new ort.Tensor(t.type as 'float32', t.data as Float32Array, t.dims);
    // onnxruntime-common wraps float16 data in a Float16Array when the global exists (Node 24),
    // which the native binding reads as empty ("not enough space"); hand it the raw bits instead.
    if (t.type === 'float16') (tensor as unknown as { cpuData: unknown }).cpuData = t.data;
    feeds[name] = tensor;
  }
  try {
    const out = await session.run(feeds);
    const outputs: [string, WireTensor][] = [];
    const transfer: ArrayBuffer[] = [];
    for (const [name, v] of Object.entries(out)) {
      const t = v as ort.Tensor;
      let data = t.data as WireTensor['data'];
      // float16 outputs arrive as Float16Array; the runtime carries FP16 as raw bits (Uint16Array).
      if (t.type === 'float16' && !Array.isArray(data)) data = new Uint16Array(data.buffer, data.byteOffset, data.byteLength / 2);
      outputs.push([name, { type: t.type, dims: [...t.dims], data }]);
      if (!Array.isArray(data) && data.buffer instanceof ArrayBuffer && !transfer.includes(data.buffer)) transfer.push(data.buffer);
    }
    return { reply: { type: 'run', id: req.id, ok: true, outputs }, transfer };
  } catch (err) {
    return { reply: { type: 'run', id: req.id, ok: false, error: (err as Error).message }, transfer: [] };
  }
}

port.on('message', (msg: InitRequest | RunRequest | { type: 'close' }) => {
  if (msg.type === 'init') {
    void init(msg).then((reply) => port.postMessage(reply));
  } else if (msg.type === 'run') {
    void run(msg).then(({ reply, transfer }) => {
      try {
        port.postMessage(reply, transfer);
      } catch {
        port.postMessage(reply); // buffers not transferable (e.g. external memory): copy instead
      }
    });
  } else if (msg.type === 'close') {
    void (session?.release() ?? Promise.resolve()).finally(() => port.close());
  }
});
