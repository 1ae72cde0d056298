// A liveness prober in a process of its own (test-support/raw-http.ts, startProber): GETs
// `<url>/v2/health/live` and then `<control>/v2/health/live` (a process that does nothing else),
// `pauseMs` apart, until its stdin closes; then prints {probes, worstMs, failures, controlWorstMs}
// as JSON on stdout. Its own process, so the test's client work does not delay the probes it times.
import { Agent, get } from 'node:http';

const [url, pause, control] = process.argv.slice(2);
const pauseMs = Number(pause ?? 10);
const agent = new Agent({ keepAlive: false });
const report = { probes: 0, worstMs: 0, failures: 0, controlWorstMs: 0 };
let stopped = false;
process.stdin.on('end', () => (stopped = true));
process.stdin.resume();

function probe(base: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = get(`${base}/v2/health/live`, { agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve(res.statusCode === 200 && body === '{"live":true}'));
      res.on('error', () => resolve(false));
    });
    req.on('error', () => resolve(false));
  });
}

while (!stopped) {
  const t = performance.now();
  const ok = await probe(url as string);
  report.worstMs = Math.max(report.worstMs, performance.now() - t);
  report.probes++;
  if (!ok) report.failures++;
  if (control) {
    const c = performance.now();
    await probe(control);
    report.controlWorstMs = Math.max(report.controlWorstMs, performance.now() - c);
  }
  await new Promise((r) => setTimeout(r, pauseMs));
}
process.stdout.write(JSON.stringify(report));
