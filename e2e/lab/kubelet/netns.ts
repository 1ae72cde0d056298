// Pod sandboxes: one network namespace per pod with a veth on the lab bridge (thin adapter over
// `ip`). Names derive from the pod UID so a restarted kubelet can find and remove its leftovers.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { labNetwork } from '../lab-config.ts';
import { KubeletError } from './errors.ts';

const run = promisify(execFile);
export const ipBin = '/usr/sbin/ip';

export interface SandboxNames {
  netns: string;
  hostVeth: string;
  /** Temporary name of the pod end before it moves into the netns and becomes eth0. */
  peerVeth: string;
}

/** Linux interface names are at most 15 bytes: 'olv' + 10 hex + 'p' fits. */
export function sandboxNames(podUid: string): SandboxNames {
  const short = podUid.replace(/-/g, '').slice(0, 10);
  return { netns: `${labNetwork.netnsPrefix}${short}`, hostVeth: `${labNetwork.vethPrefix}${short}`, peerVeth: `${labNetwork.vethPrefix}${short}p` };
}

async function ip(args: string[]): Promise<string> {
  try {
    const { stdout } = await run(ipBin, args);
    return stdout;
  } catch (cause) {
    const stderr = (cause as { stderr?: string }).stderr?.trim();
    throw new KubeletError('NETNS_FAILED', `ip ${args.join(' ')} failed: ${stderr || String(cause)}`, { cause });
  }
}

async function exists(netns: string): Promise<boolean> {
  return (await listNetns()).includes(netns);
}

export async function listNetns(): Promise<string[]> {
  const out = await ip(['netns', 'list']);
  return out.split('\n').map((l) => l.split(' ')[0] ?? '').filter((n) => n.length > 0);
}

export async function bridgeExists(): Promise<boolean> {
  try {
    await ip(['link', 'show', labNetwork.bridge]);
    return true;
  } catch {
    return false;
  }
}

/** Creates (or re-creates from scratch) the pod's netns with eth0 = podIP/16 and a default route. */
export async function createSandbox(names: SandboxNames, podIP: string): Promise<void> {
  if (await exists(names.netns)) await deleteSandbox(names);
  await ip(['netns', 'add', names.netns]);
  try {
    await ip(['link', 'add', names.hostVeth, 'type', 'veth', 'peer', 'name', names.peerVeth]);
    await ip(['link', 'set', names.peerVeth, 'netns', names.netns]);
    await ip(['link', 'set', names.hostVeth, 'master', labNetwork.bridge]);
    await ip(['link', 'set', names.hostVeth, 'up']);
    await ip(['-n', names.netns, 'link', 'set', names.peerVeth, 'name', 'eth0']);
    // /16 (the whole bridge network) is on-link: pods on all lab nodes share the one bridge.
    await ip(['-n', names.netns, 'addr', 'add', `${podIP}/${labNetwork.prefixLength}`, 'dev', 'eth0']);
    await ip(['-n', names.netns, 'link', 'set', 'eth0', 'up']);
    await ip(['-n', names.netns, 'link', 'set', 'lo', 'up']);
    await ip(['-n', names.netns, 'route', 'add', 'default', 'via', labNetwork.bridgeAddress]);
  } catch (err) {
    await deleteSandbox(names).catch(() => undefined);
    throw err;
  }
}

export async function netnsPids(netns: string): Promise<number[]> {
  try {
    const out = await ip(['netns', 'pids', netns]);
    return out.split('\n').map(Number).filter((n) => Number.isInteger(n) && n > 0);
  } catch {
    return [];
  }
}

/** Kills whatever still runs in the netns, then removes it and the host veth (idempotent). */
export async function deleteSandbox(names: SandboxNames): Promise<void> {
  for (const pid of await netnsPids(names.netns)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  if (await exists(names.netns)) await ip(['netns', 'delete', names.netns]);
  await ip(['link', 'delete', names.hostVeth]).catch(() => undefined);
}

/** Leftovers of a crashed kubelet: every olab-* netns and olv* veth. */
export async function removeStaleSandboxes(log: (msg: string, extra: Record<string, unknown>) => void): Promise<number> {
  let removed = 0;
  for (const netns of await listNetns()) {
    if (!netns.startsWith(labNetwork.netnsPrefix)) continue;
    const pids = await netnsPids(netns);
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    await ip(['netns', 'delete', netns]).catch(() => undefined);
    log('removed stale pod netns', { netns, killed: pids.length });
    removed++;
  }
  const links = await ip(['-o', 'link', 'show']);
  for (const line of links.split('\n')) {
    const name = /^\d+:\s+([^:@\s]+)/.exec(line)?.[1];
    if (name && name.startsWith(labNetwork.vethPrefix)) {
      await ip(['link', 'delete', name]).catch(() => undefined);
      log('removed stale veth', { veth: name });
    }
  }
  return removed;
}
