// Messages between the main thread and session workers.
import type { OrtValueMetadata } from '../protocol/signature.ts';

export interface WireTensor {
  type: string;
  dims: number[];
  data: ArrayBufferView | string[];
}

/** One external-data file of a model directory: `path` as the model references it, the verified bytes. */
export interface ExternalDataFile {
  path: string;
  data: Uint8Array;
}

export interface InitRequest {
  type: 'init';
  bytes: Uint8Array;
  /** The model's external data, already checked against the signed manifest (empty for a single file). */
  externalData: ExternalDataFile[];
  threads: number;
  /** onnxruntime's session.intra_op/inter_op.allow_spinning (--thread-spinning). */
  spinning: boolean;
  graphOptimization: 'disabled' | 'basic' | 'extended' | 'all';
  executionProvider: 'cpu' | 'cuda';
  cpuFallback: boolean;
}

export type InitReply =
  | {
      type: 'init';
      ok: true;
      inputs: OrtValueMetadata[];
      outputs: OrtValueMetadata[];
      executionProvider: 'cpu' | 'cuda';
      /** Set when CUDA was requested, failed, and the CPU fallback policy applied. */
      providerError: string | undefined;
      ortVersion: string;
    }
  | { type: 'init'; ok: false; error: string; stage: 'load' | 'provider' };

export interface RunRequest {
  type: 'run';
  id: number;
  feeds: [string, WireTensor][];
}

/** `ms`: onnxruntime's run time measured in the worker (without the message round trip). */
export type RunReply = { type: 'run'; id: number; ok: true; outputs: [string, WireTensor][]; ms: number } | { type: 'run'; id: number; ok: false; error: string };
