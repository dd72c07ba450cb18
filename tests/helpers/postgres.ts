/** The throwaway PostgreSQL cluster tests start (initdb/pg_ctl as the postgres user, free port);
 * the implementation lives with the benchmark harness, which needs it too. */
export { type PostgresCluster, startPostgres } from '../../bench/harness/postgres';

/** The engines every store test runs on: SQLite in a temp file, and a fresh PostgreSQL cluster. */
export const ENGINES = ['sqlite', 'postgres'] as const;
export type Engine = (typeof ENGINES)[number];
