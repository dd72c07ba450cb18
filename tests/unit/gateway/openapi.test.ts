import { readFileSync } from 'node:fs';
import path from 'node:path';
import SwaggerParser from '@apidevtools/swagger-parser';
import request from 'supertest';
import { EXAMPLE_LABEL, EXAMPLE_ROWS } from '../../../gateway/openapi/examples';
import {
  GRAPHQL_SCHEMA_PATH,
  OPENAPI_PATH,
  renderGraphqlSchema,
  renderOpenApi,
} from '../../../gateway/openapi/write';
import { ROOT } from '../../helpers/processes';
import { createFixture } from './gateway-fixture';

describe('OpenAPI document', () => {
  it('is a valid OpenAPI 3 document', async () => {
    const doc = JSON.parse(renderOpenApi());
    await expect(SwaggerParser.validate(doc)).resolves.toBeDefined();
    // Every endpoint the gateway serves (DESIGN "Endpoints"), seed, evidence and both protocols.
    expect(Object.keys(doc.paths).sort()).toEqual(
      [
        '/health',
        '/ready',
        '/predict',
        '/predict/batch',
        '/model/info',
        '/feedback',
        '/experiments/{model}',
        '/predictions',
        '/metrics',
        '/v2',
        '/v2/health/live',
        '/v2/health/ready',
        '/v2/models/{model}',
        '/v2/models/{model}/versions/{version}',
        '/v2/models/{model}/ready',
        '/v2/models/{model}/versions/{version}/ready',
        '/v2/models/{model}/infer',
        '/v2/models/{model}/versions/{version}/infer',
        '/v1/models/{model}',
        '/v1/models/{model}/versions/{version}',
        '/v1/models/{model}/metadata',
        '/v1/models/{model}:predict',
        '/v1/models/{model}/versions/{version}:predict',
        '/v1/models/{model}/labels/{label}:predict',
      ].sort(),
    );
    // Batch rows carry their own request_id, and it is documented.
    expect(doc.components.schemas.BatchRowPrediction.allOf[1].properties.request_id.type).toBe('string');
  });

  it('takes its examples from the shipped penguins sample (8 features a row)', () => {
    const sample = JSON.parse(readFileSync(path.join(ROOT, 'models', 'penguins', 'sample.json'), 'utf8'));
    const labels = JSON.parse(
      readFileSync(path.join(ROOT, 'models', 'penguins', 'sample-labels.json'), 'utf8'),
    );
    expect(EXAMPLE_ROWS).toEqual(sample.slice(0, 2));
    expect(EXAMPLE_LABEL).toBe(labels[0]);
    const doc = JSON.parse(renderOpenApi());
    expect(doc.components.schemas.PredictRequest.example.features).toHaveLength(8);
  });

  it('matches the committed docs/schema.graphql (run `npm run openapi` after changing a schema)', () => {
    expect(readFileSync(GRAPHQL_SCHEMA_PATH, 'utf8')).toBe(renderGraphqlSchema());
  });

  it('matches the committed docs/openapi.json (run `npm run openapi` after changing a schema)', () => {
    expect(readFileSync(OPENAPI_PATH, 'utf8')).toBe(renderOpenApi());
  });

  it('is served at /openapi.json and as Swagger UI at /docs', async () => {
    const { gateway } = createFixture(undefined);
    const json = await request(gateway.handler).get('/openapi.json');
    expect(json.body.openapi).toBe('3.0.3');
    const docs = await request(gateway.handler).get('/docs/');
    expect(docs.status).toBe(200);
    expect(docs.text).toMatch(/swagger-ui/i);
    await gateway.close();
  });
});
