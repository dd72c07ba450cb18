/** `npm run openapi`: writes docs/openapi.json from the zod schemas (a test regenerates and diffs it). */
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
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

if (require.main === module) {
  writeFileSync(OPENAPI_PATH, renderOpenApi());
  process.stdout.write(`wrote ${OPENAPI_PATH}\n`);
}
