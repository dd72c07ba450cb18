/** One better-sqlite3 connection to an evidence-store file, set up alike wherever it is opened (the
 * service's connection, the writer thread's): WAL mode, so several local processes (two gateways
 * under `npm start`) read while one writes; a busy timeout, so writers queue for the lock rather
 * than fail; synchronous=NORMAL: in WAL mode a commit survives a process crash (SIGKILL), only a
 * power loss can take the last transactions. */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SqliteDatabase from 'better-sqlite3';

export const BUSY_TIMEOUT_MS = 10_000;

export function connectSqlite(path: string, busyTimeoutMs = BUSY_TIMEOUT_MS): SqliteDatabase.Database {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const sqlite = new SqliteDatabase(path, { timeout: busyTimeoutMs });
  try {
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('synchronous = NORMAL');
    sqlite.pragma(`busy_timeout = ${busyTimeoutMs}`);
  } catch (err) {
    sqlite.close();
    throw err;
  }
  return sqlite;
}
