/** Dynamic batching: rows from concurrent requests are stacked into one tensor, because one forward
 * pass over 32 rows costs little more than over one. A batch runs when MAX_BATCH_SIZE rows are
 * waiting or at most MAX_BATCH_DELAY_MS after its first row arrived, whichever comes first.
 *
 * Adaptive delay: waiting only pays when company is coming. When the last batch was partial (light
 * traffic: a lone client, or fewer concurrent requests than a batch holds), a new first row runs on
 * the next turn of the event loop (setImmediate), so every request parsed in the same I/O phase joins
 * it but nobody waits on a timer; under light load that costs one loop turn, not MAX_BATCH_DELAY_MS.
 * While the last batch was full or left a backlog (load), the first row waits up to
 * MAX_BATCH_DELAY_MS for the batch to fill. `run` is synchronous, so requests that arrive while a
 * batch executes are read in the next I/O phase and form the next batch by themselves.
 *
 * Trade-offs: a request's rows are never split across batches, so results come back in order without
 * reassembly; a request bigger than the batch size runs alone as one batch (with MAX_BATCH_SIZE=1
 * every request runs alone, i.e. batching is off). The queue is bounded in rows, not requests, so memory
 * stays bounded whatever the request sizes: past MAX_QUEUE_ROWS new work is shed with 503 + Retry-After
 * rather than queued. The queue is an array with a moving head (no per-row `shift()`), compacted now
 * and then. `run` is synchronous (TF.js on wasm/cpu is), so one batch runs at a time by construction. */
import { AppError } from '../common/errors';
import type { Prediction } from './model-loader';

export interface BatchReport {
  /** The stacked input rows, n × width. */
  rows: Float32Array;
  n: number;
  prediction: Prediction;
  durationMs: number;
  /** How long each request in the batch waited, with its row count. */
  waits: { rows: number; waitMs: number }[];
}

export interface BatcherOptions {
  maxBatchSize: number;
  maxDelayMs: number;
  maxQueueRows: number;
  /** Numbers per row. */
  width: number;
  run(rows: Float32Array, n: number): Prediction;
  now(): number;
  onBatch?(report: BatchReport): void;
  onQueueChange?(pendingRows: number): void;
}

export interface Batcher {
  /** Queues n rows (n × width values) and resolves with their predictions, in order. */
  submit(rows: Float32Array, n: number): Promise<Prediction>;
  pendingRows(): number;
  /** Resolves once every queued row has been predicted. */
  drain(): Promise<void>;
}

interface Pending {
  rows: Float32Array;
  n: number;
  enqueuedAt: number;
  resolve(p: Prediction): void;
  reject(err: unknown): void;
}

const COMPACT_AFTER = 1024;

export function createBatcher(options: BatcherOptions): Batcher {
  const { maxBatchSize, maxDelayMs, maxQueueRows, width, run, now } = options;
  let queue: Pending[] = [];
  let head = 0;
  let pending = 0;
  let timer: NodeJS.Timeout | undefined;
  let immediate: NodeJS.Immediate | undefined;
  let drainWaiters: (() => void)[] = [];
  /** The last batch was full or left rows behind: wait for company. Partial: run on the next turn. */
  let loaded = false;

  const setPending = (rows: number) => {
    pending = rows;
    options.onQueueChange?.(pending);
  };

  const cancelSchedule = () => {
    if (timer) clearTimeout(timer);
    if (immediate) clearImmediate(immediate);
    timer = undefined;
    immediate = undefined;
  };

  /** Runs on the next turn when a full batch waits or traffic is light, else when the oldest row's
   * delay is up. */
  const schedule = () => {
    cancelSchedule();
    if (head >= queue.length) return;
    if (pending >= maxBatchSize || !loaded) {
      immediate = setImmediate(flush);
      return;
    }
    const waitMs = Math.max(0, queue[head]!.enqueuedAt + maxDelayMs - now());
    timer = setTimeout(flush, waitMs);
  };

  function takeBatch(): Pending[] {
    const batch: Pending[] = [];
    let rows = 0;
    while (head < queue.length) {
      const next = queue[head]!;
      if (rows > 0 && rows + next.n > maxBatchSize) break;
      batch.push(next);
      rows += next.n;
      head++;
      if (rows >= maxBatchSize) break;
    }
    if (head >= COMPACT_AFTER && head * 2 >= queue.length) {
      queue = queue.slice(head);
      head = 0;
    }
    return batch;
  }

  function stack(batch: Pending[], n: number): Float32Array {
    if (batch.length === 1) return batch[0]!.rows;
    const rows = new Float32Array(n * width);
    let offset = 0;
    for (const p of batch) {
      rows.set(p.rows, offset);
      offset += p.rows.length;
    }
    return rows;
  }

  function flush(): void {
    timer = undefined;
    immediate = undefined;
    const batch = takeBatch();
    if (batch.length === 0) return;
    const n = batch.reduce((sum, p) => sum + p.n, 0);
    setPending(pending - n);
    loaded = n >= maxBatchSize || head < queue.length;
    const startedAt = now();
    const rows = stack(batch, n);
    let prediction: Prediction | undefined;
    try {
      prediction = run(rows, n);
    } catch (err) {
      for (const p of batch) p.reject(err);
    }
    if (prediction) {
      const durationMs = now() - startedAt;
      deliver(batch, n, prediction);
      options.onBatch?.({
        rows,
        n,
        prediction,
        durationMs,
        waits: batch.map((p) => ({ rows: p.n, waitMs: startedAt - p.enqueuedAt })),
      });
    }
    schedule();
    if (head >= queue.length) {
      const waiters = drainWaiters;
      drainWaiters = [];
      for (const w of waiters) w();
    }
  }

  function deliver(batch: Pending[], n: number, prediction: Prediction): void {
    if (batch.length === 1) {
      batch[0]!.resolve(prediction);
      return;
    }
    const k = prediction.probabilities.length / n;
    let row = 0;
    for (const p of batch) {
      // subarray views share the batch's freshly allocated output; nothing else writes to it.
      p.resolve({
        probabilities: prediction.probabilities.subarray(row * k, (row + p.n) * k),
        classIndex: prediction.classIndex.subarray(row, row + p.n),
      });
      row += p.n;
    }
  }

  return {
    submit(rows, n) {
      if (n > maxQueueRows) {
        return Promise.reject(
          new AppError(
            'payload_too_large',
            `request has ${n} rows; this server takes at most ${maxQueueRows} rows per request (MAX_QUEUE_ROWS)`,
          ),
        );
      }
      if (pending + n > maxQueueRows) {
        return Promise.reject(
          new AppError(
            'overloaded',
            `server is at capacity (${pending} rows queued, limit ${maxQueueRows}); retry shortly`,
            undefined,
            { 'Retry-After': '1' },
          ),
        );
      }
      return new Promise<Prediction>((resolve, reject) => {
        const wasIdle = head >= queue.length;
        queue.push({ rows, n, enqueuedAt: now(), resolve, reject });
        setPending(pending + n);
        if (pending >= maxBatchSize) {
          cancelSchedule();
          flush();
        } else if (wasIdle) {
          schedule();
        }
      });
    },
    pendingRows: () => pending,
    drain() {
      if (head >= queue.length) return Promise.resolve();
      return new Promise((resolve) => drainWaiters.push(resolve));
    },
  };
}
