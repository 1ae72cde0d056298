// The PromQL of a generated dashboard, panel by panel, and Grafana's variable substitution as the
// tests need it: the unit test checks every query parses (promtool), the lab test that each returns
// data.
export interface PanelQuery {
  dashboard: string;
  panel: string;
  refId: string;
  expr: string;
}

interface JsonPanel {
  type?: string;
  title?: string;
  panels?: JsonPanel[];
  targets?: { expr?: string; refId?: string }[];
}

/** Every target of every panel (rows' nested panels included); rows themselves carry none. */
export function panelQueries(dashboard: { title?: string; panels?: JsonPanel[] }): PanelQuery[] {
  const flat = (dashboard.panels ?? []).flatMap((p) => [p, ...(p.panels ?? [])]);
  return flat.filter((p) => p.type !== 'row').flatMap((p) => (p.targets ?? []).map((t) => ({ dashboard: dashboard.title ?? '', panel: p.title ?? '', refId: t.refId ?? '', expr: t.expr ?? '' })));
}

/** Panels (rows aside) of a dashboard. */
export function panelsOf(dashboard: { panels?: JsonPanel[] }): JsonPanel[] {
  return (dashboard.panels ?? []).flatMap((p) => [p, ...(p.panels ?? [])]).filter((p) => p.type !== 'row');
}

/** Replaces `$name` and `${name}` (longest names first, so `$__rate_interval` is not `$__rate`). */
export function substitute(expr: string, values: Record<string, string>): string {
  let out = expr;
  for (const name of Object.keys(values).sort((a, b) => b.length - a.length)) {
    out = out.split(`\${${name}}`).join(values[name] ?? '').split(`$${name}`).join(values[name] ?? '');
  }
  return out;
}

/** Variables still unsubstituted in an expression. */
export function leftoverVariables(expr: string): string[] {
  return [...expr.matchAll(/\$\{?([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1] ?? '').filter((v) => !/^\d/.test(v));
}
