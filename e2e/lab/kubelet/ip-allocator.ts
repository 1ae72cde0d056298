// Pod IP allocation from a node's pod CIDR (pure) and its persistence (thin adapter). Allocations
// are persisted so a restarted kubelet never hands out an address a live pod still uses, and a
// pod that is re-run after a kubelet restart gets its old address back.
import fs from 'node:fs';
import path from 'node:path';
import { KubeletError } from './errors.ts';

export interface Cidr {
  network: number;
  prefix: number;
}

/** Allocation state of one node: pod IP → pod UID, plus the last address handed out. */
export interface IpamState {
  allocations: Record<string, string>;
  last?: string;
}

export function ipToInt(ip: string): number {
  const parts = ip.split('.');
  if (parts.length !== 4) throw new KubeletError('CIDR_INVALID', `"${ip}" is not an IPv4 address (want a.b.c.d)`);
  let n = 0;
  for (const p of parts) {
    const v = Number(p);
    if (!/^\d{1,3}$/.test(p) || v > 255) throw new KubeletError('CIDR_INVALID', `"${ip}" is not an IPv4 address (octet "${p}")`);
    n = n * 256 + v;
  }
  return n;
}

export function intToIp(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
}

export function parseCidr(cidr: string): Cidr {
  const [addr, len] = cidr.split('/');
  const prefix = Number(len);
  if (addr === undefined || len === undefined || !Number.isInteger(prefix) || prefix < 8 || prefix > 30) {
    throw new KubeletError('CIDR_INVALID', `pod CIDR "${cidr}" must look like 10.244.1.0/24 with a prefix between 8 and 30`);
  }
  const size = 2 ** (32 - prefix);
  const network = ipToInt(addr);
  if (network % size !== 0) throw new KubeletError('CIDR_INVALID', `pod CIDR "${cidr}" has host bits set; use ${intToIp(network - (network % size))}/${prefix}`);
  return { network, prefix };
}

/** Usable pod addresses: skip the network address, .1 (gateway by convention) and broadcast. */
function candidates(cidr: Cidr): { first: number; last: number } {
  const size = 2 ** (32 - cidr.prefix);
  return { first: cidr.network + 2, last: cidr.network + size - 2 };
}

export function ipForPod(state: IpamState, podUid: string): string | undefined {
  return Object.entries(state.allocations).find(([, uid]) => uid === podUid)?.[0];
}

/**
 * Hands out the pod's existing address, or the next free one after the last allocated (round
 * robin, like host-local IPAM) so a just-released address is not immediately reused while stale
 * endpoints may still point at it.
 */
export function allocateIp(state: IpamState, cidrText: string, podUid: string): { state: IpamState; ip: string } {
  const existing = ipForPod(state, podUid);
  if (existing !== undefined) return { state, ip: existing };
  const cidr = parseCidr(cidrText);
  const { first, last } = candidates(cidr);
  const count = last - first + 1;
  const lastInt = state.last !== undefined ? ipToInt(state.last) : first - 1;
  const start = lastInt >= first && lastInt <= last ? lastInt + 1 : first;
  for (let i = 0; i < count; i++) {
    const n = first + ((start - first + i) % count);
    const ip = intToIp(n);
    if (state.allocations[ip] === undefined) {
      return { state: { allocations: { ...state.allocations, [ip]: podUid }, last: ip }, ip };
    }
  }
  throw new KubeletError('IP_EXHAUSTED', `no free address left in pod CIDR ${cidrText} (${count} in use); delete pods on this node or give it a larger podCIDR`);
}

export function releaseIp(state: IpamState, podUid: string): IpamState {
  const allocations = Object.fromEntries(Object.entries(state.allocations).filter(([, uid]) => uid !== podUid));
  return { ...state, allocations };
}

/** Drops allocations of pods that no longer exist (after the first full pod list). */
export function retainPods(state: IpamState, liveUids: ReadonlySet<string>): IpamState {
  const allocations = Object.fromEntries(Object.entries(state.allocations).filter(([, uid]) => liveUids.has(uid)));
  return { ...state, allocations };
}

/** One JSON file per node under the kubelet's state dir, replaced atomically on every change. */
export class IpamStore {
  readonly file: string;
  readonly cidr: string;
  private state: IpamState;

  constructor(dir: string, nodeName: string, cidr: string) {
    this.file = path.join(dir, `ipam-${nodeName}.json`);
    this.cidr = cidr;
    this.state = { allocations: {} };
    try {
      const parsed = JSON.parse(fs.readFileSync(this.file, 'utf8')) as IpamState;
      if (parsed && typeof parsed.allocations === 'object') this.state = parsed;
    } catch {
      // No file yet (first run) or a torn one: start empty; live pods re-register their uids.
    }
  }

  get snapshot(): IpamState {
    return this.state;
  }

  allocate(podUid: string): string {
    const { state, ip } = allocateIp(this.state, this.cidr, podUid);
    this.save(state);
    return ip;
  }

  release(podUid: string): void {
    this.save(releaseIp(this.state, podUid));
  }

  retain(liveUids: ReadonlySet<string>): void {
    this.save(retainPods(this.state, liveUids));
  }

  private save(state: IpamState): void {
    if (state === this.state) return;
    this.state = state;
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    const tmp = `${this.file}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(state, null, 2));
    fs.renameSync(tmp, this.file);
  }
}
