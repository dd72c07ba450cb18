/** Another process holding the evidence file's write lock (a second gateway mid-flush, a
 * `modelgate` command, a person's `sqlite3` shell) must not stall predictions: the gateway writes
 * prediction records from a thread, so only that thread waits for the lock. Before, better-sqlite3
 * waited for the lock on the event loop, and a lock held for 3 s paused every prediction for 3 s. */
import SqliteDatabase from 'better-sqlite3';
import type { Service } from '../../helpers/processes';
import { createTestStore, type TestStore } from '../../helpers/test-store';
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
const LOCK_MS = 3_000;
let store: TestStore;
let registry: Service;
let server: Service;
let gateway: Service;
let file: string;

beforeAll(async () => {
  store = await createTestStore({ shipped: false });
  await store.addModel({ model: MODEL, version: '1', width: 4, labels: ['a', 'b'], seed: 1, hidden: 8 });
  registry = await startRegistry(store);
  await setPolicy(registry.url, MODEL, {
    variants: [{ version: '1', weight: 100 }],
    sticky: null,
    shadow: null,
    aliases: {},
    failover: true,
  });
  server = await startModelServer(store, registry.url, MODEL, '1');
  file = `${store.dir}/evidence.db`;
  gateway = await startGateway(registry.url, { DATABASE_URL: `sqlite:${file}`, TRACKING_FLUSH_MS: '50' });
  await waitForInfo(gateway.url, (info) => !!info.models?.some((m: { name: string }) => m.name === MODEL));
}, 120_000);

afterAll(async () => {
  await gateway?.stop();
  await server?.stop();
  await registry?.stop();
  await store?.cleanup();
});

const stored = async (): Promise<string[]> => {
  const res = await call(`${gateway.url}/predictions?model=${MODEL}&limit=1000`, 'GET', undefined, {
    authorization: `Bearer ${ADMIN_TOKEN}`,
  });
  expect(res.status).toBe(200);
  return (res.body.predictions as { request_id: string }[]).map((p) => p.request_id);
};

it('answers predictions at once while another process holds the write lock, and stores them after', async () => {
  const warm = await call(`${gateway.url}/predict`, 'POST', { model: MODEL, features: ROW });
  expect(warm.status).toBe(200);
  const other = new SqliteDatabase(file);
  other.exec('BEGIN IMMEDIATE');
  const latencies: number[] = [];
  const ids: string[] = [];
  const lockedUntil = Date.now() + LOCK_MS;
  try {
    while (Date.now() < lockedUntil) {
      const started = performance.now();
      const answer = await call(`${gateway.url}/predict`, 'POST', { model: MODEL, features: ROW });
      latencies.push(performance.now() - started);
      expect(answer.status).toBe(200);
      ids.push(answer.body.request_id);
      await new Promise((r) => setTimeout(r, 20));
    }
  } finally {
    other.exec('COMMIT');
    other.close();
  }
  const slowest = Math.max(...latencies);
  process.stdout.write(
    `write lock held ${LOCK_MS} ms: ${latencies.length} predictions, slowest ${slowest.toFixed(0)} ms\n`,
  );
  // Under the lock the writer thread waits; predictions keep their usual few milliseconds. The bound
  // leaves room for a loaded machine and is still far below the lock's 3 s.
  expect(latencies.length).toBeGreaterThan(20);
  expect(slowest).toBeLessThan(1_000);
  // What was answered under the lock is written once it is released.
  const deadline = Date.now() + 15_000;
  let missing = ids;
  while (missing.length > 0 && Date.now() < deadline) {
    const have = new Set(await stored());
    missing = ids.filter((id) => !have.has(id));
    if (missing.length > 0) await new Promise((r) => setTimeout(r, 200));
  }
  expect(missing).toEqual([]);
}, 60_000);
