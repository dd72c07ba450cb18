/** Two gateway processes on one evidence store, on both engines: feedback reaches whichever gateway
 * answers it, both reports agree, a SIGKILL of both loses no acknowledged label and at most the last
 * flush interval of prediction records, and a label 8 days late still joins. */
import { Client } from 'pg';
import { createEvidenceStore } from '../../../tracking/evidence-store';
import { openDatabase } from '../../../tracking/store/database';
import { ENGINES, type PostgresCluster, startPostgres } from '../../helpers/postgres';
import type { Service } from '../../helpers/processes';
import { createTestStore, type TestStore } from '../../helpers/test-store';
import { predictionRecord } from '../../unit/tracking/store-record';
import {
  ADMIN_TOKEN,
  call,
  ROW,
  setPolicy,
  startGateway,
  startModelServer,
  startRegistry,
  waitForInfo,
} from '../gateway/stack';

const MODEL = 'tiny';
const FLUSH_MS = 200;
const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
let store: TestStore;
let registry: Service;
let pg: PostgresCluster;
const servers: Service[] = [];

beforeAll(async () => {
  pg = await startPostgres();
  store = await createTestStore({ shipped: false });
  for (const [version, seed] of [
    ['1', 1],
    ['2', 2],
  ] as const) {
    await store.addModel({ model: MODEL, version, width: 4, labels: ['a', 'b', 'c'], seed, hidden: 8 });
  }
  registry = await startRegistry(store);
  await setPolicy(registry.url, MODEL, {
    variants: [
      { version: '1', weight: 50 },
      { version: '2', weight: 50 },
    ],
    sticky: null,
    shadow: null,
    aliases: { stable: '1' },
    failover: true,
  });
  for (const v of ['1', '2']) servers.push(await startModelServer(store, registry.url, MODEL, v));
}, 180_000);

afterAll(async () => {
  for (const s of servers) await s.stop();
  await registry?.stop();
  await store?.cleanup();
  await pg?.destroy();
});

let dbCount = 0;
async function databaseUrl(engine: (typeof ENGINES)[number], dir: string): Promise<string> {
  dbCount++;
  if (engine === 'sqlite') return `sqlite:${dir}/shared-${dbCount}.db`;
  const client = new Client({ connectionString: pg.url });
  await client.connect();
  await client.query(`CREATE DATABASE gw${dbCount}`);
  await client.end();
  return pg.url.replace(/\/postgres$/, `/gw${dbCount}`);
}

const live = (info: { models?: { name: string; versions: { live_instances: number }[] }[] }) =>
  !!info.models?.find((m) => m.name === MODEL)?.versions.every((v) => v.live_instances === 1);

async function gatewayPair(url: string) {
  const env = { DATABASE_URL: url, TRACKING_FLUSH_MS: String(FLUSH_MS) };
  const a = await startGateway(registry.url, env);
  const b = await startGateway(registry.url, env);
  await waitForInfo(a.url, live);
  await waitForInfo(b.url, live);
  return [a, b] as const;
}

async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const v = await check();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

interface Page {
  predictions: { request_id: string; row: number; label: string | null }[];
  next_cursor: string | null;
}

async function allPredictions(gatewayUrl: string): Promise<Page['predictions']> {
  const out: Page['predictions'] = [];
  let cursor: string | null = null;
  do {
    const res = await call(
      `${gatewayUrl}/predictions?model=${MODEL}&limit=1000${cursor ? `&cursor=${cursor}` : ''}`,
      'GET',
      undefined,
      auth,
    );
    if (res.status !== 200) throw new Error(`GET /predictions: ${res.status} ${JSON.stringify(res.body)}`);
    const page = res.body as Page;
    out.push(...page.predictions);
    cursor = page.next_cursor;
  } while (cursor);
  return out;
}

describe.each(ENGINES)('two gateways on one %s store', (engine) => {
  it('takes feedback at B for a prediction A answered, and both reports count it, across SIGKILL', async () => {
    const url = await databaseUrl(engine, store.dir);
    let [a, b] = await gatewayPair(url);
    try {
      const answer = await call(`${a.url}/predict`, 'POST', { model: MODEL, features: ROW });
      expect(answer.status).toBe(200);
      const fb = await call(`${b.url}/feedback`, 'POST', {
        request_id: answer.body.request_id,
        label: answer.body.prediction,
      });
      expect(fb.status).toBe(201);
      expect(fb.body).toMatchObject({ version: answer.body.version, correct: true });
      const reports = await Promise.all([a, b].map((g) => call(`${g.url}/experiments/${MODEL}`, 'GET')));
      for (const r of reports) {
        const v = r.body.versions.find((x: { version: string }) => x.version === answer.body.version);
        expect(v).toMatchObject({ labelled: 1, correct: 1 });
        expect(v.requests).toBe(1);
      }
      expect(reports[0]!.body.versions).toEqual(reports[1]!.body.versions);

      // Traffic through both, labels through the other one, then kill -9 both mid-stream.
      const answered: { id: string; at: number }[] = [];
      const acknowledged: { id: string; label: string }[] = [];
      let running = true;
      const loops = [a, b].map(async (g, i) => {
        const other = [a, b][1 - i]!;
        let n = 0;
        while (running) {
          const res = await call(`${g.url}/predict`, 'POST', { model: MODEL, features: ROW }).catch(
            () => undefined,
          );
          if (res?.status !== 200) continue;
          answered.push({ id: res.body.request_id, at: Date.now() });
          if (n++ % 3 === 0) {
            const label = ['a', 'b', 'c'][n % 3]!;
            const f = await call(`${other.url}/feedback`, 'POST', {
              request_id: res.body.request_id,
              label,
            }).catch(() => undefined);
            if (f?.status === 201) acknowledged.push({ id: res.body.request_id, label });
          }
        }
      });
      await until(
        '200 answered predictions',
        async () => (answered.length >= 200 ? true : undefined),
        60_000,
      );
      const killedAt = Date.now();
      await Promise.all([a.stop('SIGKILL'), b.stop('SIGKILL')]);
      running = false;
      await Promise.all(loops);
      [a, b] = await gatewayPair(url);

      const stored = await allPredictions(b.url);
      const byId = new Map(stored.map((p) => [p.request_id, p]));
      // Anything answered more than one flush interval (plus scheduling slack on a loaded machine)
      // before the kill was written; only the last interval may be missing.
      const old = answered.filter((x) => x.at < killedAt - FLUSH_MS - 300);
      expect(old.length).toBeGreaterThan(100);
      expect(old.filter((x) => !byId.has(x.id))).toEqual([]);
      expect(acknowledged.length).toBeGreaterThan(20);
      expect(acknowledged.filter((x) => byId.get(x.id)?.label !== x.label)).toEqual([]);

      // The report after the restart counts everything stored, the same on both.
      const after = await Promise.all([a, b].map((g) => call(`${g.url}/experiments/${MODEL}`, 'GET')));
      const labelled = (r: { body: { versions: { labelled: number }[] } }) =>
        r.body.versions.reduce((s, v) => s + v.labelled, 0);
      // + the first label; a label in flight at the kill may be committed unacknowledged (one per loop).
      expect(labelled(after[0]!)).toBeGreaterThanOrEqual(acknowledged.length + 1);
      expect(labelled(after[0]!)).toBeLessThanOrEqual(acknowledged.length + 3);
      expect(after[0]!.body.versions.reduce((s: number, v: { requests: number }) => s + v.requests, 0)).toBe(
        stored.length,
      );
      expect(after[0]!.body.versions).toEqual(after[1]!.body.versions);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  }, 240_000);

  it('joins a label for a prediction made 8 days ago, and refuses bad input without writing', async () => {
    const url = await databaseUrl(engine, store.dir);
    // A prediction recorded by an earlier gateway 8 days ago (the clock injected into the writer).
    const eightDaysAgo = Date.now() - 8 * 86_400_000;
    const past = createEvidenceStore({
      database: await openDatabase(url),
      now: () => eightDaysAgo,
      flushMs: 50,
      bufferRows: 10,
      retentionDays: 30,
      retention: false,
    });
    past.record(
      predictionRecord({ requestId: 'last-week', model: MODEL, predictedClass: 'b', at: eightDaysAgo }),
    );
    await past.close();
    const [a, b] = await gatewayPair(url);
    try {
      const fb = await call(`${b.url}/feedback`, 'POST', { request_id: 'last-week', label: 'b' });
      expect(fb.status).toBe(201);
      expect(fb.body).toMatchObject({ request_id: 'last-week', correct: true });

      const before = await allPredictions(a.url);
      const bad: [string, unknown][] = [
        ['malformed JSON', '{"request_id": "last-week", '],
        ['huge request_id', { request_id: 'x'.repeat(100_000), label: 'a' }],
        ['label of the wrong type', { request_id: 'last-week', label: ['a'] }],
        ['row of the wrong type', { request_id: 'last-week', row: 'zero', label: 'a' }],
        ['SQL in the id', { request_id: "x'; DELETE FROM feedback; --", label: 'a' }],
      ];
      for (const [what, body] of bad) {
        const res = await call(`${a.url}/feedback`, 'POST', body);
        expect([what, res.status < 500 && res.status >= 400]).toEqual([what, true]);
        expect(res.body.error.message.length).toBeGreaterThan(10);
      }
      for (const [name, value] of [
        ['model', "tiny' OR '1'='1"],
        ['version', "1'; DROP TABLE predictions; --"],
        ['since', "1' OR 1=1"],
        ['until', 'now()); DELETE FROM feedback; --'],
        ['limit', '1; DROP TABLE feedback'],
        ['cursor', "' UNION SELECT * FROM feedback --"],
      ]) {
        const res = await call(
          `${a.url}/predictions?${name}=${encodeURIComponent(value!)}`,
          'GET',
          undefined,
          auth,
        );
        expect([name, res.status]).toEqual([name, 400]);
      }
      expect(await allPredictions(a.url)).toEqual(before);
      expect(before.find((p) => p.request_id === 'last-week')?.label).toBe('b');
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  }, 120_000);
});
