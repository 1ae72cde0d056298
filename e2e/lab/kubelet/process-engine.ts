// The process engine (`--runtime process`): an image name maps to a local command through
// e2e/lab/images.json and runs as a process in the pod's network namespace, with the repository as
// its working directory and the lab's Node for "node". No image, user, root filesystem, volume or
// cgroup isolation: kept for a lab that has no container tools (see docs/lab.md).
import { execFile } from 'node:child_process';
import type { ContainerEngine, PreparedContainer, PrepareRequest, StartedContainer } from './engine.ts';
import { defaultBase, resolveCommand } from './container-spec.ts';
import { imageId, loadImageMap, lookupImage } from './images.ts';
import { ipBin } from './netns.ts';
import { signalGroup, startProcess } from './process-runner.ts';

export class ProcessEngine implements ContainerEngine {
  readonly mode = 'process' as const;
  private readonly imagesFile: string;
  private readonly cwd: string;
  private readonly execPath: string;

  constructor(opts: { imagesFile: string; cwd: string; execPath: string }) {
    this.imagesFile = opts.imagesFile;
    this.cwd = opts.cwd;
    this.execPath = opts.execPath;
  }

  async prepare(req: PrepareRequest): Promise<PreparedContainer> {
    const image = req.container.image ?? '';
    const entry = lookupImage(loadImageMap(this.imagesFile), image);
    const env = await req.resolveEnv(defaultBase(req.pod.metadata.name, this.execPath));
    const argv = resolveCommand(entry, req.container, env, this.execPath);
    const { netns } = req;
    const cwd = this.cwd;
    let pid: number | undefined;
    return {
      imageID: imageId(image, entry),
      env,
      argv,
      start: async (logFile: string): Promise<StartedContainer> => {
        const proc = await startProcess({ netns, argv, env, cwd, logFile });
        pid = proc.pid;
        return {
          containerID: `lab://${proc.pid}`,
          pid: proc.pid,
          startedAtMs: proc.startedAtMs,
          exited: proc.exited,
          kill: (signal) => Promise.resolve(signalGroup(proc.pid, signal)),
        };
      },
      exec: (command, timeoutMs) =>
        new Promise((resolve) => {
          execFile(ipBin, ['netns', 'exec', netns, ...command], { env, cwd, timeout: timeoutMs }, (err, stdout, stderr) => {
            if (!err) return resolve({ ok: true, detail: '' });
            const code = (err as { code?: number | string }).code;
            resolve({ ok: false, detail: `command ${JSON.stringify(command)} exited with ${code ?? 'error'}: ${(stdout + stderr).trim().slice(0, 200)}` });
          });
        }),
      // Children that left the group's leader behind still belong to the group.
      release: () => Promise.resolve(void (pid !== undefined && signalGroup(pid, 'SIGKILL'))),
    };
  }

  releasePod(): Promise<void> {
    return Promise.resolve();
  }

  removeStale(): Promise<void> {
    // Processes die with their network namespace (netns.ts removes stale ones).
    return Promise.resolve();
  }
}
