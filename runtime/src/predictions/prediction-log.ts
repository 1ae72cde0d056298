// Prediction log sinks. A record per answered request: (id, time, model, revision, inputs or a
// summary, outputs). Lines are buffered and written once per event-loop turn, so a busy server
// makes one write() per turn instead of one per request (stdout writes to pipes are synchronous).
import { createWriteStream, type WriteStream } from 'node:fs';
import { fromHalf, type HostTensor } from '../protocol/datatypes.ts';
import type { PredictionLogInputs } from '../config/config.ts';

export interface PredictionRecord {
  id: string;
  time: string;
  model: string;
  revision: string;
  inputs: unknown;
  outputs: unknown;
}

export interface PredictionSink {
  write(record: PredictionRecord): void;
  close(): Promise<void>;
}

const MAX_BUFFERED_BYTES = 16 * 1024 * 1024;

class LineSink implements PredictionSink {
  private lines: string[] = [];
  private bytes = 0;
  private scheduled = false;
  private readonly out: NodeJS.WritableStream | WriteStream;
  private readonly onDrop: (n: number) => void;
  private readonly onWrite: (n: number) => void;
  private readonly owned: boolean;

  constructor(out: NodeJS.WritableStream | WriteStream, owned: boolean, onWrite: (n: number) => void, onDrop: (n: number) => void) {
    this.out = out;
    this.owned = owned;
    this.onWrite = onWrite;
    this.onDrop = onDrop;
    (out as NodeJS.EventEmitter).on('error', () => onDrop(0));
  }

  write(record: PredictionRecord): void {
    // No replacer (it makes stringify ~1.6× slower): describeTensors already turned 64-bit integers
    // into numbers or decimal strings.
    const line = JSON.stringify(record) + '\n';
    if (this.bytes + line.length > MAX_BUFFERED_BYTES || (this.out as WriteStream).writableLength > MAX_BUFFERED_BYTES) {
      this.onDrop(1); // the sink is not keeping up: drop (and count) rather than grow without bound
      return;
    }
    this.lines.push(line);
    this.bytes += line.length;
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  private flush(): void {
    this.scheduled = false;
    if (this.lines.length === 0) return;
    const n = this.lines.length;
    const chunk = this.lines.join('');
    this.lines = [];
    this.bytes = 0;
    this.out.write(chunk);
    this.onWrite(n);
  }

  async close(): Promise<void> {
    this.flush();
    if (this.owned) await new Promise<void>((resolve) => (this.out as WriteStream).end(resolve));
  }
}

class NullSink implements PredictionSink {
  write(): void {}
  async close(): Promise<void> {}
}

export function createSink(spec: string, onWrite: (n: number) => void, onDrop: (n: number) => void): PredictionSink {
  if (spec === 'none') return new NullSink();
  if (spec === 'stdout') return new LineSink(process.stdout, false, onWrite, onDrop);
  return new LineSink(createWriteStream(spec.slice('file:'.length), { flags: 'a' }), true, onWrite, onDrop);
}

const SUMMARY_VALUES = 8;

function plain(t: HostTensor, limit: number): unknown[] {
  const d = t.data;
  const n = Math.min(limit, d.length);
  const out: unknown[] = [];
  for (let i = 0; i < n; i++) {
    const v = (d as ArrayLike<unknown>)[i];
    out.push(t.datatype === 'FP16' ? fromHalf(v as number) : t.datatype === 'BOOL' ? v !== 0 : typeof v === 'bigint' ? (v <= 9007199254740991n && v >= -9007199254740991n ? Number(v) : v.toString()) : v);
  }
  return out;
}

/** Inputs as the log keeps them: full tensors, a summary (shape and first values), or nothing. */
export function describeTensors(tensors: Map<string, HostTensor>, mode: PredictionLogInputs): unknown {
  if (mode === 'none') return undefined;
  const out: Record<string, unknown> = {};
  for (const [name, t] of tensors) {
    out[name] =
      mode === 'full'
        ? { datatype: t.datatype, shape: t.shape, data: plain(t, t.data.length) }
        : { datatype: t.datatype, shape: t.shape, head: plain(t, SUMMARY_VALUES) };
  }
  return out;
}
