/** Where the batched writer sends a batch of prediction records, and the two statements a batch is:
 * its rows, and their hourly counts upserted, in one transaction. The statements are written once,
 * here, in Kysely: the event-loop sink (PostgreSQL, in-memory SQLite) runs them as multi-row
 * statements, and the SQLite writer thread compiles their one-row form once and prepares it. */
import type { Kysely } from 'kysely';
import type { PredictionRecord } from '../record';
import { countsOf, type PredictionRow, toRow } from './prediction-rows';
import type { EvidenceSchema, PredictionCountsTable } from './schema';

export interface BatchSink {
  /** Resolves once the batch is committed; rejects, writing nothing, when it is not. */
  write(records: readonly PredictionRecord[]): Promise<void>;
  close(): Promise<void>;
}

/** True when the database refused the batch for what is in it (a value it cannot store, a
 * constraint), not for being unreachable, locked or down: retrying the same batch would fail again
 * for ever, so the writer splits it to keep out only the records at fault. PostgreSQL: SQLSTATE
 * classes 22 (data exception) and 23 (integrity constraint). SQLite: constraint, type mismatch, too
 * big. */
export function refusedForItsContent(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return false;
  if (/^2[23][0-9A-Z]{3}$/.test(code)) return true;
  return /^SQLITE_(CONSTRAINT|MISMATCH|TOOBIG)/.test(code);
}

export function insertPredictions(db: Kysely<EvidenceSchema>, rows: readonly PredictionRow[]) {
  return db.insertInto('predictions').values(rows);
}

export function upsertCounts(db: Kysely<EvidenceSchema>, counts: readonly PredictionCountsTable[]) {
  return db
    .insertInto('prediction_counts')
    .values(counts)
    .onConflict((oc) =>
      oc
        .columns(['model', 'experiment_id', 'version', 'reason', 'ok', 'latency_bucket', 'hour'])
        .doUpdateSet((eb) => ({
          requests: eb('prediction_counts.requests', '+', eb.ref('excluded.requests')),
          rows: eb('prediction_counts.rows', '+', eb.ref('excluded.rows')),
        })),
    );
}

/** Runs the batch on the caller's connection. On PostgreSQL that is I/O the event loop only waits
 * for; on SQLite it is synchronous work on the event loop, which is why files use the thread. */
export function kyselySink(db: Kysely<EvidenceSchema>): BatchSink {
  return {
    async write(records) {
      const rows = records.map(toRow);
      await db.transaction().execute(async (trx) => {
        await insertPredictions(trx, rows).execute();
        await upsertCounts(trx, countsOf(rows)).execute();
      });
    },
    close: async () => undefined,
  };
}
