// Conversions between the runtime's wire tensors and onnxruntime-node tensors, and the session
// options, shared by the session workers and the inline (event-loop) session.
import * as ort from 'onnxruntime-node';
import type { InitRequest, WireTensor } from './worker-protocol.ts';

export function sessionOptions(req: Pick<InitRequest, 'threads' | 'graphOptimization'> & { spinning?: boolean; externalData?: InitRequest['externalData'] }, provider: 'cpu' | 'cuda'): ort.InferenceSession.SessionOptions {
  return {
    // Session config entries (onnxruntime_session_options_config_keys.h). Without spinning, pool
    // threads sleep between runs instead of busy-waiting on cores the request handling needs
    // (docs/runtime.md, start-up step 6, has the benchmark numbers).
    extra: { session: { intra_op: { allow_spinning: req.spinning ? '1' : '0' }, inter_op: { allow_spinning: req.spinning ? '1' : '0' } } },
    // In-memory external data only: onnxruntime never opens a file itself (for a model loaded from
    // bytes it would look in the working directory), so it runs exactly the bytes that were hashed.
    ...(req.externalData && req.externalData.length > 0 ? { externalData: req.externalData.map((f) => ({ path: f.path, data: f.data })) } : {}),
    executionProviders: [provider],
    intraOpNumThreads: req.threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: req.graphOptimization,
    // onnxruntime would print its own errors to stderr; the runtime logs them as JSON instead.
    logSeverityLevel: 4,
  };
}

export function toOrtFeeds(feeds: Iterable<[string, WireTensor]>): Record<string, ort.Tensor> {
  const out: Record<string, ort.Tensor> = {};
  for (const [name, t] of feeds) {
    const tensor = new ort.Tensor(t.type as 'float32', t.data as Float32Array, t.dims);
    // onnxruntime-common wraps float16 data in a Float16Array when the global exists (Node 24),
    // which the native binding reads as empty ("not enough space"); hand it the raw bits instead.
    if (t.type === 'float16') (tensor as unknown as { cpuData: unknown }).cpuData = t.data;
    out[name] = tensor;
  }
  return out;
}

export function fromOrtTensor(t: ort.Tensor): WireTensor {
  let data = t.data as WireTensor['data'];
  // float16 outputs arrive as Float16Array; the runtime carries FP16 as raw bits (Uint16Array).
  if (t.type === 'float16' && !Array.isArray(data)) data = new Uint16Array(data.buffer, data.byteOffset, data.byteLength / 2);
  return { type: t.type, dims: [...t.dims], data };
}
