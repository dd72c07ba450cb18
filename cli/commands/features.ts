/** `modelgate features load M --csv FILE` materialises entity rows into the online feature store,
 * checked against the model's feature spec first (nothing is written when a row is wrong);
 * `modelgate features get M KEY` prints one stored record. The store is FEATURE_STORE_URL (Redis)
 * or, unset, the embedded one in DATABASE_URL, as the gateway reads it. */
import { readFile } from 'node:fs/promises';
import { Presets, SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import { z } from 'zod';
import { parseEnv } from '../../common/config';
import { checkStoredValues, type FeatureSpec } from '../../common/feature-spec';
import { nameSchema } from '../../common/wire';
import { trackingEnvFields } from '../../tracking/config';
import { createFeatureStore, featureStoreEnvFields, usesRedis } from '../../tracking/features/open';
import type { FeatureRecord, FeatureRow, FeatureStore } from '../../tracking/features/store';
import { type EvidenceDatabase, openDatabase } from '../../tracking/store/database';
import { parseCsv } from '../csv';
import { action, CliError } from '../output';
import { RegistryClient } from '../registry-client';

const FeaturesEnv = z.object({
  REGISTRY_URL: z.url().default('http://127.0.0.1:8100'),
  ADMIN_TOKEN: z.string().optional(),
  DATABASE_URL: trackingEnvFields.DATABASE_URL,
  ...featureStoreEnvFields,
});

/** Rows written per call: the bar moves, and a Redis MSET stays small. */
const WRITE_CHUNK = 500;

async function withStore<T>(fn: (store: FeatureStore, where: string) => Promise<T>): Promise<T> {
  const env = parseEnv(FeaturesEnv, process.env);
  let database: EvidenceDatabase | undefined;
  if (!usesRedis(env)) database = await openDatabase(env.DATABASE_URL);
  const store = createFeatureStore({ config: env, db: database?.db, now: Date.now });
  try {
    await store.ready(Math.max(2000, env.FEATURE_STORE_TIMEOUT_MS));
    return await fn(store, database ? `the embedded store (${database.url})` : 'Redis');
  } finally {
    await store.close();
    await database?.close();
  }
}

/** The spec of `version`, else of the newest version whose spec declares an entity key. */
async function entitySpec(
  model: string,
  version: string | undefined,
): Promise<{ spec: FeatureSpec; version: string }> {
  const env = parseEnv(FeaturesEnv, process.env);
  const client = new RegistryClient(env.REGISTRY_URL, env.ADMIN_TOKEN);
  const versions = version
    ? [version]
    : (await client.getModel(model)).versions
        .map((v) => v.version)
        .sort((a, b) => b.localeCompare(a, 'en', { numeric: true }));
  for (const v of versions) {
    const spec = (await client.getVersion(model, v)).metadata.inputs[0]?.feature_spec;
    if (spec?.entity) return { spec, version: v };
    if (version) break;
  }
  throw new CliError(
    `${version ? `version ${version} of "${model}"` : `no version of "${model}"`} declares an entity key in its feature spec ` +
      '(metadata.json inputs[0].feature_spec.entity); there is nothing to load',
  );
}

/** CSV cells to typed values: numbers for number features, JSON arrays for vectors, text for
 * categories; an empty cell leaves the feature to the request. */
export function recordsFromCsv(spec: FeatureSpec, text: string): FeatureRow[] {
  const key = spec.entity!.key;
  const [header, ...rows] = parseCsv(text);
  if (!header) throw new CliError('the CSV is empty');
  const keyColumn = header.indexOf(key);
  if (keyColumn < 0)
    throw new CliError(`the CSV has no "${key}" column (the entity key); header: ${header.join(', ')}`);
  const types = new Map(spec.features.map((f) => [f.name, f.type]));
  const seen = new Set<string>();
  return rows.map((cells, r) => {
    const line = r + 2;
    if (cells.length !== header.length)
      throw new CliError(`line ${line}: ${cells.length} fields, the header has ${header.length}`);
    const entity = cells[keyColumn]!.trim();
    if (entity === '' || entity.length > 256)
      throw new CliError(`line ${line}: "${key}" must be 1 to 256 characters`);
    if (seen.has(entity)) throw new CliError(`line ${line}: ${key} "${entity}" appears twice`);
    seen.add(entity);
    const values: FeatureRecord = {};
    header.forEach((column, c) => {
      const cell = cells[c]!.trim();
      if (c === keyColumn || cell === '') return;
      const type = types.get(column);
      if (type === 'number') values[column] = Number(cell);
      else if (type === 'vector') {
        try {
          values[column] = JSON.parse(cell) as number[];
        } catch {
          throw new CliError(`line ${line}: "${column}" must be a JSON array of numbers, e.g. [0, 0.5, 1]`);
        }
      } else values[column] = cell;
    });
    const problems = checkStoredValues(spec, values);
    if (problems.length > 0) throw new CliError(`line ${line} (${key} "${entity}"): ${problems[0]!.message}`);
    return { entity, values };
  });
}

export function registerFeaturesCommands(program: Command): void {
  const features = program
    .command('features')
    .description(
      'the online feature store: FEATURE_STORE_URL (redis://…) or the embedded store in DATABASE_URL',
    );

  features
    .command('load <model>')
    .description(
      'check a CSV of entities against the feature spec, then write its rows (replacing stored ones)',
    )
    .requiredOption('--csv <file>', 'CSV with a header: the entity key column and feature columns')
    .option('--version <version>', 'take the spec of this version (default: the newest with an entity key)')
    .action(
      action(async (model: string, options: { csv: string; version?: string }) => {
        if (!nameSchema.safeParse(model).success) throw new CliError(`"${model}" is not a valid model name`);
        const { spec, version } = await entitySpec(model, options.version);
        const text = await readFile(options.csv, 'utf8').catch((err: Error) => {
          throw new CliError(`cannot read ${options.csv}: ${err.message}`);
        });
        const rows = recordsFromCsv(spec, text);
        await withStore(async (store, where) => {
          const bar = new SingleBar(
            {
              format: `${model} [{bar}] {percentage}% | {value}/{total} rows | {duration_formatted}`,
              hideCursor: true,
            },
            Presets.shades_classic,
          );
          bar.start(rows.length, 0);
          try {
            for (let i = 0; i < rows.length; i += WRITE_CHUNK) {
              await store.put(model, rows.slice(i, i + WRITE_CHUNK));
              bar.update(Math.min(rows.length, i + WRITE_CHUNK));
            }
          } finally {
            bar.stop();
          }
          process.stdout.write(
            `loaded ${rows.length} ${spec.entity!.key} rows of "${model}" (spec of version ${version}) into ${where}\n`,
          );
        });
      }),
    );

  features
    .command('get <model> <key>')
    .description("print one entity's stored features as JSON")
    .action(
      action(async (model: string, key: string) => {
        await withStore(async (store) => {
          const [record] = await store.getMany(model, [key]);
          if (!record) throw new CliError(`no entity "${key}" is stored for model "${model}"`);
          process.stdout.write(`${JSON.stringify(record, null, 2)}\n`);
        });
      }),
    );
}
