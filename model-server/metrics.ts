/** Model-server metrics per docs/metrics.md, built on the app's own Registry (no global). Label
 * children are bound once here, since model, version and backend never change in this process. */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { collectProcessMetrics } from '../common/process-metrics';

export interface ModelServerMetricsOptions {
  model: string;
  version: string;
  backend: string;
  /** Live TF.js tensors, read at scrape time (the leak check watches it). */
  numTensors(): number;
  /** Default process metrics start timers; unit tests building many apps turn them off. */
  processMetrics?: boolean;
}

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];

export function createModelServerMetrics(registry: Registry, options: ModelServerMetricsOptions) {
  const { model, version, backend } = options;
  const registers = [registry];
  if (options.processMetrics !== false) collectProcessMetrics(registry);

  const requests = new Counter({
    name: 'modelgate_model_requests_total',
    help: 'Requests answered by the model-server, by protocol (v2, v1) and HTTP status',
    labelNames: ['model', 'version', 'protocol', 'status'],
    registers,
  });
  const inference = new Histogram({
    name: 'modelgate_model_inference_duration_seconds',
    help: 'Duration of one batched predict call',
    labelNames: ['model', 'version', 'backend'],
    buckets: LATENCY_BUCKETS,
    registers,
  }).labels(model, version, backend);
  const batchSize = new Histogram({
    name: 'modelgate_model_batch_size_rows',
    help: 'Rows per executed batch',
    labelNames: ['model', 'version'],
    buckets: BATCH_BUCKETS,
    registers,
  }).labels(model, version);
  const queueWait = new Histogram({
    name: 'modelgate_model_queue_wait_seconds',
    help: 'Time a row waited in the batch queue before its batch ran',
    labelNames: ['model', 'version'],
    buckets: LATENCY_BUCKETS,
    registers,
  }).labels(model, version);
  const rows = new Counter({
    name: 'modelgate_model_rows_total',
    help: 'Rows predicted',
    labelNames: ['model', 'version'],
    registers,
  }).labels(model, version);
  const errors = new Counter({
    name: 'modelgate_model_errors_total',
    help: 'Failed requests by error code',
    labelNames: ['model', 'version', 'code'],
    registers,
  });
  const queueRows = new Gauge({
    name: 'modelgate_model_queue_rows',
    help: 'Rows waiting in the batch queue now',
    labelNames: ['model', 'version'],
    registers,
  }).labels(model, version);
  const ready = new Gauge({
    name: 'modelgate_model_ready',
    help: '1 when the model is warmed up and accepting requests',
    labelNames: ['model', 'version'],
    registers,
  }).labels(model, version);
  new Gauge({
    name: 'modelgate_model_backend_info',
    help: 'Always 1; the TF.js backend in use',
    labelNames: ['model', 'version', 'backend'],
    registers,
  })
    .labels(model, version, backend)
    .set(1);
  new Gauge({
    name: 'modelgate_model_tensors',
    help: 'Tensors alive in the TF.js engine; constant between requests unless something leaks',
    labelNames: ['model', 'version'],
    registers,
    collect() {
      this.labels(model, version).set(options.numTensors());
    },
  });
  ready.set(0);
  queueRows.set(0);
  rows.inc(0);

  return {
    request(protocol: 'v1' | 'v2', status: number): void {
      requests.labels(model, version, protocol, String(status)).inc();
    },
    error(code: string): void {
      errors.labels(model, version, code).inc();
    },
    batch(n: number, durationMs: number, waits: readonly { rows: number; waitMs: number }[]): void {
      inference.observe(durationMs / 1000);
      batchSize.observe(n);
      rows.inc(n);
      for (const w of waits) {
        for (let i = 0; i < w.rows; i++) queueWait.observe(w.waitMs / 1000);
      }
    },
    queueRows(n: number): void {
      queueRows.set(n);
    },
    ready(isReady: boolean): void {
      ready.set(isReady ? 1 : 0);
    },
  };
}

export type ModelServerMetrics = ReturnType<typeof createModelServerMetrics>;
