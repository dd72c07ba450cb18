/** The online feature store's embedded backend: one row per (model, entity), its named values as a
 * JSON text (the spec decides their types, so the table need not). The primary key is the lookup. */
import type { Kysely } from 'kysely';
import type { Dialect } from '../dialect';

export async function up(db: Kysely<unknown>, _dialect: Dialect): Promise<void> {
  await db.schema
    .createTable('features')
    .addColumn('model', 'varchar(128)', (c) => c.notNull())
    .addColumn('entity', 'varchar(256)', (c) => c.notNull())
    .addColumn('feature_values', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('features_pkey', ['model', 'entity'])
    .execute();
}
