// The `kubernetes` Service's stand-in for containers (runc mode): the lab has no kube-proxy, and the
// API server listens on 127.0.0.1 only, which a pod's network namespace cannot reach. This forwards
// TCP from the bridge address (the API server's advertise address, which the `kubernetes`
// Endpoints name, and a SAN of its certificate) to the API server on loopback. TLS passes through.
import net from 'node:net';
import type { Logger } from 'pino';

export class ApiForwarder {
  private server: net.Server | undefined;
  private retry: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly listen: { host: string; port: number };
  private readonly target: { host: string; port: number };
  private readonly log: Logger;

  constructor(listen: { host: string; port: number }, target: { host: string; port: number }, log: Logger) {
    this.listen = listen;
    this.target = target;
    this.log = log;
  }

  get listening(): boolean {
    return this.server?.listening ?? false;
  }

  /** Listens now, or keeps trying every 2 s while the bridge address does not exist yet. */
  start(): void {
    if (this.stopped) return;
    const server = net.createServer((client) => {
      const upstream = net.connect(this.target);
      client.pipe(upstream).pipe(client);
      const close = (): void => {
        client.destroy();
        upstream.destroy();
      };
      client.on('error', close);
      upstream.on('error', close);
    });
    server.once('error', (err: NodeJS.ErrnoException) => {
      this.log.warn({ err: err.message, code: err.code }, 'API forwarder cannot listen yet; retrying');
      this.retry = setTimeout(() => this.start(), 2000);
    });
    server.listen(this.listen.port, this.listen.host, () => {
      this.server = server;
      this.log.info({ listen: `${this.listen.host}:${this.listen.port}`, target: `${this.target.host}:${this.target.port}` }, 'API forwarder listening');
    });
  }

  stop(): Promise<void> {
    this.stopped = true;
    if (this.retry) clearTimeout(this.retry);
    const server = this.server;
    if (!server) return Promise.resolve();
    return new Promise((resolve) => server.close(() => resolve()));
  }
}
