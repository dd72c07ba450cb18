/** GraphQL at /graphql against real processes: a registry, penguins v1 and v2, a gateway with API
 * keys, an admin token and a SQLite evidence store. Every query and mutation, the REST auth rules,
 * and each query limit refusing with its own message. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Service } from '../../helpers/processes';
import { createTestStore, SHIPPED_STORE, type TestStore } from '../../helpers/test-store';
import { ADMIN_TOKEN, call, startGateway, startModelServer, startRegistry } from '../gateway/stack';
import { penguinNamed } from './penguins';

jest.setTimeout(180_000);

const KEY = 'gql-key';
const sample = JSON.parse(
  readFileSync(path.join(SHIPPED_STORE, 'penguins', 'sample.json'), 'utf8'),
) as number[][];

let store: TestStore;
let registry: Service;
const servers: Service[] = [];
let gateway: Service;
let dir: string;

interface GqlAnswer {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: GraphQL answers are read field by field
  body: any;
}

function gql(
  query: string,
  variables: Record<string, unknown> = {},
  headers: Record<string, string> = { 'x-api-key': KEY },
): Promise<GqlAnswer> {
  return call(
    `${gateway.url}/graphql`,
    'POST',
    { query, variables },
    { accept: 'application/json', ...headers },
  );
}

const admin = { 'x-api-key': KEY, authorization: `Bearer ${ADMIN_TOKEN}` };

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'modelgate-gql-'));
  store = await createTestStore();
  registry = await startRegistry(store);
  for (const v of ['1', '2']) servers.push(await startModelServer(store, registry.url, 'penguins', v));
  gateway = await startGateway(registry.url, {
    API_KEYS: KEY,
    ADMIN_TOKEN,
    DATABASE_URL: `sqlite:${path.join(dir, 'evidence.db')}`,
    TRACKING_FLUSH_MS: '50',
  });
  await until(async () => {
    const res = await gql('{ versions(model: "penguins") { version metadata { description } } }');
    return (
      res.body.data?.versions?.length === 2 &&
      res.body.data.versions.every((v: { metadata: unknown }) => v.metadata)
    );
  });
});

afterAll(async () => {
  await gateway?.stop();
  for (const s of servers) await s.stop();
  await registry?.stop();
  await store?.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

async function until(check: () => Promise<boolean>, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('queries', () => {
  it('models, model and policy, generated from the REST schemas', async () => {
    const res = await gql(`{
      models { name split { version weight_percent } versions { version input_width features live_instances } }
      model(model: "penguins") { name }
      policy(model: "penguins") { variants { version weight } failover revision }
    }`);
    expect(res.status).toBe(200);
    expect(res.body.errors).toBeUndefined();
    const penguins = res.body.data.models.find((m: { name: string }) => m.name === 'penguins');
    expect(penguins.versions.map((v: { version: string }) => v.version).sort()).toEqual(['1', '2']);
    expect(penguins.versions[0].input_width).toBe(8);
    expect(res.body.data.model).toEqual({ name: 'penguins' });
    expect(res.body.data.policy.variants).toEqual([
      { version: '1', weight: 50 },
      { version: '2', weight: 50 },
    ]);
  });

  it('versions with metadata, the feature spec included', async () => {
    const res = await gql(
      '{ versions(model: "penguins") { version metadata { format inputs { features feature_spec { layout entity { key features } features } } metrics } } }',
    );
    expect(res.body.errors).toBeUndefined();
    const v1 = res.body.data.versions.find((v: { version: string }) => v.version === '1');
    expect(v1.metadata.format).toBe('layers-model');
    expect(v1.metadata.inputs[0].feature_spec.entity.key).toBe('penguin_id');
    expect(v1.metadata.inputs[0].features).toContain('island_biscoe');
  });

  it('refuses an unknown model with the REST code', async () => {
    const res = await gql('{ versions(model: "nope") { version } }');
    expect(res.body.errors[0].extensions.code).toBe('model_not_found');
  });

  it('the experiment report and the rollout status (none running: null)', async () => {
    const res = await gql('{ experiment(model: "penguins") rollout(model: "penguins") }');
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data.experiment.model).toBe('penguins');
    expect(res.body.data.rollout).toBeNull();
  });
});

describe('mutations', () => {
  it('predict by name and by position, predictBatch, then feedback on a row and prediction rows paged by cursor', async () => {
    const named = await gql(
      'mutation($input: PredictInput!) { predict(input: $input) { prediction probabilities confidence model version request_id } }',
      { input: { model: 'penguins', features: penguinNamed(sample[0]!) } },
    );
    expect(named.body.errors).toBeUndefined();
    const p = named.body.data.predict;
    expect(p.model).toBe('penguins');
    const rest = await call(
      `${gateway.url}/predict`,
      'POST',
      { model: 'penguins', features: sample[0] },
      { 'x-api-key': KEY, 'x-model-version': p.version },
    );
    expect(p.probabilities).toEqual(rest.body.probabilities);

    const batch = await gql(
      'mutation($input: PredictBatchInput!) { predictBatch(input: $input) { version predictions { prediction request_id } } }',
      { input: { model: 'penguins', instances: [sample[1], penguinNamed(sample[2]!)] } },
    );
    expect(batch.body.errors).toBeUndefined();
    expect(batch.body.data.predictBatch.predictions).toHaveLength(2);
    const rowId = batch.body.data.predictBatch.predictions[1].request_id;
    expect(rowId).toMatch(/:1$/);

    // The evidence store writes in batches; feedback needs the row on record.
    let feedback: GqlAnswer | undefined;
    await until(async () => {
      feedback = await gql('mutation($input: FeedbackInput!) { feedback(input: $input) }', {
        input: { request_id: p.request_id, label: 'Adelie' },
      });
      return feedback.body.errors?.[0]?.extensions?.code !== 'not_found';
    });
    expect(feedback!.body.errors).toBeUndefined();
    expect(feedback!.body.data.feedback.request_id).toBe(p.request_id);

    await until(async () => {
      const r = await gql(
        '{ predictions(model: "penguins", limit: 100) { predictions next_cursor } }',
        {},
        admin,
      );
      return r.body.data?.predictions.predictions.length >= 3;
    });
    const first = await gql(
      '{ predictions(model: "penguins", limit: 2) { predictions next_cursor } }',
      {},
      admin,
    );
    expect(first.body.errors).toBeUndefined();
    expect(first.body.data.predictions.predictions).toHaveLength(2);
    const cursor = first.body.data.predictions.next_cursor;
    expect(cursor).toEqual(expect.any(String));
    const second = await gql(
      'query($c: String) { predictions(model: "penguins", limit: 2, cursor: $c) { predictions } }',
      { c: cursor },
      admin,
    );
    const ids = (page: { predictions: { id: number }[] }) => page.predictions.map((r) => r.id);
    expect(
      ids(second.body.data.predictions).every((id: number) => !ids(first.body.data.predictions).includes(id)),
    ).toBe(true);
    const labelled = (
      await gql('{ predictions(model: "penguins", limit: 100) { predictions } }', {}, admin)
    ).body.data.predictions.predictions.find((r: { request_id: string }) => r.request_id === p.request_id);
    expect(labelled.label).toBe('Adelie');
  });

  it('answers bad named input with the REST message and code', async () => {
    const res = await gql('mutation($input: PredictInput!) { predict(input: $input) { prediction } }', {
      input: { model: 'penguins', features: { ...penguinNamed(sample[0]!), island: 'Atlantis' } },
    });
    expect(res.body.errors[0].message).toMatch(/feature "island" is "Atlantis", not in its vocabulary/);
    expect(res.body.errors[0].extensions).toMatchObject({ code: 'invalid_input', status: 400 });
    const missing = await gql('mutation($input: PredictInput!) { predict(input: $input) { prediction } }', {
      input: { model: 'penguins', entity: { penguin_id: 'nobody' } },
    });
    expect(missing.body.errors[0].extensions.code).toBe('entity_not_found');
  });
});

describe('auth', () => {
  it('needs the API key like REST, and the admin token for prediction rows', async () => {
    const anonymous = await gql('{ models { name } }', {}, {});
    expect(anonymous.status).toBe(401);
    expect(anonymous.body.error.code).toBe('unauthorized');
    const wrong = await gql('{ models { name } }', {}, { 'x-api-key': 'nope' });
    expect(wrong.status).toBe(401);
    const noAdmin = await gql('{ predictions(limit: 1) { next_cursor } }');
    expect(noAdmin.body.errors[0].extensions.code).toBe('unauthorized');
    const badAdmin = await gql(
      '{ predictions(limit: 1) { next_cursor } }',
      {},
      { 'x-api-key': KEY, authorization: 'Bearer nope' },
    );
    expect(badAdmin.body.errors[0].extensions.code).toBe('forbidden');
    const ok = await gql('{ predictions(limit: 1) { next_cursor } }', {}, admin);
    expect(ok.body.errors).toBeUndefined();
  });
});

describe('limits', () => {
  it('refuses a query nested deeper than GRAPHQL_MAX_DEPTH', async () => {
    const deep =
      '{ __schema { types { fields { type { ofType { ofType { ofType { ofType { name } } } } } } } } }';
    const res = await gql(deep);
    expect(res.body.data).toBeUndefined();
    expect(res.body.errors[0].message).toMatch(/nests 9 levels deep; the limit is 8 \(GRAPHQL_MAX_DEPTH\)/);
    expect(res.body.errors[0].extensions.code).toBe('query_too_deep');
  });

  it('counts depth through fragments too', async () => {
    const res = await gql(
      'fragment T on __Type { ofType { ofType { ofType { ofType { ofType { ofType { name } } } } } } } { __schema { types { ...T } } }',
    );
    expect(res.body.errors[0].extensions.code).toBe('query_too_deep');
  });

  it('refuses too many aliases', async () => {
    const aliases = Array.from({ length: 21 }, (_, i) => `a${i}: models { name }`).join(' ');
    const res = await gql(`{ ${aliases} }`);
    expect(res.body.errors[0].message).toMatch(/uses 21 aliases; the limit is 20 \(GRAPHQL_MAX_ALIASES\)/);
  });

  it('refuses a query whose estimated complexity is above GRAPHQL_MAX_COMPLEXITY', async () => {
    const pages = Array.from(
      { length: 3 },
      (_, i) => `p${i}: predictions(limit: 1000) { predictions next_cursor }`,
    ).join(' ');
    const res = await gql(`{ ${pages} }`, {}, admin);
    expect(res.body.errors[0].message).toMatch(
      /estimated complexity of 6003; the limit is 2000 \(GRAPHQL_MAX_COMPLEXITY\)/,
    );
    expect(res.body.errors[0].extensions.code).toBe('query_too_complex');
  });

  it('takes batches up to GRAPHQL_MAX_BATCH operations and refuses bigger ones', async () => {
    const op = { query: '{ models { name } }' };
    const ok = await call(`${gateway.url}/graphql`, 'POST', [op, op], {
      'x-api-key': KEY,
      accept: 'application/json',
    });
    expect(ok.status).toBe(200);
    expect(ok.body).toHaveLength(2);
    const tooMany = await call(`${gateway.url}/graphql`, 'POST', Array(6).fill(op), {
      'x-api-key': KEY,
      accept: 'application/json',
    });
    expect(tooMany.status).toBeGreaterThanOrEqual(400);
    expect(JSON.stringify(tooMany.body)).toMatch(/Batching is limited to 5 operations per request/);
  });

  it('serves GraphiQL to a browser, and refuses a malformed body with a 4xx', async () => {
    const page = await fetch(`${gateway.url}/graphql`, {
      headers: { accept: 'text/html', 'x-api-key': KEY },
    });
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/GraphiQL/i);
    const bad = await call(`${gateway.url}/graphql`, 'POST', '{"query": ', {
      'x-api-key': KEY,
      accept: 'application/json',
    });
    expect(bad.status).toBe(400);
    const none = await call(
      `${gateway.url}/graphql`,
      'POST',
      {},
      { 'x-api-key': KEY, accept: 'application/graphql-response+json' },
    );
    expect(none.status).toBe(400);
    expect(none.body.errors[0].message).toMatch(/query/i);
  });
});
