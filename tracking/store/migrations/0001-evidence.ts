/** Predictions and feedback. Indexes are shaped for the three reads: the report (grouped by
 * version, ok and latency bucket in index order, so SQLite streams it without sorting), the feedback
 * join (request_id, row) and retention / GET /predictions (model, created_at). */
import { type Kysely, sql } from 'kysely';
import type { Dialect } from '../dialect';

export async function up(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  const id = dialect === 'postgres' ? 'bigserial' : 'integer';
  await db.schema
    .createTable('predictions')
    .addColumn('id', sql.raw(id), (c) =>
      dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement(),
    )
    .addColumn('request_id', 'varchar(200)', (c) => c.notNull())
    .addColumn('row', 'integer', (c) => c.notNull())
    .addColumn('model', 'varchar(128)', (c) => c.notNull())
    .addColumn('version', 'varchar(128)', (c) => c.notNull())
    .addColumn('experiment_id', 'varchar(128)')
    .addColumn('unit', 'varchar(256)')
    .addColumn('route', 'varchar(64)', (c) => c.notNull())
    .addColumn('reason', 'varchar(16)', (c) => c.notNull())
    .addColumn('status', 'integer', (c) => c.notNull())
    .addColumn('ok', 'integer', (c) => c.notNull())
    .addColumn('latency_ms', 'double precision', (c) => c.notNull())
    .addColumn('latency_bucket', 'integer', (c) => c.notNull())
    .addColumn('predicted_class', 'varchar(256)')
    .addColumn('confidence', 'double precision')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('predictions_report')
    .on('predictions')
    .columns(['model', 'version', 'ok', 'latency_bucket', 'row', 'reason'])
    .execute();
  await db.schema
    .createIndex('predictions_experiment_report')
    .on('predictions')
    .columns(['experiment_id', 'version', 'ok', 'latency_bucket', 'row', 'reason'])
    .execute();
  await db.schema
    .createIndex('predictions_request')
    .on('predictions')
    .columns(['request_id', 'row'])
    .execute();
  await db.schema
    .createIndex('predictions_model_time')
    .on('predictions')
    .columns(['model', 'created_at', 'id'])
    .execute();
  await db.schema.createIndex('predictions_time').on('predictions').columns(['created_at']).execute();

  await db.schema
    .createTable('feedback')
    .addColumn('request_id', 'varchar(200)', (c) => c.notNull())
    .addColumn('row', 'integer', (c) => c.notNull())
    .addColumn('label', 'varchar(256)', (c) => c.notNull())
    .addColumn('correct', 'integer', (c) => c.notNull())
    .addColumn('model', 'varchar(128)', (c) => c.notNull())
    .addColumn('version', 'varchar(128)', (c) => c.notNull())
    .addColumn('experiment_id', 'varchar(128)')
    .addColumn('predicted_at', 'bigint', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('feedback_pk', ['request_id', 'row'])
    .execute();
  await db.schema
    .createIndex('feedback_report')
    .on('feedback')
    .columns(['model', 'version', 'correct'])
    .execute();
  await db.schema
    .createIndex('feedback_experiment_report')
    .on('feedback')
    .columns(['experiment_id', 'version', 'correct'])
    .execute();
  await db.schema.createIndex('feedback_time').on('feedback').columns(['predicted_at']).execute();
}
