// Request bodies under limits: the size (declared, received, and after decompression), a budget of
// buffered bytes shared by every request in the process, and a deadline for the last byte. What a
// client gets wrong here is a 4xx; only the budget, which other clients' requests fill, is a 503.
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { createGunzip, createInflate, createInflateRaw, type Gunzip, type Inflate, type InflateRaw } from 'node:zlib';
import { RuntimeError, badRequest } from '../errors.ts';

/** Bytes of request bodies held in memory at once, across all requests (compressed and decompressed both count). */
export class ByteBudget {
  readonly limit: number;
  used = 0;
  /** Called with `used` after every change (the buffered-bytes gauge). */
  readonly onChange: (used: number) => void;
  constructor(limit: number, onChange: (used: number) => void = () => {}) {
    this.limit = limit;
    this.onChange = onChange;
  }
}

/** One request's share of the budget; released whole when the request is answered. */
export class Reservation {
  held = 0;
  private readonly budget: ByteBudget;
  constructor(budget: ByteBudget) {
    this.budget = budget;
  }
  /** Reserves `n` more bytes, or throws OVERLOADED (503 with Retry-After) when the budget has no room. */
  reserve(n: number): void {
    const b = this.budget;
    if (b.used + n > b.limit) {
      throw new RuntimeError(
        'OVERLOADED',
        `the server is holding ${b.used} bytes of request bodies and this one would take it past --max-buffered-bytes=${b.limit}; retry shortly (another replica may have room)`,
        { status: 503, retryAfterSeconds: 1 },
      );
    }
    b.used += n;
    this.held += n;
    b.onChange(b.used);
  }
  release(): void {
    if (this.held === 0) return;
    this.budget.used -= this.held;
    this.held = 0;
    this.budget.onChange(this.budget.used);
  }
}

export interface BodyOptions {
  maxBytes: number;
  reservation: Reservation;
  /** performance.now() by which the last byte must have arrived. */
  deadline: number;
  /** The timeout the deadline comes from, for the message (e.g. "--body-timeout-ms=10000"). */
  deadlineName: string;
  /** Receives the function that fails the read (the HTTP parser found the body's framing broken). */
  onStart?: (fail: (err: RuntimeError) => void) => void;
}

type Decoder = Gunzip | Inflate | InflateRaw;

interface Deadline {
  /** performance.now() past which `expire` is called. */
  at: number;
  expire: () => void;
}

/** How often body deadlines are checked: a body is answered 408 within this after its deadline. */
export const DEADLINE_CHECK_MS = 100;

/**
 * The deadlines of the bodies being read, checked by one interval timer (running only while there
 * are any) instead of a timer per request: nearly every body has arrived before it is read, and a
 * timer set and cleared per request cost more than the rest of the read.
 */
class Deadlines {
  private readonly set = new Set<Deadline>();
  private timer: NodeJS.Timeout | undefined;

  add(d: Deadline): void {
    this.set.add(d);
    if (!this.timer) {
      this.timer = setInterval(() => this.check(), DEADLINE_CHECK_MS);
      this.timer.unref();
    }
  }

  delete(d: Deadline): void {
    this.set.delete(d);
  }

  private check(): void {
    if (this.set.size === 0) {
      // Stopped only after a whole period without bodies: not set up and torn down per request.
      clearInterval(this.timer);
      this.timer = undefined;
      return;
    }
    const now = performance.now();
    for (const d of this.set) if (d.at <= now) d.expire(); // expire() deletes it
  }
}

const deadlines = new Deadlines();

/**
 * The body's Content-Encoding as a decompressor: none for identity, gzip or deflate (zlib-wrapped
 * as RFC 9110 says, or raw deflate as some clients send it, told apart by the first bytes); 415
 * for anything else.
 */
function contentCoding(header: string | undefined): 'identity' | 'gzip' | 'deflate' {
  if (header === undefined) return 'identity';
  const codings = header
    .toLowerCase()
    .split(',')
    .map((c) => c.trim())
    .filter((c) => c !== '' && c !== 'identity');
  if (codings.length === 0) return 'identity';
  if (codings.length === 1 && (codings[0] === 'gzip' || codings[0] === 'x-gzip')) return 'gzip';
  if (codings.length === 1 && codings[0] === 'deflate') return 'deflate';
  throw new RuntimeError('UNSUPPORTED_ENCODING', `Content-Encoding "${header.slice(0, 64)}" is not supported; send the body as is, or compressed with gzip or deflate (one coding)`, { status: 415 });
}

/** A zlib-wrapped deflate stream starts with a CMF/FLG pair whose 16-bit value is a multiple of 31. */
const isZlibHeader = (b: Buffer): boolean => b.length >= 2 && ((b[0] as number) & 0x0f) === 8 && (((b[0] as number) << 8) | (b[1] as number)) % 31 === 0;

const tooLarge = (max: number, what: string) =>
  new RuntimeError('BODY_TOO_LARGE', `the request body${what} is larger than --max-body-bytes=${max}; send fewer rows per request`, { status: 413 });

/**
 * Reads the whole body. Rejects with 413 (declared, received or decompressed size over the limit),
 * 415 (unknown Content-Encoding), 400 (corrupt compressed data, client gone), 408 (the body did not
 * arrive by the deadline) or 503 (budget). When it rejects, the body may be partly unread:
 * `complete(req)` tells, and the caller closes such a connection.
 */
export function readBody(req: IncomingMessage, o: BodyOptions): Promise<Buffer> {
  const coding = contentCoding(req.headers['content-encoding']);
  const declaredHeader = req.headers['content-length'];
  const declared = declaredHeader === undefined ? undefined : Number(declaredHeader);
  if (declared !== undefined && declared > o.maxBytes) return Promise.reject(tooLarge(o.maxBytes, ''));
  // The declared size is reserved before a byte is read, so a request the budget cannot hold is
  // refused at once (the client can go to another replica) instead of after its upload.
  if (declared !== undefined) o.reservation.reserve(declared);

  return new Promise<Buffer>((resolve, reject) => {
    let settled = false;
    let decoder: Decoder | undefined;
    // Identity with a declared length: one buffer, filled in place (no second copy at the end).
    const whole = coding === 'identity' && declared !== undefined ? Buffer.allocUnsafe(declared) : undefined;
    let filled = 0;
    const chunks: Buffer[] = [];
    let size = 0; // bytes after decoding
    let wire = 0; // bytes as received

    const finish = (err: RuntimeError | undefined, body?: Buffer) => {
      if (settled) return;
      settled = true;
      deadlines.delete(watch);
      if (err) {
        // Listeners stay on a body read to its end (nothing more comes; `settled` ignores a late
        // 'close'): removing four per request cost more than the read. A failed read stops listening.
        req.off('data', onData);
        req.off('end', onEnd);
        req.off('error', onError);
        req.off('close', onClose);
        decoder?.destroy();
        // Stop buffering; whatever else arrives is dropped until the connection closes.
        req.resume();
        reject(err);
      } else resolve(body as Buffer);
    };

    const keep = (c: Buffer) => {
      // Decoded bytes: chunked or decompressed bodies reserve as they grow.
      size += c.length;
      if (size > o.maxBytes) return finish(tooLarge(o.maxBytes, coding === 'identity' ? '' : ` (decompressed)`));
      try {
        if (whole === undefined) o.reservation.reserve(c.length);
      } catch (err) {
        return finish(err as RuntimeError);
      }
      if (whole) {
        c.copy(whole, filled);
        filled += c.length;
      } else chunks.push(c);
    };

    const done = () => finish(undefined, whole ? whole.subarray(0, filled) : chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size));

    const startDecoder = (first: Buffer) => {
      decoder = coding === 'gzip' ? createGunzip() : isZlibHeader(first) ? createInflate() : createInflateRaw();
      decoder.on('data', (c: Buffer) => {
        if (!settled) keep(c);
      });
      decoder.on('end', () => done());
      decoder.on('error', (err) => finish(badRequest(`the body is not valid ${coding} data (${err.message}); compress the whole body, or leave Content-Encoding out`, err)));
    };

    const onData = (c: Buffer) => {
      wire += c.length;
      if (coding === 'identity') return keep(c);
      if (wire > o.maxBytes) return finish(tooLarge(o.maxBytes, ''));
      if (declared === undefined) {
        try {
          o.reservation.reserve(c.length);
        } catch (err) {
          return finish(err as RuntimeError);
        }
      }
      if (!decoder) startDecoder(c);
      (decoder as Decoder).write(c);
    };
    const onEnd = () => {
      if (coding === 'identity') done();
      else if (!decoder) finish(badRequest(`the body is empty but Content-Encoding is ${coding}`));
      else decoder.end(); // 'end' of the decoder finishes
    };
    const onError = (err: Error) => finish(badRequest(`reading the request body failed: ${err.message}`, err));
    const onClose = () => {
      if (!req.complete) finish(badRequest('the client closed the connection before the body arrived'));
    };

    const watch: Deadline = {
      at: o.deadline,
      expire: () => finish(new RuntimeError('REQUEST_TIMEOUT', `the request body did not arrive within ${o.deadlineName}; ${wire} bytes came`, { status: 408 })),
    };
    deadlines.add(watch);
    o.onStart?.((err) => finish(err));
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}

/** Whether the request's body was read to its end (if not, its connection cannot be reused). */
export const complete = (req: IncomingMessage): boolean => req.complete;

const lingering = new WeakSet<Socket>();

/**
 * Closes a connection whose client may still be sending (an unread body, an oversized header
 * block): the FIN goes out after the response, and what the client still sends is read and dropped
 * for up to `ms` before the socket is destroyed. Destroying at once would make the kernel answer the
 * unread bytes with a reset, and a reset makes the client's kernel discard the response it has not
 * read yet — the client would see "connection reset" instead of the 4xx.
 */
export function lingerClose(socket: Socket, ms: number): void {
  if (lingering.has(socket)) return;
  lingering.add(socket);
  socket.end();
  socket.resume();
  const t = setTimeout(() => socket.destroy(), ms);
  t.unref();
  socket.once('close', () => clearTimeout(t));
}

export const isLingering = (socket: Socket): boolean => lingering.has(socket);
