/** Prediction records reach the database in batches, off the hot path: `push` only appends to a
 * bounded ring buffer; a timer flushes it every `flushMs` in multi-row INSERTs. When the database is
 * slow or down the buffer fills and the oldest records are dropped and counted; a prediction never
 * waits for the database. After a failed flush the next try backs off, doubling up to 1 s: a dead
 * database costs one connection attempt a second, not one per tick, and once it is back the records
 * answered meanwhile reach it within a second, before a full buffer pushes them out as the oldest. */
import type { Kysely } from 'kysely';
import type { PredictionRecord } from './record';
import { RingBuffer } from './ring-buffer';
import {
  type EvidenceSchema,
  HOUR_MS,
  latencyBucketOf,
  PREDICTION_TEXT_WIDTHS,
  type PredictionCountsTable,
  type PredictionsTable,
} from './store/schema';

export interface WriterEvents {
  written?(rows: number): void;
  dropped?(rows: number): void;
  flushed?(seconds: number, rows: number): void;
  failed?(err: unknown, rows: number): void;
}

export interface WriterOptions {
  db: Kysely<EvidenceSchema>;
  flushMs: number;
  bufferRows: number;
  events?: WriterEvents;
  /** Monotonic-enough clock for flush durations (ms); default performance.now. */
  clockMs?(): number;
  /** Rows per INSERT: 15 columns each, kept well under SQLite's 32 766 bound variables. */
  rowsPerInsert?: number;
}

const MAX_BACKOFF_MS = 1_000;

export class PredictionWriter {
  private readonly buffer: RingBuffer<PredictionRecord>;
  private readonly clockMs: () => number;
  private readonly rowsPerInsert: number;
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private failures = 0;
  private closed = false;

  constructor(private readonly options: WriterOptions) {
    this.buffer = new RingBuffer(options.bufferRows);
    this.clockMs = options.clockMs ?? (() => performance.now());
    this.rowsPerInsert = options.rowsPerInsert ?? 1000;
  }

  get depth(): number {
    return this.buffer.size;
  }

  start(): void {
    this.schedule(this.options.flushMs);
  }

  push(record: PredictionRecord): void {
    if (this.closed) return;
    const dropped = this.buffer.push(record);
    if (dropped > 0) this.options.events?.dropped?.(dropped);
  }

  /** Records still waiting for the database, oldest first (for a feedback that races its flush). */
  pending(): IterableIterator<PredictionRecord> {
    return this.buffer.values();
  }

  /** Writes everything buffered now; resolves when done (or failed: the records stay buffered). */
  flush(): Promise<void> {
    const underWay = this.flushing;
    if (!underWay) return this.startFlush();
    // The flush under way writes only what was buffered when it began, not what came since (the
    // record a feedback call is waiting for, say).
    return underWay.then(() => (this.buffer.size > 0 ? this.flush() : undefined));
  }

  /** Stops the timer and writes what is left (once; a dead database is not waited for again). */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.flushing;
    if (this.buffer.size > 0) await this.flush();
  }

  private schedule(ms: number): void {
    if (this.closed) return;
    this.timer = setTimeout(() => {
      // Whatever a flush throws, the next one is scheduled: a rejection left unhandled here would
      // end the gateway, and the database going away must never stop predictions.
      (this.flushing ?? this.startFlush())
        .catch((err: unknown) => {
          this.failures++;
          this.options.events?.failed?.(err, 0);
        })
        .finally(() => {
          const backoff =
            this.failures === 0 ? 0 : Math.min(MAX_BACKOFF_MS, this.options.flushMs * 2 ** this.failures);
          this.schedule(Math.max(this.options.flushMs, backoff));
        });
    }, ms);
    this.timer.unref();
  }

  private startFlush(): Promise<void> {
    this.flushing = this.writeAll().finally(() => {
      this.flushing = undefined;
    });
    return this.flushing;
  }

  private async writeAll(): Promise<void> {
    // Only what is buffered at the start: under a constant stream a flush must still end.
    let left = this.buffer.size;
    while (left > 0) {
      const batch = this.buffer.take(Math.min(left, this.rowsPerInsert));
      left -= batch.length;
      const started = this.clockMs();
      try {
        const rows = batch.map(toRow);
        await this.options.db.transaction().execute(async (trx) => {
          await trx.insertInto('predictions').values(rows).execute();
          // One statement for the batch: its keys are distinct, as PostgreSQL requires of ON CONFLICT.
          await trx
            .insertInto('prediction_counts')
            .values(countsOf(rows))
            .onConflict((oc) =>
              oc
                .columns(['model', 'experiment_id', 'version', 'reason', 'ok', 'latency_bucket', 'hour'])
                .doUpdateSet((eb) => ({
                  requests: eb('prediction_counts.requests', '+', eb.ref('excluded.requests')),
                  rows: eb('prediction_counts.rows', '+', eb.ref('excluded.rows')),
                })),
            )
            .execute();
        });
        this.failures = 0;
        this.options.events?.written?.(batch.length);
        this.options.events?.flushed?.((this.clockMs() - started) / 1000, batch.length);
      } catch (err) {
        this.failures++;
        const dropped = this.buffer.unshift(batch);
        if (dropped > 0) this.options.events?.dropped?.(dropped);
        this.options.events?.failed?.(err, batch.length);
        return;
      }
    }
  }
}

/** The batch's rows grouped as prediction_counts keys them. */
function countsOf(rows: readonly Omit<PredictionsTable, 'id'>[]): PredictionCountsTable[] {
  const counts = new Map<string, PredictionCountsTable>();
  for (const r of rows) {
    const hour = r.created_at - (r.created_at % HOUR_MS);
    const experimentId = r.experiment_id ?? '';
    const key = `${r.model}\u0000${experimentId}\u0000${r.version}\u0000${r.reason}\u0000${r.ok}\u0000${r.latency_bucket}\u0000${hour}`;
    let c = counts.get(key);
    if (!c) {
      c = {
        model: r.model,
        experiment_id: experimentId,
        version: r.version,
        reason: r.reason,
        ok: r.ok,
        latency_bucket: r.latency_bucket,
        hour,
        requests: 0,
        rows: 0,
      };
      counts.set(key, c);
    }
    c.rows++;
    if (r.row === 0) c.requests++;
  }
  return [...counts.values()];
}

function toRow(r: PredictionRecord): Omit<PredictionsTable, 'id'> {
  const w = PREDICTION_TEXT_WIDTHS;
  return {
    request_id: cut(r.requestId, w.request_id),
    row: r.row,
    model: cut(r.model, w.model),
    version: cut(r.version, w.version),
    experiment_id: cutOrNull(r.experimentId, w.experiment_id),
    unit: cutOrNull(r.unit, w.unit),
    route: cut(r.route, w.route),
    reason: r.reason,
    status: r.status,
    ok: r.ok ? 1 : 0,
    latency_ms: r.latencyMs,
    latency_bucket: latencyBucketOf(r.latencyMs),
    predicted_class: cutOrNull(r.predictedClass, w.predicted_class),
    confidence: r.confidence,
    created_at: Math.round(r.at),
  };
}

/** PostgreSQL counts characters, never more than the UTF-16 units cut here, so the result fits. */
function cut(text: string, width: number): string {
  return text.length > width ? text.slice(0, width) : text;
}

function cutOrNull(text: string | null, width: number): string | null {
  return text === null ? null : cut(text, width);
}
