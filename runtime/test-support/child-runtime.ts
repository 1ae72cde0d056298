// The real CLI (`onnx-runtime serve`) as a child process, for tests that must not share an event
// loop with the runtime they measure (a test's own client work would show up as server latency),
// or that need its exit code.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { metricValue, models, request } from './harness.ts';
import type { TestModelName } from '../test-models/build.ts';

export const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));

export interface ChildRuntime {
  child: ChildProcessWithoutNullStreams;
  /** Resolves with the port once the runtime listens and the model is ready; rejects if it exits first. */
  port: Promise<number>;
  /** Everything it logged so far (JSON lines on stderr). */
  log(): string;
}

/** Starts `onnx-runtime serve --port=0 --host=127.0.0.1 --prediction-log=none` with `args` and `env`. */
export function startRuntime(args: string[], env: Record<string, string>): ChildRuntime {
  const child = spawn(process.execPath, [MAIN, 'serve', '--port=0', '--grpc-port=0', '--host=127.0.0.1', '--prediction-log=none', ...args], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  child.stdin.end();
  child.stdout.resume();
  let log = '';
  child.stderr.on('data', (d: Buffer) => (log += d.toString()));
  const port = new Promise<number>((resolve, reject) => {
    const t = setInterval(() => {
      const listen = /"port":(\d+).*"msg":"listening"/.exec(log);
      if (listen && log.includes('"model ready"')) {
        clearInterval(t);
        resolve(Number(listen[1]));
      }
    }, 20);
    child.once('exit', (code) => {
      clearInterval(t);
      reject(new Error(`runtime exited early (code ${code}): ${log}`));
    });
  });
  port.catch(() => {}); // observed by the caller
  return { child, port, log: () => log };
}

export interface ServedChild {
  url: string;
  port: number;
  /** The gRPC service's port. */
  grpcPort: number;
  pid: number;
  log(): string;
  /** The runtime's /metrics text. */
  metrics(): Promise<string>;
  /** Resident set size of the runtime process, from its own process metrics. */
  rssBytes(): Promise<number>;
  /** SIGTERM, and the exit code. */
  stop(): Promise<number | null>;
  /** Whether it is still running (no crash). */
  alive(): boolean;
}

/** A test model served by a child runtime (one session worker, one onnxruntime thread), ready. */
export async function serveChild(model: TestModelName, args: string[] = []): Promise<ServedChild> {
  const m = models()[model];
  const rt = startRuntime([`--model-name=${model}`, `--model-uri=${m.path}`, `--model-digest=${m.digest}`, '--revision=r1', '--threads=1', '--max-concurrent-runs=1', ...args], {});
  const port = await rt.port;
  let exitCode: number | null | undefined;
  const exited = new Promise<number | null>((resolve) => rt.child.once('exit', (code) => resolve((exitCode = code))));
  const url = `http://127.0.0.1:${port}`;
  const metrics = async () => (await request(`${url}/metrics`)).text;
  const grpcPort = Number(/"grpcPort":(\d+).*"msg":"gRPC listening"/.exec(rt.log())?.[1]);
  return {
    url,
    port,
    grpcPort,
    pid: rt.child.pid as number,
    log: rt.log,
    metrics,
    rssBytes: async () => metricValue(await metrics(), 'onnxop_process_process_resident_memory_bytes') as number,
    stop: () => {
      if (exitCode === undefined) rt.child.kill('SIGTERM');
      return exited;
    },
    alive: () => exitCode === undefined,
  };
}
