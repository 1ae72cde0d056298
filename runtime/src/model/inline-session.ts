// An onnxruntime session on the main thread, for models whose runs cost well under a millisecond
// (see execution-mode.ts). Created only after the worker warm-up showed the model is that cheap:
// InferenceSession.create is itself synchronous on the calling thread.
import * as ort from 'onnxruntime-node';
import type { ExternalDataFile, InitRequest, WireTensor } from './worker-protocol.ts';
import { fromOrtTensor, sessionOptions, toOrtFeeds } from './ort-tensors.ts';

export interface InlineRun {
  outputs: [string, WireTensor][];
  /** How long the run held the event loop, ms. */
  ms: number;
}

export interface InlineSession {
  run(feeds: Iterable<[string, WireTensor]>): Promise<InlineRun>;
  release(): Promise<void>;
}

export async function createInlineSession(bytes: Uint8Array, graphOptimization: InitRequest['graphOptimization'], externalData: ExternalDataFile[] = []): Promise<InlineSession> {
  // One intra-op thread: a sub-millisecond graph gains nothing from a pool whose spinning threads
  // would compete with the event loop for the same cores.
  ort.env.logLevel = 'fatal';
  const session = await ort.InferenceSession.create(bytes, sessionOptions({ threads: 1, graphOptimization, externalData }, 'cpu'));
  return {
    async run(feeds) {
      const ortFeeds = toOrtFeeds(feeds);
      // session.run() queues the synchronous native run with setImmediate. An immediate queued just
      // before it runs right before it (immediates are FIFO), so [t0, resolution] is the time the
      // event loop was held by the run (plus output wrapping), not the time spent waiting for a turn.
      let t0 = 0;
      setImmediate(() => {
        t0 = performance.now();
      });
      const out = await session.run(ortFeeds);
      const ms = performance.now() - t0;
      const outputs: [string, WireTensor][] = [];
      for (const [name, v] of Object.entries(out)) outputs.push([name, fromOrtTensor(v as ort.Tensor)]);
      return { outputs, ms };
    },
    release: () => session.release(),
  };
}
