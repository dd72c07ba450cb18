/** Drift against the shipped digits baseline: the held-out rows of models/digits/sample.json must read
 * as stable, the same rows moved off-centre or brightened as a significant shift. */
import fs from 'node:fs';
import path from 'node:path';
import { Registry } from 'prom-client';
import { metadataSchema } from '../../../common/wire';
import { createDriftMonitor } from '../../../model-server/drift/monitor';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const read = (...p: string[]) => JSON.parse(fs.readFileSync(path.join(ROOT, 'models', ...p), 'utf8'));

const metadata = metadataSchema.parse(read('digits', '1', 'metadata.json'));
const rows: number[][] = read('digits', 'sample.json');
const labels: string[] = read('digits', 'sample-labels.json');
const labelIndex = metadata.outputs[0]!.labels;
// The true labels stand in for predictions: v1 is 94% accurate, so its predicted mix is close.
const predicted = labels.map((l) => labelIndex.indexOf(l));

async function drift(input: number[][], how: 'lists' | 'batch' = 'batch') {
  const registry = new Registry();
  const monitor = createDriftMonitor({
    metadata,
    registry,
    windowRows: 2000,
    windowMs: 600_000,
    now: () => 0,
  });
  if (how === 'lists') {
    monitor.observe(input, predicted);
  } else {
    // As the server hands it over: one flat Float32Array per batch, in batches of 32.
    const width = input[0]!.length;
    for (let start = 0; start < input.length; start += 32) {
      const chunk = input.slice(start, start + 32);
      monitor.observeBatch(
        new Float32Array(chunk.flat()),
        chunk.length,
        Int32Array.from(predicted.slice(start, start + chunk.length)),
      );
    }
    expect(width).toBe(784);
  }
  const values = new Map<string, number>();
  for (const m of await registry.getMetricsAsJSON()) {
    for (const v of m.values as { value: number; labels: Record<string, string | number> }[]) {
      values.set(v.labels.feature ? `${m.name}:${v.labels.feature}` : m.name, v.value);
    }
  }
  return values;
}

/** Moves every image `dx` pixels right (28 x 28, row-major), filling with blank. */
const shiftRight = (row: number[], dx: number) => row.map((_, i) => (i % 28 >= dx ? row[i - dx]! : 0));

describe('drift on the shipped digits sample', () => {
  it('exports summary features only, not one series per pixel', async () => {
    const values = await drift(rows);
    const psiSeries = [...values.keys()].filter((k) => k.startsWith('modelgate_drift_psi:'));
    expect(psiSeries.sort()).toEqual(
      ['center_of_mass_x', 'center_of_mass_y', 'ink_fraction', 'mean_intensity'].map(
        (f) => `modelgate_drift_psi:${f}`,
      ),
    );
  });

  it('reads flat batches exactly as it reads the same rows as lists', async () => {
    // The server sees float32 rows; round the lists the same way so both paths read the same numbers.
    const rounded = rows.map((r) => Array.from(new Float32Array(r)));
    const shifted = rounded.map((r) => shiftRight(r, 3));
    for (const input of [rounded, shifted]) {
      expect(await drift(input, 'batch')).toEqual(await drift(input, 'lists'));
    }
  });

  it('reads held-out rows from sample.json as stable (every PSI < 0.1)', async () => {
    const values = await drift(rows);
    expect(values.get('modelgate_drift_window_rows')).toBe(rows.length);
    expect(values.get('modelgate_drift_psi_max')).toBeLessThan(0.1);
    expect(values.get('modelgate_drift_prediction_psi')).toBeLessThan(0.1);
  });

  it('reads the same digits moved 5 pixels right as a significant shift (PSI > 0.25)', async () => {
    const values = await drift(rows.map((r) => shiftRight(r, 5)));
    expect(values.get('modelgate_drift_psi:center_of_mass_x')).toBeGreaterThan(0.25);
    expect(values.get('modelgate_drift_psi:center_of_mass_y')).toBeLessThan(0.1);
    expect(values.get('modelgate_drift_psi_max')).toBeGreaterThan(0.25);
  });

  it('reads brightened digits as a significant shift in intensity and ink', async () => {
    const values = await drift(rows.map((r) => r.map((x) => Math.min(1, x + 0.3))));
    expect(values.get('modelgate_drift_psi:mean_intensity')).toBeGreaterThan(0.25);
    expect(values.get('modelgate_drift_psi:ink_fraction')).toBeGreaterThan(0.25);
  });
});
