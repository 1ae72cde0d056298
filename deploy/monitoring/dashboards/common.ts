// What the four dashboards share: the Prometheus data-source variable, the namespace / model /
// revision variables, the series selector built from them, and small panel builders over the Grafana
// Foundation SDK's typed builders (the SDK lays panels out; rows group them).
import { DashboardBuilder, DatasourceVariableBuilder, QueryVariableBuilder, RowBuilder, ThresholdsConfigBuilder, ThresholdsMode, VariableRefresh, VariableSort, type Threshold } from '@grafana/grafana-foundation-sdk/dashboard';
import { GraphThresholdsStyleConfigBuilder, GraphThresholdsStyleMode, LegendDisplayMode, LegendPlacement, VizLegendOptionsBuilder } from '@grafana/grafana-foundation-sdk/common';
import { PanelBuilder as HeatmapPanel } from '@grafana/grafana-foundation-sdk/heatmap';
import { DataqueryBuilder, PromQueryFormat } from '@grafana/grafana-foundation-sdk/prometheus';
import { PanelBuilder as StatPanel } from '@grafana/grafana-foundation-sdk/stat';
import { PanelBuilder as TablePanel } from '@grafana/grafana-foundation-sdk/table';
import { PanelBuilder as TimeseriesPanel } from '@grafana/grafana-foundation-sdk/timeseries';
import { METRIC_LABEL_MODEL, METRIC_LABEL_NAMESPACE, METRIC_LABEL_REVISION, RUNTIME } from '../names.ts';

export const DATASOURCE = { type: 'prometheus', uid: '${datasource}' };
/** Every runtime series of the selected model and revisions. */
export const SEL = `${METRIC_LABEL_NAMESPACE}=~"$namespace", ${METRIC_LABEL_MODEL}=~"$model", ${METRIC_LABEL_REVISION}=~"$revision"`;
export const RATE = '$__rate_interval';

export interface Query {
  expr: string;
  legend?: string;
  /** An instant query (tables, stats of "now"). */
  instant?: boolean;
  format?: 'heatmap' | 'table';
}

function target(q: Query, i: number): DataqueryBuilder {
  const t = new DataqueryBuilder().expr(q.expr).refId(String.fromCharCode(65 + i)).datasource(DATASOURCE);
  if (q.legend) t.legendFormat(q.legend);
  if (q.instant) t.instant();
  else t.range();
  if (q.format === 'heatmap') t.format(PromQueryFormat.Heatmap);
  if (q.format === 'table') t.format(PromQueryFormat.Table);
  return t;
}

export interface PanelOpts {
  unit?: string;
  description: string;
  /** Threshold lines/colours (absolute values, ascending). */
  thresholds?: { value: number; color: string }[];
  min?: number;
  max?: number;
  span?: number;
  height?: number;
}

function thresholds(steps: { value: number; color: string }[] | undefined): ThresholdsConfigBuilder {
  const all: Threshold[] = [{ value: null, color: 'green' }, ...(steps ?? [])];
  return new ThresholdsConfigBuilder().mode(ThresholdsMode.Absolute).steps(all);
}

type AnyPanel = TimeseriesPanel | StatPanel | TablePanel | HeatmapPanel;
function common<P extends AnyPanel>(p: P, title: string, queries: Query[], o: PanelOpts): P {
  p.title(title).description(o.description).datasource(DATASOURCE).span(o.span ?? 12).height(o.height ?? 8);
  queries.forEach((q, i) => p.withTarget(target(q, i)));
  if (o.unit) p.unit(o.unit);
  if (o.min !== undefined) p.min(o.min);
  if (o.max !== undefined) p.max(o.max);
  p.thresholds(thresholds(o.thresholds));
  return p;
}

export const timeseries = (title: string, queries: Query[], o: PanelOpts) => {
  const p = common(new TimeseriesPanel(), title, queries, o).legend(new VizLegendOptionsBuilder().showLegend(true).displayMode(LegendDisplayMode.List).placement(LegendPlacement.Bottom));
  return o.thresholds ? p.thresholdsStyle(new GraphThresholdsStyleConfigBuilder().mode(GraphThresholdsStyleMode.Dashed)) : p;
};
export const stat = (title: string, queries: Query[], o: PanelOpts) => common(new StatPanel(), title, queries, { span: 6, height: 4, ...o });
export const table = (title: string, queries: Query[], o: PanelOpts) => common(new TablePanel(), title, queries.map((q) => ({ ...q, instant: true, format: 'table' as const })), o);
export const heatmap = (title: string, queries: Query[], o: PanelOpts) => common(new HeatmapPanel(), title, queries.map((q) => ({ ...q, format: 'heatmap' as const })), o).calculate(false);

export const row = (title: string) => new RowBuilder(title);

function queryVariable(name: string, label: string, query: string, multi: boolean): QueryVariableBuilder {
  const v = new QueryVariableBuilder(name).label(label).datasource(DATASOURCE).query({ query, refId: 'PrometheusVariableQueryEditor-VariableQuery', qryType: 1 }).definition(query).refresh(VariableRefresh.OnTimeRangeChanged).sort(VariableSort.AlphabeticalAsc);
  if (multi) v.multi(true).includeAll(true).allValue('.*');
  return v;
}

/** Namespace and served model name (single), revision (several, all by default). */
export function modelVariables(): QueryVariableBuilder[] {
  const ready = RUNTIME.modelReady;
  return [
    queryVariable('namespace', 'Namespace', `label_values(${ready}, ${METRIC_LABEL_NAMESPACE})`, false),
    queryVariable('model', 'Model', `label_values(${ready}{${METRIC_LABEL_NAMESPACE}=~"$namespace"}, ${METRIC_LABEL_MODEL})`, false),
    queryVariable('revision', 'Revision', `label_values(${ready}{${METRIC_LABEL_NAMESPACE}=~"$namespace", ${METRIC_LABEL_MODEL}=~"$model"}, ${METRIC_LABEL_REVISION})`, true),
  ];
}

export function objectVariable(): QueryVariableBuilder {
  // The OnnxModel's name (the operator's series call it `name`): the scrape's onnx_model label.
  return queryVariable('object', 'OnnxModel', `label_values(${RUNTIME.modelReady}{${METRIC_LABEL_NAMESPACE}=~"$namespace", ${METRIC_LABEL_MODEL}=~"$model"}, onnx_model)`, false);
}

export function dashboard(uid: string, title: string, description: string): DashboardBuilder {
  const d = new DashboardBuilder(title)
    .uid(uid)
    .description(description)
    .tags(['onnx-operator', 'generated'])
    .time({ from: 'now-1h', to: 'now' })
    .refresh('30s')
    .timezone('browser')
    .editable()
    .withVariable(new DatasourceVariableBuilder('datasource').label('Prometheus').type('prometheus'));
  for (const v of modelVariables()) d.withVariable(v);
  return d;
}

export type Thresholds = PanelOpts['thresholds'];
