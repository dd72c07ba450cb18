/** The evidence store's query layer against real engines: a SQLite file and a throwaway PostgreSQL
 * cluster, the same cases on both. */
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Client } from 'pg';
import { createEvidenceStore, type EvidenceStore } from '../../../tracking/evidence-store';
import { decodeCursor } from '../../../tracking/predictions-query';
import { pruneOnce } from '../../../tracking/retention';
import { DatabaseOpenError, type EvidenceDatabase, openDatabase } from '../../../tracking/store/database';
import { migrations } from '../../../tracking/store/migrations';
import { ENGINES, type Engine, type PostgresCluster, startPostgres } from '../../helpers/postgres';
import { CLI } from '../../helpers/processes';
import { predictionRecord as record } from '../../unit/tracking/store-record';

const DAY = 86_400_000;
let pg: PostgresCluster;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'modelgate-store-'));
  pg = await startPostgres();
}, 120_000);
afterAll(async () => {
  await pg?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

let dbCount = 0;
/** A fresh database on the engine: a new SQLite file, or a new PostgreSQL database. */
async function freshUrl(engine: Engine): Promise<string> {
  dbCount++;
  if (engine === 'sqlite') return `sqlite:${path.join(dir, `db${dbCount}.db`)}`;
  const client = new Client({ connectionString: pg.url });
  await client.connect();
  await client.query(`CREATE DATABASE t${dbCount}`);
  await client.end();
  return pg.url.replace(/\/postgres$/, `/t${dbCount}`);
}

describe.each(ENGINES)('evidence store on %s', (engine) => {
  let url: string;
  let database: EvidenceDatabase;
  let store: EvidenceStore;
  let clock = 1_700_000_000_000;

  beforeEach(async () => {
    url = await freshUrl(engine);
    database = await openDatabase(url);
    clock = 1_700_000_000_000;
    store = createEvidenceStore({
      database,
      now: () => clock,
      flushMs: 20,
      bufferRows: 1000,
      retentionDays: 30,
      retention: false,
    });
  });
  afterEach(() => store.close());

  it('migrates once: reopening the same database applies nothing and keeps the rows', async () => {
    store.record(record());
    await store.flush();
    const again = await openDatabase(url);
    const rows = await again.db.selectFrom('predictions').selectAll().execute();
    expect(rows).toHaveLength(1);
    const migrations = await again.db
      .selectFrom('kysely_migration' as never)
      .select('name' as never)
      .execute();
    expect(migrations.map((m) => (m as { name: string }).name)).toEqual([
      '0001-evidence',
      '0002-prediction-counts',
      '0003-experiments',
      '0004-features',
      '0005-drop-unused-report-index',
    ]);
    await again.close();
  });

  it('joins feedback: 201-created, same label repeated, different label a conflict, unknown and expired', async () => {
    store.record(record({ requestId: 'a', predictedClass: 'cat' }));
    store.record(record({ requestId: 'old', at: clock - 31 * DAY }));
    await store.flush();
    expect(await store.feedback({ requestId: 'a', label: 'cat' })).toMatchObject({
      kind: 'created',
      correct: true,
    });
    expect(await store.feedback({ requestId: 'a', label: 'cat' })).toMatchObject({ kind: 'repeated' });
    expect(await store.feedback({ requestId: 'a', label: 'dog' })).toMatchObject({
      kind: 'conflict',
      existingLabel: 'cat',
    });
    expect(await store.feedback({ requestId: 'nope', label: 'dog' })).toMatchObject({ kind: 'unknown' });
    expect(await store.feedback({ requestId: 'old', label: 'dog' })).toMatchObject({ kind: 'expired' });
    const labels = await database.db.selectFrom('feedback').selectAll().execute();
    expect(labels.map((l) => [l.request_id, l.label])).toEqual([['a', 'cat']]);
  });

  it('joins a label 8 days after the prediction', async () => {
    store.record(record({ requestId: 'late', at: clock }));
    await store.flush();
    clock += 8 * DAY;
    expect(await store.feedback({ requestId: 'late', label: 'dog' })).toMatchObject({
      kind: 'created',
      correct: false,
    });
  });

  it('stores a record whose text is longer than its column cut to fit, with the records beside it', async () => {
    // A sticky header's value is the unit, and a header can be kilobytes long; PostgreSQL refuses an
    // over-long varchar, which must not make the batch (and every later one) fail for good.
    const unit = 'u'.repeat(1000);
    store.record(record({ requestId: 'long', unit, predictedClass: 'c'.repeat(300) }));
    store.record(record({ requestId: 'next' }));
    await store.flush();
    const rows = await database.db
      .selectFrom('predictions')
      .select(['request_id', 'unit', 'predicted_class'])
      .orderBy('id')
      .execute();
    expect(rows.map((r) => r.request_id)).toEqual(['long', 'next']);
    expect(rows[0]!.unit).toBe(unit.slice(0, 256));
    expect(rows[0]!.predicted_class).toBe('c'.repeat(256));
  });

  it('stores a text value with a NUL character, which PostgreSQL text cannot hold, with the others', async () => {
    // A user_id from a JSON body may hold "\u0000"; PostgreSQL refuses the whole batch for it.
    store.record(record({ requestId: 'nul', unit: 'a\u0000b' }));
    store.record(record({ requestId: 'next' }));
    await store.flush();
    const rows = await database.db
      .selectFrom('predictions')
      .select(['request_id', 'unit'])
      .orderBy('id')
      .execute();
    expect(rows).toEqual([
      { request_id: 'nul', unit: 'a\ufffdb' },
      { request_id: 'next', unit: null },
    ]);
  });

  it('keeps out only the record the database refuses, writes the rest of its batch, and goes on', async () => {
    // A time that is not a number: SQLite refuses NULL in created_at, PostgreSQL "NaN" for a bigint.
    for (let i = 0; i < 10; i++) store.record(record({ requestId: `before-${i}` }));
    store.record(record({ requestId: 'refused', at: Number.NaN }));
    for (let i = 0; i < 10; i++) store.record(record({ requestId: `after-${i}` }));
    await store.flush();
    store.record(record({ requestId: 'later' }));
    await store.flush();
    const ids = (
      await database.db.selectFrom('predictions').select('request_id').orderBy('id').execute()
    ).map((r) => r.request_id);
    expect(ids).toEqual([
      ...Array.from({ length: 10 }, (_, i) => `before-${i}`),
      ...Array.from({ length: 10 }, (_, i) => `after-${i}`),
      'later',
    ]);
  });

  it('joins batch rows by request_id + row and by the row id a batch answer carries', async () => {
    for (let row = 0; row < 3; row++)
      store.record(record({ requestId: 'b', row, predictedClass: `c${row}` }));
    await store.flush();
    expect(await store.feedback({ requestId: 'b', row: 1, label: 'c1' })).toMatchObject({
      kind: 'created',
      prediction: { row: 1 },
    });
    expect(await store.feedback({ requestId: 'b:2', label: 'c2' })).toMatchObject({
      kind: 'created',
      prediction: { requestId: 'b', row: 2 },
    });
    expect(await store.feedback({ requestId: 'b', row: 7, label: 'c1' })).toMatchObject({ kind: 'unknown' });
  });

  it('joins feedback to the served answer, never to its shadow copy', async () => {
    store.record(record({ requestId: 's', version: '1', predictedClass: 'cat' }));
    store.record(record({ requestId: 's', version: '2', reason: 'shadow', predictedClass: 'dog' }));
    await store.flush();
    expect(await store.feedback({ requestId: 's', label: 'cat' })).toMatchObject({
      kind: 'created',
      correct: true,
      prediction: { version: '1' },
    });
  });

  it('keeps the report counts equal to a count of the stored rows, per experiment too', async () => {
    for (let i = 0; i < 50; i++) {
      store.record(
        record({
          requestId: `c${i}`,
          version: String(1 + (i % 2)),
          experimentId: i < 30 ? 'exp-1' : null,
          at: clock + i * 600_000, // spans several hours
          ok: i % 10 !== 0,
          predictedClass: i % 10 !== 0 ? 'cat' : null,
        }),
      );
    }
    await store.flush();
    const rows = await database.db
      .selectFrom('predictions')
      .select(['version', 'ok', 'experiment_id'])
      .execute();
    const { versions } = await store.evidence({ model: 'pets' });
    for (const v of versions) {
      const mine = rows.filter((r) => r.version === v.version);
      expect(v.requests).toBe(mine.length);
      expect(v.errors).toBe(mine.filter((r) => r.ok === 0).length);
    }
    const scoped = await store.evidence({ model: 'pets', experimentId: 'exp-1' });
    expect(scoped.versions.reduce((s, v) => s + v.requests, 0)).toBe(30);
  });

  it('counts per version requests, rows, errors, labels and latency buckets, shadows left out', async () => {
    store.record(record({ requestId: 'x1', version: '1', latencyMs: 10 }));
    for (let row = 0; row < 4; row++)
      store.record(record({ requestId: 'x2', row, version: '2', latencyMs: 30 }));
    store.record(record({ requestId: 'x3', version: '2', ok: false, status: 502, predictedClass: null }));
    store.record(record({ requestId: 'x1', version: '2', reason: 'shadow' }));
    await store.flush();
    await store.feedback({ requestId: 'x1', label: 'cat' });
    await store.feedback({ requestId: 'x2', row: 3, label: 'dog' });
    const { versions, since } = await store.evidence({ model: 'pets' });
    expect(since).toBe(1_700_000_000_000);
    const [v1, v2] = versions;
    expect(v1).toMatchObject({ version: '1', requests: 1, rows: 1, errors: 0, labelled: 1, correct: 1 });
    expect(v2).toMatchObject({ version: '2', requests: 2, rows: 4, errors: 1, labelled: 1, correct: 0 });
    expect(v2!.latency.counts.reduce((a, b) => a + b, 0)).toBe(1); // one answered request
    expect(v1!.latency.upperBoundsMs[v1!.latency.counts.indexOf(1)]).toBe(10);
  });

  it('pages GET /predictions newest first with a cursor and treats SQL metacharacters as data', async () => {
    for (let i = 0; i < 5; i++) store.record(record({ requestId: `p${i}`, at: clock + i }));
    store.record(record({ requestId: "evil'", model: "x' OR '1'='1", at: clock }));
    await store.flush();
    const first = await store.predictions({ model: 'pets', limit: 2 });
    expect(first.predictions.map((p) => p.request_id)).toEqual(['p4', 'p3']);
    const second = await store.predictions({
      model: 'pets',
      limit: 10,
      cursor: decodeCursor(first.next_cursor!),
    });
    expect(second.predictions.map((p) => p.request_id)).toEqual(['p2', 'p1', 'p0']);
    expect(second.next_cursor).toBeNull();
    const evil = await store.predictions({ model: "pets' OR '1'='1", limit: 10 });
    expect(evil.predictions).toEqual([]);
    const exact = await store.predictions({ model: "x' OR '1'='1", limit: 10 });
    expect(exact.predictions.map((p) => p.request_id)).toEqual(["evil'"]);
  });

  it('filters stored rows by feedback: correct, incorrect, unlabelled', async () => {
    for (let i = 0; i < 4; i++)
      store.record(record({ requestId: `f${i}`, predictedClass: 'cat', at: clock + i }));
    await store.flush();
    await store.feedback({ requestId: 'f0', label: 'cat' });
    await store.feedback({ requestId: 'f1', label: 'dog' });
    await store.feedback({ requestId: 'f2', label: 'cat' });
    const ids = async (feedback: 'correct' | 'incorrect' | 'unlabelled') =>
      (await store.predictions({ model: 'pets', limit: 10, feedback })).predictions.map((p) => p.request_id);
    expect(await ids('correct')).toEqual(['f2', 'f0']);
    expect(await ids('incorrect')).toEqual(['f1']);
    expect(await ids('unlabelled')).toEqual(['f3']);
    const incorrect = (await store.predictions({ model: 'pets', limit: 10, feedback: 'incorrect' }))
      .predictions[0];
    expect(incorrect).toMatchObject({ label: 'dog', correct: false, predicted_class: 'cat' });
  });

  it('prunes old predictions and labels in bounded batches', async () => {
    for (let i = 0; i < 25; i++) store.record(record({ requestId: `o${i}`, at: clock - 40 * DAY }));
    store.record(record({ requestId: 'fresh' }));
    await store.flush();
    await store.feedback({ requestId: 'fresh', label: 'cat' });
    const first = await pruneOnce(database.db, { before: clock - 30 * DAY, batchRows: 10 });
    expect(first.predictions).toBe(10);
    while ((await pruneOnce(database.db, { before: clock - 30 * DAY, batchRows: 10 })).predictions > 0);
    const left = await database.db.selectFrom('predictions').select('request_id').execute();
    expect(left.map((r) => r.request_id)).toEqual(['fresh']);
    const { versions } = await store.evidence({ model: 'pets' });
    expect(versions.map((v) => v.requests)).toEqual([1]); // the old hours' counts went with their rows
    expect(await database.db.selectFrom('feedback').select('request_id').execute()).toHaveLength(1);
  });
});

describe('opening a database', () => {
  it('names DATABASE_URL when it is malformed or unreachable, password hidden', async () => {
    await expect(openDatabase('mysql://x')).rejects.toThrow(DatabaseOpenError);
    await expect(openDatabase('mysql://x')).rejects.toThrow(/DATABASE_URL/);
    const port = pg.port === 1 ? 2 : 1;
    const err = await openDatabase(`postgres://u:secret@127.0.0.1:${port}/db`).catch((e: Error) => e);
    expect(String(err)).toMatch(/cannot open DATABASE_URL=postgres:\/\/u:\*\*\*@127\.0\.0\.1/);
    expect(String(err)).not.toMatch(/secret/);
  });

  it('counts rows stored before the prediction_counts migration when it is applied', async () => {
    const file = path.join(dir, 'backfill.db');
    const first = await openDatabase(`sqlite:${file}`);
    const store = createEvidenceStore({
      database: first,
      now: Date.now,
      flushMs: 20,
      bufferRows: 100,
      retentionDays: 30,
      retention: false,
    });
    for (let i = 0; i < 7; i++) store.record(record({ requestId: `b${i}`, version: i < 3 ? '1' : '2' }));
    await store.close();
    // Roll the file back to the schema of 0001 alone, as a database created before 0002 existed.
    const raw = new SqliteDatabase(file);
    // Everything after 0001 goes: its tables and its migration rows (Kysely refuses a gap).
    raw.exec(
      `DROP TABLE prediction_counts; DROP TABLE IF EXISTS experiments; DROP TABLE IF EXISTS features;
       DELETE FROM kysely_migration WHERE name > '0001-evidence'`,
    );
    raw.close();
    const reopened = createEvidenceStore({
      database: await openDatabase(`sqlite:${file}`),
      now: Date.now,
      flushMs: 20,
      bufferRows: 100,
      retentionDays: 30,
      retention: false,
    });
    const { versions } = await reopened.evidence({ model: 'pets' });
    expect(versions.map((v) => [v.version, v.requests])).toEqual([
      ['1', 3],
      ['2', 4],
    ]);
    await reopened.close();
  });

  it('lets several processes start on one fresh SQLite file at once without a migration race', async () => {
    const file = path.join(dir, 'race.db');
    const starters = Array.from(
      { length: 4 },
      () =>
        new Promise<number | null>((resolve) => {
          const child = fork(CLI, ['migrate'], {
            env: { ...process.env, DATABASE_URL: `sqlite:${file}` },
            stdio: 'ignore',
          });
          child.once('exit', (code) => resolve(code));
        }),
    );
    expect(await Promise.all(starters)).toEqual([0, 0, 0, 0]);
    const db = await openDatabase(`sqlite:${file}`);
    const names = await db.db
      .selectFrom('kysely_migration' as never)
      .select('name' as never)
      .execute();
    expect(names).toHaveLength(Object.keys(migrations).length);
    await db.close();
  });
});
