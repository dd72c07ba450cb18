/** `npm run openapi`: writes docs/openapi.json and docs/schema.graphql from the zod schemas (tests
 * regenerate and diff both). */
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { printSchema } from 'graphql';
import { buildSchema } from '../graphql/schema';
import { buildOpenApiDocument } from './document';

/** The repository root: the nearest folder above with a package.json (works from source and dist/). */
function repositoryRoot(from: string): string {
  let dir = from;
  while (!existsSync(path.join(dir, 'package.json')) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  return dir;
}

export const OPENAPI_PATH = path.join(repositoryRoot(__dirname), 'docs', 'openapi.json');

export function renderOpenApi(): string {
  return `${JSON.stringify(buildOpenApiDocument({ maxBatchRows: 1024, version: '0.1.0' }), null, 2)}\n`;
}

export const GRAPHQL_SCHEMA_PATH = path.join(repositoryRoot(__dirname), 'docs', 'schema.graphql');

/** The GraphQL SDL at /graphql; resolvers are not needed to print it. */
export function renderGraphqlSchema(): string {
  const unused = () => {
    throw new Error('printing only');
  };
  const schema = buildSchema({
    predict: { predict: unused, batch: unused },
    modelInfo: unused,
    metadata: unused,
    experiments: undefined,
    rollout: unused,
    maxBatchRows: 1024,
  });
  return `${printSchema(schema)}\n`;
}

if (require.main === module) {
  writeFileSync(OPENAPI_PATH, renderOpenApi());
  writeFileSync(GRAPHQL_SCHEMA_PATH, renderGraphqlSchema());
  process.stdout.write(`wrote ${OPENAPI_PATH} and ${GRAPHQL_SCHEMA_PATH}\n`);
}
