/** The messages between the event loop and the SQLite writer thread. */
import type { PredictionRecord } from '../record';

export interface WriterThreadData {
  path: string;
  busyTimeoutMs: number;
}

export type ThreadRequest =
  | { type: 'write'; id: number; records: readonly PredictionRecord[] }
  | { type: 'close' };

/** A batch committed, or SQLite's error (its code kept: SQLITE_BUSY, SQLITE_READONLY, …). */
export interface ThreadReply {
  id: number;
  error?: { message: string; code?: string };
  /** The thread could not open the file and is ending: send the next batch to a fresh one. */
  ending?: true;
}
