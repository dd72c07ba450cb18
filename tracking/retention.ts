/** Prunes predictions and feedback older than RETENTION_DAYS in small batches, so a backlog (the
 * first start after a long stop) never holds the database's write lock for long: each batch is one
 * short DELETE, and batches are spaced out so gateways' flushes get in between. */
import type { Kysely } from 'kysely';
import { type EvidenceSchema, HOUR_MS } from './store/schema';

export interface PruneResult {
  predictions: number;
  feedback: number;
}

/** Deletes at most `batchRows` old predictions and `batchRows` old labels; returns how many went. */
export async function pruneOnce(
  db: Kysely<EvidenceSchema>,
  options: { before: number; batchRows: number },
): Promise<PruneResult> {
  const predictions = await db
    .deleteFrom('predictions')
    .where(
      'id',
      'in',
      db
        .selectFrom('predictions')
        .select('id')
        .where('created_at', '<', options.before)
        .limit(options.batchRows),
    )
    .executeTakeFirst();
  const feedback = await db
    .deleteFrom('feedback')
    .where((eb) =>
      eb(
        eb.refTuple('request_id', 'row'),
        'in',
        eb
          .selectFrom('feedback')
          .select(['request_id', 'row'])
          .where('predicted_at', '<', options.before)
          .limit(options.batchRows) as never,
      ),
    )
    .executeTakeFirst();
  // Whole hours only: the report's counts of a partly pruned hour stay until its last row goes.
  await db
    .deleteFrom('prediction_counts')
    .where('hour', '<', options.before - HOUR_MS)
    .where(
      'hour',
      'in',
      db
        .selectFrom('prediction_counts')
        .select('hour')
        .where('hour', '<', options.before - HOUR_MS)
        .limit(options.batchRows),
    )
    .executeTakeFirst();
  return { predictions: Number(predictions.numDeletedRows), feedback: Number(feedback.numDeletedRows) };
}

export interface RetentionOptions {
  db: Kysely<EvidenceSchema>;
  now(): number;
  retentionDays: number;
  /** Between sweeps once caught up (default 10 min). */
  intervalMs?: number;
  /** Between batches while catching up (default 200 ms). */
  pauseMs?: number;
  batchRows?: number;
  onPruned?(result: PruneResult): void;
  onError?(err: unknown): void;
}

export interface Retention {
  /** One full sweep now, batch by batch; resolves when nothing old is left. */
  sweep(): Promise<PruneResult>;
  stop(): void;
}

const DAY_MS = 86_400_000;

export function startRetention(options: RetentionOptions): Retention {
  const batchRows = options.batchRows ?? 1000;
  const pauseMs = options.pauseMs ?? 200;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const wait = (ms: number) =>
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
      timer.unref();
    });

  async function sweep(): Promise<PruneResult> {
    const total = { predictions: 0, feedback: 0 };
    const before = options.now() - options.retentionDays * DAY_MS;
    while (!stopped) {
      const r = await pruneOnce(options.db, { before, batchRows });
      total.predictions += r.predictions;
      total.feedback += r.feedback;
      if (r.predictions + r.feedback > 0) options.onPruned?.(r);
      if (r.predictions < batchRows && r.feedback < batchRows) break;
      await wait(pauseMs);
    }
    return total;
  }

  const loop = async () => {
    while (!stopped) {
      await sweep().catch((err: unknown) => options.onError?.(err));
      if (!stopped) await wait(options.intervalMs ?? 600_000);
    }
  };
  void loop();
  return {
    sweep,
    stop: () => {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}
