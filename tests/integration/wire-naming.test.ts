/** One naming convention on the wire: every JSON key any service sends is snake_case. Drives a real
 * registry, model-server and gateway through reads, writes, predictions, feedback and errors, and
 * walks every body. Keys that are data (model, version, class, file and metric names) are skipped by
 * naming the maps that hold them. The experiment report (`/experiments/:model`) is being rebuilt in
 * snake_case with the evidence store and is checked by its own tests. */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Service } from '../helpers/processes';
import { createTestStore, SHIPPED_STORE, type TestStore } from '../helpers/test-store';
import { nonSnakeKeys } from '../helpers/wire-naming';
import {
  ADMIN_TOKEN,
  call,
  startGateway,
  startModelServer,
  startRegistry,
  waitForInfo,
} from './gateway/stack';

jest.setTimeout(180_000);

let store: TestStore;
let registry: Service;
let server: Service;
let gateway: Service;
const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };

beforeAll(async () => {
  store = await createTestStore();
  registry = await startRegistry(store);
  server = await startModelServer(store, registry.url, 'penguins', '1');
  gateway = await startGateway(registry.url);
  await waitForInfo(gateway.url, (info) =>
    info.models?.some((m: { name: string; versions: { instances: number }[] }) => m.name === 'penguins'),
  );
});

afterAll(async () => {
  await Promise.all([gateway?.stop(), server?.stop()]);
  await registry?.stop();
  await store?.cleanup();
});

test('the helper finds camelCase keys and leaves data maps alone', () => {
  expect(nonSnakeKeys({ liveInstances: 1, models: { MyModel: { inputWidth: 2 } } })).toEqual([
    '$.liveInstances',
    '$.models.MyModel.inputWidth',
  ]);
  expect(nonSnakeKeys({ probabilities: { Adelie: 1 }, request_id: 'x' })).toEqual([]);
});

test('every body from registry, model-server and gateway is snake_case', async () => {
  const sample = JSON.parse(
    await readFile(path.join(SHIPPED_STORE, 'penguins', 'sample.json'), 'utf8'),
  ) as number[][];
  const R = registry.url;
  const G = gateway.url;
  const M = server.url;
  const json = { 'content-type': 'application/json' };

  const policy = await call(`${R}/models/penguins/policy`, 'GET');
  const bodies: [string, unknown][] = [];
  const add = async (label: string, p: Promise<{ status: number; body: unknown }>) => {
    const res = await p;
    bodies.push([`${label} (${res.status})`, res.body]);
    return res;
  };

  await add('registry /health', call(`${R}/health`, 'GET'));
  await add('registry /models', call(`${R}/models`, 'GET'));
  await add('registry /models/penguins', call(`${R}/models/penguins`, 'GET'));
  await add('registry version', call(`${R}/models/penguins/versions/1`, 'GET'));
  await add('registry /routes', call(`${R}/routes`, 'GET'));
  await add(
    'registry PUT policy',
    call(
      `${R}/models/penguins/policy`,
      'PUT',
      {
        variants: [
          { version: '1', weight: 50 },
          { version: '2', weight: 50 },
        ],
      },
      { ...auth, 'if-match': policy.headers.get('etag') ?? '' },
    ),
  );
  await add(
    'registry PUT alias',
    call(`${R}/models/penguins/aliases/canary`, 'PUT', { version: '2' }, { ...auth }),
  );
  const audit = await add('registry audit', call(`${R}/models/penguins/audit?limit=2`, 'GET'));
  expect((audit.body as { entries: unknown[] }).entries.length).toBeGreaterThan(0);
  await add('registry 404', call(`${R}/models/nope`, 'GET'));
  await add('registry heartbeat 400', call(`${R}/instances`, 'POST', { model: 'penguins' }));

  await add('model-server /v2/models', call(`${M}/v2/models/penguins/versions/1`, 'GET'));
  await add(
    'model-server infer',
    call(`${M}/v2/models/penguins/versions/1/infer`, 'POST', {
      inputs: [{ name: 'input', shape: [1, 8], datatype: 'FP32', data: sample[0] }],
    }),
  );

  await add('gateway /health', call(`${G}/health`, 'GET'));
  await add('gateway /ready', call(`${G}/ready`, 'GET'));
  await add('gateway /model/info', call(`${G}/model/info`, 'GET'));
  const one = await add(
    'gateway /predict',
    call(
      `${G}/predict`,
      'POST',
      { model: 'penguins', features: sample[0] },
      { ...json, 'x-model-version': '1' },
    ),
  );
  expect(one.status).toBe(200);
  await add(
    'gateway /predict/batch',
    call(
      `${G}/predict/batch`,
      'POST',
      { model: 'penguins', instances: sample.slice(0, 2) },
      {
        'x-model-version': '1',
      },
    ),
  );
  await add(
    'gateway /feedback',
    call(`${G}/feedback`, 'POST', {
      request_id: (one.body as { request_id: string }).request_id,
      label: 'Adelie',
    }),
  );
  await add('gateway /predict 400', call(`${G}/predict`, 'POST', { model: 'penguins', features: [1] }));
  await add('gateway /v2/models/penguins', call(`${G}/v2/models/penguins`, 'GET'));
  await add('gateway /v1/models/penguins', call(`${G}/v1/models/penguins`, 'GET'));

  for (const [label, body] of bodies) {
    expect(
      typeof body === 'object' && body !== null ? `${label}: ${nonSnakeKeys(body).join(', ')}` : label,
    ).toBe(typeof body === 'object' && body !== null ? `${label}: ` : label);
  }
});
