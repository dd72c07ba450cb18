/** `npm run openapi`: writes docs/openapi.json from the zod schemas (a test regenerates and diffs it). */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { buildOpenApiDocument } from './document';

export const OPENAPI_PATH = path.resolve(__dirname, '..', '..', '..', 'docs', 'openapi.json');

export function renderOpenApi(): string {
  return `${JSON.stringify(buildOpenApiDocument({ maxBatchRows: 1024, version: '0.1.0' }), null, 2)}\n`;
}

if (require.main === module) {
  writeFileSync(OPENAPI_PATH, renderOpenApi());
  process.stdout.write(`wrote ${OPENAPI_PATH}\n`);
}
