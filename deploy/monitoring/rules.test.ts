// The shipped rules through the real promtool (built from the lab's pinned Prometheus module):
// `check rules` on the generated file and on the lab test's seconds variant, and `test rules` on
// every case of rules-cases.ts; each alert has a case that fires it and one that must not. Every
// alert carries a severity and a runbook_url whose section exists in docs/runbooks.md.
import { describe, expect, test } from '@jest/globals';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generatedFiles, repoRoot, ruleFileYaml } from './generate.ts';
import { OPERATOR, RUNTIME } from './names.ts';
import { promtool } from './promtool.ts';
import { promtoolTestFile, RULE_CASES } from './rules-cases.ts';
import { alertSpecs, DEFAULT_ALERT_CONFIG, prometheusRules, promDuration, runbookAnchor, SEVERITIES, type AlertingRule } from './rules.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'onnxop-rules-'));
const ruleFile = path.join(tmp, 'prometheus-rules.yaml');
fs.writeFileSync(ruleFile, generatedFiles().get('deploy/monitoring/prometheus-rules.yaml') ?? '');
const alerts = prometheusRules().groups.flatMap((g) => g.rules).filter((r): r is AlertingRule => 'alert' in r);

describe('the generated rule file', () => {
  test('promtool check rules accepts it, the lab variant (windows / 30) too', () => {
    const shipped = promtool(['check', 'rules', ruleFile]);
    expect(shipped.output).toContain('SUCCESS');
    expect(shipped.status).toBe(0);
    const variantFile = path.join(tmp, 'variant.yaml');
    fs.writeFileSync(variantFile, ruleFileYaml(prometheusRules({ ...DEFAULT_ALERT_CONFIG, timeScale: 30 })));
    const variant = promtool(['check', 'rules', variantFile]);
    expect(variant.output).toContain('SUCCESS');
    expect(variant.status).toBe(0);
  });

  test('every alert has a guide level as severity and a runbook_url to its section of docs/runbooks.md', () => {
    const runbooks = fs.readFileSync(path.join(repoRoot, 'docs/runbooks.md'), 'utf8');
    const headings = new Set([...runbooks.matchAll(/^### (.+)$/gm)].map((m) => runbookAnchor(m[1] ?? '')));
    expect(alerts.length).toBe(alertSpecs().length);
    expect(alerts.length).toBeGreaterThanOrEqual(15);
    for (const a of alerts) {
      expect(SEVERITIES).toContain(a.labels.severity);
      expect(a.annotations.runbook_url).toBe(`${DEFAULT_ALERT_CONFIG.runbookUrl}#${runbookAnchor(a.alert)}`);
      expect([a.alert, headings.has(runbookAnchor(a.alert))]).toEqual([a.alert, true]);
      expect(a.annotations.summary).toBeTruthy();
      expect(a.annotations.description).toBeTruthy();
    }
  });

  test('each runbook section says what it means, its impact, how to diagnose and how to mitigate', () => {
    const runbooks = fs.readFileSync(path.join(repoRoot, 'docs/runbooks.md'), 'utf8');
    for (const a of alerts) {
      const start = runbooks.indexOf(`### ${a.alert}\n`);
      const end = runbooks.indexOf('\n### ', start + 1);
      const section = runbooks.slice(start, end === -1 ? undefined : end);
      for (const part of ['**Meaning**', '**Impact**', '**Diagnosis**', '**Mitigation**']) expect([a.alert, section.includes(part)]).toEqual([a.alert, true]);
    }
  });

  test('every metric the rules and dashboards name is documented in docs/metrics.md', () => {
    const doc = fs.readFileSync(path.join(repoRoot, 'docs/metrics.md'), 'utf8');
    for (const name of [...Object.values(RUNTIME), ...Object.values(OPERATOR)]) {
      // `onnxop_feature_mean` / `_std` / `_min` / `_max` share a row; process metrics are `onnxop_process_*`.
      const sibling = /^onnxop_feature_(std|min|max)$/.exec(name);
      const documented = doc.includes(`\`${name}\``) || (sibling !== null && doc.includes(`\`_${sibling[1]}\``)) || (name.startsWith('onnxop_process_') && doc.includes('`onnxop_process_*`'));
      expect([name, documented]).toEqual([name, true]);
    }
  });

  test('durations print as Prometheus reads them', () => {
    expect([300, 3600, 259200, 10, 144, 8640, 0.5].map(promDuration)).toEqual(['5m', '1h', '3d', '10s', '144s', '144m', '500ms']);
  });
});

describe('promtool test rules', () => {
  test('every alert has a case that fires it and a case where it must stay quiet', () => {
    for (const a of alertSpecs()) {
      const expectations = RULE_CASES.flatMap((c) => c.alerts).filter((e) => e.alertname === a.alert);
      expect([a.alert, expectations.some((e) => e.fire.length > 0), expectations.some((e) => e.fire.length === 0)]).toEqual([a.alert, true, true]);
    }
  });

  test.each(RULE_CASES.map((c, i) => [c.name, i] as const))('%s', (_name, i) => {
    const c = RULE_CASES[i];
    if (!c) throw new Error('no case');
    const file = path.join(tmp, `case-${i}.json`);
    fs.writeFileSync(file, JSON.stringify(promtoolTestFile(c, ruleFile), null, 1));
    const r = promtool(['test', 'rules', file]);
    if (r.status !== 0) throw new Error(`promtool test rules failed:\n${r.output}`);
    expect(r.output).toContain('SUCCESS');
  });
});
