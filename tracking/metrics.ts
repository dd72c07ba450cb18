/** Operational series of the evidence store (prom-client, registered on the caller's registry). */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface TrackingMetrics {
  written: Counter;
  dropped: Counter;
  refused: Counter;
  flushDuration: Histogram;
  bufferRows: Gauge;
  writeErrors: Counter;
  pruned: Counter<'table'>;
}

export function createTrackingMetrics(registry: Registry, bufferDepth: () => number): TrackingMetrics {
  const registers = [registry];
  return {
    written: new Counter({
      name: 'modelgate_tracking_records_written_total',
      help: 'Prediction records written to the evidence store',
      registers,
    }),
    dropped: new Counter({
      name: 'modelgate_tracking_dropped_total',
      help: 'Prediction records dropped unwritten because the buffer was full (database slow or down)',
      registers,
    }),
    refused: new Counter({
      name: 'modelgate_tracking_refused_total',
      help: 'Prediction records the database refused for their content, kept out so the rest of their batch was written',
      registers,
    }),
    flushDuration: new Histogram({
      name: 'modelgate_tracking_flush_duration_seconds',
      help: 'Time to write one batch of prediction records',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5],
      registers,
    }),
    bufferRows: new Gauge({
      name: 'modelgate_tracking_buffer_rows',
      help: 'Prediction records waiting in the buffer for the database',
      registers,
      collect() {
        this.set(bufferDepth());
      },
    }),
    writeErrors: new Counter({
      name: 'modelgate_tracking_write_errors_total',
      help: 'Failed batch writes to the evidence store (records are retried until the buffer drops them)',
      registers,
    }),
    pruned: new Counter({
      name: 'modelgate_tracking_pruned_total',
      help: 'Rows deleted by retention (RETENTION_DAYS)',
      labelNames: ['table'],
      registers,
    }),
  };
}
