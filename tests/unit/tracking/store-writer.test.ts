/** The batched prediction writer on its own: how it retries a database that fails, and that it
 * writes again once the failure is gone, whatever the failure was (a fake database that refuses,
 * then a real SQLite file that is locked by another connection or read-only). */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { type Kysely, sql } from 'kysely';
import { type EvidenceDatabase, openDatabase } from '../../../tracking/store/database';
import type { EvidenceSchema } from '../../../tracking/store/schema';
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
    const db = {
      transaction: () => ({
        execute: async () => {
          attempts.push(Date.now());
          if (down) throw new Error('connect ECONNREFUSED 127.0.0.1:5432');
        },
      }),
    } as unknown as Kysely<EvidenceSchema>;
    writer = new PredictionWriter({
      db,
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
    const db = {
      transaction: () => ({
        execute: async () => {
          if (calls++ === 0) await gate;
        },
      }),
    } as unknown as Kysely<EvidenceSchema>;
    const writer = new PredictionWriter({
      db,
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

describe('a writer on a SQLite file that fails for a while', () => {
  let dir: string;
  let file: string;
  let database: EvidenceDatabase;
  let writer: PredictionWriter;
  const waiting: { event: keyof WriterEvents; resolve(detail: unknown): void }[] = [];

  /** Resolves with the next `event` the writer reports (its error, for `failed`). */
  const next = (event: keyof WriterEvents) =>
    new Promise<unknown>((resolve) => waiting.push({ event, resolve }));
  const report = (event: keyof WriterEvents, detail: unknown) => {
    for (let i = waiting.length - 1; i >= 0; i--)
      if (waiting[i]!.event === event) waiting.splice(i, 1)[0]!.resolve(detail);
  };
  const stored = async () =>
    (await database.db.selectFrom('predictions').select('request_id').orderBy('id').execute()).map(
      (r) => r.request_id,
    );

  beforeEach(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'modelgate-writer-'));
    file = path.join(dir, 'evidence.db');
    database = await openDatabase(`sqlite:${file}`);
    writer = new PredictionWriter({
      db: database.db,
      flushMs: 20,
      bufferRows: 100,
      events: {
        written: (n) => report('written', n),
        failed: (err) => report('failed', err),
      },
    });
    writer.start();
  });
  afterEach(async () => {
    await writer.close();
    await database.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes again once another connection releases the write lock (SQLITE_BUSY)', async () => {
    // A short wait for the lock, so the locked-out flush fails rather than waits.
    await sql`PRAGMA busy_timeout = 10`.execute(database.db);
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
