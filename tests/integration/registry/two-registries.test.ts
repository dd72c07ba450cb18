/** Two registry processes on one store, as during a rolling restart: their writes are serialised by
 * the store lock, If-Match still lets exactly one of two racing writers win, and each process's
 * routing table picks up the other's changes. */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { policyInputSchema } from '../../../common/wire';
import { type Service, startService } from '../../helpers/processes';
import { writeStore } from '../../helpers/registry-fixtures';

const TOKEN = 'two-token';
const headers = { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' };
let store: string;
let a: Service;
let b: Service;

beforeAll(async () => {
  store = await mkdtemp(path.join(tmpdir(), 'registry-two-'));
  await writeStore(store, 'iris', ['1', '2']);
  const env = { MODEL_STORE: store, ADMIN_TOKEN: TOKEN, STORE_SCAN_MS: '200' };
  [a, b] = await Promise.all([startService(['registry'], { env }), startService(['registry'], { env })]);
});

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  await rm(store, { recursive: true, force: true });
});

const putPolicy = (url: string, etag: string, w: number) =>
  fetch(`${url}/models/iris/policy`, {
    method: 'PUT',
    headers: { ...headers, 'If-Match': etag },
    body: JSON.stringify({
      variants: [
        { version: '1', weight: w },
        { version: '2', weight: 100 - w },
      ],
    }),
  }).then((r) => r.status);

it('lets exactly one of two same-revision PUTs win when they reach different processes', async () => {
  for (let round = 0; round < 10; round++) {
    const etag = (await fetch(`${a.url}/models/iris/policy`)).headers.get('etag')!;
    const statuses = await Promise.all([putPolicy(a.url, etag, 30), putPolicy(b.url, etag, 70)]);
    expect(statuses.sort()).toEqual([200, 412]);
  }
});

it('serialises a storm of writes from both processes into one gap-free revision history', async () => {
  const before = JSON.parse(await readFile(path.join(store, 'iris', 'policy.json'), 'utf8'))
    .revision as number;
  const move = (url: string, i: number) =>
    fetch(`${url}/models/iris/aliases/canary`, {
      method: 'PUT',
      headers,
      body: JSON.stringify({ version: String(1 + (i % 2)) }),
    }).then(async (r) => ({
      status: r.status,
      revision: ((await r.json()) as { revision: number }).revision,
    }));
  const results = await Promise.all(Array.from({ length: 40 }, (_, i) => move(i % 2 ? a.url : b.url, i)));
  expect(results.every((r) => r.status === 200)).toBe(true);
  const revisions = results.map((r) => r.revision).sort((x, y) => x - y);
  expect(revisions).toEqual(Array.from({ length: 40 }, (_, i) => before + 1 + i));
  const stored = policyInputSchema.parse(
    JSON.parse(await readFile(path.join(store, 'iris', 'policy.json'), 'utf8')),
  );
  expect(stored.revision).toBe(before + 40);
  const audit = (await readFile(path.join(store, 'iris', 'audit.jsonl'), 'utf8'))
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l));
  const tail = audit.slice(-40).map((e: { after: { revision: number } }) => e.after.revision);
  expect(tail).toEqual(revisions);
});

it("shows one process's change in the other's routing table", async () => {
  type Body = { models: { iris: { policy: { aliases: Record<string, string> } } } };
  const seen = await fetch(`${b.url}/routes`);
  let etag = seen.headers.get('etag')!;
  const set = await fetch(`${a.url}/models/iris/aliases/blue`, {
    method: 'PUT',
    headers,
    body: JSON.stringify({ version: '2' }),
  });
  expect(set.status).toBe(200);
  // b learns of a's write on its next store scan; earlier long-poll answers may carry other changes
  // (the previous test's writes), so follow the table until the alias shows up or time runs out.
  const deadline = Date.now() + 15_000;
  let aliases: Record<string, string> = {};
  while (aliases.blue !== '2' && Date.now() < deadline) {
    const res = await fetch(`${b.url}/routes?wait=5`, { headers: { 'If-None-Match': etag } });
    expect([200, 304]).toContain(res.status);
    if (res.status === 200) {
      etag = res.headers.get('etag')!;
      aliases = ((await res.json()) as Body).models.iris.policy.aliases;
    }
  }
  expect(aliases.blue).toBe('2');
});
