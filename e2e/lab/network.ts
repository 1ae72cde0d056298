// The lab bridge on the host: pods' veths attach to it and the host reaches pod IPs through it.
// A guard route makes the pod network unreachable (never routed out of the machine) whenever the
// bridge is gone.
import { labNetwork } from './lab-config.ts';
import { run, tryRun } from './run-command.ts';

export class NetworkUnavailableError extends Error {
  readonly code = 'LAB_NETNS_UNAVAILABLE';
}

/** Fails clearly when this machine cannot create network namespaces (not root, no CAP_NET_ADMIN). */
export async function checkNamespacesWork(): Promise<void> {
  const probe = `${labNetwork.netnsPrefix}probe-${process.pid}`;
  try {
    await run('ip', ['netns', 'add', probe]);
  } catch (err) {
    throw new NetworkUnavailableError(
      'lab: network namespaces cannot be created on this machine (`ip netns add` failed). The lab gives every pod ' +
        'its own namespace and IP; run it as root (or with CAP_NET_ADMIN and CAP_SYS_ADMIN) on Linux with iproute2.',
      { cause: err },
    );
  } finally {
    await tryRun('ip', ['netns', 'del', probe]);
  }
}

export async function bridgeExists(): Promise<boolean> {
  return (await tryRun('ip', ['link', 'show', labNetwork.bridge])) !== undefined;
}

export async function ensureBridge(): Promise<void> {
  // Guard first: with the bridge down, the pod network must be unreachable, not the default route.
  await run('ip', ['route', 'replace', 'unreachable', labNetwork.podNetwork, 'metric', '4000']);
  if (!(await bridgeExists())) {
    await run('ip', ['link', 'add', labNetwork.bridge, 'type', 'bridge']);
  }
  const addr = `${labNetwork.bridgeAddress}/${labNetwork.prefixLength}`;
  const shown = await run('ip', ['-o', 'addr', 'show', 'dev', labNetwork.bridge]);
  if (!shown.stdout.includes(` ${addr} `)) await run('ip', ['addr', 'add', addr, 'dev', labNetwork.bridge]);
  // Node InternalIPs live on the bridge too, so the host answers for them.
  for (const a of nodeAddresses) {
    if (!shown.stdout.includes(` ${a}/32 `)) await tryRun('ip', ['addr', 'add', `${a}/32`, 'dev', labNetwork.bridge]);
  }
  await run('ip', ['link', 'set', labNetwork.bridge, 'up']);
}

/** Host-side addresses the kubelet reports as the lab nodes' InternalIPs. */
export const nodeAddresses = ['10.244.0.11', '10.244.0.12', '10.244.0.13'] as const;

export async function removeBridge(): Promise<void> {
  if (await bridgeExists()) await run('ip', ['link', 'del', labNetwork.bridge]);
  await tryRun('ip', ['route', 'del', 'unreachable', labNetwork.podNetwork, 'metric', '4000']);
}

/** Network namespaces the lab created (pods' and probes'). */
export async function labNamespaces(): Promise<string[]> {
  const out = (await tryRun('ip', ['netns', 'list']))?.stdout ?? '';
  return out
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n.startsWith(labNetwork.netnsPrefix));
}

/** Processes inside one of the lab's namespaces: they are the lab's own pods' processes. */
export async function pidsInNamespace(ns: string): Promise<number[]> {
  const out = (await tryRun('ip', ['netns', 'pids', ns]))?.stdout ?? '';
  return out.split(/\s+/).filter(Boolean).map(Number).filter(Number.isInteger);
}

export async function deleteNamespace(ns: string): Promise<void> {
  for (const pid of await pidsInNamespace(ns)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await tryRun('ip', ['netns', 'del', ns]);
}

/** Host ends of pod veths left behind (the kubelet normally removes them). */
export async function labVeths(): Promise<string[]> {
  const out = (await tryRun('ip', ['-o', 'link', 'show']))?.stdout ?? '';
  const names: string[] = [];
  for (const line of out.split('\n')) {
    const name = line.split(':')[1]?.trim().split('@')[0];
    if (name?.startsWith(labNetwork.vethPrefix)) names.push(name);
  }
  return names;
}
