/** GET /models/:m/predictions on the registry (what the console's Predictions page reads) against a
 * real registry, model-server and gateway sharing one SQLite evidence store: the gateway's recorded
 * rows with their feedback, filtered by version and by correct / incorrect / unlabelled; an admin read
 * (refused without the token); malformed queries are 400s that name the parameter. Also the same
 * filter on the gateway through `modelgate predictions --feedback`. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runCli, type Service, startService } from '../../helpers/processes';
import { createTestStore, type TestStore } from '../../helpers/test-store';

// biome-ignore lint/suspicious/noExplicitAny: response bodies are asserted field by field with expect()
type Body = any;

const TOKEN = 'predictions-it-token';
const ROW = [39.1, 18.7, 181, 3750, 0, 0, 1, 1];
let store: TestStore;
let dataDir: string;
let registry: Service;
let server: Service;
let gateway: Service;
const ids: string[] = [];

const get = async (route: string, token: string | null = TOKEN) => {
  const res = await fetch(`${registry.url}${route}`, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  return { status: res.status, body: (await res.json()) as Body };
};

beforeAll(async () => {
  store = await createTestStore();
  dataDir = await mkdtemp(path.join(tmpdir(), 'modelgate-pred-it-'));
  const env = {
    MODEL_STORE: store.dir,
    ADMIN_TOKEN: TOKEN,
    HEARTBEAT_INTERVAL_MS: '500',
    DATABASE_URL: `sqlite:${path.join(dataDir, 'evidence.db')}`,
    TRACKING_FLUSH_MS: '20',
  };
  registry = await startService(['registry'], { env });
  server = await startService(['model-server', '--model', 'penguins', '--version', '1'], {
    env: { ...env, REGISTRY_URL: registry.url },
    timeoutMs: 120_000,
  });
  gateway = await startService(['gateway'], {
    env: { ...env, REGISTRY_URL: registry.url, LOG_DIR: dataDir },
  });
  // Only v1 is running: pin it, so every prediction is answered.
  const deadline = Date.now() + 30_000;
  while (ids.length < 3 && Date.now() < deadline) {
    const res = await fetch(`${gateway.url}/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-model-version': '1' },
      body: JSON.stringify({ model: 'penguins', features: ROW }),
    });
    if (res.status === 200) ids.push(((await res.json()) as Body).request_id);
    else await new Promise((r) => setTimeout(r, 200));
  }
  expect(ids.length).toBe(3);
  const predicted = await fetch(`${gateway.url}/predict`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-model-version': '1' },
    body: JSON.stringify({ model: 'penguins', features: ROW }),
  });
  const answer = (await predicted.json()) as Body;
  ids.push(answer.request_id);
  // ids[0] right, ids[1] wrong, ids[2] and ids[3] unlabelled.
  const other = answer.prediction === 'Adelie' ? 'Gentoo' : 'Adelie';
  for (const [i, label] of [
    [0, answer.prediction],
    [1, other],
  ] as const) {
    const fb = await fetch(`${gateway.url}/feedback`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ request_id: ids[i], label }),
    });
    expect(fb.status).toBe(201);
  }
  // The gateway writes its records in batches; wait until all four are stored.
  const until = Date.now() + 10_000;
  while (Date.now() < until && (await get('/models/penguins/predictions')).body.predictions?.length !== 4)
    await new Promise((r) => setTimeout(r, 100));
});

afterAll(async () => {
  await gateway?.stop();
  await server?.stop();
  await registry?.stop();
  await store?.cleanup();
  await rm(dataDir, { recursive: true, force: true });
});

describe('GET /models/:m/predictions', () => {
  it('answers the stored rows newest first with their feedback', async () => {
    const res = await get('/models/penguins/predictions');
    expect(res.status).toBe(200);
    expect(res.body.predictions.map((p: Body) => p.request_id)).toEqual([...ids].reverse());
    const first = res.body.predictions.at(-1);
    expect(first).toMatchObject({ model: 'penguins', version: '1', ok: true, status: 200, correct: true });
    expect(res.body.next_cursor).toBeNull();
  });

  it('filters by feedback and version', async () => {
    const only = async (query: string) =>
      (await get(`/models/penguins/predictions?${query}`)).body.predictions.map((p: Body) => p.request_id);
    expect(await only('feedback=correct')).toEqual([ids[0]]);
    expect(await only('feedback=incorrect')).toEqual([ids[1]]);
    expect(await only('feedback=unlabelled')).toEqual([ids[3], ids[2]]);
    expect(await only('version=2')).toEqual([]);
    expect(await only('version=1&limit=1')).toEqual([ids[3]]);
  });

  it('is an admin read: refused without the token or with a wrong one', async () => {
    const none = await get('/models/penguins/predictions', null);
    expect(none.status).toBe(401);
    expect(none.body.error.message).toMatch(/Authorization: Bearer/);
    expect((await get('/models/penguins/predictions', 'wrong')).status).toBe(403);
  });

  it('answers malformed queries with a 400 naming the parameter, and an unknown model with 404', async () => {
    for (const [query, param] of [
      ['feedback=maybe', 'feedback'],
      ['limit=0', 'limit'],
      ['limit=abc', 'limit'],
      ['since=yesterday', 'since'],
      ['cursor=%21%21', 'cursor'],
      ['model=digits', 'model'],
    ] as const) {
      const res = await get(`/models/penguins/predictions?${query}`);
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('invalid_input');
      expect(res.body.error.message).toContain(param);
    }
    const reversed = await get(
      '/models/penguins/predictions?since=2026-01-02T00:00:00Z&until=2026-01-01T00:00:00Z',
    );
    expect(reversed.status).toBe(400);
    expect((await get('/models/nope/predictions')).status).toBe(404);
  });
});

describe('modelgate predictions --feedback', () => {
  it('asks the gateway for the filtered rows', async () => {
    const out = await runCli(['predictions', 'penguins', '--feedback', 'incorrect', '--json'], {
      GATEWAY_URL: gateway.url,
      ADMIN_TOKEN: TOKEN,
    });
    expect(out.code).toBe(0);
    expect((JSON.parse(out.stdout) as Body[]).map((p) => p.request_id)).toEqual([ids[1]]);
    const bad = await runCli(['predictions', 'penguins', '--feedback', 'maybe'], {
      GATEWAY_URL: gateway.url,
    });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('--feedback must be correct, incorrect or unlabelled');
  });
});
