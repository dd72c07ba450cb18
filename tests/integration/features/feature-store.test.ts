/** The online feature store through real processes: a registry over the shipped store, penguins
 * v1 and v2, `modelgate features load|get`, and a gateway on each backend (the embedded store in a
 * SQLite DATABASE_URL, and a redis-server started here). An entity request must answer exactly as
 * the positional row its stored features encode to. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runCli, type Service } from '../../helpers/processes';
import { type RedisServer, startRedis } from '../../helpers/redis';
import { createTestStore, SHIPPED_STORE, type TestStore } from '../../helpers/test-store';
import {
  ADMIN_TOKEN,
  call,
  startGateway,
  startModelServer,
  startRegistry,
  waitForInfo,
} from '../gateway/stack';
import { penguinNamed } from './penguins';

jest.setTimeout(240_000);

const sample = JSON.parse(
  readFileSync(path.join(SHIPPED_STORE, 'penguins', 'sample.json'), 'utf8'),
) as number[][];
const ROWS = 40;
const COLUMNS = [
  'penguin_id',
  'bill_length_mm',
  'bill_depth_mm',
  'flipper_length_mm',
  'body_mass_g',
  'island',
  'sex',
];

function csvOf(rows: readonly number[][]): string {
  const lines = rows.map((row, i) => {
    const named = penguinNamed(row) as Record<string, unknown>;
    return [`p-${i}`, ...COLUMNS.slice(1).map((c) => String(named[c]))].join(',');
  });
  return `${COLUMNS.join(',')}\n${lines.join('\n')}\n`;
}

let store: TestStore;
let registry: Service;
const servers: Service[] = [];
let redis: RedisServer;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'modelgate-features-'));
  writeFileSync(path.join(dir, 'penguins.csv'), csvOf(sample.slice(0, ROWS)));
  store = await createTestStore();
  registry = await startRegistry(store);
  for (const v of ['1', '2']) servers.push(await startModelServer(store, registry.url, 'penguins', v));
  redis = await startRedis();
});

afterAll(async () => {
  for (const s of servers) await s.stop();
  await registry?.stop();
  await redis?.stop();
  await store?.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

const backends = () =>
  [
    ['the embedded store (SQLite)', { DATABASE_URL: `sqlite:${path.join(dir, 'evidence.db')}` }],
    ['Redis', { FEATURE_STORE_URL: redis.url, DATABASE_URL: `sqlite:${path.join(dir, 'unused.db')}` }],
  ] as const;

describe.each([
  [0, 'the embedded store (SQLite)'],
  [1, 'Redis'],
])('backend %#: %s', (which, name) => {
  let gateway: Service;
  let env: Record<string, string>;

  beforeAll(async () => {
    env = { ...backends()[which]![1] };
    gateway = await startGateway(registry.url, env);
    await waitForInfo(gateway.url, (info) =>
      info.models
        ?.find((m: { name: string }) => m.name === 'penguins')
        ?.versions.every((v: { live_instances: number }) => v.live_instances > 0),
    );
  });
  afterAll(async () => {
    await gateway?.stop();
  });

  it('loads the CSV with `modelgate features load` and reads a row back with `features get`', async () => {
    const cliEnv = { ...env, REGISTRY_URL: registry.url, ADMIN_TOKEN };
    const load = await runCli(
      ['features', 'load', 'penguins', '--csv', path.join(dir, 'penguins.csv')],
      cliEnv,
    );
    expect(load.stderr).not.toMatch(/modelgate:/);
    expect(load.code).toBe(0);
    expect(load.stdout).toContain(
      `loaded ${ROWS} penguin_id rows of "penguins" (spec of version 2) into ${which === 0 ? 'the embedded store' : 'Redis'}`,
    );
    const get = await runCli(['features', 'get', 'penguins', 'p-3'], cliEnv);
    expect(get.code).toBe(0);
    expect(JSON.parse(get.stdout)).toEqual(penguinNamed(sample[3]!));
    const missing = await runCli(['features', 'get', 'penguins', 'p-999'], cliEnv);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/no entity "p-999" is stored for model "penguins"/);
  });

  it(`answers an entity request as the positional row it stands for (${name})`, async () => {
    for (const version of ['1', '2']) {
      for (let i = 0; i < 8; i++) {
        const pin = { 'x-model-version': version };
        const positional = await call(
          `${gateway.url}/predict`,
          'POST',
          { model: 'penguins', features: sample[i] },
          pin,
        );
        const byEntity = await call(
          `${gateway.url}/predict`,
          'POST',
          { model: 'penguins', entity: { penguin_id: `p-${i}` } },
          pin,
        );
        expect(byEntity.status).toBe(200);
        expect(byEntity.body.probabilities).toEqual(positional.body.probabilities);
      }
    }
  });

  it('lets request features override stored ones', async () => {
    const row = [...sample[0]!];
    const island = ['Biscoe', 'Dream', 'Torgersen'].find((_, i) => row[4 + i] !== 1)!;
    const changed = [
      ...row.slice(0, 4),
      ...['Biscoe', 'Dream', 'Torgersen'].map((x) => (x === island ? 1 : 0)),
      row[7]!,
    ];
    const pin = { 'x-model-version': '1' };
    const expected = await call(
      `${gateway.url}/predict`,
      'POST',
      { model: 'penguins', features: changed },
      pin,
    );
    const overridden = await call(
      `${gateway.url}/predict`,
      'POST',
      { model: 'penguins', entity: { penguin_id: 'p-0' }, features: { island } },
      pin,
    );
    expect(overridden.status).toBe(200);
    expect(overridden.body.probabilities).toEqual(expected.body.probabilities);
  });

  it('looks up a batch by entities, in order', async () => {
    const ids = [5, 2, 9];
    const batch = await call(
      `${gateway.url}/predict/batch`,
      'POST',
      {
        model: 'penguins',
        entities: ids.map((i) => ({ penguin_id: `p-${i}` })),
      },
      { 'x-model-version': '2' },
    );
    const positional = await call(
      `${gateway.url}/predict/batch`,
      'POST',
      {
        model: 'penguins',
        instances: ids.map((i) => sample[i]),
      },
      { 'x-model-version': '2' },
    );
    expect(batch.status).toBe(200);
    expect(batch.body.predictions.map((p: { probabilities: unknown }) => p.probabilities)).toEqual(
      positional.body.predictions.map((p: { probabilities: unknown }) => p.probabilities),
    );
  });

  it('answers 404 naming a missing entity, and counts lookups, hits and misses', async () => {
    const res = await call(`${gateway.url}/predict`, 'POST', {
      model: 'penguins',
      entity: { penguin_id: 'p-404' },
    });
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('entity_not_found');
    expect(res.body.error.message).toBe('no penguin_id "p-404" in the feature store of model "penguins"');
    const batch = await call(`${gateway.url}/predict/batch`, 'POST', {
      model: 'penguins',
      entities: [{ penguin_id: 'p-1' }, { penguin_id: 'p-405' }],
    });
    expect(batch.status).toBe(404);
    expect(batch.body.error.message).toMatch(/^row 1: no penguin_id "p-405"/);
    const metrics = (await call(`${gateway.url}/metrics`, 'GET')).body as string;
    const backend = which === 0 ? 'sql' : 'redis';
    expect(metrics).toMatch(
      new RegExp(
        `modelgate_feature_lookups_total\\{model="penguins",backend="${backend}",result="hit"\\} \\d+`,
      ),
    );
    expect(metrics).toMatch(
      new RegExp(
        `modelgate_feature_lookups_total\\{model="penguins",backend="${backend}",result="miss"\\} [2-9]`,
      ),
    );
    expect(metrics).toMatch(
      /modelgate_feature_lookup_duration_seconds_count\{model="penguins",backend="\w+"\} \d+/,
    );
  });

  it('refuses a CSV row outside the spec, naming its line, and writes nothing', async () => {
    const bad = path.join(dir, `bad-${which}.csv`);
    writeFileSync(
      bad,
      `${COLUMNS.join(',')}\nq-1,39.1,18.7,181,3750,Torgersen,male\nq-2,39.1,18.7,181,3750,Atlantis,male\n`,
    );
    const cliEnv = { ...env, REGISTRY_URL: registry.url };
    const load = await runCli(['features', 'load', 'penguins', '--csv', bad], cliEnv);
    expect(load.code).toBe(1);
    expect(load.stderr).toMatch(
      /line 3 \(penguin_id "q-2"\): feature "island" is "Atlantis", not in its vocabulary/,
    );
    expect((await runCli(['features', 'get', 'penguins', 'q-1'], cliEnv)).code).toBe(1);
  });
});

describe('Redis killed mid-traffic', () => {
  let gateway: Service;
  beforeAll(async () => {
    const env = {
      FEATURE_STORE_URL: redis.url,
      DATABASE_URL: `sqlite:${path.join(dir, 'kill.db')}`,
      // A lookup that is merely slow on a loaded machine must not pass for an outage: while Redis is
      // down the offline queue is off, so lookups fail at once whatever this timeout is.
      FEATURE_STORE_TIMEOUT_MS: '5000',
    };
    const load = await runCli(['features', 'load', 'penguins', '--csv', path.join(dir, 'penguins.csv')], {
      ...env,
      REGISTRY_URL: registry.url,
    });
    expect(load.code).toBe(0);
    gateway = await startGateway(registry.url, env);
    await waitForInfo(gateway.url, (info) =>
      info.models
        ?.find((m: { name: string }) => m.name === 'penguins')
        ?.versions.every((v: { live_instances: number }) => v.live_instances > 0),
    );
  });
  afterAll(async () => {
    await gateway?.stop();
  });

  it('answers 503 with Retry-After while Redis is down, never a guess, and recovers when it is back', async () => {
    const ask = () =>
      call(`${gateway.url}/predict`, 'POST', { model: 'penguins', entity: { penguin_id: 'p-7' } });
    // The gateway connects to Redis in the background after it starts listening.
    const deadline = Date.now() + 20_000;
    while ((await ask()).status !== 200) {
      if (Date.now() > deadline) throw new Error('the gateway never answered from Redis');
      await new Promise((r) => setTimeout(r, 50));
    }
    let stop = false;
    const statuses: number[] = [];
    const odd: unknown[] = [];
    const traffic = (async () => {
      while (!stop) {
        const res = await ask();
        statuses.push(res.status);
        const ok =
          res.status === 200 ||
          (res.status === 503 &&
            res.body.error.code === 'feature_store_unavailable' &&
            res.headers.get('retry-after') === '2');
        if (!ok) odd.push({ status: res.status, body: res.body });
      }
    })();
    await until(() => statuses.length >= 20);
    // Counted before the kill: a request in flight while Redis dies may rightly get its 503.
    const killedAt = statuses.length;
    await redis.kill();
    await until(() => statuses.slice(killedAt).filter((s) => s === 503).length >= 10);
    await redis.start();
    const restartedAt = statuses.length;
    await until(() => statuses.slice(restartedAt).includes(200));
    stop = true;
    await traffic;
    expect(odd).toEqual([]);
    expect(statuses.slice(0, killedAt).every((s) => s === 200)).toBe(true);
    expect(statuses.at(-1)).toBe(200);
  });
});

async function until(check: () => boolean, timeoutMs = 45_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`condition not reached in time: ${check.toString()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
