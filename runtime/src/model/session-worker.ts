// Runs in a worker thread and owns one onnxruntime session. onnxruntime-node's `run` executes the
// graph synchronously on the calling thread (its async API only defers the call with
// setImmediate), so running it on the main thread would freeze health checks and /metrics for the
// whole run. Each worker holds its own session; the main thread only moves tensors.
import { parentPort } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import type { InitRequest, InitReply, RunRequest, RunReply, WireTensor } from './worker-protocol.ts';
import { fromOrtTensor, sessionOptions, toOrtFeeds } from './ort-tensors.ts';

if (!parentPort) throw new Error('session-worker.ts must run as a worker thread');
const port = parentPort;
let session: ort.InferenceSession | undefined;
// onnxruntime's own console logging would bypass the JSON logs; errors come back as messages.
ort.env.logLevel = 'fatal';

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
  const feeds = toOrtFeeds(req.feeds);
  try {
    const t0 = performance.now();
    const out = await session.run(feeds);
    const ms = performance.now() - t0;
    const outputs: [string, WireTensor][] = [];
    const transfer: ArrayBuffer[] = [];
    for (const [name, v] of Object.entries(out)) {
      const w = fromOrtTensor(v as ort.Tensor);
      outputs.push([name, w]);
      const data = w.data;
      if (!Array.isArray(data) && data.buffer instanceof ArrayBuffer && !transfer.includes(data.buffer)) transfer.push(data.buffer);
    }
    return { reply: { type: 'run', id: req.id, ok: true, outputs, ms }, transfer };
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
