import fs from 'node:fs';
import path from 'node:path';
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
      expect(names).toEqual(['model', 'version']);
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

  it('groups requests per second by status class (2xx/4xx/5xx), not by code', () => {
    const p = panel('Requests per second');
    const expr = p.targets![0]!.expr;
    expect(expr).toContain('sum by (version, status_class)');
    expect(expr).toContain('label_replace(');
    expect(expr).toContain('"status_class", "${1}xx", "status", "([0-9])[0-9][0-9]"');
  });
});
