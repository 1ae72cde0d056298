import { describe, expect, test } from '@jest/globals';
import { prometheusConfig } from './prometheus.ts';
import { pkiFiles } from './pki.ts';
import { labNetwork, labNodes } from './lab-config.ts';

type Relabel = { source_labels?: string[]; action?: string; regex?: string };

describe('lab Prometheus config', () => {
  const config = prometheusConfig('https://127.0.0.1:1', pkiFiles('/pki')) as {
    scrape_configs: { job_name: string; relabel_configs: Relabel[] }[];
  };
  const pods = config.scrape_configs.find((c) => c.job_name === 'kubernetes-pods');

  test('keeps only pod addresses inside the lab pod network', () => {
    const guard = pods?.relabel_configs.find((r) => r.source_labels?.[0] === '__meta_kubernetes_pod_ip' && r.action === 'keep');
    const re = new RegExp(`^(?:${guard?.regex ?? 'x^'})$`);
    expect(re.test('10.244.1.7')).toBe(true);
    expect(re.test('10.245.1.7')).toBe(false);
    expect(re.test('192.168.1.7')).toBe(false);
    expect(re.test('127.0.0.1')).toBe(false);
  });

  test('static targets are limited to loopback', () => {
    const loop = config.scrape_configs.find((c) => c.job_name === 'lab-loopback');
    const re = new RegExp(`^(?:${loop?.relabel_configs[0]?.regex ?? 'x^'})$`);
    expect(re.test('127.0.0.1:9464')).toBe(true);
    expect(re.test('10.0.0.1:9464')).toBe(false);
  });

  test('every node pod CIDR lies inside the pod network and they do not overlap', () => {
    const prefix = labNetwork.podNetwork.split('.').slice(0, 2).join('.');
    const thirds = labNodes.map((n) => {
      expect(n.podCIDR.startsWith(`${prefix}.`)).toBe(true);
      expect(n.podCIDR.endsWith('.0/24')).toBe(true);
      return n.podCIDR.split('.')[2];
    });
    expect(new Set(thirds).size).toBe(labNodes.length);
    expect(thirds).not.toContain('0'); // x.x.0.0/24 holds the bridge and node addresses
  });
});
