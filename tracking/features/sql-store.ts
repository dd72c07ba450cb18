/** The embedded feature store: the evidence store's database (SQLite by default, PostgreSQL at
 * scale), table `features`. A lookup is one primary-key read for all entities of a request. */
import type { Kysely } from 'kysely';
import type { EvidenceSchema } from '../store/schema';
import { type FeatureRecord, type FeatureStore, FeatureStoreUnavailable, parseRecord } from './store';

/** Rows per INSERT: well under SQLite's bound-parameter limit (4 per row). */
const INSERT_CHUNK = 200;

export function createSqlFeatureStore(options: { db: Kysely<EvidenceSchema>; now(): number }): FeatureStore {
  const { db, now } = options;
  const unavailable = (err: unknown) => {
    throw new FeatureStoreUnavailable('sql', err);
  };
  return {
    backend: 'sql',
    async getMany(model, entities) {
      if (entities.length === 0) return [];
      const rows = await db
        .selectFrom('features')
        .select(['entity', 'feature_values'])
        .where('model', '=', model)
        .where('entity', 'in', [...entities])
        .execute()
        .catch(unavailable);
      const byEntity = new Map(rows.map((r) => [r.entity, r.feature_values]));
      return entities.map((e) => parseRecord(byEntity.get(e)));
    },
    async put(model, rows) {
      const at = now();
      await db
        .transaction()
        .execute(async (tx) => {
          for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
            const values = rows.slice(i, i + INSERT_CHUNK).map((r) => ({
              model,
              entity: r.entity,
              feature_values: JSON.stringify(r.values satisfies FeatureRecord),
              updated_at: at,
            }));
            await tx
              .insertInto('features')
              .values(values)
              .onConflict((oc) =>
                oc.columns(['model', 'entity']).doUpdateSet((eb) => ({
                  feature_values: eb.ref('excluded.feature_values'),
                  updated_at: eb.ref('excluded.updated_at'),
                })),
              )
              .execute();
          }
        })
        .catch(unavailable);
    },
    ready: async () => undefined,
    // The database belongs to whoever opened it (the gateway shares it with the evidence store).
    close: async () => undefined,
  };
}
