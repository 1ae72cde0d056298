// Starts the lab's long-running processes detached (so the lab outlives the command that started it),
// records each pid in .lab/run/<name>.pid, and ends them by that pid only.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { labPaths } from './lab-config.ts';

export interface DaemonSpec {
  name: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

const pidFile = (name: string): string => path.join(labPaths.run, `${name}.pid`);
export const logFile = (name: string): string => path.join(labPaths.logs, `${name}.log`);

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The pid of a lab process that is still running, or undefined. A stale pid file is removed. */
export function runningPid(name: string): number | undefined {
  let text: string;
  try {
    text = fs.readFileSync(pidFile(name), 'utf8');
  } catch {
    return undefined;
  }
  const pid = Number(text.trim());
  if (Number.isInteger(pid) && pid > 0 && isAlive(pid) && !isZombie(pid)) return pid;
  fs.rmSync(pidFile(name), { force: true });
  return undefined;
}

function isZombie(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return false;
  }
}

/** Starts the daemon unless it already runs; returns its pid. */
export function startDaemon(spec: DaemonSpec): number {
  const existing = runningPid(spec.name);
  if (existing !== undefined) return existing;
  fs.mkdirSync(labPaths.run, { recursive: true });
  fs.mkdirSync(labPaths.logs, { recursive: true });
  const out = fs.openSync(logFile(spec.name), 'a');
  const child = spawn(spec.command, spec.args, {
    cwd: spec.cwd,
    env: spec.env ?? process.env,
    detached: true,
    stdio: ['ignore', out, out],
  });
  fs.closeSync(out);
  if (child.pid === undefined) throw new Error(`lab: could not start ${spec.name} (${spec.command})`);
  child.unref();
  fs.writeFileSync(pidFile(spec.name), `${child.pid}\n`);
  return child.pid;
}

/** Ends a lab process by its recorded pid: SIGTERM, then SIGKILL after the grace period. */
export async function stopDaemon(name: string, graceMs = 10_000): Promise<boolean> {
  const pid = runningPid(name);
  if (pid === undefined) return false;
  await terminate(pid, graceMs);
  fs.rmSync(pidFile(name), { force: true });
  return true;
}

export async function terminate(pid: number, graceMs: number): Promise<void> {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid) || isZombie(pid)) return;
    await sleep(100);
  }
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** The last lines of a lab process's log, for error messages. */
export function logTail(name: string, lines = 15): string {
  try {
    const text = fs.readFileSync(logFile(name), 'utf8').trimEnd().split('\n');
    return text.slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** Whether something accepts TCP connections on host:port (within `timeoutMs`). */
export function accepting(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.setTimeout(timeoutMs);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}
