import { printSchema } from 'graphql';
import request from 'supertest';
import { buildSchema } from '../../../gateway/graphql/schema';
import { createFixture, type Fixture, policy, routesFor } from './gateway-fixture';

let fixture: Fixture | undefined;
afterEach(async () => {
  await fixture?.gateway.close();
  fixture = undefined;
});

const routes = () => routesFor('m', policy({ variants: [{ version: '1', weight: 100 }] }), { '1': [] });
const introspect = '{ __schema { queryType { name } } }';

describe('GraphQL introspection and the IDE', () => {
  it('answers introspection and serves GraphiQL outside production', async () => {
    fixture = createFixture(routes());
    const res = await request(fixture.gateway.handler)
      .post('/graphql')
      .set('accept', 'application/json')
      .send({ query: introspect });
    expect(res.body.data.__schema.queryType.name).toBe('Query');
    const page = await request(fixture.gateway.handler).get('/graphql').set('accept', 'text/html');
    expect(page.status).toBe(200);
    expect(page.text).toMatch(/GraphiQL/);
    expect(page.headers['content-security-policy']).toMatch(/unpkg\.com/);
  });

  it('refuses introspection and serves no IDE with NODE_ENV=production', async () => {
    fixture = createFixture(routes(), { NODE_ENV: 'production' });
    const res = await request(fixture.gateway.handler)
      .post('/graphql')
      .set('accept', 'application/json')
      .send({ query: introspect });
    expect(res.body.data).toBeUndefined();
    expect(res.body.errors[0].message).toMatch(/introspection has been disabled/i);
    const page = await request(fixture.gateway.handler).get('/graphql').set('accept', 'text/html');
    expect(page.text).not.toMatch(/GraphiQL/);
    // Ordinary queries still work.
    const models = await request(fixture.gateway.handler)
      .post('/graphql')
      .set('accept', 'application/json')
      .send({ query: '{ models { name } }' });
    expect(models.body.data.models).toEqual([{ name: 'm' }]);
  });

  it('GRAPHQL_INTROSPECTION=true enables it in production', async () => {
    fixture = createFixture(routes(), { NODE_ENV: 'production', GRAPHQL_INTROSPECTION: 'true' });
    const res = await request(fixture.gateway.handler)
      .post('/graphql')
      .set('accept', 'application/json')
      .send({ query: introspect });
    expect(res.body.data.__schema.queryType.name).toBe('Query');
  });
});

describe('the generated schema', () => {
  const sdl = printSchema(
    buildSchema({
      predict: {} as never,
      modelInfo: () => ({ default_model: null, revision: null, stale: false, models: [] }),
      metadata: () => undefined,
      experiments: undefined,
      rollout: async () => null,
      maxBatchRows: 64,
    }),
  );

  it('takes predict input with the REST fields, named features documented', () => {
    expect(sdl).toMatch(
      /input PredictInput \{[^}]*model: String[^}]*features: JSON[^}]*entity: JSON[^}]*user_id: String/s,
    );
    expect(sdl).toMatch(/One row: positional numbers in input order, or named features/);
    expect(sdl).toMatch(/input PredictBatchInput \{[^}]*instances: \[JSON!\][^}]*entities: \[JSON!\]/s);
  });

  it('says what each shape of a JSON row holds, for a single row and for every batch row, as OpenAPI does', () => {
    const field = (type: string, name: string) => {
      const body = sdl.slice(sdl.indexOf(`input ${type} {`));
      return (
        body
          .slice(0, body.indexOf(`  ${name}:`))
          .split('"""')
          .at(-2) ?? ''
      );
    };
    for (const described of [field('PredictInput', 'features'), field('PredictBatchInput', 'instances')]) {
      expect(described).toMatch(/- One row of input features, as many as the model's input width/);
      expect(described).toMatch(/- Named features, encoded by the gateway with the version's feature spec/);
    }
    expect(field('PredictBatchInput', 'instances')).toMatch(/^\s*Each item: One row/);
  });

  it('answers with the REST response fields, snake_case kept', () => {
    expect(sdl).toMatch(
      /type PredictResponse \{[^}]*prediction: String![^}]*probabilities: JSON![^}]*confidence: Float![^}]*request_id: String!/s,
    );
    expect(sdl).toMatch(/type PredictBatchResponsePredictions \{[^}]*request_id: String!/s);
    expect(sdl).toMatch(/type Metadata \{[^}]*inputs: \[MetadataInputs!\]!/s);
    expect(sdl).toMatch(/type MetadataInputs \{[^}]*feature_spec: MetadataInputsFeatureSpec/s);
    const predictions = sdl.slice(sdl.indexOf('  predictions('), sdl.indexOf('): PredictionPage!'));
    for (const arg of [
      'model: String',
      'version: String',
      'since: String',
      'until: String',
      'limit: Float',
      'cursor: String',
    ])
      expect(predictions).toContain(arg);
  });
});
