/** Writes the Grafana dashboards built in dashboards/*.ts to committed JSON (`npm run dashboards`).
 * tests/unit/monitoring/dashboards.test.ts rebuilds them in memory and fails when the JSON is stale. */
import fs from 'node:fs';
import path from 'node:path';
import { abExperimentDashboard } from './dashboards/ab-experiment';
import { driftDashboard } from './dashboards/drift';
import { importSection } from './dashboards/panels';
import { serviceHealthDashboard } from './dashboards/service-health';

/** File name (under monitoring/grafana/dashboards/) → dashboard JSON text. */
export function renderDashboards(): Record<string, string> {
  const built = {
    'ab-experiment.json': abExperimentDashboard().build(),
    'drift.json': driftDashboard().build(),
    'service-health.json': serviceHealthDashboard().build(),
  };
  return Object.fromEntries(
    Object.entries(built).map(([file, d]) => [
      file,
      `${JSON.stringify({ ...importSection(), ...d }, null, 2)}\n`,
    ]),
  );
}

/** The repository root, whether this runs from source (ts-jest) or from dist/. */
export function repositoryRoot(from = __dirname): string {
  let dir = from;
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${from}`);
    dir = parent;
  }
  return dir;
}

export const DASHBOARD_DIR = path.join('monitoring', 'grafana', 'dashboards');

if (require.main === module) {
  const dir = path.join(repositoryRoot(), DASHBOARD_DIR);
  for (const [file, text] of Object.entries(renderDashboards())) {
    fs.writeFileSync(path.join(dir, file), text);
    process.stdout.write(`wrote ${path.join(DASHBOARD_DIR, file)}\n`);
  }
}
