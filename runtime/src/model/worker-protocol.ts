// Messages between the main thread and session workers.
import type { OrtValueMetadata } from '../protocol/signature.ts';

export interface WireTensor {
  type: string;
  dims: number[];
  data: ArrayBufferView | string[];
}

export interface InitRequest {
  type: 'init';
  bytes: Uint8Array;
  threads: number;
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
