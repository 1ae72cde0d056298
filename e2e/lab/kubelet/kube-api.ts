// A thin JSON client for the lab API server: raw objects in and out (timestamps stay strings) and
// a line-delimited watch stream the pod watcher can abort and restart at will. TLS and credentials
// come from the kubeconfig via client-node.
import http from 'node:http';
import https from 'node:https';
import { KubeConfig } from '@kubernetes/client-node';
import { KubeletError } from './errors.ts';

export class ApiError extends KubeletError {
  readonly status: number;
  readonly body: unknown;
  constructor(status: number, method: string, path: string, body: unknown) {
    const msg = (body as { message?: string } | undefined)?.message ?? JSON.stringify(body);
    super('API_FAILED', `${method} ${path} answered ${status}: ${msg}`);
    this.status = status;
    this.body = body;
  }
}

export interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: Record<string, unknown>;
}

export class KubeApi {
  private readonly kc: KubeConfig;
  private readonly server: URL;

  constructor(kubeconfigPath: string) {
    this.kc = new KubeConfig();
    this.kc.loadFromFile(kubeconfigPath);
    const cluster = this.kc.getCurrentCluster();
    if (!cluster) throw new KubeletError('FLAG_INVALID', `kubeconfig ${kubeconfigPath} has no current cluster; set current-context`);
    this.server = new URL(cluster.server);
  }

  private async options(method: string, path: string, headers: Record<string, string>): Promise<https.RequestOptions> {
    const opts: https.RequestOptions = {
      method,
      hostname: this.server.hostname,
      port: this.server.port,
      path,
      headers: { accept: 'application/json', ...headers },
    };
    await this.kc.applyToHTTPSOptions(opts);
    return opts;
  }

  private transport(): typeof https | typeof http {
    return this.server.protocol === 'https:' ? https : http;
  }

  async request<T = Record<string, unknown>>(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<T> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    // An explicit content-length: Node does not chunk DELETE bodies, so without it the body is lost.
    const opts = await this.options(method, path, payload ? { 'content-type': contentType, 'content-length': String(Buffer.byteLength(payload)) } : {});
    return await new Promise<T>((resolve, reject) => {
      const req = this.transport().request({ ...opts, timeout: 30000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = text;
          try {
            parsed = text ? JSON.parse(text) : {};
          } catch {
            // Non-JSON error bodies (proxies, panics) are reported as text.
          }
          if ((res.statusCode ?? 0) >= 300) reject(new ApiError(res.statusCode ?? 0, method, path, parsed));
          else resolve(parsed as T);
        });
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new KubeletError('API_FAILED', `${method} ${path} timed out after 30 s`)));
      req.on('error', (cause) => reject(cause instanceof KubeletError ? cause : new KubeletError('API_FAILED', `${method} ${path} failed: ${cause.message}`, { cause })));
      if (payload) req.write(payload);
      req.end();
    });
  }

  async get<T = Record<string, unknown>>(path: string): Promise<T | undefined> {
    try {
      return await this.request<T>('GET', path);
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) return undefined;
      throw err;
    }
  }

  /**
   * Streams watch events until the server ends the stream (resolve) or it fails (reject). The
   * returned `abort` ends it early (then it resolves).
   */
  watch(path: string, onEvent: (e: WatchEvent) => void): { done: Promise<void>; abort: () => void } {
    let req: http.ClientRequest | undefined;
    let aborted = false;
    const done = (async () => {
      const opts = await this.options('GET', path, {});
      await new Promise<void>((resolve, reject) => {
        if (aborted) return resolve();
        req = this.transport().request(opts, (res) => {
          if ((res.statusCode ?? 0) >= 300) {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => {
              let body: unknown = Buffer.concat(chunks).toString('utf8');
              try { body = JSON.parse(body as string); } catch { /* keep text */ }
              reject(new ApiError(res.statusCode ?? 0, 'WATCH', path, body));
            });
            return;
          }
          let buffer = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            buffer += chunk;
            let nl: number;
            while ((nl = buffer.indexOf('\n')) >= 0) {
              const line = buffer.slice(0, nl).trim();
              buffer = buffer.slice(nl + 1);
              if (line) onEvent(JSON.parse(line) as WatchEvent);
            }
          });
          res.on('end', () => resolve());
          res.on('error', (err) => (aborted ? resolve() : reject(err)));
          res.on('close', () => resolve());
        });
        req.on('error', (err) => (aborted ? resolve() : reject(err)));
        req.end();
      });
    })();
    return {
      done,
      abort: () => {
        aborted = true;
        req?.destroy();
      },
    };
  }
}

export const mergePatch = 'application/merge-patch+json';
