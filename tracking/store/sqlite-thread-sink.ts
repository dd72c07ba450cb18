/** Writes prediction batches to a SQLite file from a worker thread with its own connection
 * (sqlite-writer-thread.ts), so the gateway's event loop only copies the records into a message.
 *
 * Why a thread: better-sqlite3 is synchronous. On the event loop a 600-row flush took about 10 ms of
 * every 200 ms, during which no prediction was answered, and a write lock held by another process
 * (a second gateway, a `modelgate` command) stalled every prediction for up to the busy timeout.
 *
 * A thread that dies (an error while opening the file, say) fails the batches it held; the writer
 * keeps them buffered and retries, and the next batch starts a fresh thread. The thread is unref'd
 * while idle, so it never keeps a process alive by itself. */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { PredictionRecord } from '../record';
import type { BatchSink } from './batch-write';
import { BUSY_TIMEOUT_MS } from './sqlite-connection';
import type { ThreadReply, ThreadRequest, WriterThreadData } from './sqlite-thread-protocol';

export interface SqliteThreadSinkOptions {
  path: string;
  busyTimeoutMs?: number;
}

interface Thread {
  worker: Worker;
  pending: Map<number, { resolve(): void; reject(err: Error): void }>;
}

const CLOSE_WAIT_MS = 5_000;

export class SqliteThreadSink implements BatchSink {
  private thread: Thread | undefined;
  private nextId = 0;

  constructor(private readonly options: SqliteThreadSinkOptions) {
    // Started now, not at the first batch: loading and opening take a few hundred ms on a busy
    // machine, which the first predictions' records (and a label racing them) would wait for.
    this.start();
  }

  write(records: readonly PredictionRecord[]): Promise<void> {
    const thread = this.thread ?? this.start();
    const id = this.nextId++;
    return new Promise<void>((resolve, reject) => {
      thread.pending.set(id, { resolve, reject });
      thread.worker.ref();
      thread.worker.postMessage({ type: 'write', id, records } satisfies ThreadRequest);
    });
  }

  async close(): Promise<void> {
    const thread = this.thread;
    this.thread = undefined;
    if (!thread) return;
    const exited = new Promise<void>((resolve) => thread.worker.once('exit', () => resolve()));
    thread.worker.postMessage({ type: 'close' } satisfies ThreadRequest);
    // Batches posted before the close are answered first: messages are handled in order. A thread
    // that does not end (stuck behind a lock) is terminated; SQLite's journal keeps the file whole.
    let timer: NodeJS.Timeout | undefined;
    const stuck = new Promise<void>((resolve) => {
      timer = setTimeout(() => void thread.worker.terminate().then(() => resolve()), CLOSE_WAIT_MS);
    });
    await Promise.race([exited, stuck]);
    clearTimeout(timer);
  }

  private start(): Thread {
    const workerData: WriterThreadData = {
      path: this.options.path,
      busyTimeoutMs: this.options.busyTimeoutMs ?? BUSY_TIMEOUT_MS,
    };
    const worker = new Worker(threadScript(), { workerData });
    const thread: Thread = { worker, pending: new Map() };
    worker.on('message', (reply: ThreadReply) => {
      if (reply.ending && this.thread === thread) this.thread = undefined;
      const waiter = thread.pending.get(reply.id);
      if (!waiter) return;
      thread.pending.delete(reply.id);
      if (thread.pending.size === 0) worker.unref();
      if (reply.error) waiter.reject(threadError(reply.error));
      else waiter.resolve();
    });
    const fail = (err: Error) => {
      if (this.thread === thread) this.thread = undefined;
      for (const waiter of thread.pending.values()) waiter.reject(err);
      thread.pending.clear();
    };
    worker.on('error', (err) => fail(threadError(err)));
    worker.on('exit', (code) => fail(new Error(`the evidence writer thread exited (code ${code})`)));
    worker.unref();
    this.thread = thread;
    return thread;
  }
}

/** The thread's compiled file. Under ts-jest this module runs from its .ts source, and a worker
 * cannot load TypeScript: then the build's copy is used (`npm test` builds first). */
function threadScript(): string {
  const beside = path.join(__dirname, 'sqlite-writer-thread.js');
  if (existsSync(beside)) return beside;
  return path.resolve(__dirname, '../../dist/tracking/store/sqlite-writer-thread.js');
}

/** An Error in this realm, SQLite's code kept (what the thread threw arrives as a cloned object,
 * not always an instance of this realm's Error). */
function threadError(err: unknown): Error {
  const e = (err ?? {}) as { message?: unknown; code?: unknown };
  const error = new Error(typeof e.message === 'string' ? e.message : String(err));
  return typeof e.code === 'string' ? Object.assign(error, { code: e.code }) : error;
}
