// /metrics, /healthz (the process is alive) and /readyz (caches synced and, with leader election,
// either leading or standing by — a standby is ready, as in controller-runtime).
import http from 'node:http';
import type { Registry } from 'prom-client';

export interface HealthSource {
  live(): boolean;
  ready(): boolean;
}

export function startHttpServer(host: string, port: number, registry: Registry, health: HealthSource): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const url = req.url?.split('?')[0];
    if (url === '/metrics') {
      registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
        (err: unknown) => res.writeHead(500).end(String(err)),
      );
      return;
    }
    if (url === '/healthz' || url === '/readyz') {
      const ok = url === '/healthz' ? health.live() : health.ready();
      res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' }).end(ok ? 'ok' : 'not ready');
      return;
    }
    res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: `no such path ${url ?? ''}` }));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}
