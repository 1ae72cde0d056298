// Container processes (thin adapter): `ip netns exec <ns> argv…` in its own process group, output
// appended to the container's log file, exit reported once.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KubeletError } from './errors.ts';
import { ipBin } from './netns.ts';

export interface ContainerProcess {
  pid: number;
  startedAtMs: number;
  exited: Promise<{ exitCode: number; signal: number | undefined; finishedAtMs: number }>;
}

export function containerLogPath(logDir: string, namespace: string, pod: string, container: string): string {
  return path.join(logDir, `${namespace}_${pod}_${container}.log`);
}

export function startProcess(opts: { netns: string; argv: string[]; env: Record<string, string>; cwd: string; logFile: string }): Promise<ContainerProcess> {
  fs.mkdirSync(path.dirname(opts.logFile), { recursive: true });
  const fd = fs.openSync(opts.logFile, 'a');
  return new Promise<ContainerProcess>((resolve, reject) => {
    // `ip netns exec` execs the command in place, so the child's pid is the container's pid, and
    // `detached` makes it a process-group leader so the whole tree can be signalled.
    const child = spawn(ipBin, ['netns', 'exec', opts.netns, ...opts.argv], {
      cwd: opts.cwd,
      env: opts.env,
      detached: true,
      stdio: ['ignore', fd, fd],
    });
    const startedAtMs = Date.now();
    const exited = new Promise<{ exitCode: number; signal: number | undefined; finishedAtMs: number }>((res) => {
      child.on('exit', (code, signal) => {
        const signum = signal ? os.constants.signals[signal] : undefined;
        res({ exitCode: code ?? 128 + (signum ?? 9), signal: signum, finishedAtMs: Date.now() });
      });
    });
    child.on('spawn', () => {
      fs.closeSync(fd);
      resolve({ pid: child.pid ?? 0, startedAtMs, exited });
    });
    child.on('error', (cause) => {
      try { fs.closeSync(fd); } catch { /* already closed */ }
      reject(new KubeletError('SPAWN_FAILED', `could not start ${opts.argv.join(' ')} in netns ${opts.netns}: ${cause.message}`, { cause }));
    });
  });
}

/** Signals the container's whole process group; false when it is already gone. */
export function signalGroup(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false;
  }
}

export function writeLogLine(logFile: string, line: string): void {
  try {
    fs.mkdirSync(path.dirname(logFile), { recursive: true });
    fs.appendFileSync(logFile, line.endsWith('\n') ? line : `${line}\n`);
  } catch {
    // Logging the kubelet's own notes into a container log is best effort.
  }
}
