/** The batch statements (batch-write.ts) as prepared better-sqlite3 statements, for the writer
 * thread. Kysely compiles their one-row form once, so the SQL still has one definition; each batch
 * then runs them row by row in one transaction, which costs far less than compiling and binding a
 * 1,000-row statement per batch. */
import type SqliteDatabase from 'better-sqlite3';
import { DummyDriver, Kysely, SqliteAdapter, SqliteIntrospector, SqliteQueryCompiler } from 'kysely';
import type { PredictionRecord } from '../record';
import { insertPredictions, upsertCounts } from './batch-write';
import { countsOf, toRow } from './prediction-rows';
import type { EvidenceSchema } from './schema';

/** Returns a function that writes one batch, committed or not at all (it throws what SQLite threw). */
export function preparedBatchWriter(
  sqlite: SqliteDatabase.Database,
): (records: readonly PredictionRecord[]) => void {
  // A Kysely that only compiles: it has no connection.
  const compiler = new Kysely<EvidenceSchema>({
    dialect: {
      createAdapter: () => new SqliteAdapter(),
      createDriver: () => new DummyDriver(),
      createIntrospector: (db) => new SqliteIntrospector(db),
      createQueryCompiler: () => new SqliteQueryCompiler(),
    },
  });
  // Placeholders come in the order of the sample's keys, which is the order toRow / countsOf give
  // every row: the values of each row bind in that same order.
  const sampleRow = toRow({
    requestId: '',
    row: 0,
    model: '',
    version: '',
    experimentId: null,
    unit: null,
    route: '',
    reason: 'split',
    status: 200,
    ok: true,
    latencyMs: 0,
    predictedClass: null,
    confidence: null,
    at: 0,
  });
  const insert = sqlite.prepare(insertPredictions(compiler, [sampleRow]).compile().sql);
  const upsert = sqlite.prepare(upsertCounts(compiler, countsOf([sampleRow])).compile().sql);
  return sqlite.transaction((records: readonly PredictionRecord[]) => {
    const rows = records.map(toRow);
    for (const row of rows) insert.run(Object.values(row));
    for (const counts of countsOf(rows)) upsert.run(Object.values(counts));
  });
}
