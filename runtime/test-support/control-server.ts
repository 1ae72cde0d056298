// A process that answers GET /v2/health/live and does nothing else: the control for liveness
// probes (test-support/raw-http.ts, startProber). Probed beside a runtime under test, it shows what
// the machine alone adds to a probe's latency (other processes on the same cores), so a bound on
// the runtime's worst probe can leave that out. Prints {"port": n} when listening.
import { createServer } from 'node:http';

const server = createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end('{"live":true}');
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ port: (server.address() as { port: number }).port }) + '\n');
});
process.stdin.on('end', () => server.close(() => process.exit(0)));
process.stdin.resume();
