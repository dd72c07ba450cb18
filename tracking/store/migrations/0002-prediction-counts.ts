/** Per-hour counts of the served predictions, kept by the writer in the same transaction as the rows
 * (so they can never disagree): the report sums a few thousand count rows instead of scanning every
 * prediction, which keeps it fast at any volume (a million-row scan was already ~150 ms on SQLite).
 * `experiment_id` is '' when none, so it can sit in the primary key on both engines. Existing rows
 * are counted here once. */
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('prediction_counts')
    .addColumn('model', 'varchar(128)', (c) => c.notNull())
    .addColumn('experiment_id', 'varchar(128)', (c) => c.notNull())
    .addColumn('version', 'varchar(128)', (c) => c.notNull())
    .addColumn('reason', 'varchar(16)', (c) => c.notNull())
    .addColumn('ok', 'integer', (c) => c.notNull())
    .addColumn('latency_bucket', 'integer', (c) => c.notNull())
    .addColumn('hour', 'bigint', (c) => c.notNull())
    .addColumn('requests', 'bigint', (c) => c.notNull())
    .addColumn('rows', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('prediction_counts_pk', [
      'model',
      'experiment_id',
      'version',
      'reason',
      'ok',
      'latency_bucket',
      'hour',
    ])
    .execute();
  await db.schema.createIndex('prediction_counts_hour').on('prediction_counts').columns(['hour']).execute();
  await sql`
    INSERT INTO prediction_counts (model, experiment_id, version, reason, ok, latency_bucket, hour, requests, ${sql.ref('rows')})
    SELECT model, coalesce(experiment_id, ''), version, reason, ok, latency_bucket,
           created_at - (created_at % 3600000),
           sum(case when ${sql.ref('row')} = 0 then 1 else 0 end), count(*)
    FROM predictions
    GROUP BY model, coalesce(experiment_id, ''), version, reason, ok, latency_bucket, created_at - (created_at % 3600000)
  `.execute(db);
}
