import { Registry } from 'prom-client';
import { binProportions, deciles } from '../../../common/drift';
import type { Metadata } from '../../../common/wire';
import { createDriftMonitor, createFeatureExtractor } from '../../../model-server/drift/monitor';
import { DriftWindow } from '../../../model-server/drift/window';

/** Seeded normal sampler (LCG + Box-Muller), so the numbers are the same on every run. */
function normals(seed: number) {
  let state = seed >>> 0;
  const uniform = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return (state + 0.5) / 4294967296;
  };
  return (mean = 0, sd = 1) =>
    mean + sd * Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
}

function feature(name: string, index: number, training: number[]) {
  const cuts = deciles(training);
  return {
    name,
    source: { kind: 'column' as const, index },
    continuous: true,
    deciles: cuts,
    proportions: binProportions(training, cuts),
    reference: [...training].sort((a, b) => a - b).filter((_, i) => i % 5 === 0),
  };
}

function metadataFor(training: number[][]): Metadata {
  return {
    model: 'toy',
    version: '1',
    created: '2026-01-01T00:00:00Z',
    description: 'two Gaussian columns',
    framework: 'test',
    format: 'layers-model',
    inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 2], features: ['a', 'b'] }],
    outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 2], labels: ['neg', 'pos'] }],
    metrics: {},
    baseline: {
      features: [
        feature(
          'a',
          0,
          training.map((r) => r[0]!),
        ),
        feature(
          'b',
          1,
          training.map((r) => r[1]!),
        ),
      ],
      classes: { neg: 0.5, pos: 0.5 },
    },
    artifacts: {},
  };
}

async function gauge(registry: Registry, name: string, labels: Record<string, string> = {}) {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
  const values = (metric?.values ?? []) as { value: number; labels: Record<string, string | number> }[];
  return values.find((v) => Object.entries(labels).every(([k, want]) => v.labels[k] === want))?.value;
}

describe('drift monitor', () => {
  const draw = normals(42);
  const training = Array.from({ length: 5000 }, () => [draw(), draw(10, 2)]);
  const metadata = metadataFor(training);
  const classOf = (row: number[]) => (row[0]! > 0 ? 1 : 0);

  function setup(windowRows = 2000, windowMs = 60_000) {
    let clock = 1_000_000;
    const registry = new Registry();
    const monitor = createDriftMonitor({ metadata, registry, windowRows, windowMs, now: () => clock });
    return { registry, monitor, advance: (ms: number) => (clock += ms) };
  }

  it('reads flat batch buffers in place with the same result as row lists, and skips rows too narrow', async () => {
    const rows = Array.from({ length: 600 }, () => [draw(1), draw(10, 2)]).map((r) =>
      Array.from(new Float32Array(r)),
    );
    const lists = setup();
    lists.monitor.observe(rows, rows.map(classOf));
    const flat = setup();
    for (let start = 0; start < rows.length; start += 32) {
      const chunk = rows.slice(start, start + 32);
      flat.monitor.observeBatch(
        new Float32Array(chunk.flat()),
        chunk.length,
        Int32Array.from(chunk.map(classOf)),
      );
    }
    // One-column rows cannot carry feature b (column 1): ignored, as the list path ignores them.
    flat.monitor.observeBatch(new Float32Array([1, 2, 3]), 3, new Int32Array(3));
    expect(await flat.registry.getMetricsAsJSON()).toEqual(await lists.registry.getMetricsAsJSON());
    expect(await gauge(flat.registry, 'modelgate_drift_window_rows')).toBe(600);
    expect(await gauge(flat.registry, 'modelgate_drift_psi', { feature: 'a' })).toBeGreaterThan(0.25);
  });

  it('keeps PSI under 0.1 for held-out rows from the training distribution', async () => {
    const { registry, monitor } = setup();
    const held = Array.from({ length: 1000 }, () => [draw(), draw(10, 2)]);
    monitor.observe(held, held.map(classOf));
    expect(await gauge(registry, 'modelgate_drift_window_rows')).toBe(1000);
    expect(await gauge(registry, 'modelgate_drift_psi', { feature: 'a' })).toBeLessThan(0.1);
    expect(await gauge(registry, 'modelgate_drift_psi', { feature: 'b' })).toBeLessThan(0.1);
    expect(await gauge(registry, 'modelgate_drift_psi_max')).toBeLessThan(0.1);
    expect(await gauge(registry, 'modelgate_drift_prediction_psi')).toBeLessThan(0.1);
    expect(await gauge(registry, 'modelgate_drift_ks', { feature: 'a' })).toBeLessThan(0.1);
  });

  it('pushes PSI over 0.25 when a feature shifts by one standard deviation', async () => {
    const { registry, monitor } = setup();
    const shifted = Array.from({ length: 1000 }, () => [draw(1, 1), draw(10, 2)]);
    monitor.observe(shifted, shifted.map(classOf));
    expect(await gauge(registry, 'modelgate_drift_psi', { feature: 'a' })).toBeGreaterThan(0.25);
    expect(await gauge(registry, 'modelgate_drift_psi', { feature: 'b' })).toBeLessThan(0.1);
    const max = await gauge(registry, 'modelgate_drift_psi_max');
    const mean = await gauge(registry, 'modelgate_drift_psi_mean');
    expect(max).toBe(await gauge(registry, 'modelgate_drift_psi', { feature: 'a' }));
    expect(mean).toBeLessThan(max!);
    expect(await gauge(registry, 'modelgate_drift_ks', { feature: 'a' })).toBeGreaterThan(0.3);
    // The shift moves most rows to the "pos" side, so the predicted classes drift too.
    expect(await gauge(registry, 'modelgate_drift_prediction_psi')).toBeGreaterThan(0.25);
  });

  it('exports no drift series until the window holds enough rows to mean something', async () => {
    const { registry, monitor } = setup();
    const few = Array.from({ length: 20 }, () => [draw(), draw(10, 2)]);
    monitor.observe(few, few.map(classOf));
    expect(await gauge(registry, 'modelgate_drift_window_rows')).toBe(20);
    expect(await gauge(registry, 'modelgate_drift_psi_max')).toBeUndefined();
    expect(await gauge(registry, 'modelgate_drift_psi', { feature: 'a' })).toBeUndefined();
  });

  it('forgets rows older than the time window, so drift recovers once traffic is normal again', async () => {
    const { registry, monitor, advance } = setup(5000, 60_000);
    const shifted = Array.from({ length: 500 }, () => [draw(3, 1), draw(10, 2)]);
    monitor.observe(shifted, shifted.map(classOf));
    expect(await gauge(registry, 'modelgate_drift_psi_max')).toBeGreaterThan(0.25);
    advance(30_000);
    const normal = Array.from({ length: 500 }, () => [draw(), draw(10, 2)]);
    monitor.observe(normal, normal.map(classOf));
    expect(await gauge(registry, 'modelgate_drift_window_rows')).toBe(1000);
    advance(31_000); // the shifted rows are now 61 s old
    expect(await gauge(registry, 'modelgate_drift_window_rows')).toBe(500);
    expect(await gauge(registry, 'modelgate_drift_psi_max')).toBeLessThan(0.1);
  });

  it('keeps only the newest windowRows rows', async () => {
    const { registry, monitor } = setup(300);
    const shifted = Array.from({ length: 300 }, () => [draw(3, 1), draw(10, 2)]);
    monitor.observe(shifted, shifted.map(classOf));
    const normal = Array.from({ length: 300 }, () => [draw(), draw(10, 2)]);
    monitor.observe(normal, normal.map(classOf));
    expect(await gauge(registry, 'modelgate_drift_window_rows')).toBe(300);
    expect(await gauge(registry, 'modelgate_drift_psi_max')).toBeLessThan(0.1);
  });

  it('ignores rows too short for a drift column instead of throwing on the hot path', async () => {
    const { registry, monitor } = setup();
    monitor.observe([[1]], [0]);
    expect(await gauge(registry, 'modelgate_drift_window_rows')).toBe(0);
  });
});

describe('drift window', () => {
  it('returns values oldest first across the ring wrap', () => {
    const w = new DriftWindow(3, 1);
    for (let i = 1; i <= 5; i++) w.push([i], i % 2, i);
    expect(w.feature(0)).toEqual([3, 4, 5]);
    expect(w.classCounts(2)).toEqual([1, 2]);
    w.expire(5);
    expect(w.feature(0)).toEqual([5]);
  });
});

describe('in-place feature extraction of category sources', () => {
  it('reads island and sex from a flat batch as common/drift does from a row', () => {
    const extract = createFeatureExtractor([
      { kind: 'column', index: 0 },
      { kind: 'category', columns: [4, 5, 6], drop_first: false },
      { kind: 'category', columns: [7], drop_first: true },
    ]);
    expect(extract.fits(8)).toBe(true);
    expect(extract.fits(7)).toBe(false);
    const rows = Float32Array.from([39, 18, 181, 3750, 0, 0, 1, 1, 46, 14, 210, 4850, 1, 0, 0, 0]);
    const out = new Float64Array(3);
    extract.row(rows, 8, 8, out);
    expect([...out]).toEqual([46, 0, 0]);
    extract.row(rows, 0, 8, out);
    expect([...out]).toEqual([39, 2, 1]);
  });
});
