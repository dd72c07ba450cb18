import fs from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { DASHBOARD_DIR, renderDashboards, repositoryRoot } from '../../../monitoring/grafana/generate';

interface Panel {
  type: string;
  title: string;
  description?: string;
  fieldConfig?: { defaults?: { unit?: string } };
  targets?: { expr: string; refId?: string }[];
}

const rendered = renderDashboards();
const dashboards = Object.entries(rendered).map(([file, text]) => [file, JSON.parse(text)] as const);

describe('generated Grafana dashboards', () => {
  it.each(Object.keys(rendered))('%s is committed and up to date (run `npm run dashboards`)', (file) => {
    const committed = fs.readFileSync(path.join(repositoryRoot(__dirname), DASHBOARD_DIR, file), 'utf8');
    expect(committed).toBe(rendered[file]);
  });

  it.each(dashboards)(
    '%s has model and version variables and a unit and query on every panel',
    (_file, d) => {
      const names = d.templating.list.map((v: { name: string }) => v.name);
      expect(names).toEqual(['datasource', 'model', 'version']);
      const panels = (d.panels as Panel[]).filter((p) => p.type !== 'row');
      expect(panels.length).toBeGreaterThanOrEqual(6);
      for (const p of panels) {
        expect(p.description).toMatch(/\S/);
        expect(p.fieldConfig?.defaults?.unit).toMatch(/\S/);
        expect(p.targets?.length).toBeGreaterThan(0);
        for (const t of p.targets ?? []) expect(t.expr).toMatch(/modelgate|^up\{/);
      }
    },
  );

  it('breaks every A/B experiment panel down by version', () => {
    const ab = dashboards.find(([file]) => file === 'ab-experiment.json')![1];
    for (const p of (ab.panels as Panel[]).filter((x) => x.type !== 'row')) {
      // the verdict panels are per candidate (a version against the control)
      for (const t of p.targets ?? [])
        expect(`${p.title}: ${t.expr}`).toMatch(/version|model_version:|candidate/);
    }
  });
});

describe('A/B experiment panels keep their promises', () => {
  const ab = dashboards.find(([file]) => file === 'ab-experiment.json')![1];
  const panel = (title: string) =>
    (ab.panels as (Panel & { fieldConfig: any })[]).find((p) => p.title === title)!;

  it('draws the configured weight dashed (an override on its query)', () => {
    const p = panel('Configured weight vs actual share');
    const configured = p.targets!.find((t) => t.expr.includes('traffic_weight_percent'))!;
    const override = p.fieldConfig.overrides.find(
      (o: { matcher: { id: string; options: string } }) =>
        o.matcher.id === 'byFrameRefID' && o.matcher.options === configured.refId,
    );
    expect(override.properties).toEqual([
      { id: 'custom.lineStyle', value: { fill: 'dash', dash: [10, 10] } },
    ]);
  });

  it('marks experiment starts and stops at their own time, from the registry gauge', () => {
    const marker = (ab.annotations.list as Record<string, unknown>[]).find(
      (a) => a.name === 'experiment started or stopped',
    );
    expect(marker).toMatchObject({
      useValueForTime: true,
      titleFormat: 'experiment of {{model}} {{change}}',
      datasource: { type: 'prometheus', uid: GRAFANA_VARIABLE },
    });
    // seconds on the wire, milliseconds for "series value as timestamp"
    expect(marker?.expr).toMatch(
      /^max by \(model, change\) \(modelgate_experiment_last_change_seconds\{model="\$model"\}\) \* 1000$/,
    );
  });

  it('groups requests per second by status class (2xx/4xx/5xx), not by code', () => {
    const p = panel('Requests per second');
    const expr = p.targets![0]!.expr;
    expect(expr).toContain('sum by (version, status_class)');
    expect(expr).toContain('label_replace(');
    expect(expr).toContain('"status_class", "${1}xx", "status", "([0-9])[0-9][0-9]"');
  });
});

/** Every `datasource` reference anywhere in a dashboard, with where it sits. */
function datasourceRefs(node: unknown, where = '$'): [string, unknown][] {
  if (Array.isArray(node)) return node.flatMap((x, i) => datasourceRefs(x, `${where}[${i}]`));
  if (node === null || typeof node !== 'object') return [];
  return Object.entries(node).flatMap(([k, v]) => [
    ...(k === 'datasource' ? ([[`${where}.${k}`, v]] as [string, unknown][]) : []),
    ...datasourceRefs(v, `${where}.${k}`),
  ]);
}

/** Grafana's own placeholders, written as Grafana writes them (not JavaScript templates). */
const GRAFANA_VARIABLE = ['$', '{datasource}'].join('');
const IMPORT_PLACEHOLDER = ['$', '{DS_PROMETHEUS}'].join('');

describe('dashboards work provisioned by compose and imported into an existing Grafana', () => {
  const VARIABLE_REF = { type: 'prometheus', uid: GRAFANA_VARIABLE };

  it.each(dashboards)('%s reads its datasource from the datasource variable everywhere', (_file, d) => {
    const refs = datasourceRefs(d);
    // panels, their queries, the model/version variables and annotations
    expect(refs.length).toBeGreaterThan(d.panels.length);
    expect(refs.filter(([, ref]) => JSON.stringify(ref) !== JSON.stringify(VARIABLE_REF))).toEqual([]);
    const variable = d.templating.list[0];
    expect(variable).toMatchObject({ type: 'datasource', name: 'datasource', query: 'prometheus' });
  });

  it.each(Object.entries(rendered))(
    '%s declares a Prometheus import input, and importing it points the variable at the chosen one',
    (_file, text) => {
      const d = JSON.parse(text);
      expect(d.__inputs).toEqual([
        expect.objectContaining({ name: 'DS_PROMETHEUS', type: 'datasource', pluginId: 'prometheus' }),
      ]);
      expect(d.__requires).toEqual(
        expect.arrayContaining([expect.objectContaining({ type: 'datasource', id: 'prometheus' })]),
      );
      // What Grafana's import does: substitute each declared input, nothing else.
      const imported = JSON.parse(text.replaceAll(IMPORT_PLACEHOLDER, 'their-prometheus'));
      expect(JSON.stringify(imported)).not.toMatch(/\$\{DS_/);
      expect(imported.templating.list[0].current.value).toBe('their-prometheus');
      // and no panel still names the compose datasource's uid
      expect(datasourceRefs(imported).map(([, ref]) => (ref as { uid: string }).uid)).not.toContain(
        'prometheus',
      );
    },
  );

  it('leaves the variable to the provisioned default Prometheus under compose', () => {
    const file = path.join(
      repositoryRoot(__dirname),
      'monitoring',
      'grafana',
      'provisioning',
      'datasources',
      'prometheus.yml',
    );
    const provisioned = parseYaml(fs.readFileSync(file, 'utf8')) as {
      datasources: { type: string; isDefault?: boolean; uid: string }[];
    };
    // The placeholder names no provisioned datasource, so Grafana picks the default one of the type.
    const defaults = provisioned.datasources.filter((ds) => ds.type === 'prometheus' && ds.isDefault);
    expect(defaults).toHaveLength(1);
    for (const [, d] of dashboards) {
      expect(provisioned.datasources.map((ds) => ds.uid)).not.toContain(d.templating.list[0].current.value);
    }
  });
});
