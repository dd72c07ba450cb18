import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  columnNames,
  compileFeatureSpec,
  type FeatureProblem,
  featureProblemsError,
  featureSpecSchema,
} from '../../../common/feature-spec';
import { metadataSchema } from '../../../common/wire';

const MODELS = path.resolve(__dirname, '..', '..', '..', 'models');
const read = (...p: string[]) => JSON.parse(readFileSync(path.join(MODELS, ...p), 'utf8'));

/** Named values of a shipped penguins row, decoded by hand from its eight columns. */
function penguinNamed(row: number[]) {
  const islands = ['Biscoe', 'Dream', 'Torgersen'];
  const hot = row.slice(4, 7).indexOf(1);
  return {
    bill_length_mm: row[0],
    bill_depth_mm: row[1],
    flipper_length_mm: row[2],
    body_mass_g: row[3],
    island: islands[hot],
    sex: row[7] === 1 ? 'male' : 'female',
  };
}

const problems = (out: number[] | FeatureProblem[]) => out as FeatureProblem[];

describe('shipped feature specs', () => {
  for (const version of ['1', '2']) {
    it(`penguins v${version}: named features encode to the positional row for every sample row`, () => {
      const metadata = metadataSchema.parse(read('penguins', version, 'metadata.json'));
      const spec = metadata.inputs[0]!.feature_spec!;
      expect(columnNames(spec)).toEqual(metadata.inputs[0]!.features);
      const encoder = compileFeatureSpec(spec);
      const sample = read('penguins', 'sample.json') as number[][];
      expect(sample.length).toBeGreaterThan(50);
      for (const row of sample) expect(encoder.encode(penguinNamed(row))).toEqual(row);
    });

    it(`digits v${version}: the pixels vector encodes to the positional row for every sample row`, () => {
      const metadata = metadataSchema.parse(read('digits', version, 'metadata.json'));
      const encoder = compileFeatureSpec(metadata.inputs[0]!.feature_spec!);
      expect(encoder.width).toBe(784);
      const sample = read('digits', 'sample.json') as number[][];
      for (const row of sample) expect(encoder.encode({ pixels: row })).toEqual(row);
    });
  }
});

describe('named-feature errors name the feature', () => {
  const spec = metadataSchema.parse(read('penguins', '1', 'metadata.json')).inputs[0]!.feature_spec!;
  const encoder = compileFeatureSpec(spec);
  const good = penguinNamed([39.1, 18.7, 181, 3750, 0, 0, 1, 1]);

  it.each([
    [
      'an unknown feature',
      { ...good, beak_colour: 'orange' },
      'beak_colour',
      'unknown',
      /unknown feature "beak_colour"/,
    ],
    ['a missing feature', { ...good, island: undefined }, 'island', 'missing', /feature "island" is missing/],
    [
      'a category outside the vocabulary',
      { ...good, island: 'Atlantis' },
      'island',
      'out_of_vocabulary',
      /"Atlantis", not in its vocabulary: "Biscoe", "Dream", "Torgersen"/,
    ],
    [
      'a number out of range',
      { ...good, body_mass_g: 3.75 },
      'body_mass_g',
      'out_of_range',
      /body_mass_g" is 3.75, outside its allowed range \[2000, 7500\]/,
    ],
    [
      'a string for a number',
      { ...good, bill_length_mm: '39.1' },
      'bill_length_mm',
      'wrong_type',
      /must be a finite number, got "39.1"/,
    ],
    [
      'a number for a category',
      { ...good, sex: 1 },
      'sex',
      'wrong_type',
      /must be one of "female", "male" \(a string\), got number/,
    ],
    ['null', { ...good, bill_depth_mm: null }, 'bill_depth_mm', 'wrong_type', /got null/],
  ])('%s', (_name, values, feature, reason, message) => {
    const out = problems(encoder.encode(values as Record<string, unknown>));
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({ feature, reason });
    expect(out[0]!.message).toMatch(message);
  });

  it('reports every problem at once, and the 400 says the first and counts the rest', () => {
    const out = problems(encoder.encode({ island: 'Atlantis', sex: 'x', body_mass_g: 1 }));
    expect(out.map((p) => p.feature).sort()).toEqual(
      ['bill_depth_mm', 'bill_length_mm', 'body_mass_g', 'flipper_length_mm', 'island', 'sex'].sort(),
    );
    const err = featureProblemsError(out, 3);
    expect(err.status).toBe(400);
    expect(err.message).toMatch(/^row 3: .*\(and 5 more\)$/);
    expect((err.details as { row: number }[])[0]!.row).toBe(3);
  });

  it('vector features check length and every element', () => {
    const digits = compileFeatureSpec(
      metadataSchema.parse(read('digits', '1', 'metadata.json')).inputs[0]!.feature_spec!,
    );
    expect(problems(digits.encode({ pixels: [0, 1] }))[0]!.message).toMatch(
      /array of 784 numbers, got 2 values/,
    );
    const row = new Array(784).fill(0);
    row[10] = 1.5;
    expect(problems(digits.encode({ pixels: row }))[0]).toMatchObject({ reason: 'out_of_range' });
    expect(problems(digits.encode({ pixels: row }))[0]!.message).toMatch(/pixels"\[10\] is 1.5/);
  });
});

describe('derived features are data', () => {
  const spec = featureSpecSchema.parse({
    features: [
      { name: 'length_mm', type: 'number', min: 0 },
      { name: 'depth_mm', type: 'number', min: 0 },
      { name: 'mass_g', type: 'number' },
      {
        name: 'colour',
        type: 'category',
        vocabulary: ['red', 'green', 'blue'],
        one_hot: 'drop_first',
        default: 'red',
      },
    ],
    derived: [
      { name: 'ratio', op: 'ratio', of: ['length_mm', 'depth_mm'] },
      { name: 'log_mass', op: 'log', of: 'mass_g' },
      { name: 'log1p_depth', op: 'log1p', of: 'depth_mm' },
      { name: 'ratio_clipped', op: 'clip', of: 'ratio', min: 0, max: 2 },
    ],
    layout: ['ratio', 'log_mass', 'log1p_depth', 'ratio_clipped', 'colour', 'mass_g'],
  });
  const encoder = compileFeatureSpec(spec);

  it('computes ratio, log, log1p and clip (of a derived feature) into the layout', () => {
    expect(columnNames(spec)).toEqual([
      'ratio',
      'log_mass',
      'log1p_depth',
      'ratio_clipped',
      'colour_green',
      'colour_blue',
      'mass_g',
    ]);
    const row = encoder.encode({
      length_mm: 30,
      depth_mm: 10,
      mass_g: Math.E ** 2,
      colour: 'blue',
    }) as number[];
    expect(row[0]).toBeCloseTo(3, 12);
    expect(row[1]).toBeCloseTo(2, 12);
    expect(row[2]).toBeCloseTo(Math.log(11), 12);
    expect(row[3]).toBe(2);
    expect(row.slice(4)).toEqual([0, 1, Math.E ** 2]);
  });

  it('uses a declared default when the feature is left out (drop_first: the first category is all zeros)', () => {
    expect((encoder.encode({ length_mm: 1, depth_mm: 1, mass_g: 1 }) as number[]).slice(4, 6)).toEqual([
      0, 0,
    ]);
  });

  it('refuses a request that sends a derived feature, and derived values that are undefined', () => {
    expect(problems(encoder.encode({ length_mm: 1, depth_mm: 1, mass_g: 1, ratio: 5 }))[0]!.message).toMatch(
      /"ratio" is computed by the model's spec \(ratio\); do not send it/,
    );
    expect(problems(encoder.encode({ length_mm: 1, depth_mm: 0, mass_g: 1 }))[0]).toMatchObject({
      feature: 'ratio',
      reason: 'out_of_range',
    });
    expect(problems(encoder.encode({ length_mm: 1, depth_mm: 1, mass_g: -1 }))[0]).toMatchObject({
      feature: 'log_mass',
      reason: 'out_of_range',
    });
  });

  it('refuses specs that reference what is not declared, categories as operands, or a bad layout', () => {
    const base = {
      features: [
        { name: 'a', type: 'number' },
        { name: 'c', type: 'category', vocabulary: ['x', 'y'] },
      ],
    };
    const issues = (s: unknown) => featureSpecSchema.safeParse(s).error?.issues.map((i) => i.message) ?? [];
    expect(issues({ ...base, derived: [{ name: 'r', op: 'log', of: 'nope' }], layout: ['a'] })).toEqual([
      'derived "r" uses "nope", which is not declared before it',
    ]);
    expect(issues({ ...base, derived: [{ name: 'r', op: 'log', of: 'c' }], layout: ['a'] })[0]).toMatch(
      /a category; operands must be numbers/,
    );
    expect(issues({ ...base, layout: ['a', 'b'] })).toEqual([
      'layout names "b", which is not a declared feature',
    ]);
    expect(issues({ ...base, layout: ['a'], entity: { key: 'a', features: ['c'] } })[0]).toMatch(
      /must not also be a feature/,
    );
  });

  it('metadata refuses a spec whose layout does not fill the input width', () => {
    const md = read('penguins', '1', 'metadata.json');
    md.inputs[0].feature_spec.layout = md.inputs[0].feature_spec.layout.slice(0, 5);
    const parsed = metadataSchema.safeParse(md);
    expect(parsed.error?.issues[0]?.message).toBe(
      "the feature spec's layout fills 7 columns but the input takes 8",
    );
  });
});
