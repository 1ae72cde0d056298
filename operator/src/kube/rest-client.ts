// A thin JSON client over the Kubernetes REST API, authenticated by client-node's KubeConfig. The
// controller needs few verbs (list, watch, get, apply, merge-patch status, create, delete), and a
// plain client keeps the request count, user agent and content types explicit.
import { HttpMethod, RequestContext, type KubeConfig } from '@kubernetes/client-node';
import { fetch, type Dispatcher } from 'undici';
import { KubeApiError, type ObjectRef } from '../errors.ts';

export interface KubeRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: string;
  object?: ObjectRef;
  signal?: AbortSignal;
}

export interface KubeClient {
  request(req: KubeRequest): Promise<unknown>;
  stream(req: KubeRequest): Promise<ReadableStream<Uint8Array>>;
}

interface StatusBody {
  kind?: string;
  message?: string;
  reason?: string;
}

function asStatus(body: unknown): StatusBody {
  return typeof body === 'object' && body !== null ? (body as StatusBody) : {};
}

export class RestKubeClient implements KubeClient {
  readonly #kc: KubeConfig;
  readonly #server: string;
  readonly #userAgent: string;
  readonly #timeoutMs: number;

  readonly #onResponse: ((method: string, code: string) => void) | undefined;

  /** `onResponse(method, code)` sees every answer (method WATCH for streams; code 'error' when none came). */
  constructor(kc: KubeConfig, opts: { userAgent: string; timeoutMs?: number; onResponse?: (method: string, code: string) => void }) {
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new KubeApiError('kubeconfig has no current cluster; set a current-context', 0, 'ConfigInvalid');
    this.#kc = kc;
    this.#server = cluster.server.replace(/\/$/, '');
    this.#userAgent = opts.userAgent;
    this.#timeoutMs = opts.timeoutMs ?? 30_000;
    this.#onResponse = opts.onResponse;
  }

  async #send(req: KubeRequest, signal: AbortSignal, method = req.method as string): Promise<Response> {
    const url = new URL(this.#server + req.path);
    for (const [k, v] of Object.entries(req.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const ctx = new RequestContext(url.toString(), HttpMethod[req.method]);
    await this.#kc.applySecurityAuthentication(ctx);
    const headers = ctx.getHeaders() as Record<string, string>;
    headers['user-agent'] = this.#userAgent;
    headers.accept = 'application/json';
    let body: string | undefined;
    if (req.body !== undefined) {
      headers['content-type'] = req.contentType ?? 'application/json';
      body = JSON.stringify(req.body);
    }
    const dispatcher = ctx.getDispatcher() as Dispatcher | undefined;
    try {
      const res = (await fetch(url, { method: req.method, headers, body, dispatcher, signal })) as unknown as Response;
      this.#onResponse?.(method, String(res.status));
      return res;
    } catch (err) {
      this.#onResponse?.(method, 'error');
      throw new KubeApiError(`${req.method} ${req.path}: ${(err as Error).message}`, 0, 'NetworkError', { object: req.object, cause: err });
    }
  }

  async request(req: KubeRequest): Promise<unknown> {
    const signal = req.signal ?? AbortSignal.timeout(this.#timeoutMs);
    const res = await this.#send(req, signal);
    const text = await res.text();
    let body: unknown = undefined;
    if (text.length > 0) {
      try {
        body = JSON.parse(text);
      } catch (err) {
        throw new KubeApiError(`${req.method} ${req.path}: the API server answered ${res.status} with a body that is not JSON`, res.status, 'InvalidResponse', { object: req.object, cause: err });
      }
    }
    if (!res.ok) {
      const status = asStatus(body);
      throw new KubeApiError(
        `${req.method} ${req.path}: ${res.status} ${status.reason ?? ''} ${status.message ?? text.slice(0, 300)}`.replace(/\s+/g, ' ').trim(),
        res.status,
        status.reason ?? String(res.status),
        { object: req.object },
      );
    }
    return body;
  }

  async stream(req: KubeRequest): Promise<ReadableStream<Uint8Array>> {
    const res = await this.#send(req, req.signal ?? new AbortController().signal, 'WATCH');
    if (!res.ok || !res.body) {
      const text = await res.text();
      let parsed: unknown = {};
      try {
        parsed = JSON.parse(text);
      } catch {
        // not a Status object: the text itself goes into the message
      }
      const status = asStatus(parsed);
      throw new KubeApiError(`${req.method} ${req.path}: ${res.status} ${status.message ?? text.slice(0, 300)}`, res.status, status.reason ?? String(res.status), { object: req.object });
    }
    return res.body;
  }
}
