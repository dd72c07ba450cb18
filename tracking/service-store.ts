/** How a service (gateway, registry) opens the evidence store from its parsed configuration: the
 * database opened and migrated (a DatabaseOpenError names DATABASE_URL), the batched writer and
 * retention started, and failures logged at most once per 10 s while the metrics count each one. */
import type { Registry } from 'prom-client';
import { createEvidenceStore, type EvidenceStore } from './evidence-store';
import { openDatabase } from './store/database';

export interface TrackingConfig {
  DATABASE_URL: string;
  TRACKING_FLUSH_MS: number;
  TRACKING_BUFFER_ROWS: number;
  RETENTION_DAYS: number;
}

export interface ServiceStoreOptions {
  config: TrackingConfig;
  metrics: Registry;
  warn(message: string, fields: Record<string, unknown>): void;
  now?(): number;
  /** Prune old rows in this process (default true). */
  retention?: boolean;
}

const WARN_EVERY_MS = 10_000;

export async function startEvidenceStore(options: ServiceStoreOptions): Promise<EvidenceStore> {
  const { config, warn } = options;
  const database = await openDatabase(config.DATABASE_URL, {
    onPoolError: (err) => warn('evidence store connection lost', { error: err.message }),
  });
  let lastWarning = Number.NEGATIVE_INFINITY;
  return createEvidenceStore({
    database,
    now: options.now ?? Date.now,
    flushMs: config.TRACKING_FLUSH_MS,
    bufferRows: config.TRACKING_BUFFER_ROWS,
    retentionDays: config.RETENTION_DAYS,
    metrics: options.metrics,
    ...(options.retention === false ? { retention: false } : {}),
    onError: (what, err) => {
      if (Date.now() - lastWarning < WARN_EVERY_MS) return;
      lastWarning = Date.now();
      warn('evidence store failed', { what, error: String(err) });
    },
  });
}
