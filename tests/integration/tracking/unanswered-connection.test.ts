/** A PostgreSQL connection that stops answering without closing (a partition, a managed database
 * failing over): the calls on it time out, and the next call gets a new connection instead of
 * queueing behind the lost one. A TCP relay between the store and a real server plays the network:
 * `blackHole()` makes every connection open so far swallow its traffic, as a dropped flow does,
 * while new connections get through. */
import net from 'node:net';
import { createDatabase, type PostgresCluster, startPostgres } from '../../../bench/harness/postgres';
import { createEvidenceStore, type EvidenceStore } from '../../../tracking/evidence-store';
import { openDatabase } from '../../../tracking/store/database';
import { predictionRecord } from '../../unit/tracking/store-record';

interface Relay {
  port: number;
  blackHole(): void;
  close(): Promise<void>;
}

function startRelay(target: number): Promise<Relay> {
  const open = new Set<{ silenced: boolean; sockets: net.Socket[] }>();
  const server = net.createServer((inbound) => {
    const outbound = net.connect(target, '127.0.0.1');
    const flow = { silenced: false, sockets: [inbound, outbound] };
    open.add(flow);
    inbound.on('data', (d) => flow.silenced || outbound.write(d));
    outbound.on('data', (d) => flow.silenced || inbound.write(d));
    const end = () => {
      open.delete(flow);
      inbound.destroy();
      outbound.destroy();
    };
    inbound.on('close', end).on('error', end);
    outbound.on('close', end).on('error', end);
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        port: (server.address() as net.AddressInfo).port,
        blackHole: () => {
          for (const flow of open) flow.silenced = true;
        },
        close: () =>
          new Promise<void>((done) => {
            for (const flow of open) for (const s of flow.sockets) s.destroy();
            server.close(() => done());
          }),
      }),
    ),
  );
}

const QUERY_TIMEOUT_MS = 1000;
let pg: PostgresCluster;
let relay: Relay;
let store: EvidenceStore;

beforeAll(async () => {
  pg = await startPostgres();
  const url = new URL(await createDatabase(pg, 'unanswered'));
  relay = await startRelay(pg.port);
  url.port = String(relay.port);
  const database = await openDatabase(url.toString(), { queryTimeoutMs: QUERY_TIMEOUT_MS, poolSize: 2 });
  store = createEvidenceStore({
    database,
    now: Date.now,
    flushMs: 50,
    bufferRows: 100,
    retentionDays: 30,
    retention: false,
  });
}, 120_000);

afterAll(async () => {
  await store?.close();
  await relay?.close();
  await pg?.destroy();
});

it('answers the next read through a new connection after one went silent', async () => {
  expect((await store.predictions({ model: 'm', limit: 1 })).predictions).toEqual([]);
  relay.blackHole();
  await expect(store.predictions({ model: 'm', limit: 1 })).rejects.toThrow(/timeout/i);
  // The silent client would still be first in line: without discarding it this call times out too.
  expect((await store.predictions({ model: 'm', limit: 1 })).predictions).toEqual([]);
}, 30_000);

it('keeps a record a silent connection could not take, and writes it through a new one', async () => {
  store.record(predictionRecord({ requestId: 'before' }));
  await store.flush();
  relay.blackHole();
  store.record(predictionRecord({ requestId: 'during' }));
  const startedAt = Date.now();
  await store.flush();
  // Its BEGIN got no answer: the flush fails after one query timeout, the record stays buffered.
  expect(Date.now() - startedAt).toBeGreaterThanOrEqual(QUERY_TIMEOUT_MS);
  await store.flush();
  const page = await store.predictions({ model: 'pets', limit: 10 });
  expect(page.predictions.map((p) => p.request_id)).toEqual(['during', 'before']);
}, 30_000);
