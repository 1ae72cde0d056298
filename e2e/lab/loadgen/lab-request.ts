// One HTTP request to the lab with an explicit Host header. Node's fetch (undici) silently replaces
// a `host` header with the URL's host, so routing by Host through the lab gateway needs node:http.
import http from 'node:http';
import { validateTarget } from './options.ts';

export interface LabResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export function labRequest(
  url: string,
  init: {
    method?: string;
    headers?: Record<string, string>;
    body?: string | Uint8Array;
    timeoutMs?: number;
  } = {},
): Promise<LabResponse> {
  const target = validateTarget(url); // same guard as the load generator: loopback or lab pods only
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: target.hostname,
        port: target.port || 80,
        path: `${target.pathname}${target.search}`,
        method: init.method ?? 'GET',
        headers: init.headers,
        agent: false,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        res.on('error', reject);
      },
    );
    req.setTimeout(init.timeoutMs ?? 10_000, () =>
      req.destroy(new Error(`no answer from ${url} within ${init.timeoutMs ?? 10_000}ms`)),
    );
    req.on('error', reject);
    req.end(init.body);
  });
}
