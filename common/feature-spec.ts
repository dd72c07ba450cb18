/** The named-feature spec a version declares in metadata.json (`inputs[0].feature_spec`), and the
 * pure encoder that turns `{"island": "Biscoe", ...}` into the model's input row. Derived features
 * are data (an operation name and its operands), never code: a request can only supply values.
 *
 * The spec is compiled once per routing-table change into an encoder; encoding a row is then a walk
 * over precomputed column slots with no allocation beyond the output row. */
import { z } from 'zod';
import { AppError } from './errors';

const FEATURE_NAME = /^[a-z][a-z0-9_]{0,63}$/;
export const featureNameSchema = z
  .string()
  .regex(FEATURE_NAME, 'feature names match ^[a-z][a-z0-9_]{0,63}$ (lower-case, digits, "_")');

const bounds = {
  /** Allowed range, inclusive; values outside are refused, not clipped (clip is a derived feature). */
  min: z.number().optional(),
  max: z.number().optional(),
  unit: z.string().max(32).optional(),
  description: z.string().max(500).optional(),
};

export const numberFeatureSchema = z
  .object({
    name: featureNameSchema,
    type: z.literal('number'),
    ...bounds,
    integer: z.boolean().optional(),
    /** Used when the request (and the feature store) leave the feature out. */
    default: z.number().optional(),
  })
  .strict();

export const categoryFeatureSchema = z
  .object({
    name: featureNameSchema,
    type: z.literal('category'),
    vocabulary: z.array(z.string().min(1).max(128)).min(1).max(1024),
    /** `all`: one 0/1 column per category, in vocabulary order. `drop_first`: the first category is
     * the all-zero row (as `sex_male` encodes sex with one column). */
    one_hot: z.enum(['all', 'drop_first']).default('all'),
    default: z.string().optional(),
    description: z.string().max(500).optional(),
  })
  .strict();

export const vectorFeatureSchema = z
  .object({
    name: featureNameSchema,
    type: z.literal('vector'),
    length: z.number().int().positive().max(1_000_000),
    ...bounds,
  })
  .strict();

export const rawFeatureSchema = z.discriminatedUnion('type', [
  numberFeatureSchema,
  categoryFeatureSchema,
  vectorFeatureSchema,
]);

/** Derived features: one named operation over numeric features declared before them. */
export const derivedFeatureSchema = z.discriminatedUnion('op', [
  z
    .object({
      name: featureNameSchema,
      op: z.literal('ratio'),
      of: z.tuple([featureNameSchema, featureNameSchema]),
      description: z.string().max(500).optional(),
    })
    .strict(),
  z
    .object({
      name: featureNameSchema,
      op: z.enum(['log', 'log1p']),
      of: featureNameSchema,
      description: z.string().max(500).optional(),
    })
    .strict(),
  z
    .object({
      name: featureNameSchema,
      op: z.literal('clip'),
      of: featureNameSchema,
      min: z.number(),
      max: z.number(),
      description: z.string().max(500).optional(),
    })
    .strict(),
]);

export const featureSpecSchema = z
  .object({
    features: z.array(rawFeatureSchema).min(1).max(10_000),
    derived: z.array(derivedFeatureSchema).max(1000).default([]),
    /** Features (raw or derived) feeding the model, in input column order. */
    layout: z.array(featureNameSchema).min(1),
    /** Online feature store: these features are looked up by the entity key before predicting. */
    entity: z
      .object({ key: featureNameSchema, features: z.array(featureNameSchema).min(1) })
      .strict()
      .optional(),
  })
  .strict()
  .superRefine((spec, ctx) => {
    const kinds = new Map<string, string>();
    const issue = (path: (string | number)[], message: string) =>
      ctx.addIssue({ code: 'custom', path, message });
    spec.features.forEach((f, i) => {
      if (kinds.has(f.name)) issue(['features', i, 'name'], `feature "${f.name}" is declared twice`);
      kinds.set(f.name, f.type);
      if (f.type !== 'category' && f.min !== undefined && f.max !== undefined && f.min > f.max)
        issue(['features', i], `feature "${f.name}": min ${f.min} is above max ${f.max}`);
      if (f.type === 'category') {
        if (new Set(f.vocabulary).size !== f.vocabulary.length)
          issue(['features', i, 'vocabulary'], `feature "${f.name}" lists a category twice`);
        if (f.default !== undefined && !f.vocabulary.includes(f.default))
          issue(
            ['features', i, 'default'],
            `feature "${f.name}": default "${f.default}" is not in its vocabulary`,
          );
        if (f.one_hot === 'drop_first' && f.vocabulary.length < 2)
          issue(['features', i, 'one_hot'], `feature "${f.name}": drop_first needs two categories or more`);
      }
    });
    spec.derived.forEach((d, i) => {
      if (kinds.has(d.name)) issue(['derived', i, 'name'], `feature "${d.name}" is declared twice`);
      const operands = d.op === 'ratio' ? d.of : [d.of];
      for (const o of operands) {
        const kind = kinds.get(o);
        if (kind === undefined)
          issue(['derived', i, 'of'], `derived "${d.name}" uses "${o}", which is not declared before it`);
        else if (kind !== 'number' && kind !== 'derived')
          issue(['derived', i, 'of'], `derived "${d.name}" uses "${o}", a ${kind}; operands must be numbers`);
      }
      if (d.op === 'clip' && d.min > d.max) issue(['derived', i], `derived "${d.name}": min is above max`);
      kinds.set(d.name, 'derived');
    });
    spec.layout.forEach((name, i) => {
      if (!kinds.has(name)) issue(['layout', i], `layout names "${name}", which is not a declared feature`);
    });
    if (spec.entity) {
      const raw = new Set(spec.features.map((f) => f.name));
      if (raw.has(spec.entity.key))
        issue(['entity', 'key'], `the entity key "${spec.entity.key}" must not also be a feature`);
      spec.entity.features.forEach((name, i) => {
        if (!raw.has(name)) issue(['entity', 'features', i], `entity feature "${name}" is not a raw feature`);
      });
    }
  });

export type FeatureSpec = z.output<typeof featureSpecSchema>;
export type RawFeature = z.output<typeof rawFeatureSchema>;
export type DerivedFeature = z.output<typeof derivedFeatureSchema>;
export type FeatureValues = Readonly<Record<string, unknown>>;

export type FeatureProblemReason =
  | 'unknown'
  | 'missing'
  | 'out_of_vocabulary'
  | 'out_of_range'
  | 'wrong_type';

export interface FeatureProblem {
  feature: string;
  reason: FeatureProblemReason;
  message: string;
}

/** Columns a layout entry fills: 1 for numbers and derived features, the vocabulary (less one for
 * drop_first) for categories, the length for vectors. */
function columnsOf(f: RawFeature | undefined): number {
  if (f === undefined || f.type === 'number') return 1;
  if (f.type === 'vector') return f.length;
  return f.one_hot === 'drop_first' ? f.vocabulary.length - 1 : f.vocabulary.length;
}

/** Where each layout entry lands in the input row. */
export function layoutColumns(spec: FeatureSpec): { name: string; start: number; width: number }[] {
  const raw = new Map(spec.features.map((f) => [f.name, f]));
  let start = 0;
  return spec.layout.map((name) => {
    const width = columnsOf(raw.get(name));
    const slot = { name, start, width };
    start += width;
    return slot;
  });
}

export function specWidth(spec: FeatureSpec): number {
  return layoutColumns(spec).reduce((sum, c) => sum + c.width, 0);
}

/** Input column names a spec produces (`island_biscoe`, `sex_male`, `pixels_17`). */
export function columnNames(spec: FeatureSpec): string[] {
  const raw = new Map(spec.features.map((f) => [f.name, f]));
  return spec.layout.flatMap((name) => {
    const f = raw.get(name);
    if (f === undefined || f.type === 'number') return [name];
    if (f.type === 'vector') return Array.from({ length: f.length }, (_, i) => `${name}_${i}`);
    const cats = f.one_hot === 'drop_first' ? f.vocabulary.slice(1) : f.vocabulary;
    return cats.map((c) => `${name}_${c.toLowerCase().replace(/[^a-z0-9]+/g, '_')}`);
  });
}

export interface FeatureEncoder {
  readonly spec: FeatureSpec;
  readonly width: number;
  /** Features the request may send (raw ones). */
  readonly names: readonly string[];
  /** One input row, or the problems found (all of them, in spec order). */
  encode(values: FeatureValues): number[] | FeatureProblem[];
}

const describe = (v: unknown) =>
  v === null
    ? 'null'
    : Array.isArray(v)
      ? 'an array'
      : typeof v === 'string'
        ? `"${v.slice(0, 64)}"`
        : typeof v;

function checkNumber(
  f: { name: string; min?: number | undefined; max?: number | undefined; integer?: boolean | undefined },
  v: unknown,
  problems: FeatureProblem[],
  where = '',
): number | undefined {
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    problems.push({
      feature: f.name,
      reason: 'wrong_type',
      message: `feature "${f.name}"${where} must be a finite number, got ${typeof v === 'number' ? String(v) : describe(v)}`,
    });
    return undefined;
  }
  if (
    (f.min !== undefined && v < f.min) ||
    (f.max !== undefined && v > f.max) ||
    (f.integer && !Number.isInteger(v))
  ) {
    const range = `[${f.min ?? '-∞'}, ${f.max ?? '∞'}]${f.integer ? ' (integers)' : ''}`;
    problems.push({
      feature: f.name,
      reason: 'out_of_range',
      message: `feature "${f.name}"${where} is ${v}, outside its allowed range ${range}`,
    });
    return undefined;
  }
  return v;
}

function derive(
  d: DerivedFeature,
  get: (name: string) => number,
  problems: FeatureProblem[],
): number | undefined {
  let value: number;
  switch (d.op) {
    case 'ratio': {
      const denominator = get(d.of[1]);
      if (denominator === 0) {
        problems.push({
          feature: d.name,
          reason: 'out_of_range',
          message: `derived feature "${d.name}" = ${d.of[0]} / ${d.of[1]} is undefined: "${d.of[1]}" is 0`,
        });
        return undefined;
      }
      value = get(d.of[0]) / denominator;
      break;
    }
    case 'log':
    case 'log1p': {
      const x = get(d.of);
      value = d.op === 'log' ? Math.log(x) : Math.log1p(x);
      if (!Number.isFinite(value)) {
        problems.push({
          feature: d.name,
          reason: 'out_of_range',
          message: `derived feature "${d.name}" = ${d.op}(${d.of}) is undefined for ${d.of} = ${x}`,
        });
        return undefined;
      }
      break;
    }
    case 'clip':
      value = Math.min(d.max, Math.max(d.min, get(d.of)));
      break;
  }
  return value;
}

/** Compiles a spec (already validated by featureSpecSchema) into an encoder. */
export function compileFeatureSpec(spec: FeatureSpec): FeatureEncoder {
  const raw = new Map(spec.features.map((f) => [f.name, f]));
  const derived = new Map(spec.derived.map((d) => [d.name, d]));
  const slots = layoutColumns(spec);
  const width = slots.reduce((sum, c) => sum + c.width, 0);
  const names = spec.features.map((f) => f.name);
  const categoryIndex = new Map(
    spec.features.flatMap((f) =>
      f.type === 'category' ? [[f.name, new Map(f.vocabulary.map((c, i) => [c, i]))]] : [],
    ) as [string, Map<string, number>][],
  );

  return {
    spec,
    width,
    names,
    encode(values) {
      const problems: FeatureProblem[] = [];
      for (const key of Object.keys(values)) {
        if (raw.has(key)) continue;
        const computed = derived.get(key);
        problems.push({
          feature: key,
          reason: 'unknown',
          message: computed
            ? `feature "${key}" is computed by the model's spec (${computed.op}); do not send it`
            : `unknown feature "${key}"; this model takes ${names.map((n) => `"${n}"`).join(', ')}`,
        });
      }
      // Raw values first, checked once, so derived features and the layout read checked numbers.
      const numbers = new Map<string, number>();
      const categories = new Map<string, number>();
      const vectors = new Map<string, readonly number[]>();
      for (const f of spec.features) {
        let v = Object.hasOwn(values, f.name) ? values[f.name] : undefined;
        if (v === undefined) v = f.type === 'vector' ? undefined : f.default;
        if (v === undefined) {
          problems.push({ feature: f.name, reason: 'missing', message: `feature "${f.name}" is missing` });
          continue;
        }
        if (f.type === 'number') {
          const n = checkNumber(f, v, problems);
          if (n !== undefined) numbers.set(f.name, n);
        } else if (f.type === 'category') {
          if (typeof v !== 'string') {
            problems.push({
              feature: f.name,
              reason: 'wrong_type',
              message: `feature "${f.name}" must be one of ${f.vocabulary.map((c) => `"${c}"`).join(', ')} (a string), got ${describe(v)}`,
            });
            continue;
          }
          const index = categoryIndex.get(f.name)!.get(v);
          if (index === undefined) {
            problems.push({
              feature: f.name,
              reason: 'out_of_vocabulary',
              message: `feature "${f.name}" is ${describe(v)}, not in its vocabulary: ${f.vocabulary.map((c) => `"${c}"`).join(', ')}`,
            });
            continue;
          }
          categories.set(f.name, index);
        } else {
          if (!Array.isArray(v) || v.length !== f.length) {
            problems.push({
              feature: f.name,
              reason: 'wrong_type',
              message: `feature "${f.name}" must be an array of ${f.length} numbers, got ${Array.isArray(v) ? `${v.length} values` : describe(v)}`,
            });
            continue;
          }
          const before = problems.length;
          for (let i = 0; i < v.length && problems.length === before; i++)
            checkNumber(f, v[i], problems, `[${i}]`);
          if (problems.length === before) vectors.set(f.name, v as number[]);
        }
      }
      if (problems.length > 0) return problems;
      for (const d of spec.derived) {
        const value = derive(d, (name) => numbers.get(name)!, problems);
        if (value !== undefined) numbers.set(d.name, value);
      }
      if (problems.length > 0) return problems;
      const row = new Array<number>(width);
      for (const slot of slots) {
        const f = raw.get(slot.name);
        if (f === undefined || f.type === 'number') row[slot.start] = numbers.get(slot.name)!;
        else if (f.type === 'vector') {
          const v = vectors.get(slot.name)!;
          for (let i = 0; i < slot.width; i++) row[slot.start + i] = v[i]!;
        } else {
          const hot = categories.get(slot.name)! - (f.one_hot === 'drop_first' ? 1 : 0);
          for (let i = 0; i < slot.width; i++) row[slot.start + i] = i === hot ? 1 : 0;
        }
      }
      return row;
    },
  };
}

/** Checks stored values (a feature-store row) against the spec's entity features: each present
 * value must have its feature's type, range and vocabulary; absent ones are the request's to send. */
export function checkStoredValues(spec: FeatureSpec, values: FeatureValues): FeatureProblem[] {
  const entity = spec.entity;
  if (!entity) return [];
  const stored = new Set(entity.features);
  const features = spec.features.filter((f) => stored.has(f.name));
  const sub = compileFeatureSpec({ features, derived: [], layout: features.map((f) => f.name) });
  const out = sub.encode(values);
  if (typeof out[0] === 'number') return [];
  return (out as FeatureProblem[]).filter((p) => p.reason !== 'missing');
}

/** The 400 for a named-feature body: the message names the first feature at fault, details list
 * every problem (with the batch row when there is one). */
export function featureProblemsError(problems: readonly FeatureProblem[], row?: number): AppError {
  const first = problems[0]!;
  const where = row === undefined ? '' : `row ${row}: `;
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more)` : '';
  return new AppError(
    'invalid_input',
    `${where}${first.message}${more}`,
    problems.slice(0, 50).map((p) => ({ ...(row === undefined ? {} : { row }), ...p })),
  );
}
