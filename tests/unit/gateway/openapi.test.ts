import { readFileSync } from 'node:fs';
import SwaggerParser from '@apidevtools/swagger-parser';
import request from 'supertest';
import {
  GRAPHQL_SCHEMA_PATH,
  OPENAPI_PATH,
  renderGraphqlSchema,
  renderOpenApi,
} from '../../../gateway/openapi/write';
import { createFixture } from './gateway-fixture';

describe('OpenAPI document', () => {
  it('is a valid OpenAPI 3 document', async () => {
    const doc = JSON.parse(renderOpenApi());
    await expect(SwaggerParser.validate(doc)).resolves.toBeDefined();
    expect(Object.keys(doc.paths)).toEqual([
      '/health',
      '/ready',
      '/predict',
      '/predict/batch',
      '/model/info',
    ]);
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
