// The committed monitoring files are what deploy/monitoring/generate.ts writes now: the rule file,
// its PrometheusRule form, the dashboards, and the chart's copies under charts/onnx-operator/files/.
import { expect, test } from '@jest/globals';
import { parse } from 'yaml';
import { generatedFiles, staleFiles } from './generate.ts';

test('no generated file is stale (else: node deploy/monitoring/generate.ts)', () => {
  expect(staleFiles()).toEqual([]);
});

test('the chart gets the same rule file and dashboards as deploy/monitoring/', () => {
  const files = generatedFiles();
  const chart = [...files.keys()].filter((k) => k.startsWith('charts/onnx-operator/files/'));
  expect(chart.length).toBe(5);
  for (const k of chart) expect(files.get(k)).toBe(files.get(k.replace('charts/onnx-operator/files/', 'deploy/monitoring/')));
});

test('the PrometheusRule carries the rule file\'s groups', () => {
  const files = generatedFiles();
  const plain = parse(files.get('deploy/monitoring/prometheus-rules.yaml') ?? '') as { groups: unknown[] };
  const cr = parse(files.get('deploy/monitoring/prometheus-rule.yaml') ?? '') as { kind: string; spec: { groups: unknown[] } };
  expect(cr.kind).toBe('PrometheusRule');
  expect(cr.spec.groups).toEqual(plain.groups);
});
