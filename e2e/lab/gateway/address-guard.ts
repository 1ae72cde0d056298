// Which addresses lab tools may send traffic to: loopback and the lab's own pod network, nothing else.
import net from 'node:net';

export function parseIPv4(ip: string): number | undefined {
  if (!net.isIPv4(ip)) return undefined;
  return ip.split('.').reduce((acc, part) => acc * 256 + Number(part), 0);
}

export function inCidr(ip: string, cidr: string): boolean {
  const [base, bitsText] = cidr.split('/');
  const addr = parseIPv4(ip);
  const baseAddr = parseIPv4(base ?? '');
  const bits = Number(bitsText);
  if (addr === undefined || baseAddr === undefined || !Number.isInteger(bits) || bits < 0 || bits > 32)
    return false;
  if (bits === 0) return true;
  const size = 2 ** (32 - bits);
  return Math.floor(addr / size) === Math.floor(baseAddr / size);
}

export const loopbackCidr = '127.0.0.0/8';

export function inAnyCidr(ip: string, cidrs: readonly string[]): boolean {
  return cidrs.some((c) => inCidr(ip, c));
}
