/** Shared pieces of the modelgate dashboards: the Prometheus datasource, the datasource, model and
 * version template variables, and panel builders with units and thresholds set, so every dashboard
 * reads alike. */
import * as common from '@grafana/grafana-foundation-sdk/common';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as prometheus from '@grafana/grafana-foundation-sdk/prometheus';
import * as stat from '@grafana/grafana-foundation-sdk/stat';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';

/** Every panel, query, variable and annotation reads the `datasource` template variable, never a
 * fixed uid, so one JSON works both ways: provisioned by compose, the variable resolves to the
 * default Prometheus (provisioning/datasources/prometheus.yml); imported into an existing Grafana,
 * the import form asks for a Prometheus (`__inputs`) and writes its uid into the variable. */
// biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax, expanded by Grafana
export const DATASOURCE: common.DataSourceRef = { type: 'prometheus', uid: '${datasource}' };

/** The import input Grafana substitutes into `${DS_PROMETHEUS}` when the JSON is imported. */
const IMPORT_INPUT = 'DS_PROMETHEUS';

function datasourceVariable(): dashboard.DatasourceVariableBuilder {
  return (
    new dashboard.DatasourceVariableBuilder('datasource')
      .label('Prometheus')
      .type('prometheus')
      // Imported: the chosen datasource. Provisioned, the placeholder names no datasource, so Grafana
      // falls back to the default Prometheus.
      .current({ text: 'Prometheus', value: `\${${IMPORT_INPUT}}` })
  );
}

/** `__inputs` and `__requires`, as Grafana's own "Export for sharing externally" writes them. */
export function importSection() {
  return {
    __inputs: [
      {
        name: IMPORT_INPUT,
        label: 'Prometheus',
        description: 'The Prometheus that scrapes the modelgate gateway, registry and model-servers',
        type: 'datasource',
        pluginId: 'prometheus',
        pluginName: 'Prometheus',
      },
    ],
    __requires: [
      { type: 'grafana', id: 'grafana', name: 'Grafana', version: '10.0.0' },
      { type: 'datasource', id: 'prometheus', name: 'Prometheus', version: '1.0.0' },
      { type: 'panel', id: 'stat', name: 'Stat', version: '' },
      { type: 'panel', id: 'timeseries', name: 'Time series', version: '' },
    ],
  };
}

/** Selector for the chosen model and versions; every per-version query uses it. */
export const SEL = 'model="$model",version=~"$version"';

export function modelVariable(): dashboard.QueryVariableBuilder {
  return new dashboard.QueryVariableBuilder('model')
    .label('model')
    .datasource(DATASOURCE)
    .query('label_values(modelgate_gateway_traffic_weight_percent, model)')
    .definition('label_values(modelgate_gateway_traffic_weight_percent, model)')
    .refresh(dashboard.VariableRefresh.OnTimeRangeChanged)
    .sort(dashboard.VariableSort.AlphabeticalAsc);
}

export function versionVariable(): dashboard.QueryVariableBuilder {
  return new dashboard.QueryVariableBuilder('version')
    .label('version')
    .datasource(DATASOURCE)
    .query('label_values(modelgate_gateway_traffic_weight_percent{model="$model"}, version)')
    .definition('label_values(modelgate_gateway_traffic_weight_percent{model="$model"}, version)')
    .refresh(dashboard.VariableRefresh.OnTimeRangeChanged)
    .sort(dashboard.VariableSort.NaturalAsc)
    .multi(true)
    .includeAll(true)
    .allValue('.*');
}

export function query(
  expr: string,
  legend: string,
  opts: { instant?: boolean } = {},
): prometheus.DataqueryBuilder {
  const q = new prometheus.DataqueryBuilder().datasource(DATASOURCE).expr(expr).legendFormat(legend);
  return opts.instant ? q.instant() : q.range();
}

/** Threshold steps from a base colour and [value, colour] pairs, ascending. */
export function thresholds(base: string, steps: [number, string][] = []): dashboard.ThresholdsConfigBuilder {
  return new dashboard.ThresholdsConfigBuilder()
    .mode(dashboard.ThresholdsMode.Absolute)
    .steps([{ value: null, color: base }, ...steps.map(([value, color]) => ({ value, color }))]);
}

export interface PanelSpec {
  title: string;
  description: string;
  unit: string;
  queries: prometheus.DataqueryBuilder[];
  width?: number;
  height?: number;
  thresholds?: dashboard.ThresholdsConfigBuilder;
  min?: number;
  max?: number;
}

export function timeseriesPanel(spec: PanelSpec & { stack?: boolean; showThresholds?: boolean }) {
  const panel = new timeseries.PanelBuilder()
    .title(spec.title)
    .description(spec.description)
    .datasource(DATASOURCE)
    .unit(spec.unit)
    .span(spec.width ?? 12)
    .height(spec.height ?? 8)
    .lineWidth(2)
    .fillOpacity(spec.stack ? 60 : 10)
    .legend(
      new common.VizLegendOptionsBuilder()
        .showLegend(true)
        .displayMode(common.LegendDisplayMode.Table)
        .placement(common.LegendPlacement.Bottom)
        .calcs(['lastNotNull', 'mean', 'max']),
    )
    .tooltip(
      new common.VizTooltipOptionsBuilder()
        .mode(common.TooltipDisplayMode.Multi)
        .sort(common.SortOrder.Descending),
    );
  for (const [i, q] of spec.queries.entries()) panel.withTarget(q.refId(String.fromCharCode(65 + i)));
  if (spec.thresholds) panel.thresholds(spec.thresholds);
  if (spec.showThresholds) {
    panel.thresholdsStyle(
      new common.GraphThresholdsStyleConfigBuilder().mode(common.GraphThresholdsStyleMode.DashedAndArea),
    );
  }
  if (spec.stack) panel.stacking(new common.StackingConfigBuilder().mode(common.StackingMode.Normal));
  if (spec.min !== undefined) panel.min(spec.min);
  if (spec.max !== undefined) panel.max(spec.max);
  return panel;
}

export function statPanel(spec: PanelSpec & { mappings?: dashboard.ValueMapping[] }) {
  const panel = new stat.PanelBuilder()
    .title(spec.title)
    .description(spec.description)
    .datasource(DATASOURCE)
    .unit(spec.unit)
    .span(spec.width ?? 6)
    .height(spec.height ?? 5)
    .colorMode(common.BigValueColorMode.Background)
    .graphMode(common.BigValueGraphMode.Area)
    .textMode(common.BigValueTextMode.ValueAndName)
    .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false));
  for (const [i, q] of spec.queries.entries()) panel.withTarget(q.refId(String.fromCharCode(65 + i)));
  if (spec.thresholds) panel.thresholds(spec.thresholds);
  if (spec.mappings) panel.mappings(spec.mappings);
  if (spec.min !== undefined) panel.min(spec.min);
  if (spec.max !== undefined) panel.max(spec.max);
  return panel;
}

export function newDashboard(uid: string, title: string, description: string): dashboard.DashboardBuilder {
  return new dashboard.DashboardBuilder(title)
    .uid(uid)
    .description(description)
    .tags(['modelgate'])
    .editable()
    .refresh('30s')
    .time({ from: 'now-1h', to: 'now' })
    .timezone('browser')
    .tooltip(dashboard.DashboardCursorSync.Crosshair)
    .withVariable(datasourceVariable())
    .withVariable(modelVariable())
    .withVariable(versionVariable());
}
