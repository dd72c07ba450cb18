/** The batched prediction writer on its own: how it retries a sink that fails, and that it writes
 * again once the failure is gone, whatever the failure was (a fake sink that refuses, then a real
 * SQLite file that is locked by another connection or read-only, written from the writer thread or
 * from the event loop). The writer thread is the build's (`npm test` builds first). */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { sql } from 'kysely';
import type { PredictionRecord } from '../../../tracking/record';
import { type BatchSink, kyselySink } from '../../../tracking/store/batch-write';
import { type EvidenceDatabase, openDatabase } from '../../../tracking/store/database';
import { SqliteThreadSink } from '../../../tracking/store/sqlite-thread-sink';
import { PredictionWriter, type WriterEvents } from '../../../tracking/writer';
import { predictionRecord } from './store-record';

const record = (requestId: string) => predictionRecord({ requestId });

describe('a writer whose database refuses every write', () => {
  let attempts: number[];
  let down: boolean;
  let written: number;
  let writer: PredictionWriter;

  beforeEach(() => {
    jest.useFakeTimers();
    attempts = [];
    down = true;
    written = 0;
    const sink: BatchSink = {
      write: async () => {
        attempts.push(Date.now());
        if (down) throw new Error('connect ECONNREFUSED 127.0.0.1:5432');
      },
      close: async () => undefined,
    };
    writer = new PredictionWriter({
      sink,
      flushMs: 100,
      bufferRows: 10,
      clockMs: () => Date.now(),
      events: { written: (n) => (written += n) },
    });
    writer.start();
  });
  afterEach(async () => {
    await writer.close().catch(() => undefined);
    jest.useRealTimers();
  });

  it('backs off to one try a second, never longer, however long the database stays down', async () => {
    writer.push(record('a'));
    await jest.advanceTimersByTimeAsync(60_000);
    const gaps = attempts.slice(1).map((t, i) => t - attempts[i]!);
    expect(gaps.length).toBeGreaterThan(50);
    expect(gaps.slice(0, 3)).toEqual([200, 400, 800]);
    expect(Math.max(...gaps)).toBe(1000);
  });

  it('writes what is buffered within a second of the database coming back', async () => {
    for (let i = 0; i < 25; i++) writer.push(record(`r${i}`));
    await jest.advanceTimersByTimeAsync(30_000);
    expect(written).toBe(0);
    down = false;
    await jest.advanceTimersByTimeAsync(1000);
    // The ten newest: the buffer holds ten, and the oldest went first.
    expect(written).toBe(10);
    expect(writer.depth).toBe(0);
  });
});

describe('an explicit flush', () => {
  it('also writes a record pushed while an earlier flush was under way', async () => {
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    let calls = 0;
    let written = 0;
    const sink: BatchSink = {
      write: async () => {
        if (calls++ === 0) await gate;
      },
      close: async () => undefined,
    };
    const writer = new PredictionWriter({
      sink,
      flushMs: 100,
      bufferRows: 10,
      events: { written: (n) => (written += n) },
    });
    writer.push(record('first'));
    const first = writer.flush();
    writer.push(record('second'));
    const second = writer.flush();
    open();
    await Promise.all([first, second]);
    expect(written).toBe(2);
    expect(writer.depth).toBe(0);
  });
});

describe('a record whose batch is being written', () => {
  it('is still pending until the batch commits, so a label racing it waits for the commit', async () => {
    let commit!: () => void;
    const committed = new Promise<void>((resolve) => (commit = resolve));
    const sink: BatchSink = { write: () => committed, close: async () => undefined };
    const writer = new PredictionWriter({ sink, flushMs: 1e9, bufferRows: 10 });
    writer.push(record('racing'));
    const flushed = writer.flush();
    // Taken out of the buffer, not yet in the database: it must not look unknown.
    expect(writer.depth).toBe(0);
    expect([...writer.pending()].map((r) => r.requestId)).toEqual(['racing']);
    commit();
    await flushed;
    expect([...writer.pending()]).toEqual([]);
  });
});

describe('a batch the database refuses for one record in it', () => {
  const refusal = Object.assign(new Error('invalid byte sequence for encoding "UTF8": 0x00'), {
    code: '22021',
  });

  it('keeps out that record alone, writes the others once each, in order, and requeues on an outage', async () => {
    const stored: string[] = [];
    const refused: unknown[] = [];
    let writes = 0;
    let outageAtWrite = 4;
    const sink: BatchSink = {
      write: async (batch) => {
        writes++;
        // Mid-way through the halving the database goes away once: what is not written yet must be
        // requeued, and what was written must not be written again.
        if (writes === outageAtWrite) throw new Error('connect ECONNREFUSED 127.0.0.1:5432');
        if (batch.some((r) => r.requestId === 'bad')) throw refusal;
        stored.push(...batch.map((r) => r.requestId));
      },
      close: async () => undefined,
    };
    const writer = new PredictionWriter({
      sink,
      flushMs: 1e9,
      bufferRows: 100,
      events: { refused: (e) => refused.push(e) },
    });
    const ids = Array.from({ length: 32 }, (_, i) => (i === 21 ? 'bad' : `r${i}`));
    for (const id of ids) writer.push(record(id));
    await writer.flush();
    expect(writer.depth).toBeGreaterThan(0);
    outageAtWrite = -1;
    await writer.flush();
    expect(stored).toEqual(ids.filter((id) => id !== 'bad'));
    expect(refused).toEqual([refusal]);
    expect(writer.depth).toBe(0);
    // 32 rows, one bad: about 2·log2(32) writes, not one per row.
    expect(writes).toBeLessThanOrEqual(14);
  });
});

/** Resolves with the next `event` a writer reports (its error, for `failed`). */
function eventsOf() {
  const waiting: { event: keyof WriterEvents; resolve(detail: unknown): void }[] = [];
  const report = (event: keyof WriterEvents, detail: unknown) => {
    for (let i = waiting.length - 1; i >= 0; i--)
      if (waiting[i]!.event === event) waiting.splice(i, 1)[0]!.resolve(detail);
  };
  return {
    next: (event: keyof WriterEvents) => new Promise<unknown>((resolve) => waiting.push({ event, resolve })),
    events: {
      written: (n: number) => report('written', n),
      failed: (err: unknown) => report('failed', err),
    } satisfies WriterEvents,
  };
}

describe.each([
  ['from the writer thread', (file: string) => new SqliteThreadSink({ path: file, busyTimeoutMs: 10 })],
  ['from the event loop', (_file: string, database: EvidenceDatabase) => kyselySink(database.db)],
])('a writer on a SQLite file that fails for a while, writing %s', (how, sinkFor) => {
  let dir: string;
  let file: string;
  let database: EvidenceDatabase;
  let sink: BatchSink;
  let writer: PredictionWriter;
  let next: ReturnType<typeof eventsOf>['next'];

  const stored = async () =>
    (await database.db.selectFrom('predictions').select('request_id').orderBy('id').execute()).map(
      (r) => r.request_id,
    );

  beforeEach(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'modelgate-writer-'));
    file = path.join(dir, 'evidence.db');
    database = await openDatabase(`sqlite:${file}`);
    // A short wait for the lock, so the locked-out flush fails rather than waits.
    await sql`PRAGMA busy_timeout = 10`.execute(database.db);
    sink = sinkFor(file, database);
    const events = eventsOf();
    next = events.next;
    writer = new PredictionWriter({ sink, flushMs: 20, bufferRows: 100, events: events.events });
    writer.start();
  });
  afterEach(async () => {
    await writer.close();
    await sink.close();
    await database.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes again once another connection releases the write lock (SQLITE_BUSY)', async () => {
    const other = new SqliteDatabase(file);
    other.exec('BEGIN IMMEDIATE');
    const failed = next('failed');
    writer.push(record('while-locked'));
    expect(await failed).toMatchObject({ code: 'SQLITE_BUSY' });
    const written = next('written');
    other.exec('COMMIT');
    other.close();
    await written;
    expect(await stored()).toEqual(['while-locked']);
  });

  if (how === 'from the event loop')
    it('writes again once the database is writable again (SQLITE_READONLY)', async () => {
      await sql`PRAGMA query_only = ON`.execute(database.db);
      const failed = next('failed');
      writer.push(record('while-read-only'));
      expect(await failed).toMatchObject({ code: 'SQLITE_READONLY' });
      const written = next('written');
      await sql`PRAGMA query_only = OFF`.execute(database.db);
      await written;
      writer.push(record('after'));
      await writer.flush();
      expect(await stored()).toEqual(['while-read-only', 'after']);
    });
});

describe('the writer thread', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'modelgate-writer-thread-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const records = (n: number, over: Partial<PredictionRecord> = {}) =>
    Array.from({ length: n }, (_, i) =>
      predictionRecord({
        requestId: `r${i}`,
        row: i % 3,
        version: String(1 + (i % 2)),
        ok: i % 7 !== 0,
        latencyMs: 1 + i * 3.7,
        experimentId: i % 4 === 0 ? null : 'exp-1',
        unit: i % 5 === 0 ? null : `u${i}`,
        predictedClass: i % 6 === 0 ? null : `c${i % 3}`,
        confidence: i % 6 === 0 ? null : 0.5 + i / 1000,
        at: 1_700_000_000_000 + i * 600_000,
        ...over,
      }),
    );

  it('stores exactly what the event-loop statements store, rows and hourly counts', async () => {
    const dump = async (database: EvidenceDatabase) => ({
      predictions: await database.db.selectFrom('predictions').selectAll().orderBy('id').execute(),
      counts: await database.db
        .selectFrom('prediction_counts')
        .selectAll()
        .orderBy(['model', 'experiment_id', 'version', 'reason', 'ok', 'latency_bucket', 'hour'])
        .execute(),
    });
    const viaLoop = await openDatabase(`sqlite:${path.join(dir, 'loop.db')}`);
    const threadFile = path.join(dir, 'thread.db');
    const viaThread = await openDatabase(`sqlite:${threadFile}`);
    const thread = new SqliteThreadSink({ path: threadFile });
    try {
      // Two batches, so the second one's counts add to the first one's rather than insert.
      for (const batch of [records(120), records(80, { requestId: 'second' })]) {
        await kyselySink(viaLoop.db).write(batch);
        await thread.write(batch);
      }
      const [loop, threaded] = [await dump(viaLoop), await dump(viaThread)];
      expect(threaded.predictions).toHaveLength(200);
      expect(threaded.counts.reduce((n, c) => n + c.rows, 0)).toBe(200);
      expect(threaded).toEqual(loop);
    } finally {
      await thread.close();
      await viaLoop.close();
      await viaThread.close();
    }
  });

  it('fails the batch when the thread cannot open the file, and starts afresh for the next one', async () => {
    const file = path.join(dir, 'evidence.db');
    writeFileSync(
      file,
      'this is not a SQLite database, it is plain text, long enough to hold a header......',
    );
    const thread = new SqliteThreadSink({ path: file });
    try {
      await expect(thread.write(records(3))).rejects.toThrow(/not a database/);
      rmSync(file);
      const database = await openDatabase(`sqlite:${file}`);
      try {
        await thread.write(records(3));
        const n = await database.db
          .selectFrom('predictions')
          .select(database.db.fn.countAll().as('n'))
          .executeTakeFirstOrThrow();
        expect(Number(n.n)).toBe(3);
      } finally {
        await database.close();
      }
    } finally {
      await thread.close();
    }
  });
});
