/** The evidence store as services use it: record predictions (buffered, never blocking), join
 * feedback, read the per-version evidence and the stored rows. Built on an opened database; owns the
 * batched writer and the retention sweeps. */
import type { Registry } from 'prom-client';
import { type ExperimentReport, experimentReport } from './experiments/report';
import { createExperimentRepository } from './experiments/repository';
import { candidateKeys, type FeedbackInput, type FeedbackOutcome, recordFeedback } from './feedback';
import { createTrackingMetrics } from './metrics';
import { listPredictions, type PredictionFilter, type PredictionPage } from './predictions-query';
import type { PredictionRecord } from './record';
import {
  type EvidenceScope,
  oldestPredictionAt,
  type VersionEvidence,
  versionEvidence,
} from './report-queries';
import { type Retention, startRetention } from './retention';
import { type BatchSink, kyselySink } from './store/batch-write';
import type { EvidenceDatabase } from './store/database';
import { SqliteThreadSink } from './store/sqlite-thread-sink';
import { PredictionWriter } from './writer';

export interface EvidenceStore {
  readonly dialect: EvidenceDatabase['dialect'];
  /** The opened database, for what else lives in it (the embedded feature store). */
  readonly database?: EvidenceDatabase;
  readonly retentionDays: number;
  record(record: PredictionRecord): void;
  feedback(input: Omit<FeedbackInput, 'now' | 'expiredBefore'>): Promise<FeedbackOutcome>;
  evidence(scope: EvidenceScope): Promise<{ versions: VersionEvidence[]; since: number | undefined }>;
  predictions(filter: PredictionFilter): Promise<PredictionPage>;
  /** The report of a stored experiment (tracking/experiments/report.ts), or undefined if unknown. */
  experimentReport(options: {
    model: string;
    experimentId: string;
    lookEveryMs: number;
    driftOf?(version: string): Promise<number | null>;
  }): Promise<ExperimentReport | undefined>;
  /** Writes buffered records now (tests, shutdown). */
  flush(): Promise<void>;
  close(): Promise<void>;
}

export interface EvidenceStoreOptions {
  database: EvidenceDatabase;
  now(): number;
  flushMs: number;
  bufferRows: number;
  retentionDays: number;
  /** Where the tracking metrics go; omitted, none are registered. */
  metrics?: Registry;
  /** Run retention sweeps in this process (default true). */
  retention?: boolean;
  onError?(what: string, err: unknown): void;
}

const DAY_MS = 86_400_000;

export function createEvidenceStore(options: EvidenceStoreOptions): EvidenceStore {
  const { database, now } = options;
  const db = database.db;
  let writer: PredictionWriter | undefined;
  const metrics = options.metrics
    ? createTrackingMetrics(options.metrics, () => writer?.depth ?? 0)
    : undefined;
  // SQLite files get the writer thread; PostgreSQL (I/O the loop only waits for) and an in-memory
  // database (no second connection can reach it) write on the event loop.
  const sink: BatchSink =
    database.sqlitePath !== undefined && database.sqlitePath !== ':memory:'
      ? new SqliteThreadSink({ path: database.sqlitePath })
      : kyselySink(db);
  writer = new PredictionWriter({
    sink,
    flushMs: options.flushMs,
    bufferRows: options.bufferRows,
    events: {
      written: (n) => metrics?.written.inc(n),
      dropped: (n) => metrics?.dropped.inc(n),
      refused: (err) => {
        metrics?.refused.inc();
        options.onError?.('writing a prediction record the database refused', err);
      },
      flushed: (seconds) => metrics?.flushDuration.observe(seconds),
      failed: (err) => {
        metrics?.writeErrors.inc();
        options.onError?.('writing prediction records', err);
      },
    },
  });
  writer.start();
  const retention: Retention | undefined =
    options.retention === false
      ? undefined
      : startRetention({
          db,
          now,
          retentionDays: options.retentionDays,
          onPruned: (r) => {
            metrics?.pruned.inc({ table: 'predictions' }, r.predictions);
            metrics?.pruned.inc({ table: 'feedback' }, r.feedback);
          },
          onError: (err) => options.onError?.('pruning old records', err),
        });
  const w = writer;

  /** A label can race its own prediction's flush (a client that labels at once): when the record
   * is still in this gateway's buffer, write it first. */
  async function flushIfPending(requestId: string, row: number | undefined): Promise<boolean> {
    const keys = candidateKeys(requestId, row);
    for (const r of w.pending()) {
      if (keys.some((k) => k.requestId === r.requestId && k.row === r.row)) {
        await w.flush();
        return true;
      }
    }
    return false;
  }

  return {
    dialect: database.dialect,
    database,
    retentionDays: options.retentionDays,
    record: (r) => w.push(r),
    async feedback(input) {
      await flushIfPending(input.requestId, input.row);
      const join = () =>
        recordFeedback(db, {
          ...input,
          now: now(),
          expiredBefore: now() - options.retentionDays * DAY_MS,
        });
      const first = await join();
      if (first.kind !== 'unknown') return first;
      // Another gateway may still hold the record in its buffer: give it two flush intervals.
      await new Promise((resolve) => setTimeout(resolve, 2 * options.flushMs + 50));
      return join();
    },
    async evidence(scope) {
      const [versions, since] = await Promise.all([
        versionEvidence(db, scope),
        oldestPredictionAt(db, scope.model),
      ]);
      return { versions, since };
    },
    predictions: (filter) => listPredictions(db, filter),
    async experimentReport(o) {
      const experiment = await createExperimentRepository(db).get(o.model, o.experimentId);
      if (!experiment) return undefined;
      return experimentReport({ db, experiment, now: now(), lookEveryMs: o.lookEveryMs, driftOf: o.driftOf });
    },
    flush: () => w.flush(),
    async close() {
      retention?.stop();
      await w.close();
      await sink.close();
      await database.close();
    },
  };
}
