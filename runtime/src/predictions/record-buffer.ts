// The Kafka sink's memory: a bounded FIFO of (key, value) records awaiting the broker's
// acknowledgement. Pure: no I/O, no timers. A record stays in the buffer from write() until the
// broker acknowledges it, so records in flight and records waiting for a retry count against the
// same bound as new ones; a record that does not fit is refused (the caller drops and counts it) —
// the buffer never grows past its bound and never makes the caller wait.

export interface BufferedRecord {
  key: string;
  value: string;
}

/**
 * Bytes a record is charged: its key and value as UTF-16 (what the strings take in the heap) and a
 * fixed overhead for the record object and its slot in the queue.
 */
export const RECORD_OVERHEAD_BYTES = 96;
export const recordBytes = (r: BufferedRecord): number => 2 * (r.key.length + r.value.length) + RECORD_OVERHEAD_BYTES;

export class RecordBuffer {
  private queue: (BufferedRecord | undefined)[] = [];
  /** Index of the oldest record in `queue`. */
  private head = 0;
  private held = 0;
  /** Records at the head handed out by nextBatch() and not yet acknowledged or returned. */
  private flying = 0;
  readonly maxBytes: number;

  constructor(maxBytes: number) {
    if (!Number.isSafeInteger(maxBytes) || maxBytes <= 0) throw new RangeError(`buffer bound must be a positive integer of bytes, got ${maxBytes}`);
    this.maxBytes = maxBytes;
  }

  /** Records held (waiting, in flight or waiting for a retry). */
  get records(): number {
    return this.queue.length - this.head;
  }

  /** Bytes charged for the records held (see recordBytes). */
  get bytes(): number {
    return this.held;
  }

  get inFlight(): number {
    return this.flying;
  }

  /** Appends a record, or refuses it (false) when it would take the buffer past its bound. */
  push(r: BufferedRecord): boolean {
    const size = recordBytes(r);
    if (this.held + size > this.maxBytes) return false;
    this.queue.push(r);
    this.held += size;
    return true;
  }

  /**
   * The oldest records not in flight, at most `maxRecords` and `maxBytes` (always at least one
   * record when any waits), now in flight. Only one batch is in flight at a time: while one is,
   * this returns an empty array, so records are delivered in the order they were written.
   */
  nextBatch(maxRecords: number, maxBytes: number): BufferedRecord[] {
    if (this.flying > 0) return [];
    const batch: BufferedRecord[] = [];
    let bytes = 0;
    for (let i = this.head; i < this.queue.length && batch.length < maxRecords; i++) {
      const r = this.queue[i] as BufferedRecord;
      const size = recordBytes(r);
      if (batch.length > 0 && bytes + size > maxBytes) break;
      batch.push(r);
      bytes += size;
    }
    this.flying = batch.length;
    return batch;
  }

  /** The batch in flight was acknowledged: its records leave the buffer. */
  ack(): number {
    const n = this.flying;
    for (let i = 0; i < n; i++) {
      this.held -= recordBytes(this.queue[this.head] as BufferedRecord);
      this.queue[this.head++] = undefined;
    }
    this.flying = 0;
    // Compact once the dead prefix is most of the array, so the array stays within twice the
    // records held (amortized O(1) per record).
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    return n;
  }

  /** The batch in flight failed: its records stay at the head, to be sent again first. */
  nack(): number {
    const n = this.flying;
    this.flying = 0;
    return n;
  }
}

/**
 * Largest record sent: a broker refuses a batch over its message.max.bytes (1 MiB + 12 by default),
 * and a refused record at the head of the buffer would be retried forever, holding back every
 * record behind it. Larger records are dropped at once and counted (reason too_large).
 */
export const MAX_RECORD_BYTES = 1_000_000;

/** Whether a record is over MAX_RECORD_BYTES in UTF-8 (checked cheaply first: a UTF-16 unit is at most 3 bytes). */
export function recordTooLarge(key: string, value: string, max = MAX_RECORD_BYTES): boolean {
  const units = key.length + value.length;
  if (3 * units <= max) return false;
  return units > max || Buffer.byteLength(key) + Buffer.byteLength(value) > max;
}

/**
 * Wait before retry number `attempt` (1 = the first retry): doubling from `baseMs`, capped at
 * `maxMs`, scaled by `jitter` in [0, 1) to between half and all of it so that replicas that lost the
 * broker together do not retry in step.
 */
export function retryDelayMs(attempt: number, baseMs: number, maxMs: number, jitter: number): number {
  const exp = Math.min(maxMs, baseMs * 2 ** Math.min(30, Math.max(0, attempt - 1)));
  return Math.round(exp * (0.5 + 0.5 * Math.min(1, Math.max(0, jitter))));
}
