// The node:http adapter: reads bodies (bounded), hands requests to the App, writes replies, keeps
// the request metrics, and implements the drain half of graceful shutdown. Kept thin on purpose.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RuntimeError } from '../errors.ts';
import { outcomeOf, type RuntimeMetrics } from '../metrics/metrics.ts';
import { REVISION_HEADER, type App, type Reply } from './app.ts';

export interface HttpOptions {
  host: string;
  port: number;
  maxBodyBytes: number;
  revision: string;
  metrics: RuntimeMetrics;
  /** Called before /metrics is rendered (refreshes window statistics). */
  beforeScrape: () => void;
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

function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  const tooLarge = () => new RuntimeError('BODY_TOO_LARGE', `the request body is larger than --max-body-bytes=${max}; send fewer rows per request`, { status: 413 });
  if (declared > max) return Promise.reject(tooLarge());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > max) {
        req.removeAllListeners('data');
        req.resume();
        reject(tooLarge());
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size)));
    req.on('error', (err) => reject(new RuntimeError('BAD_REQUEST', `reading the request body failed: ${err.message}`, { status: 400, cause: err })));
  });
}

export function startHttpServer(app: App, o: HttpOptions): Promise<HttpServer> {
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

  const send = (res: ServerResponse, reply: Reply, head: boolean) => {
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
    res.writeHead(reply.status, headers);
    res.end(head ? undefined : body);
  };

  const server = createServer({ keepAliveTimeout: 65_000, requestTimeout: 300_000 }, (req, res) => {
    const start = performance.now();
    activeCount++;
    res.once('close', finish);
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
    let bodyError: RuntimeError | undefined;
    void app
      .handle({
        method,
        path,
        start,
        header: (name) => {
          const v = req.headers[name];
          return Array.isArray(v) ? v[0] : v;
        },
        body: async () => {
          try {
            return await readBody(req, o.maxBodyBytes);
          } catch (err) {
            bodyError = err as RuntimeError;
            throw err;
          }
        },
      })
      .then((reply) => {
        // An unread (oversized) body leaves the connection in an unknown state: close it.
        if (bodyError?.code === 'BODY_TOO_LARGE') reply.headers = { ...reply.headers, connection: 'close' };
        send(res, reply, method === 'HEAD');
        if (isInfer) {
          m.inFlight.dec();
          const outcome = outcomeOf(reply.status);
          m.requestsBy[outcome].inc();
          m.requestDurationBy[outcome].observe((performance.now() - start) / 1000);
        }
      });
  });
  server.on('clientError', (err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n{"error":"malformed HTTP request"}');
    else socket.destroy(err);
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
