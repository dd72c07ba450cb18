/** Opens the evidence store a DATABASE_URL names and brings its schema up to date (atproto's
 * `Database.sqlite()` / `.postgres()` + `migrateToLatestOrThrow()`, in one call).
 *
 * SQLite: one better-sqlite3 connection per process for reads, feedback and retention
 * (sqlite-connection.ts); prediction records are written by a thread with its own connection
 * (sqlite-thread-sink.ts).
 * PostgreSQL: a `pg` pool, BIGINT parsed to numbers (epoch ms fit a double), bounded timeouts so a
 * database that goes away fails calls quickly instead of holding them, and a client whose call got
 * no answer is dropped rather than reused (pg-pool.ts). */
import type SqliteDatabase from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect } from 'kysely';
import { Pool, types } from 'pg';
import { type Dialect, parseDatabaseUrl, redact } from './dialect';
import { migrations } from './migrations';
import { discardingBrokenClients } from './pg-pool';
import type { EvidenceSchema } from './schema';
import { connectSqlite } from './sqlite-connection';

export interface EvidenceDatabase {
  db: Kysely<EvidenceSchema>;
  dialect: Dialect;
  /** The URL with any password masked, for messages. */
  url: string;
  /** SQLite: the file (or `:memory:`), for a second connection to it. */
  sqlitePath?: string;
  close(): Promise<void>;
}

export interface OpenOptions {
  /** Apply pending migrations (default true). */
  migrate?: boolean;
  /** Called when the pg pool reports an idle client's error (the database went away). */
  onPoolError?(err: Error): void;
  /** PostgreSQL pool size (default 10). */
  poolSize?: number;
  /** PostgreSQL: longest a query may wait for its answer (default 15 s). */
  queryTimeoutMs?: number;
}

/** Raised when DATABASE_URL cannot be opened or migrated; main.ts prints it and exits. */
export class DatabaseOpenError extends Error {
  constructor(url: string, cause: unknown) {
    super(
      `cannot open DATABASE_URL=${redact(url)}: ${cause instanceof Error ? cause.message : String(cause)}`,
    );
    this.name = 'DatabaseOpenError';
  }
}

const INT8_OID = 20;

export async function openDatabase(url: string, options: OpenOptions = {}): Promise<EvidenceDatabase> {
  let location: ReturnType<typeof parseDatabaseUrl>;
  try {
    location = parseDatabaseUrl(url);
  } catch (err) {
    throw new DatabaseOpenError(url, err);
  }
  let store: EvidenceDatabase;
  let sqlite: SqliteDatabase.Database | undefined;
  try {
    if (location.dialect === 'sqlite') {
      sqlite = connectSqlite(location.path);
      const raw = sqlite;
      const db = new Kysely<EvidenceSchema>({ dialect: new SqliteDialect({ database: raw }) });
      store = {
        db,
        dialect: 'sqlite',
        url: redact(url),
        sqlitePath: location.path,
        close: () => db.destroy(),
      };
    } else {
      const pool = new Pool({
        connectionString: location.url,
        max: options.poolSize ?? 10,
        connectionTimeoutMillis: 5_000,
        idleTimeoutMillis: 30_000,
        query_timeout: options.queryTimeoutMs ?? 15_000,
        types: {
          getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
            oid === INT8_OID
              ? (v: string) => Number(v)
              : types.getTypeParser(oid, format as 'text')) as never,
        },
      });
      // An idle client whose server went away emits here; unhandled it would crash the process.
      pool.on('error', (err) => options.onPoolError?.(err));
      // A checked-out client (inside a transaction, between two statements) emits 'error' on
      // itself, not on the pool, when the server terminates the connection: without a listener
      // that is an uncaught exception and the gateway dies with the database.
      pool.on('connect', (client) => client.on('error', (err) => options.onPoolError?.(err)));
      const db = new Kysely<EvidenceSchema>({
        dialect: new PostgresDialect({ pool: discardingBrokenClients(pool) }),
      });
      store = { db, dialect: 'postgres', url: redact(url), close: () => db.destroy() };
    }
  } catch (err) {
    sqlite?.close();
    throw new DatabaseOpenError(url, err);
  }
  try {
    if (options.migrate !== false) await migrateToLatest(store, sqlite);
    else await store.db.selectFrom('predictions').select('id').limit(1).execute();
  } catch (err) {
    await store.close().catch(() => undefined);
    throw new DatabaseOpenError(url, err);
  }
  return store;
}

/** Kysely's migration lock is a no-op on SQLite (it assumes one process), so concurrent starters
 * sharing a file would race on creating the tables. BEGIN IMMEDIATE takes the file's write lock for
 * the whole run: the second process waits (busy timeout), then finds nothing left to do. SQLite's
 * DDL is transactional, so a failed migration leaves the file as it was. */
async function migrateToLatest(store: EvidenceDatabase, sqlite: SqliteDatabase.Database | undefined) {
  const dialect = store.dialect;
  const migrator = new Migrator({
    db: store.db as unknown as Kysely<unknown>,
    provider: {
      // atproto's provider: each migration gets the dialect, to branch where DDL differs.
      getMigrations: async () =>
        Object.fromEntries(
          Object.entries(migrations).map(([name, m]) => [
            name,
            { up: (db: Kysely<unknown>) => m.up(db, dialect) },
          ]),
        ),
    },
  });
  if (sqlite) sqlite.exec('BEGIN IMMEDIATE');
  const { error, results } = await migrator.migrateToLatest();
  if (sqlite) sqlite.exec(error ? 'ROLLBACK' : 'COMMIT');
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName;
    const why = error instanceof Error ? error.message : String(error);
    throw new Error(failed ? `migration ${failed} failed: ${why}` : why);
  }
}
