// HTTP as a hostile or broken client speaks it: raw bytes on a socket (trickled, oversized,
// malformed), and a liveness prober that runs beside a test's load.
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';

const PROBER = fileURLToPath(new URL('./prober.ts', import.meta.url));
const CONTROL = fileURLToPath(new URL('./control-server.ts', import.meta.url));

export interface RawResult {
  /** Everything the server sent before the connection ended. */
  text: string;
  /** The status of the first response, if one came. */
  status: number | undefined;
  /** The connection ended with an error (e.g. ECONNRESET) rather than a clean close. */
  error: string | undefined;
  /** The JSON body of the first response, if it had one. */
  json: { error?: unknown } | undefined;
}

/**
 * Connects, then writes `chunks` one by one `gapMs` apart until they run out or the server
 * answers (a trickling client stops sending once it is answered); resolves when the server closes
 * the connection, or `closeAfterMs` after the answer began (keep-alive).
 */
export function rawExchange(port: number, chunks: readonly (string | Buffer)[], o: { gapMs?: number; closeAfterMs?: number } = {}): Promise<RawResult> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const received: Buffer[] = [];
    let error: string | undefined;
    let i = 0;
    let timer: NodeJS.Timeout | undefined;
    socket.on('data', (c: Buffer) => {
      received.push(c);
      if (o.closeAfterMs !== undefined && !timer) timer = setTimeout(() => socket.destroy(), o.closeAfterMs);
    });
    socket.on('error', (e: NodeJS.ErrnoException) => (error = e.code ?? e.message));
    socket.on('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(received).toString('latin1');
      const status = /^HTTP\/1\.1 (\d{3}) /.exec(text)?.[1];
      const bodyStart = text.indexOf('\r\n\r\n');
      let json: RawResult['json'];
      try {
        json = bodyStart === -1 ? undefined : JSON.parse(text.slice(bodyStart + 4));
      } catch {
        json = undefined;
      }
      resolve({ text, status: status === undefined ? undefined : Number(status), error, json });
    });
    const next = () => {
      if (socket.destroyed || received.length > 0) return;
      if (i < chunks.length) {
        socket.write(chunks[i++] as string | Buffer);
        if (o.gapMs) setTimeout(next, o.gapMs);
        else next();
      }
    };
    socket.on('connect', next);
  });
}

export interface ProbeReport {
  probes: number;
  /** Slowest GET /v2/health/live, milliseconds. */
  worstMs: number;
  /** Probes that did not answer 200 {"live": true}. */
  failures: number;
  /** Slowest probe of the control process (test-support/control-server.ts) at the same times: what the machine alone added. */
  controlWorstMs: number;
}

/**
 * GETs /v2/health/live one after another (`pauseMs` between), as a kubelet would but constantly,
 * from a process of its own (test-support/prober.ts) so that the test's own work does not delay
 * the probes it times; after each, the same probe of a control process that does nothing else
 * (test-support/control-server.ts). stop() ends both and returns what the prober saw.
 */
export function startProber(url: string, pauseMs = 10): { stop(): Promise<ProbeReport> } {
  const control = spawn(process.execPath, [CONTROL], { stdio: ['pipe', 'pipe', 'inherit'] });
  const controlUrl = new Promise<string>((resolve, reject) => {
    let out = '';
    control.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const port = /\{"port":(\d+)\}/.exec(out)?.[1];
      if (port) resolve(`http://127.0.0.1:${port}`);
    });
    control.once('exit', (code) => reject(new Error(`the control server exited (${code})`)));
  });
  const prober = controlUrl.then((c) => {
    const child = spawn(process.execPath, [PROBER, url, String(pauseMs), c], { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    return { child, exited, out: () => out };
  });
  let report: Promise<ProbeReport> | undefined;
  return {
    stop: () =>
      (report ??= (async () => {
        const p = await prober;
        p.child.stdin.end();
        await p.exited;
        control.stdin.end();
        return JSON.parse(p.out()) as ProbeReport;
      })()),
  };
}
