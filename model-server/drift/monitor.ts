/** Drift of live traffic against the training baseline in metadata.json, exported as gauges.
 *
 * observe() is on the hot path (called after every batch), so it only reduces each row to its few
 * drift features and appends them to a ring. PSI and KS cost O(window) and are recomputed when
 * Prometheus scrapes (the gauges' collect callback), once per scrape however many gauges ask.
 *
 * Reading the numbers: PSI < 0.1 stable, 0.1–0.25 moderate shift, > 0.25 significant shift (the
 * alert threshold). KS is the largest gap between the two cumulative distributions (0..1), exported
 * for continuous features only. Small windows inflate PSI (pure noise gives about bins/rows), so
 * nothing is exported until the window holds `minRows` rows. */
import { Gauge, type Registry } from 'prom-client';
import { binProportions, categoryValue, featureValue, ksStatistic, psi } from '../../common/drift';
import type { Metadata } from '../../common/wire';
import { DriftWindow } from './window';

export interface DriftMonitorOptions {
  metadata: Metadata;
  registry: Registry;
  /** Most rows kept in the sliding window (DRIFT_WINDOW_ROWS, default 2000). */
  windowRows: number;
  /** Rows older than this are dropped (DRIFT_WINDOW_SECONDS * 1000, default 600 s). */
  windowMs: number;
  now(): number;
  /** Rows the window needs before drift is exported (default 200: noise PSI ≈ 9 / rows ≈ 0.05). */
  minRows?: number;
}

export interface DriftMonitor {
  /** Rows as lists (tests, offline use) and the predicted class index of each. */
  observe(rows: readonly (readonly number[])[], predicted: readonly number[]): void;
  /** One call per executed batch, on the batch's own buffers: n rows of width = rows.length / n values,
   * row-major, and the predicted class of each. Reads them in place; allocates nothing per row. */
  observeBatch(rows: Float32Array, n: number, predicted: Int32Array): void;
}

export interface DriftSnapshot {
  rows: number;
  features: { name: string; psi: number; ks?: number }[];
  predictionPsi: number;
  psiMax: number;
  psiMean: number;
}

export const DEFAULT_MIN_ROWS = 200;

export function createDriftMonitor(opts: DriftMonitorOptions): DriftMonitor {
  const { metadata, registry, now } = opts;
  if (!(opts.windowRows >= 1) || !(opts.windowMs > 0)) {
    throw new RangeError(
      `drift window needs rows >= 1 and ms > 0, got ${opts.windowRows} and ${opts.windowMs}`,
    );
  }
  const features = metadata.baseline.features;
  const labels = metadata.outputs[0]!.labels;
  // Frequencies, whether metadata holds shares or counts.
  const classWeights = labels.map((label) => metadata.baseline.classes[label] ?? 0);
  const classTotal = classWeights.reduce((a, b) => a + b, 0);
  const expectedClasses = classWeights.map((w) => (classTotal > 0 ? w / classTotal : 0));
  const minRows = opts.minRows ?? DEFAULT_MIN_ROWS;
  const window = new DriftWindow(opts.windowRows, features.length);
  const scratch = new Float64Array(features.length);
  const base = { model: metadata.model, version: metadata.version };

  let computedAt = -1; // window.version the gauges reflect
  const refresh = () => {
    window.expire(now() - opts.windowMs);
    if (window.version === computedAt) return;
    computedAt = window.version;
    publish(snapshotOf(window, features, expectedClasses, minRows));
  };
  const collect = function collect() {
    refresh();
  };

  const gauges = {
    psi: new Gauge({
      name: 'modelgate_drift_psi',
      help: 'PSI of the recent window against the training deciles, per drift feature (> 0.25 significant)',
      labelNames: ['model', 'version', 'feature'],
      registers: [registry],
      collect,
    }),
    ks: new Gauge({
      name: 'modelgate_drift_ks',
      help: 'Two-sample Kolmogorov-Smirnov statistic of the recent window against the training sample',
      labelNames: ['model', 'version', 'feature'],
      registers: [registry],
      collect,
    }),
    predictionPsi: new Gauge({
      name: 'modelgate_drift_prediction_psi',
      help: 'PSI of the predicted classes in the recent window against the training class frequencies',
      labelNames: ['model', 'version'],
      registers: [registry],
      collect,
    }),
    psiMax: new Gauge({
      name: 'modelgate_drift_psi_max',
      help: 'Largest per-feature PSI of the recent window',
      labelNames: ['model', 'version'],
      registers: [registry],
      collect,
    }),
    psiMean: new Gauge({
      name: 'modelgate_drift_psi_mean',
      help: 'Mean per-feature PSI of the recent window',
      labelNames: ['model', 'version'],
      registers: [registry],
      collect,
    }),
    rows: new Gauge({
      name: 'modelgate_drift_window_rows',
      help: 'Rows in the drift window',
      labelNames: ['model', 'version'],
      registers: [registry],
      collect,
    }),
  };

  function publish(snapshot: DriftSnapshot | undefined) {
    gauges.rows.set(base, window.length);
    if (!snapshot) {
      // Too few rows to say anything: no series beats a noisy one that could page someone.
      for (const g of [gauges.psi, gauges.ks, gauges.predictionPsi, gauges.psiMax, gauges.psiMean]) g.reset();
      return;
    }
    for (const f of snapshot.features) {
      gauges.psi.set({ ...base, feature: f.name }, f.psi);
      if (f.ks !== undefined) gauges.ks.set({ ...base, feature: f.name }, f.ks);
    }
    gauges.predictionPsi.set(base, snapshot.predictionPsi);
    gauges.psiMax.set(base, snapshot.psiMax);
    gauges.psiMean.set(base, snapshot.psiMean);
  }

  const extract = createFeatureExtractor(features.map((f) => f.source));

  return {
    observeBatch(rows, n, predicted) {
      const at = now();
      const count = Math.min(n, predicted.length);
      if (count === 0) return;
      const width = rows.length / n;
      if (!extract.fits(width)) return; // rows the model could not have taken either; drift ignores them
      for (let r = 0; r < count; r++) {
        extract.row(rows, r * width, width, scratch);
        window.push(scratch, predicted[r]!, at);
      }
    },
    observe(rows, predicted) {
      const at = now();
      const count = Math.min(rows.length, predicted.length);
      for (let r = 0; r < count; r++) {
        const row = rows[r]!;
        try {
          for (let f = 0; f < features.length; f++) scratch[f] = featureValue(features[f]!.source, row);
        } catch {
          continue; // a row the model could not have taken either; drift ignores it
        }
        window.push(scratch, predicted[r]!, at);
      }
    },
  };
}

type DriftSource = Metadata['baseline']['features'][number]['source'];

/** Drift features of a row read in place from a flat batch buffer. Same numbers as common/drift's
 * featureValue on the row copied out (same operations in the same order), but every summary the
 * features ask for comes from one pass over the row and nothing is allocated. */
export function createFeatureExtractor(sources: readonly DriftSource[]) {
  const wants = { mean: false, ink: false, comX: false, comY: false };
  let maxColumn = -1;
  for (const s of sources) {
    if (s.kind === 'column') maxColumn = Math.max(maxColumn, s.index);
    else if (s.kind === 'category') maxColumn = Math.max(maxColumn, ...s.columns);
    else if (s.fn === 'mean_intensity') wants.mean = true;
    else if (s.fn === 'ink_fraction') wants.ink = true;
    else if (s.fn === 'center_of_mass_x') wants.comX = true;
    else wants.comY = true;
  }
  const anySummary = wants.mean || wants.ink || wants.comX || wants.comY;
  return {
    /** Whether rows of this width carry every feature (columns in range, a square image for summaries). */
    fits(width: number): boolean {
      if (maxColumn >= width) return false;
      if (!anySummary) return true;
      const side = Math.round(Math.sqrt(width));
      return side >= 1 && side * side === width;
    },
    row(rows: Float32Array, offset: number, width: number, out: Float64Array): void {
      let sum = 0;
      let inked = 0;
      let mass = 0;
      let momentX = 0;
      let momentY = 0;
      const side = anySummary ? Math.round(Math.sqrt(width)) : 1;
      if (anySummary) {
        for (let i = 0, x = 0, y = 0; i < width; i++) {
          const v = rows[offset + i]!;
          sum += v;
          if (v > 0.5) inked++;
          const w = Math.max(0, v);
          mass += w;
          momentX += w * x;
          momentY += w * y;
          if (++x === side) {
            x = 0;
            y++;
          }
        }
      }
      for (let f = 0; f < sources.length; f++) {
        const s = sources[f]!;
        if (s.kind === 'column') {
          out[f] = rows[offset + s.index]!;
          continue;
        }
        if (s.kind === 'category') {
          out[f] = categoryValue(s.columns, s.drop_first, rows, offset);
          continue;
        }
        switch (s.fn) {
          case 'mean_intensity':
            out[f] = sum / width;
            break;
          case 'ink_fraction':
            out[f] = inked / width;
            break;
          case 'center_of_mass_x':
          case 'center_of_mass_y':
            out[f] =
              mass === 0 || side === 1
                ? 0.5
                : (s.fn === 'center_of_mass_x' ? momentX : momentY) / mass / (side - 1);
            break;
        }
      }
    },
  };
}

/** PSI/KS of the window, or undefined while it is too small to mean anything. Pure apart from reading
 * the window, so the unit tests can check the numbers without Prometheus. */
export function snapshotOf(
  window: DriftWindow,
  features: Metadata['baseline']['features'],
  expectedClasses: readonly number[],
  minRows: number,
): DriftSnapshot | undefined {
  if (window.length < Math.max(1, minRows)) return undefined;
  const perFeature = features.map((feature, index) => {
    const values = window.feature(index);
    const featurePsi = psi(feature.proportions, binProportions(values, feature.deciles));
    const ks =
      feature.continuous && feature.reference.length > 0 ? ksStatistic(feature.reference, values) : undefined;
    return { name: feature.name, psi: featurePsi, ...(ks === undefined ? {} : { ks }) };
  });
  const counts = window.classCounts(expectedClasses.length);
  const actualClasses = counts.map((c) => c / window.length);
  const psis = perFeature.map((f) => f.psi);
  return {
    rows: window.length,
    features: perFeature,
    predictionPsi: expectedClasses.length > 0 ? psi(expectedClasses, actualClasses) : 0,
    psiMax: psis.length ? Math.max(...psis) : 0,
    psiMean: psis.length ? psis.reduce((a, b) => a + b, 0) / psis.length : 0,
  };
}
