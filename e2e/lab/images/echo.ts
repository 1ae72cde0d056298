// The lab's echo image: a small HTTP server that says which pod answered, exposes Prometheus
// metrics and drains on SIGTERM. Used to test the lab itself (kubelet, gateway, Prometheus).
import http from 'node:http';
import os from 'node:os';

const port = Number(process.env.PORT ?? 8080);
const tagIndex = process.argv.indexOf('--version-tag');
const versionTag = tagIndex > 0 ? (process.argv[tagIndex + 1] ?? 'v1') : 'v1';
const pod = process.env.POD_NAME ?? os.hostname();
const failRate = Number(process.env.FAIL_RATE ?? 0);
const counts = { ok: 0, error: 0 };
let ready = true;

const server = http.createServer((req, res) => {
  if (req.url === '/healthz' || req.url === '/readyz') {
    res.writeHead(ready ? 200 : 503).end(ready ? 'ok' : 'draining');
    return;
  }
  if (req.url === '/metrics') {
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
    res.end(
      [
        '# HELP lab_echo_requests_total Requests answered by the echo server.',
        '# TYPE lab_echo_requests_total counter',
        `lab_echo_requests_total{outcome="ok"} ${counts.ok}`,
        `lab_echo_requests_total{outcome="error"} ${counts.error}`,
        '',
      ].join('\n'),
    );
    return;
  }
  const fail = failRate > 0 && Math.random() < failRate;
  counts[fail ? 'error' : 'ok'] += 1;
  const body = JSON.stringify({ pod, version: versionTag, path: req.url, method: req.method });
  res.writeHead(fail ? 500 : 200, { 'content-type': 'application/json', 'x-lab-pod': pod, 'x-lab-version': versionTag });
  res.end(body);
});

server.listen(port, '0.0.0.0', () => {
  process.stdout.write(`echo ${versionTag} listening on :${port} as ${pod}\n`);
});
process.on('SIGTERM', () => {
  ready = false;
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
});
