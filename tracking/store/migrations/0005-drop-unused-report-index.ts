/** Drops `predictions_report` (model, version, ok, latency_bucket, row, reason). It served the
 * no-experiment report, which reads `prediction_counts` since 0002, and no query uses it now (the
 * experiment queries lead with experiment_id, GET /predictions with model + created_at). It was one
 * of five indexes every prediction record updates: measured on the writer thread's prepared insert,
 * 10.1 → 8.1 µs per row (median of 10 interleaved rounds of 20,000 rows). */
import type { Kysely } from 'kysely';
import type { Dialect } from '../dialect';

export async function up(db: Kysely<unknown>, _dialect: Dialect): Promise<void> {
  await db.schema.dropIndex('predictions_report').ifExists().execute();
}
