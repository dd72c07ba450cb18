/** Every prediction as one JSON line in LOG_DIR/predictions.jsonl (rotated by size), written off
 * the hot path: callers append to a buffer that is flushed every FLUSH_MS in one write (each write
 * costs rotating-file-stream a stat and a write on the thread pool, so one per tick was dear). When the
 * disk falls behind, lines beyond the buffer cap are dropped and counted rather than held in memory. */
import { mkdirSync } from 'node:fs';
import type { Writable } from 'node:stream';

// The package ships CommonJS under its "require" condition, but its typings resolve only as ESM
// under node16 resolution; this is the one function used, typed here.
const { createStream } = require('rotating-file-stream') as {
  createStream(file: string, options: { path: string; size: string; maxFiles: number }): Writable;
};

export interface PredictionRecord {
  ts: string;
  request_id: string;
  model: string;
  version: string;
  route: string;
  latency_ms: number;
  prediction: string;
  confidence: number;
}

export interface PredictionLog {
  write(record: PredictionRecord): void;
  close(): Promise<void>;
}

const FLUSH_MS = 100;

export function createPredictionLog(
  dir: string,
  onDrop: (lines: number) => void,
  options: { maxBufferedLines?: number; size?: string; maxFiles?: number } = {},
): PredictionLog {
  mkdirSync(dir, { recursive: true });
  const stream = createStream('predictions.jsonl', {
    path: dir,
    size: options.size ?? '50M',
    maxFiles: options.maxFiles ?? 10,
  });
  stream.on('error', () => undefined); // a full disk must not take the gateway down
  const cap = options.maxBufferedLines ?? 10_000;
  let buffer: string[] = [];
  let scheduled = false;
  let writing = false;
  const flush = () => {
    scheduled = false;
    if (buffer.length === 0) return;
    const lines = buffer;
    buffer = [];
    writing = !stream.write(`${lines.join('\n')}\n`);
    if (writing) stream.once('drain', () => (writing = false));
  };
  return {
    write(record) {
      if (buffer.length >= cap || (writing && buffer.length >= cap / 2)) {
        onDrop(1);
        return;
      }
      buffer.push(JSON.stringify(record));
      if (!scheduled) {
        scheduled = true;
        setTimeout(flush, FLUSH_MS);
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        flush();
        stream.end(() => resolve());
      }),
  };
}
