// The gateway's data plane: a node:http server that asks the pure selector where a request goes and
// streams it there over a keep-alive agent. Every answer says where it went (x-lab-backend,
// x-lab-endpoint) so load tests can group by backend.
import http from 'node:http';
import { pipeline } from 'node:stream';
import type { Logger } from 'pino';
import type { RouteTable } from './route-table.ts';
import { select, type Destination, type MirrorPick, type RequestInfo, type Selection } from './select.ts';

export const reservedPrefix = '/_lab/';
export const backendHeader = 'x-lab-backend';
export const endpointHeader = 'x-lab-endpoint';
/** A mirrored copy is dropped once its body passes this (it is held in memory, apart from the client's stream). */
export const MIRROR_MAX_BODY_BYTES = 16 * 1024 * 1024;

/** The origin-form target of a request that may come in absolute form (`POST http://host/path`, a proxy request). */
export function originForm(target: string | undefined): string {
  const t = target ?? '/';
  if (!/^https?:\/\//i.test(t)) return t;
  try {
    const u = new URL(t);
    return `${u.pathname}${u.search}`;
  } catch {
    return t;
  }
}

export interface ProxyOptions {
  getTable: () => RouteTable;
  log: Logger;
  /** True once every watch has listed; `/_lab/readyz` reports it. */
  isReady: () => boolean;
  /** Extra data for `/_lab/routes`. */
  describe: () => unknown;
  /** Last check before a connection: the address must be one the lab created. */
  mayContact: (ip: string) => { ok: true } | { ok: false; reason: string };
  random?: () => number;
  /** Inactivity timeout towards a backend (connect and between bytes). */
  upstreamTimeoutMs?: number;
  agent?: http.Agent;
}

// RFC 9110 §7.6.1: connection-specific headers are not forwarded. Every other header is, unchanged:
// the W3C trace context (traceparent, tracestate) among them, so a caller's trace continues in the
// runtime's spans (the gateway takes no part in the trace and starts none: the runtime's sampler
// decides for requests without one, docs/runtime.md "Tracing").
const hopByHop = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

function stripHopByHop(headers: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  const named = new Set(
    String(headers.connection ?? '')
      .split(',')
      .map((s) => s.trim().toLowerCase())
      .filter(Boolean),
  );
  const out: http.OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined || hopByHop.has(k) || named.has(k)) continue;
    out[k] = v;
  }
  return out;
}

function backendValue(d: Destination): string {
  return `${d.namespace}/${d.service}`;
}

function sendJson(
  res: http.ServerResponse,
  status: number,
  body: unknown,
  extra: http.OutgoingHttpHeaders = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...extra,
  });
  res.end(text);
}

export interface ProxyStats {
  requests: number;
  byOutcome: Record<string, number>;
  byBackend: Record<string, number>;
}

/** The HTTP server; `stats` counts outcomes for `/_lab/routes`. */
export function createProxyServer(opts: ProxyOptions): {
  server: http.Server;
  stats: ProxyStats;
  agent: http.Agent;
} {
  const agent =
    opts.agent ??
    new http.Agent({ keepAlive: true, maxSockets: 512, maxFreeSockets: 64, scheduling: 'lifo' });
  const upstreamTimeoutMs = opts.upstreamTimeoutMs ?? 30_000;
  const random = opts.random ?? Math.random;
  const counters = new Map<string, number>();
  const nextIndex = (key: string): number => {
    const n = counters.get(key) ?? 0;
    counters.set(key, (n + 1) % Number.MAX_SAFE_INTEGER);
    return n;
  };
  const stats: ProxyStats = { requests: 0, byOutcome: {}, byBackend: {} };
  const count = (outcome: string, backend?: string): void => {
    stats.byOutcome[outcome] = (stats.byOutcome[outcome] ?? 0) + 1;
    if (backend) stats.byBackend[backend] = (stats.byBackend[backend] ?? 0) + 1;
  };

  function reserved(req: http.IncomingMessage, res: http.ServerResponse, path: string): void {
    if (path === '/_lab/healthz') return sendJson(res, 200, { status: 'ok' });
    if (path === '/_lab/readyz')
      return opts.isReady()
        ? sendJson(res, 200, { status: 'ready' })
        : sendJson(res, 503, { error: 'watches have not listed yet', code: 'NotReady' });
    if (path === '/_lab/routes' && (req.method === 'GET' || req.method === 'HEAD'))
      return sendJson(res, 200, { ...(opts.describe() as object), stats });
    sendJson(res, 404, {
      error: `unknown lab path ${path}; known: /_lab/healthz, /_lab/readyz, /_lab/routes`,
      code: 'UnknownLabPath',
    });
  }

  function reject(res: http.ServerResponse, s: Exclude<Selection, { kind: 'forward' }>): void {
    const extra: http.OutgoingHttpHeaders = {};
    if ('destination' in s && s.destination) extra[backendHeader] = backendValue(s.destination);
    const status = s.kind === 'notFound' ? 404 : s.kind === 'noEndpoints' ? 503 : 500;
    const code =
      s.kind === 'notFound' ? 'NoRoute' : s.kind === 'noEndpoints' ? 'NoReadyEndpoints' : 'InvalidBackend';
    count(code, extra[backendHeader] as string | undefined);
    sendJson(res, status, { error: s.message, code }, extra);
  }

  /**
   * Streams the request to the chosen endpoint. One retry (re-selected, so round-robin moves on)
   * when nothing can have reached the backend: the connection was refused before any body byte
   * was sent, or a reused keep-alive socket was reset under a bodiless request — the races a
   * terminating pod causes. Timeouts and anything after the response started are never retried.
   */
  /**
   * Sends each RequestMirror copy: fire-and-forget, its answer read and discarded, its failures only
   * counted. The client's stream never waits for it: the copy gets the body chunks as they pass,
   * without back-pressure, up to MIRROR_MAX_BODY_BYTES.
   */
  function mirror(req: http.IncomingMessage, picks: MirrorPick[], bodyless: boolean): ((chunk: Buffer) => void) & { end: () => void; abort: () => void } {
    const copies: http.ClientRequest[] = [];
    for (const p of picks) {
      const backend = backendValue(p.destination);
      if (!opts.mayContact(p.endpoint.ip).ok) {
        count('MirrorRefused', backend);
        continue;
      }
      const copy = http.request({
        host: p.endpoint.ip,
        port: p.endpoint.port,
        method: req.method,
        path: originForm(req.url),
        headers: stripHopByHop(req.headers),
        agent,
        timeout: upstreamTimeoutMs,
      });
      copy.on('timeout', () => copy.destroy(new Error('mirror timed out')));
      copy.on('error', () => count('MirrorFailed', backend));
      copy.on('response', (r) => {
        count(`Mirror${Math.floor((r.statusCode ?? 0) / 100)}xx`, backend);
        r.resume();
      });
      copies.push(copy);
    }
    let size = 0;
    const write = Object.assign(
      (chunk: Buffer) => {
        size += chunk.length;
        for (const c of copies) {
          if (size > MIRROR_MAX_BODY_BYTES) c.destroy(new Error('mirror body over the limit'));
          else if (!c.destroyed) c.write(chunk);
        }
      },
      { end: () => copies.forEach((c) => !c.destroyed && c.end()), abort: () => copies.forEach((c) => c.destroy()) },
    );
    if (bodyless) write.end();
    return write;
  }

  function forward(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    s: Extract<Selection, { kind: 'forward' }>,
    retriesLeft = 1,
    mirrored: { started: boolean; copies?: ReturnType<typeof mirror>; attached?: boolean } = { started: false },
  ): void {
    const backend = backendValue(s.destination);
    const endpoint = `${s.endpoint.ip}:${s.endpoint.port}`;
    const where = { [backendHeader]: backend, [endpointHeader]: endpoint };
    const guard = opts.mayContact(s.endpoint.ip);
    if (!guard.ok) {
      count('Refused', backend);
      sendJson(
        res,
        502,
        { error: `refusing to contact ${endpoint}: ${guard.reason}`, code: 'AddressRefused' },
        where,
      );
      return;
    }
    const headers = stripHopByHop(req.headers);
    const xff = req.headers['x-forwarded-for'];
    headers['x-forwarded-for'] = `${xff ? `${String(xff)}, ` : ''}${req.socket.remoteAddress ?? ''}`;
    headers['x-forwarded-proto'] = 'http';
    const bodyless =
      req.headers['transfer-encoding'] === undefined && (req.headers['content-length'] ?? '0') === '0';
    const upstream = http.request({
      host: s.endpoint.ip,
      port: s.endpoint.port,
      method: req.method,
      path: originForm(req.url),
      headers,
      agent,
      timeout: upstreamTimeoutMs,
    });
    let timedOut = false;
    let bodyStarted = false;
    // RequestMirror copies start with the client's request (once, whatever the retries).
    if (!mirrored.started && s.mirrors && s.mirrors.length > 0) mirrored.copies = mirror(req, s.mirrors, bodyless);
    mirrored.started = true;
    const sendBody = (): void => {
      if (bodyStarted) return;
      bodyStarted = true;
      const copies = mirrored.copies;
      if (copies && !mirrored.attached) {
        mirrored.attached = true;
        req.on('data', copies);
        req.once('end', copies.end);
        req.once('error', copies.abort);
      }
      pipeline(req, upstream, () => undefined);
    };
    if (bodyless) upstream.end();
    else {
      // Hold the body until the connection exists, so a refused connect has consumed none of it.
      upstream.on('socket', (sock) => (sock.connecting ? sock.once('connect', sendBody) : sendBody()));
    }
    upstream.on('timeout', () => {
      timedOut = true;
      upstream.destroy(new Error(`no data from ${endpoint} for ${upstreamTimeoutMs}ms`));
    });
    upstream.on('response', (ures) => {
      res.writeHead(ures.statusCode ?? 502, ures.statusMessage, { ...stripHopByHop(ures.headers), ...where });
      count(`Upstream${Math.floor((ures.statusCode ?? 0) / 100)}xx`, backend);
      pipeline(ures, res, (err) => {
        if (err && !res.writableFinished)
          opts.log.debug({ err: { message: err.message }, backend, endpoint }, 'response stream ended early');
      });
    });
    upstream.on('error', (err) => {
      const errno = (err as NodeJS.ErrnoException).code;
      const retriable =
        retriesLeft > 0 &&
        !timedOut &&
        !res.headersSent &&
        !res.destroyed &&
        ((errno === 'ECONNREFUSED' && !bodyStarted) ||
          (errno === 'ECONNRESET' && upstream.reusedSocket && bodyless));
      if (retriable) {
        count('Retried', backend);
        opts.log.info(
          { err: { message: err.message, code: errno }, backend, endpoint },
          'upstream connection failed before the request reached it; retrying once',
        );
        const again = select(opts.getTable(), requestInfo(req), { random, nextIndex });
        if (again.kind === 'forward') forward(req, res, again, retriesLeft - 1, mirrored);
        else reject(res, again);
        return;
      }
      const code = timedOut ? 'UpstreamTimeout' : 'UpstreamUnavailable';
      count(code, backend);
      opts.log.warn(
        { err: { message: err.message, code: errno }, backend, endpoint },
        'upstream request failed',
      );
      if (!res.headersSent)
        sendJson(
          res,
          timedOut ? 504 : 502,
          { error: `${backend} at ${endpoint}: ${err.message}`, code },
          where,
        );
      else res.destroy(err);
    });
    // A client that goes away aborts the upstream request too.
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
  }

  function requestInfo(req: http.IncomingMessage): RequestInfo {
    const url = new URL(req.url ?? '/', 'http://gateway.invalid');
    return {
      host: req.headers.host ?? '',
      path: url.pathname,
      query: url.searchParams,
      method: req.method ?? 'GET',
      headers: req.headers,
    };
  }

  const server = http.createServer({ keepAliveTimeout: 5_000 }, (req, res) => {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://gateway.invalid');
    } catch {
      sendJson(res, 400, { error: `unparseable request target ${req.url}`, code: 'BadRequestTarget' });
      return;
    }
    if (url.pathname.startsWith(reservedPrefix)) return reserved(req, res, url.pathname);
    stats.requests += 1;
    const s = select(opts.getTable(), requestInfo(req), { random, nextIndex });
    if (s.kind === 'forward') forward(req, res, s);
    else reject(res, s);
  });
  server.on('clientError', (err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
    else socket.destroy(err);
  });
  return { server, stats, agent };
}
