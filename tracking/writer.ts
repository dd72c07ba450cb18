/** Prediction records reach the database in batches, off the hot path: `push` only appends to a
 * bounded ring buffer; a timer flushes it every `flushMs`, in batches handed to a sink (the SQLite
 * writer thread, or Kysely on the event loop for PostgreSQL: store/batch-write.ts). When the database is
 * slow or down the buffer fills and the oldest records are dropped and counted; a prediction never
 * waits for the database. After a failed flush the next try backs off, doubling up to 1 s: a dead
 * database costs one connection attempt a second, not one per tick, and once it is back the records
 * answered meanwhile reach it within a second, before a full buffer pushes them out as the oldest. */
import type { PredictionRecord } from './record';
import { RingBuffer } from './ring-buffer';
import { type BatchSink, refusedForItsContent } from './store/batch-write';

export interface WriterEvents {
  written?(rows: number): void;
  dropped?(rows: number): void;
  flushed?(seconds: number, rows: number): void;
  failed?(err: unknown, rows: number): void;
  /** One record the database refused for its content, kept out so the rest are written. */
  refused?(err: unknown): void;
}

export interface WriterOptions {
  /** Where batches go: the SQLite writer thread, or a Kysely connection (store/batch-write.ts). */
  sink: BatchSink;
  flushMs: number;
  bufferRows: number;
  events?: WriterEvents;
  /** Monotonic-enough clock for flush durations (ms); default performance.now. */
  clockMs?(): number;
  /** Records per batch (one transaction; on PostgreSQL one INSERT of 15 columns a row, kept well
   * under the bound-parameter limits). */
  rowsPerInsert?: number;
}

const MAX_BACKOFF_MS = 1_000;

export class PredictionWriter {
  private readonly buffer: RingBuffer<PredictionRecord>;
  private readonly clockMs: () => number;
  private readonly rowsPerInsert: number;
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  /** The batch being written: out of the buffer, not yet committed. */
  private inFlight: readonly PredictionRecord[] = [];
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

  /** Records not yet committed, the batch being written included (for a feedback that races its
   * flush: such a record is neither in the buffer nor in the database until its batch commits). */
  *pending(): IterableIterator<PredictionRecord> {
    yield* this.inFlight;
    yield* this.buffer.values();
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
      this.inFlight = batch;
      const { written, unwritten, error } = await this.writeIsolating(batch).finally(() => {
        this.inFlight = [];
      });
      if (written > 0) this.options.events?.written?.(written);
      if (error === undefined) {
        this.failures = 0;
        this.options.events?.flushed?.((this.clockMs() - started) / 1000, batch.length);
        continue;
      }
      this.failures++;
      const dropped = this.buffer.unshift(unwritten);
      if (dropped > 0) this.options.events?.dropped?.(dropped);
      this.options.events?.failed?.(error, unwritten.length);
      return;
    }
  }

  /** Writes the batch. When the database refuses it for its content, halves it until the refused
   * records stand alone, and keeps only those out (about 2·log2(n) extra writes per bad record).
   * Any other failure stops here and hands back what is not written yet, in order, to requeue. */
  private async writeIsolating(
    batch: PredictionRecord[],
  ): Promise<{ written: number; unwritten: PredictionRecord[]; error?: unknown }> {
    const parts = [batch];
    let written = 0;
    while (parts.length > 0) {
      const part = parts.shift()!;
      try {
        await this.options.sink.write(part);
        written += part.length;
      } catch (err) {
        if (!refusedForItsContent(err)) return { written, unwritten: [part, ...parts].flat(), error: err };
        if (part.length === 1) this.options.events?.refused?.(err);
        else parts.unshift(part.slice(0, part.length >> 1), part.slice(part.length >> 1));
      }
    }
    return { written, unwritten: [] };
  }
}
