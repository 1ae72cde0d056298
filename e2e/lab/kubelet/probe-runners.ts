// Running one probe or lifecycle hook (thin adapter): HTTP GET to podIP:port, TCP connect, or a
// command inside the container (through its engine). Each resolves to success/failure with a
// detail for messages.
import http from 'node:http';
import net from 'node:net';
import type { V1Probe } from '@kubernetes/client-node';
import type { ProbeOutcome } from './probes.ts';

export interface ProbeTarget {
  podIP: string;
  /** Named container ports, for `port: http`. */
  ports: Record<string, number>;
  /** Runs a command inside the container. */
  exec: (argv: string[], timeoutMs: number) => Promise<{ ok: boolean; detail: string }>;
}

type Handler = Pick<V1Probe, 'httpGet' | 'tcpSocket' | 'exec'>;

function resolvePort(port: number | string | undefined, target: ProbeTarget): number | undefined {
  if (typeof port === 'number') return port;
  if (port === undefined) return undefined;
  if (/^\d+$/.test(port)) return Number(port);
  return target.ports[port];
}

export async function runHandler(handler: Handler, target: ProbeTarget, timeoutMs: number): Promise<{ outcome: ProbeOutcome; detail: string }> {
  if (handler.exec) {
    const { ok, detail } = await target.exec(handler.exec.command ?? [], timeoutMs);
    return ok ? { outcome: 'success', detail: '' } : { outcome: 'failure', detail };
  }
  if (handler.httpGet) {
    const port = resolvePort(handler.httpGet.port as number | string, target);
    const host = handler.httpGet.host ?? target.podIP;
    if (port === undefined) return { outcome: 'failure', detail: `httpGet port ${String(handler.httpGet.port)} is not a container port` };
    if (handler.httpGet.scheme === 'HTTPS') return { outcome: 'failure', detail: 'httpGet scheme HTTPS is not supported by the lab kubelet; use HTTP' };
    const urlPath = handler.httpGet.path ?? '/';
    const headers: Record<string, string> = { 'user-agent': 'kube-probe/lab' };
    for (const h of handler.httpGet.httpHeaders ?? []) headers[h.name] = h.value;
    return await new Promise((resolve) => {
      const req = http.get({ host, port, path: urlPath, headers, timeout: timeoutMs }, (res) => {
        res.resume();
        const code = res.statusCode ?? 0;
        resolve(code >= 200 && code < 400
          ? { outcome: 'success', detail: '' }
          : { outcome: 'failure', detail: `HTTP probe failed with statuscode: ${code}` });
      });
      req.on('timeout', () => req.destroy(new Error(`timeout after ${timeoutMs} ms`)));
      req.on('error', (err) => resolve({ outcome: 'failure', detail: `Get "http://${host}:${port}${urlPath}": ${err.message}` }));
    });
  }
  if (handler.tcpSocket) {
    const port = resolvePort(handler.tcpSocket.port as number | string, target);
    const host = handler.tcpSocket.host ?? target.podIP;
    if (port === undefined) return { outcome: 'failure', detail: `tcpSocket port ${String(handler.tcpSocket.port)} is not a container port` };
    return await new Promise((resolve) => {
      const sock = net.connect({ host, port, timeout: timeoutMs });
      sock.on('connect', () => {
        sock.destroy();
        resolve({ outcome: 'success', detail: '' });
      });
      sock.on('timeout', () => {
        sock.destroy();
        resolve({ outcome: 'failure', detail: `dial tcp ${host}:${port}: i/o timeout` });
      });
      sock.on('error', (err) => resolve({ outcome: 'failure', detail: `dial tcp ${host}:${port}: ${err.message}` }));
    });
  }
  return { outcome: 'failure', detail: 'probe has no handler (exec, httpGet or tcpSocket)' };
}
