/** The SQLite writer thread's entry point (sqlite-thread-sink.ts starts it). It owns one connection
 * to the file and runs each batch the event loop posts; the event loop never steps SQLite for a
 * prediction record, nor waits there for another process's write lock. */
import { parentPort, workerData } from 'node:worker_threads';
import type SqliteDatabase from 'better-sqlite3';
import { preparedBatchWriter } from './sqlite-batch-statements';
import { connectSqlite } from './sqlite-connection';
import type { ThreadReply, ThreadRequest, WriterThreadData } from './sqlite-thread-protocol';

const port = parentPort;
if (!port) throw new Error('sqlite-writer-thread runs as a worker thread only');
const { path, busyTimeoutMs } = workerData as WriterThreadData;

/** SQLite's error as plain data: its SqliteError class does not survive the copy to the event loop. */
const asReply = (id: number, err: unknown): ThreadReply => {
  const e = err as { message?: unknown; code?: unknown };
  return {
    id,
    error: {
      message: String(e?.message ?? err),
      ...(typeof e?.code === 'string' ? { code: e.code } : {}),
    },
  };
};

let opened: { sqlite: SqliteDatabase.Database; write: ReturnType<typeof preparedBatchWriter> } | undefined;
let openError: unknown;
try {
  const sqlite = connectSqlite(path, busyTimeoutMs);
  opened = { sqlite, write: preparedBatchWriter(sqlite) };
} catch (err) {
  openError = err;
}

port.on('message', (message: ThreadRequest) => {
  if (message.type === 'close' || !opened) {
    // A thread that could not open the file answers what it was sent with the reason, then ends:
    // the sink starts a fresh one for the next batch, which may find the file mended.
    if (message.type === 'write') port.postMessage({ ...asReply(message.id, openError), ending: true });
    opened?.sqlite.close();
    port.close();
    return;
  }
  let reply: ThreadReply = { id: message.id };
  try {
    opened.write(message.records);
  } catch (err) {
    reply = asReply(message.id, err);
  }
  port.postMessage(reply);
});
