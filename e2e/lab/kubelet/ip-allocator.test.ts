import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { allocateIp, intToIp, ipToInt, IpamStore, parseCidr, releaseIp, retainPods, type IpamState } from './ip-allocator.ts';

describe('IP allocation', () => {
  test('ip <-> int', () => {
    expect(ipToInt('10.244.1.2')).toBe(10 * 2 ** 24 + 244 * 2 ** 16 + 258);
    expect(intToIp(ipToInt('10.244.3.254'))).toBe('10.244.3.254');
  });

  test('parseCidr rejects host bits and bad prefixes with a fix in the message', () => {
    expect(parseCidr('10.244.1.0/24')).toEqual({ network: ipToInt('10.244.1.0'), prefix: 24 });
    expect(() => parseCidr('10.244.1.5/24')).toThrow(/use 10.244.1.0\/24/);
    expect(() => parseCidr('10.244.1.0')).toThrow(expect.objectContaining({ code: 'CIDR_INVALID' }));
  });

  test('skips .0 and .1, hands out round robin, is idempotent per pod', () => {
    let s: IpamState = { allocations: {} };
    const a = allocateIp(s, '10.244.1.0/24', 'a');
    expect(a.ip).toBe('10.244.1.2');
    s = a.state;
    expect(allocateIp(s, '10.244.1.0/24', 'a').ip).toBe('10.244.1.2');
    const b = allocateIp(s, '10.244.1.0/24', 'b');
    expect(b.ip).toBe('10.244.1.3');
    s = releaseIp(b.state, 'a');
    // .2 is free again but not reused right away.
    expect(allocateIp(s, '10.244.1.0/24', 'c').ip).toBe('10.244.1.4');
  });

  test('wraps around and fails with IP_EXHAUSTED when full', () => {
    let s: IpamState = { allocations: {} };
    for (let i = 0; i < 5; i++) s = allocateIp(s, '10.244.1.0/29', `p${i}`).state; // usable: .2 … .6
    expect(Object.keys(s.allocations)).toEqual(['10.244.1.2', '10.244.1.3', '10.244.1.4', '10.244.1.5', '10.244.1.6']);
    expect(() => allocateIp(s, '10.244.1.0/29', 'x')).toThrow(expect.objectContaining({ code: 'IP_EXHAUSTED' }));
    s = releaseIp(s, 'p1');
    expect(allocateIp(s, '10.244.1.0/29', 'x').ip).toBe('10.244.1.3');
  });

  test('retainPods drops allocations of pods that are gone', () => {
    const s: IpamState = { allocations: { '10.244.1.2': 'a', '10.244.1.3': 'b' }, last: '10.244.1.3' };
    expect(retainPods(s, new Set(['b'])).allocations).toEqual({ '10.244.1.3': 'b' });
  });

  test('IpamStore persists so a restarted kubelet does not reuse a live address', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ipam-'));
    const one = new IpamStore(dir, 'n1', '10.244.1.0/24');
    expect(one.allocate('a')).toBe('10.244.1.2');
    const two = new IpamStore(dir, 'n1', '10.244.1.0/24');
    expect(two.allocate('b')).toBe('10.244.1.3');
    expect(two.allocate('a')).toBe('10.244.1.2');
    fs.rmSync(dir, { recursive: true });
  });
});
