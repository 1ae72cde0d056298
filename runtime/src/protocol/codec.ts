// Decoding infer requests and encoding their responses without holding the event loop. Nearly all
// traffic is small and is done on the calling thread, as before. A request whose JSON is larger
// than `inlineDecodeBytes`, or a response (with its prediction-log line) of more than
// `inlineEncodeValues` values, goes to the codec process (codec-child.ts): there JSON.parse of a
// 60 MB body (about a second, and a few hundred MiB of heap) or the text of a million floats (also
// about a second) costs another core, not the health checks. Bodies and tensors stream through its
// stdin and stdout in pieces (codec-frames.ts), so no copy of a large body blocks the event loop.
// The process runs one job at a time, has a heap limit, and exits after `idleMs` without work,
// taking its heap with it: the runtime's RSS goes back to where it was.
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { getPriority, setPriority } from 'node:os';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { RuntimeError } from '../errors.ts';
import { FrameReader, type Frame } from './codec-frames.ts';
import {
  decodeFrame,
  decodedRequest,
  encodeFrame,
  encodedResult,
  runDecode,
  runEncode,
  type DecodedHeader,
  type EncodeInput,
  type EncodeResult,
  type EncodedHeader,
  type ReplyHeader,
} from './codec-jobs.ts';
import type { InferRequest } from './decode.ts';
import type { ModelSignature } from './signature.ts';

export interface CodecOptions {
  /** JSON parts up to this many bytes are decoded inline (the main thread decodes about 30–70 MB/s). */
  inlineDecodeBytes: number;
  /** Responses plus logged values up to this many values are encoded inline (about 1 µs per float value). */
  inlineEncodeValues: number;
  /** The codec process exits after this long without a job. */
  idleMs: number;
  /** The codec process's old-generation heap limit (MiB); a body whose decoding needs more is answered 413. */
  maxHeapMb: number;
}

export const DEFAULT_CODEC_OPTIONS: CodecOptions = { inlineDecodeBytes: 256 * 1024, inlineEncodeValues: 4096, idleMs: 1000, maxHeapMb: 1024 };

const CHILD = fileURLToPath(new URL('./codec-child.ts', import.meta.url));

interface Pending {
  kind: 'decode' | 'encode';
  resolve: (reply: Frame<ReplyHeader>) => void;
  reject: (err: RuntimeError) => void;
}

type Child = ChildProcessByStdio<Writable, Readable, Readable>;

/** A codec process and the jobs sent to it. */
interface Proc {
  child: Child;
  pending: Map<number, Pending>;
}

/**
 * Whether the codec process keeps the runtime's event loop alive: while a job is pending, yes (its
 * reply is awaited); when idle, no (an exiting runtime closes its end of the pipes, and the child follows).
 */
function hold(child: Child, busy: boolean): void {
  for (const h of [child, child.stdin, child.stdout, child.stderr] as unknown as { ref(): void; unref(): void }[]) {
    if (busy) h.ref();
    else h.unref();
  }
}

export class Codec {
  private readonly o: CodecOptions;
  private proc: Proc | undefined;
  private nextId = 0;
  private idleTimer: NodeJS.Timeout | undefined;
  /** Jobs done in the codec process and inline, and codec processes started (tests and logs read them). */
  offloaded = 0;
  inline = 0;
  started = 0;

  constructor(options: Partial<CodecOptions> = {}) {
    this.o = { ...DEFAULT_CODEC_OPTIONS, ...options };
  }

  /** The codec process's pid while it runs. */
  get pid(): number | undefined {
    return this.proc?.child.pid;
  }

  /** Decodes an infer request: inline when its JSON is small, else in the codec process. */
  // Inline work returns its value, not a promise: a small request (nearly all of them) then costs no
  // promise and no microtask turn here, and the caller awaits only what is a promise.
  decode(body: Buffer, jsonLength: number | undefined, signature: ModelSignature): InferRequest | Promise<InferRequest> {
    if ((jsonLength ?? body.length) <= this.o.inlineDecodeBytes) {
      this.inline++;
      return runDecode(body, jsonLength, signature);
    }
    return this.submit('decode', (id) => decodeFrame(id, body, jsonLength, signature)).then((reply) => {
      if (reply.header.type !== 'decoded') throw new RuntimeError('INTERNAL', `the codec answered ${reply.header.type} to a decode`);
      return decodedRequest(reply as Frame<DecodedHeader>);
    });
  }

  /** Encodes a response (and its prediction-log line): inline when small, else in the codec process. */
  encode(input: EncodeInput): EncodeResult | Promise<EncodeResult> {
    let values = 0;
    for (const o of input.outputs) values += o.tensor.data.length;
    if (input.log?.mode === 'full') for (const t of input.log.inputs.values()) values += t.data.length;
    if (values <= this.o.inlineEncodeValues) {
      this.inline++;
      return runEncode(input);
    }
    return this.submit('encode', (id) => encodeFrame(id, input)).then((reply) => {
      if (reply.header.type !== 'encoded') throw new RuntimeError('INTERNAL', `the codec answered ${reply.header.type} to an encode`);
      return encodedResult(reply as Frame<EncodedHeader>);
    });
  }

  private submit(kind: Pending['kind'], build: (id: number) => Buffer[]): Promise<Frame<ReplyHeader>> {
    const { child, pending } = this.ensureProc();
    clearTimeout(this.idleTimer);
    const id = this.nextId++;
    this.offloaded++;
    return new Promise<Frame<ReplyHeader>>((resolve, reject) => {
      pending.set(id, { kind, resolve, reject });
      if (pending.size === 1) hold(child, true);
      for (const part of build(id)) child.stdin.write(part);
    }).then((reply) => {
      const h = reply.header;
      if (h.type === 'failed') throw new RuntimeError(h.code, h.message, { status: h.status });
      return reply;
    });
  }

  private ensureProc(): Proc {
    if (this.proc) return this.proc;
    const child = spawn(process.execPath, [`--max-old-space-size=${this.o.maxHeapMb}`, CHILD], { stdio: ['pipe', 'pipe', 'pipe'] });
    const proc: Proc = { child, pending: new Map() };
    const pending = proc.pending;
    this.started++;
    hold(child, false);
    // Below the runtime's own priority: when CPUs are scarce, health checks and small requests
    // come first, and a large request's decoding waits.
    if (child.pid !== undefined) {
      try {
        setPriority(child.pid, Math.min(19, getPriority() + 10));
      } catch {
        // not permitted here: same priority
      }
    }
    const reader = new FrameReader<ReplyHeader>();
    child.stdout.on('data', (chunk: Buffer) => {
      for (const reply of reader.push(chunk)) {
        const p = pending.get(reply.header.id);
        if (!p) continue;
        pending.delete(reply.header.id);
        p.resolve(reply);
      }
      if (pending.size === 0) {
        hold(child, false);
        if (this.proc === proc) this.scheduleIdleExit(proc);
      }
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
    child.stdin.on('error', () => {}); // a dead child: its 'exit' reports it
    const fail = (why: string) => {
      if (this.proc === proc) this.proc = undefined;
      if (pending.size === 0) return;
      const outOfMemory = /heap out of memory|Allocation failed/i.test(stderr);
      for (const p of pending.values()) {
        p.reject(
          outOfMemory && p.kind === 'decode'
            ? new RuntimeError('BODY_TOO_LARGE', `decoding the request needs more than the codec's ${this.o.maxHeapMb} MiB heap; send large tensors with the binary data extension (Inference-Header-Content-Length), or fewer rows per request`, { status: 413 })
            : new RuntimeError('INTERNAL', `the codec process failed (${why})${stderr ? `: ${stderr.trim().split('\n').slice(-3).join(' ')}` : ''}`, { status: 500 }),
        );
      }
      pending.clear();
    };
    child.on('error', (err) => fail(err.message));
    child.on('exit', (code, signal) => fail(signal ? `signal ${signal}` : `exit code ${code}`));
    this.proc = proc;
    return proc;
  }

  private scheduleIdleExit(proc: Proc): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      if (this.proc !== proc || proc.pending.size > 0) return;
      this.proc = undefined;
      proc.child.stdin.end(); // the child exits once its stdin closes
    }, this.o.idleMs);
    this.idleTimer.unref();
  }

  /** Stops the codec process (pending jobs fail). */
  async close(): Promise<void> {
    clearTimeout(this.idleTimer);
    const child = this.proc?.child;
    this.proc = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    hold(child, true);
    child.kill();
    await exited;
  }
}
