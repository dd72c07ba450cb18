/** GATEWAY_WORKERS > 1: the gateway as a node:cluster of that many processes on one port, so it can
 * use more than one core. The primary only supervises: it runs the evidence store's migrations once
 * before any worker opens the database (Kysely's SQLite migration lock is a no-op), forks the
 * workers, replaces one that dies, announces the port once, and answers /metrics for the whole
 * cluster (prom-client's AggregatorRegistry), since a scrape reaches one worker at random. Each
 * worker is a complete gateway: it polls the routing table and keeps its own breakers and limits. */
import cluster, { type Worker } from 'node:cluster';
import { AggregatorRegistry, type Registry } from 'prom-client';
import type { Logger } from '../common/logger';
import { onSupervisorGone, tellSupervisor } from '../common/supervised';

const METRICS_REQUEST = 'modelgate:metrics-request';
const METRICS_REPLY = 'modelgate:metrics-reply';
const RESTART_DELAY_MS = 1000;

export interface PrimaryOptions {
  workers: number;
  logger: Logger;
  host: string;
  /** Runs before the first fork (migrations). */
  prepare(): Promise<void>;
}

export async function runPrimary(options: PrimaryOptions): Promise<void> {
  const { logger } = options;
  await options.prepare();
  const aggregator = new AggregatorRegistry();
  let stopping = false;
  const onMessage = (worker: Worker) => (message: unknown) => {
    const m = message as { type?: string; id?: number };
    if (m?.type !== METRICS_REQUEST) return;
    aggregator.clusterMetrics().then(
      (text) => worker.send({ type: METRICS_REPLY, id: m.id, text }),
      (err: Error) => worker.send({ type: METRICS_REPLY, id: m.id, error: err.message }),
    );
  };
  const fork = () => {
    const worker = cluster.fork();
    worker.on('message', onMessage(worker));
  };
  cluster.once('listening', (_worker, address) => {
    const url = `http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${address.port}`;
    logger.info('listening', { event: 'listening', port: address.port, url, workers: options.workers });
    void tellSupervisor({ type: 'listening', port: address.port, url });
  });
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) return;
    logger.warn('gateway worker exited; starting another', { pid: worker.process.pid, code, signal });
    setTimeout(fork, RESTART_DELAY_MS).unref();
  });
  for (let i = 0; i < options.workers; i++) fork();
  const stop = async () => {
    stopping = true;
    const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
    await Promise.all(
      workers.map(
        (w) =>
          new Promise<void>((resolve) => {
            w.once('exit', () => resolve());
            w.process.kill('SIGTERM');
          }),
      ),
    );
  };
  const handler = (signal: string) => {
    logger.info('shutting down', { signal });
    stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', () => handler('SIGTERM'));
  process.once('SIGINT', () => handler('SIGINT'));
  onSupervisorGone(() => handler('disconnect'));
}

/** In a worker: lets the primary collect this worker's registry, and returns the function /metrics
 * calls for the whole cluster's text. */
export function clusterMetricsText(registry: Registry): () => Promise<string> {
  // Constructing one installs prom-client's worker-side listener (setRegistries alone does not).
  new AggregatorRegistry();
  AggregatorRegistry.setRegistries([registry]);
  let next = 0;
  const waiting = new Map<number, { resolve(text: string): void; reject(err: Error): void }>();
  process.on('message', (message: unknown) => {
    const m = message as { type?: string; id?: number; text?: string; error?: string };
    if (m?.type !== METRICS_REPLY || m.id === undefined) return;
    const w = waiting.get(m.id);
    waiting.delete(m.id);
    if (m.error !== undefined) w?.reject(new Error(m.error));
    else w?.resolve(m.text ?? '');
  });
  return () =>
    new Promise((resolve, reject) => {
      const id = next++;
      waiting.set(id, { resolve, reject });
      process.send?.({ type: METRICS_REQUEST, id });
    });
}
