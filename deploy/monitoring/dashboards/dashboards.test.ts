// The generated dashboards: the guide's four, each with the data-source, namespace, model and
// revision variables; every panel has a query, every query filters by the selected model (or says
// why not), and with the variables substituted every query is valid PromQL to the real promtool.
import { describe, expect, test } from '@jest/globals';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promtool } from '../promtool.ts';
import { dashboards } from './index.ts';
import { leftoverVariables, panelQueries, panelsOf, substitute } from './queries.ts';

const built = dashboards();
/** Panels that cannot filter by model: operator-wide counters (said in the title), a user's business counter (by revision). */
const WITHOUT_MODEL = ['Analysis verdicts (all models of the operator)', 'Finished rollouts (all models of the operator)', 'Business counter by revision'];
const TEST_VALUES = { namespace: 'ns', model: 'm', revision: '.*', object: 'm', __rate_interval: '1m', __range: '1h', quality_window: '1h', proxy_counter: 'onnxop_predictions_logged_total', datasource: 'prom' };

describe('dashboards', () => {
  test('the guide\'s four, with unique uids', () => {
    expect(built.map((d) => d.json.title)).toEqual(['ONNX models / Operational overview', 'ONNX models / Model health', 'ONNX models / Business impact', 'ONNX models / Model comparison']);
    expect(new Set(built.map((d) => d.json.uid)).size).toBe(4);
  });

  test.each(built.map((d) => [d.file, d] as const))('%s: variables for data source, namespace, model and revision', (_f, d) => {
    const vars = (d.json.templating?.list ?? []).map((v) => v.name);
    expect(vars).toEqual(expect.arrayContaining(['datasource', 'namespace', 'model', 'revision']));
    const revision = d.json.templating?.list?.find((v) => v.name === 'revision');
    expect(revision).toMatchObject({ multi: true, includeAll: true, allValue: '.*' });
  });

  test.each(built.map((d) => [d.file, d] as const))('%s: every panel has a title, a description and a Prometheus query on the variables', (_f, d) => {
    const panels = panelsOf(d.json as never);
    expect(panels.length).toBeGreaterThanOrEqual(8);
    for (const p of panelsOf(d.json as never)) {
      expect([p.title, (p.targets ?? []).length > 0]).toEqual([p.title, true]);
    }
    for (const q of panelQueries(d.json as never)) {
      const filtered = q.expr.includes('namespace=~"$namespace"') && (q.expr.includes('$model') || q.expr.includes('$object'));
      expect([q.panel, filtered || WITHOUT_MODEL.includes(q.panel)]).toEqual([q.panel, true]);
      expect(leftoverVariables(substitute(q.expr, TEST_VALUES))).toEqual([]);
    }
  });

  test('every query is valid PromQL (promtool check rules, variables substituted)', () => {
    const queries = built.flatMap((d) => panelQueries(d.json as never));
    const rules = { groups: [{ name: 'dashboard-queries', rules: queries.map((q, i) => ({ record: `dashboard_query_${i}`, expr: substitute(q.expr, TEST_VALUES) })) }] };
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'onnxop-dash-')), 'queries.json');
    fs.writeFileSync(file, JSON.stringify(rules));
    const r = promtool(['check', 'rules', file]);
    expect(r.output).toContain(`SUCCESS: ${queries.length} rules found`);
    expect(r.status).toBe(0);
  });
});
