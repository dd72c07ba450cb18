/** Turns what a /predict body carries (positional rows, named features, entity references) into
 * the chosen version's input rows. Positional rows pass through untouched and synchronously, so
 * the common case costs nothing; an entity reference costs one batched store lookup. */
import { AppError } from '../../common/errors';
import { type FeatureEncoder, featureProblemsError } from '../../common/feature-spec';
import type { FeatureRecord } from '../../tracking/features/store';
import type { ModelRoute, VersionRoute } from '../routing/route-state';

export interface NamedInput {
  features?: Readonly<Record<string, unknown>> | undefined;
  entity?: Readonly<Record<string, string | number>> | undefined;
}
export type RowInput = readonly number[] | NamedInput;

/** Stored records of entities of a model, in order; throws the 503 AppError when the store is down. */
export type FeatureLookup = (
  model: string,
  entities: readonly string[],
) => Promise<(FeatureRecord | undefined)[]>;

export function isPositional(input: RowInput): input is readonly number[] {
  return Array.isArray(input);
}

export interface EncodeRowsOptions {
  model: ModelRoute;
  version: VersionRoute;
  inputs: readonly RowInput[];
  lookup: FeatureLookup | undefined;
}

/** Input rows for the chosen version, in request order. */
export function encodeRows(opts: EncodeRowsOptions): number[][] | Promise<number[][]> {
  const { inputs } = opts;
  if (inputs.every(isPositional)) return inputs as number[][];
  const encoder = encoderOf(opts.model, opts.version);
  const batch = inputs.length > 1;
  const entities = inputs.map((input, i) =>
    isPositional(input) || input.entity === undefined
      ? undefined
      : entityValue(encoder, input.entity, batch ? i : undefined),
  );
  const wanted = entities.filter((e): e is string => e !== undefined);
  if (wanted.length === 0)
    return inputs.map((input, i) => encodeOne(encoder, input, undefined, batch ? i : undefined));
  if (!opts.lookup) {
    throw new AppError(
      'feature_store_unavailable',
      'this gateway has no feature store configured',
      undefined,
      {
        'Retry-After': '5',
      },
    );
  }
  const unique = [...new Set(wanted)];
  return opts.lookup(opts.model.name, unique).then((records) => {
    const found = new Map(unique.map((e, i) => [e, records[i]]));
    const key = encoder.spec.entity!.key;
    return inputs.map((input, i) => {
      const entity = entities[i];
      if (entity === undefined) return encodeOne(encoder, input, undefined, batch ? i : undefined);
      const record = found.get(entity);
      if (!record) {
        throw new AppError(
          'entity_not_found',
          `${batch ? `row ${i}: ` : ''}no ${key} "${entity}" in the feature store of model "${opts.model.name}"`,
          { model: opts.model.name, [key]: entity, ...(batch ? { row: i } : {}) },
        );
      }
      return encodeOne(encoder, input, stored(encoder, record), batch ? i : undefined);
    });
  });
}

function encoderOf(model: ModelRoute, version: VersionRoute): FeatureEncoder {
  if (version.encoder) return version.encoder;
  throw new AppError(
    'invalid_input',
    `model "${model.name}" version "${version.version}" declares no named features: send "features" as an ` +
      `array of ${version.inputWidth} numbers (${version.features.slice(0, 8).join(', ')}${version.features.length > 8 ? ', …' : ''})`,
    { expected_width: version.inputWidth },
  );
}

function entityValue(
  encoder: FeatureEncoder,
  entity: Readonly<Record<string, string | number>>,
  row: number | undefined,
): string {
  const where = row === undefined ? '' : `row ${row}: `;
  const declared = encoder.spec.entity;
  if (!declared) {
    throw new AppError(
      'invalid_input',
      `${where}this model's feature spec declares no entity key; send "features"`,
    );
  }
  const keys = Object.keys(entity);
  if (keys.length !== 1 || keys[0] !== declared.key) {
    throw new AppError(
      'invalid_input',
      `${where}"entity" must name exactly the key "${declared.key}", got ${keys.map((k) => `"${k}"`).join(', ') || 'none'}`,
      { entity_key: declared.key },
    );
  }
  return String(entity[declared.key]);
}

/** Only the features the spec says the store provides are taken from a record. */
function stored(encoder: FeatureEncoder, record: FeatureRecord): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const name of encoder.spec.entity!.features) if (Object.hasOwn(record, name)) out[name] = record[name];
  return out;
}

function encodeOne(
  encoder: FeatureEncoder,
  input: RowInput,
  fromStore: Record<string, unknown> | undefined,
  row: number | undefined,
): number[] {
  if (isPositional(input)) return input as number[];
  // Request-supplied features override stored ones.
  const values = fromStore ? { ...fromStore, ...(input.features ?? {}) } : (input.features ?? {});
  const encoded = encoder.encode(values);
  if (encoded.length > 0 && typeof encoded[0] === 'number') return encoded as number[];
  throw featureProblemsError(encoded as never, row);
}
