// The node:http adapter: reads bodies (bounded: server/body.ts), hands requests to the App, writes
// replies, keeps the request metrics, answers what never became a request (malformed, header block
// too large, headers too slow) and implements the drain half of graceful shutdown. Kept thin.
import { STATUS_CODES, createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { badRequest, type RuntimeError } from '../errors.ts';
import { outcomeOf, type RuntimeMetrics } from '../metrics/metrics.ts';
import { REVISION_HEADER, type App, type Reply } from './app.ts';
import { ByteBudget, Reservation, isLingering, lingerClose, readBody } from './body.ts';
import { HEADER_TRACEPARENT, HEADER_TRACESTATE } from '../../../lib/contract/index.ts';
import type { RequestTracer } from '../tracing/request-trace.ts';

export interface HttpOptions {
  host: string;
  port: number;
  maxBodyBytes: number;
  /** Request body bytes held at once by all requests, gRPC's included (503 beyond). */
  budget: ByteBudget;
  /** The whole header block must arrive within this (408 and close). */
  headersTimeoutMs: number;
  /** The whole body must arrive within this of the headers, and within the request timeout (408 and close). */
  bodyTimeoutMs: number;
  requestTimeoutMs: number;
  /** Largest header block (431 above). */
  maxHeaderBytes: number;
  revision: string;
  metrics: RuntimeMetrics;
  /** Called before /metrics is rendered (refreshes window statistics). */
  beforeScrape: () => void;
  /** With tracing on: a server span per inference request. */
  tracer?: RequestTracer;
}

export interface HttpServer {
  server: Server;
  port: number;
  /** Requests read or being answered right now (all routes). */
  active(): number;
  /** Stops accepting connections; existing keep-alive connections are told to close. */
  stopAccepting(): Promise<void>;
  /** Resolves when no request is active (or the timeout passed; then returns false). */
  drained(timeoutMs: number): Promise<boolean>;
  closeAll(): void;
}

/** How long a connection closed on a client's error keeps reading (and dropping) what the client still sends. */
const LINGER_MS = 2000;

/** Bodies larger than this are written a slice per turn of the event loop (a 15 MB write took ~40 ms in one go). */
const WRITE_SLICE_BYTES = 1024 * 1024;

function writeSliced(res: ServerResponse, body: Buffer): void {
  let at = 0;
  const next = (): void => {
    const end = Math.min(body.length, at + WRITE_SLICE_BYTES);
    const slice = body.subarray(at, end);
    at = end;
    if (at === body.length) res.end(slice);
    else if (res.write(slice)) setImmediate(next);
    else res.once('drain', next);
  };
  next();
}

function headerValue(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** A reply written straight to the socket, for errors the HTTP parser found before there was a request. */
function rawReply(status: number, message: string): string {
  const body = JSON.stringify({ error: message });
  return `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`;
}

/** What this server keeps on each connection's socket (a property, not a WeakMap: it is read and written per request). */
interface Connection {
  /** The body being read, and how to fail it (for parser errors in the middle of a body). */
  reading?: { req: IncomingMessage; fail: (err: RuntimeError) => void } | undefined;
  /** Close after the reply in progress (the client sent garbage after a request). */
  closeAfterReply?: boolean;
}
const CONNECTION = Symbol('onnxop.connection');
type WithConnection = Socket & { [CONNECTION]?: Connection };
const connectionOf = (socket: Socket): Connection => ((socket as WithConnection)[CONNECTION] ??= {});

export function startHttpServer(app: App, o: HttpOptions): Promise<HttpServer> {
  const budget = o.budget;
  const deadlineName = o.bodyTimeoutMs <= o.requestTimeoutMs ? `--body-timeout-ms=${o.bodyTimeoutMs}` : `--request-timeout-ms=${o.requestTimeoutMs}`;
  let activeCount = 0;
  let closing = false;
  let drainWaiters: (() => void)[] = [];
  const m = o.metrics;

  const finish = () => {
    activeCount--;
    if (activeCount === 0 && drainWaiters.length > 0) {
      const w = drainWaiters;
      drainWaiters = [];
      for (const f of w) f();
    }
  };

  const send = (res: ServerResponse, reply: Reply, head: boolean, req?: IncomingMessage) => {
    // JSON stays a string: node:http then sends head and body in one write() instead of a writev()
    // of two buffers, which costs about twice as much per small response.
    const body = Buffer.isBuffer(reply.body) || typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body);
    // The reply's own headers object is ours to extend (no copy per response).
    const headers: Record<string, string | number> = reply.headers ?? {};
    headers['content-type'] ??= 'application/json';
    headers[REVISION_HEADER] = o.revision;
    headers['content-length'] = typeof body === 'string' ? Buffer.byteLength(body) : body.length;
    // During shutdown every response asks the client to reconnect elsewhere.
    if (closing) headers.connection = 'close';
    // A body left partly unread (refused early, too slow, corrupt) leaves the connection in an
    // unknown state: close it, but after the client had the chance to read the reply.
    const socket = res.socket;
    if (socket && ((req && !req.complete) || (socket as WithConnection)[CONNECTION]?.closeAfterReply)) {
      headers.connection = 'close';
      // node:http destroys a `connection: close` socket as soon as the reply is written (destroySoon),
      // which resets a connection the client is still sending on; linger instead.
      socket.destroySoon = () => lingerClose(socket, LINGER_MS);
    }
    res.writeHead(reply.status, headers);
    if (!head && typeof body !== 'string' && body.length > WRITE_SLICE_BYTES) writeSliced(res, body);
    else res.end(head ? undefined : body);
  };

  const serverOptions = {
    keepAliveTimeout: 65_000,
    headersTimeout: o.headersTimeoutMs,
    // A backstop only: the body deadline (body.ts) answers a slow body with a 408 first.
    requestTimeout: o.headersTimeoutMs + o.bodyTimeoutMs + 5_000,
    // How often node checks the headers timeout (its default, 30 s, would let headers take up to 30 s longer).
    connectionsCheckingInterval: Math.min(1000, Math.max(50, Math.floor(o.headersTimeoutMs / 10))),
    maxHeaderSize: o.maxHeaderBytes,
  };
  const server = createServer(serverOptions, (req, res) => {
    const start = performance.now();
    activeCount++;
    // Set when the route reads a body; the bytes it holds count against the budget until the reply.
    let reservation: Reservation | undefined;
    res.once('close', () => {
      if (reservation) {
        reservation.release();
        const c = connectionOf(req.socket);
        if (c.reading?.req === req) c.reading = undefined;
      }
      finish();
    });
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const method = req.method ?? 'GET';

    if (path === '/metrics' && (method === 'GET' || method === 'HEAD')) {
      o.beforeScrape();
      void m.registry.metrics().then(
        (text) => send(res, { status: 200, headers: { 'content-type': m.registry.contentType }, body: text }, method === 'HEAD'),
        (err: Error) => send(res, { status: 500, body: { error: `rendering metrics failed: ${err.message}` } }, false),
      );
      return;
    }
    const isInfer = method === 'POST' && path.endsWith('/infer');
    if (isInfer) m.inFlight.inc();
    const span = isInfer && o.tracer ? o.tracer.request('http', headerValue(req, HEADER_TRACEPARENT), headerValue(req, HEADER_TRACESTATE), start) : undefined;
    void app
      .handle({
        method,
        path,
        start,
        span,
        header: (name) => headerValue(req, name),
        body: () => {
          reservation = new Reservation(budget);
          return readBody(req, {
            onStart: (fail) => (connectionOf(req.socket).reading = { req, fail }),
            maxBytes: o.maxBodyBytes,
            reservation,
            deadline: start + Math.min(o.bodyTimeoutMs, o.requestTimeoutMs),
            deadlineName,
          });
        },
      })
      .then((reply) => {
        send(res, reply, method === 'HEAD', req);
        if (isInfer) {
          m.inFlight.dec();
          const outcome = outcomeOf(reply.status);
          m.requestsBy[outcome].inc();
          m.requestDurationBy[outcome].observe((performance.now() - start) / 1000);
          span?.end(reply.status);
        }
      });
  });
  // Errors of the HTTP parser and of node's header timeout: no request (or a broken one) to route.
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    if (isLingering(socket)) return; // the parser reports the rest of a refused stream again
    if (err.code === 'ECONNRESET' || err.code === 'EPIPE' || !socket.writable) {
      socket.destroy();
      return;
    }
    const reading = connectionOf(socket).reading;
    const req = reading?.req;
    if (reading && !reading.req.complete) {
      // A broken body (e.g. bad chunk framing): the request in progress answers it (400), and its
      // reply closes the connection.
      reading.fail(badRequest(`reading the request body failed: ${err.code ?? err.message}`, err));
      return;
    }
    let status = 400;
    let reason: 'malformed' | 'headers_too_large' | 'headers_timeout' = 'malformed';
    let message = `malformed HTTP request (${err.code ?? err.message})`;
    if (err.code === 'HPE_HEADER_OVERFLOW') {
      [status, reason, message] = [431, 'headers_too_large', `the request's header block is larger than --max-header-bytes=${o.maxHeaderBytes}`];
    } else if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
      [status, reason, message] = [408, 'headers_timeout', `the request headers did not arrive within --headers-timeout-ms=${o.headersTimeoutMs}`];
    }
    m.httpProtocolErrors.labels({ reason }).inc();
    if (req) {
      connectionOf(socket).closeAfterReply = true; // garbage after a complete request: answer that request, then close
      return;
    }
    socket.write(rawReply(status, message));
    lingerClose(socket, LINGER_MS);
  });

  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => {
      server.off('error', reject);
      resolve({
        server,
        port: (server.address() as AddressInfo).port,
        active: () => activeCount,
        stopAccepting: () =>
          new Promise<void>((done) => {
            closing = true;
            // close() stops the listener and, since Node 19, closes idle keep-alive sockets; sockets
            // with a request in progress stay open until that response is written.
            server.close(() => done());
            done();
          }),
        drained: (timeoutMs) =>
          new Promise<boolean>((done) => {
            if (activeCount === 0) return done(true);
            const t = setTimeout(() => done(false), timeoutMs);
            drainWaiters.push(() => {
              clearTimeout(t);
              done(true);
            });
          }),
        closeAll: () => server.closeAllConnections(),
      });
    });
  });
}
