// GET /healthz (200 once every node is registered, its lease fresh and the pod watch synced; 503
// with the reasons otherwise) and GET /pods (what runs where, for debugging) on 127.0.0.1.
import http from 'node:http';

export function startHealthServer(
  port: number,
  health: () => { ok: boolean; problems: string[] },
  pods: () => unknown,
): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    if (req.url === '/healthz' || req.url === '/readyz') {
      const h = health();
      res.writeHead(h.ok ? 200 : 503, { 'content-type': 'text/plain' }).end(h.ok ? 'ok' : `not ready: ${h.problems.join('; ')}`);
      return;
    }
    if (req.url === '/pods') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(pods(), null, 2));
      return;
    }
    res.writeHead(404).end('not found');
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}
