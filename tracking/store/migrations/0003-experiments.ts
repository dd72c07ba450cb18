/** Experiments as stored objects (DESIGN Part 2, "Experiments"): one row each, the candidates and
 * the weight history as JSON text so both engines store them alike. At most one running experiment
 * per model is enforced by the repository inside a transaction, not by a partial index (SQLite and
 * PostgreSQL spell those differently). */
import type { Kysely } from 'kysely';
import type { Dialect } from '../dialect';

export async function up(db: Kysely<unknown>, _dialect: Dialect): Promise<void> {
  await db.schema
    .createTable('experiments')
    .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('model', 'varchar(128)', (c) => c.notNull())
    .addColumn('control', 'varchar(128)', (c) => c.notNull())
    .addColumn('candidates', 'text', (c) => c.notNull())
    .addColumn('unit', 'varchar(16)', (c) => c.notNull())
    .addColumn('metrics', 'text', (c) => c.notNull())
    .addColumn('status', 'varchar(16)', (c) => c.notNull())
    .addColumn('weights', 'text', (c) => c.notNull())
    .addColumn('started_at', 'bigint', (c) => c.notNull())
    .addColumn('ended_at', 'bigint')
    .addColumn('end_reason', 'varchar(256)')
    .addColumn('created_by', 'varchar(128)')
    .execute();
  await db.schema.createIndex('experiments_model').on('experiments').columns(['model', 'status']).execute();
}
