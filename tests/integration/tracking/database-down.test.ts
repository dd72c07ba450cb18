/** PostgreSQL stopped for 20 s under traffic: every prediction still answers 200, the records the
 * buffer cannot hold are dropped and counted, reads of the store answer 503, and writing resumes
 * once the database is back. */
import { Client } from 'pg';
import { type PostgresCluster, startPostgres } from '../../helpers/postgres';
import { ADMIN_TOKEN, call, ROW, startOneVersionStack } from '../gateway/stack';

const MODEL = 'tiny';
let stack: Awaited<ReturnType<typeof startOneVersionStack>>;
let gateway: Awaited<ReturnType<typeof startOneVersionStack>>['gateway'];
let pg: PostgresCluster;

beforeAll(async () => {
  pg = await startPostgres();
  const client = new Client({ connectionString: pg.url });
  await client.connect();
  await client.query('CREATE DATABASE outage');
  await client.end();
  stack = await startOneVersionStack(MODEL, {
    DATABASE_URL: pg.url.replace(/\/postgres$/, '/outage'),
    TRACKING_FLUSH_MS: '100',
    TRACKING_BUFFER_ROWS: '300',
  });
  gateway = stack.gateway;
}, 180_000);

afterAll(async () => {
  await stack?.stop();
  await pg?.destroy();
});

const metric = async (name: string) => {
  const text = (await call(`${gateway.url}/metrics`, 'GET')).body as string;
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
};

const storedPredictions = async (limit: number) => {
  const res = await call(`${gateway.url}/predictions?model=${MODEL}&limit=${limit}`, 'GET', undefined, {
    authorization: `Bearer ${ADMIN_TOKEN}`,
  });
  return res.status === 200 ? (res.body.predictions as { request_id: string; created_at: string }[]) : [];
};

async function waitUntil(check: () => Promise<boolean>, timeoutMs: number, failure: string) {
  const startedAt = Date.now();
  while (!(await check())) {
    if (Date.now() - startedAt > timeoutMs) throw new Error(failure);
    await new Promise((r) => setTimeout(r, 200));
  }
}

it('keeps answering 200 through a 20 s database outage, counts the drops, and resumes writing', async () => {
  const statuses: number[] = [];
  let running = true;
  const loops = Array.from({ length: 4 }, async () => {
    while (running) {
      const res = await call(`${gateway.url}/predict`, 'POST', { model: MODEL, features: ROW });
      statuses.push(res.status);
    }
  });
  let writtenBefore = 0;
  let duringOutage = 0;
  try {
    await new Promise((r) => setTimeout(r, 1500));
    writtenBefore = await metric('modelgate_tracking_records_written_total');
    expect(writtenBefore).toBeGreaterThan(0);
    await pg.stop();
    const downAt = statuses.length;
    await new Promise((r) => setTimeout(r, 5000));
    // The store's reads fail as a 503 the caller can retry, naming the store; predictions carry on.
    const report = await call(`${gateway.url}/experiments/${MODEL}`, 'GET');
    expect(report.status).toBe(503);
    expect(report.body.error.message).toMatch(/DATABASE_URL/);
    const fb = await call(`${gateway.url}/feedback`, 'POST', { request_id: 'whatever', label: 'a' });
    expect(fb.status).toBe(503);
    await new Promise((r) => setTimeout(r, 15_000));
    duringOutage = statuses.length - downAt;
    await pg.start();
    const upAt = Date.now();
    // Under the same traffic, records answered after the database returned reach it. Not one chosen
    // record: the 300-row buffer is full when the database returns, so until the writer's next try
    // (its backoff) each new record pushes out the oldest, by design, and any one record can go.
    await waitUntil(
      async () => (await storedPredictions(1)).some((p) => Date.parse(p.created_at) >= upAt),
      30_000,
      'no record answered after the database returned was written within 30 s',
    );
  } finally {
    running = false;
    await Promise.all(loops);
  }
  // With the traffic stopped nothing pushes a record out any more: this one must be written.
  const marker = await call(
    `${gateway.url}/predict`,
    'POST',
    { model: MODEL, features: ROW },
    { 'x-request-id': 'after-outage' },
  );
  expect(marker.status).toBe(200);
  await waitUntil(
    async () => (await storedPredictions(10)).some((p) => p.request_id === 'after-outage'),
    10_000,
    'a prediction made after the outage, with no traffic behind it, was not written within 10 s',
  );

  expect(duringOutage).toBeGreaterThan(300); // more than the buffer holds, so some had to go
  expect(statuses.filter((s) => s !== 200)).toEqual([]);
  expect(await metric('modelgate_tracking_dropped_total')).toBeGreaterThan(0);
  expect(await metric('modelgate_tracking_write_errors_total')).toBeGreaterThan(0);
  expect(await metric('modelgate_tracking_records_written_total')).toBeGreaterThan(writtenBefore);
}, 180_000);
