/** Drift of live traffic against the training baseline in metadata.json, exported as gauges.
 * observe() is on the hot path (called after every batch), so it only appends to a window;
 * PSI/KS are recomputed when Prometheus scrapes (collect callback), at most once per scrape. */
import type { Registry } from 'prom-client';
import type { Metadata } from '../../common/wire';

export interface DriftMonitorOptions {
  metadata: Metadata;
  registry: Registry;
  /** Most rows kept in the sliding window (DRIFT_WINDOW_ROWS, default 2000). */
  windowRows: number;
  /** Rows older than this are dropped (DRIFT_WINDOW_SECONDS * 1000, default 600 s). */
  windowMs: number;
  now(): number;
}

export interface DriftMonitor {
  /** One call per executed batch: the raw input rows and the predicted class index of each. */
  observe(rows: number[][], predicted: number[]): void;
}

export function createDriftMonitor(_opts: DriftMonitorOptions): DriftMonitor {
  // Interface first so the model-server can wire it; the window and gauges land next.
  return { observe() {} };
}
