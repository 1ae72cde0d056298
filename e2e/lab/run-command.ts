// Runs a short command to completion and returns its output; a failure names the command.
import { execFile } from 'node:child_process';

export interface CommandResult {
  stdout: string;
  stderr: string;
}

export class CommandError extends Error {
  readonly code = 'LAB_COMMAND_FAILED';
  readonly stderr: string;
  constructor(command: string, stderr: string, cause: unknown) {
    super(`lab: '${command}' failed: ${stderr.trim() || String(cause)}`, { cause });
    this.stderr = stderr;
  }
}

export function run(cmd: string, args: string[], opts: { input?: string; cwd?: string; timeoutMs?: number } = {}): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      cmd,
      args,
      { cwd: opts.cwd, timeout: opts.timeoutMs ?? 120_000, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err) reject(new CommandError([cmd, ...args].join(' '), String(stderr), err));
        else resolve({ stdout: String(stdout), stderr: String(stderr) });
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/** Like run, but a failure is returned as undefined (for idempotent clean-up steps). */
export async function tryRun(cmd: string, args: string[]): Promise<CommandResult | undefined> {
  try {
    return await run(cmd, args);
  } catch {
    return undefined;
  }
}
