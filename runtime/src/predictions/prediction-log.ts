// Prediction log sinks. A record per answered request: (id, time, model, revision, inputs or a
// summary, outputs). Lines are buffered and written once per event-loop turn, so a busy server
// makes one write() per turn instead of one per request (stdout writes to pipes are synchronous).
import { createWriteStream, type WriteStream } from 'node:fs';
import type { HostTensor } from '../protocol/datatypes.ts';
import { jsonString, shapeJson, tensorValuesJson } from '../protocol/json-text.ts';
import type { PredictionLogInputs } from '../config/config.ts';

/** One answered request, as the log keeps it. */
export interface PredictionRecord {
  id: string;
  /** ISO 8601 (see isoNow). */
  time: string;
  model: string;
  revision: string;
  inputs: ReadonlyMap<string, HostTensor>;
  outputs: readonly { name: string; tensor: HostTensor }[];
}

/** Where JSON lines go (one per prediction, each ending in a newline). */
export interface PredictionSink {
  /** False for the `none` sink: callers skip building lines nobody reads. */
  readonly enabled: boolean;
  /** A prediction's line; `id` is its prediction id (the Kafka sink's record key). */
  write(line: string, id: string): void;
  /** Whether ground-truth records are kept (the Kafka sink with a feedback topic). */
  readonly feedback: boolean;
  /** A ground-truth record's line, keyed by the prediction id it is for. */
  writeFeedback(line: string, id: string): void;
  close(): Promise<void>;
}

const MAX_BUFFERED_BYTES = 16 * 1024 * 1024;
/** A line longer than this is never kept (it would not fit the buffer): callers skip building it. */
export const MAX_LINE_BYTES = MAX_BUFFERED_BYTES;

class LineSink implements PredictionSink {
  readonly enabled = true;
  readonly feedback = false;
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

  write(line: string): void {
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

  writeFeedback(): void {}

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
  readonly enabled = false;
  readonly feedback = false;
  write(): void {}
  writeFeedback(): void {}
  async close(): Promise<void> {}
}

/** The stdout, file and none sinks (kafka: kafka-sink.ts). */
export function createSink(spec: string, onWrite: (n: number) => void, onDrop: (n: number) => void): PredictionSink {
  if (spec === 'none') return new NullSink();
  if (spec === 'stdout') return new LineSink(process.stdout, false, onWrite, onDrop);
  return new LineSink(createWriteStream(spec.slice('file:'.length), { flags: 'a' }), true, onWrite, onDrop);
}

const SUMMARY_VALUES = 8;

/**
 * A lower bound on the length of the record's line: every value takes at least two characters
 * (itself and a comma). A line whose bound is over MAX_LINE_BYTES is dropped without being built.
 */
export function minLineBytes(r: Pick<PredictionRecord, 'inputs' | 'outputs'>, inputs: PredictionLogInputs): number {
  let values = 0;
  if (inputs !== 'none') for (const t of r.inputs.values()) values += inputs === 'full' ? t.data.length : Math.min(SUMMARY_VALUES, t.data.length);
  for (const o of r.outputs) values += o.tensor.data.length;
  return 2 * values;
}

function tensorJson(t: HostTensor, values: 'data' | 'head'): string {
  const limit = values === 'data' ? t.data.length : SUMMARY_VALUES;
  return `{"datatype":"${t.datatype}","shape":${shapeJson(t.shape)},"${values}":${tensorValuesJson(t, limit)}}`;
}

/**
 * The record as one JSON line: inputs in full, as a summary (shape and first values) or left out;
 * outputs in full. Written as text directly (see protocol/json-text.ts), the same JSON that
 * JSON.stringify would give for the record with its tensors as plain arrays.
 */
export function predictionLine(r: PredictionRecord, inputs: PredictionLogInputs): string {
  let line = `{"id":${JSON.stringify(r.id)},"time":"${r.time}","model":${jsonString(r.model)},"revision":${jsonString(r.revision)}`;
  if (inputs !== 'none') {
    let members = '';
    for (const [name, t] of r.inputs) members += `${members === '' ? '' : ','}${jsonString(name)}:${tensorJson(t, inputs === 'full' ? 'data' : 'head')}`;
    line += `,"inputs":{${members}}`;
  }
  let outputs = '';
  for (const o of r.outputs) outputs += `${outputs === '' ? '' : ','}${jsonString(o.name)}:${tensorJson(o.tensor, 'data')}`;
  return `${line},"outputs":{${outputs}}}\n`;
}

let lastMs = -1;
let lastIso = '';
/** The current time as ISO 8601, formatted once per millisecond (busy servers answer many requests in one). */
export function isoNow(): string {
  const ms = Date.now();
  if (ms !== lastMs) {
    lastMs = ms;
    lastIso = new Date(ms).toISOString();
  }
  return lastIso;
}

/**
 * A ground-truth record as one JSON line (no newline), or undefined when the body holds no usable
 * truth: {"id","time","model","revision","label"|"value": a number or one per row, "matched"}.
 * `matched` says whether this replica still held the prediction (false: another replica made it,
 * or it was evicted) — the record is kept either way, since the store joins by id.
 */
export function feedbackLine(body: Record<string, unknown>, kind: 'classification' | 'regression', r: { time: string; model: string; revision: string; matched: boolean }): { id: string; line: string } | undefined {
  const id = body.id;
  const key = kind === 'classification' ? 'label' : 'value';
  const raw = body[key] ?? body[`${key}s`];
  if (typeof id !== 'string' || id === '' || raw === undefined) return undefined;
  const list = Array.isArray(raw) ? (raw as unknown[]) : [raw];
  const nums = list.map((t) => (typeof t === 'string' && t.trim() !== '' ? Number(t) : t));
  if (nums.length === 0 || !nums.every((n): n is number => typeof n === 'number' && Number.isFinite(n))) return undefined;
  const truth = Array.isArray(raw) ? `[${nums.join(',')}]` : String(nums[0]);
  return { id, line: `{"id":${JSON.stringify(id)},"time":"${r.time}","model":${jsonString(r.model)},"revision":${jsonString(r.revision)},"${key}":${truth},"matched":${r.matched}}` };
}
