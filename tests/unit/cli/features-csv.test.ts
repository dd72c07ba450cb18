import { readFileSync } from 'node:fs';
import path from 'node:path';
import { recordsFromCsv } from '../../../cli/commands/features';
import { parseCsv } from '../../../cli/csv';
import { compileFeatureSpec } from '../../../common/feature-spec';
import { PENGUIN_FEATURE_SPEC } from '../../../models/train/penguins-data';

describe('parseCsv', () => {
  it('reads quoted fields with commas, doubled quotes and newlines, CRLF or LF, and a BOM', () => {
    expect(parseCsv('\ufeffa,b\r\n"x, y","say ""hi"""\n"multi\nline",2\n\n')).toEqual([
      ['a', 'b'],
      ['x, y', 'say "hi"'],
      ['multi\nline', '2'],
    ]);
    expect(() => parseCsv('a\n"open')).toThrow(/inside a quoted field/);
  });
});

describe('recordsFromCsv', () => {
  const header = 'penguin_id,bill_length_mm,bill_depth_mm,flipper_length_mm,body_mass_g,island,sex';

  it('types cells by the spec and leaves empty cells to the request', () => {
    expect(recordsFromCsv(PENGUIN_FEATURE_SPEC, `${header}\np-1,39.1,18.7,181,3750,Torgersen,\n`)).toEqual([
      {
        entity: 'p-1',
        values: {
          bill_length_mm: 39.1,
          bill_depth_mm: 18.7,
          flipper_length_mm: 181,
          body_mass_g: 3750,
          island: 'Torgersen',
        },
      },
    ]);
  });

  it.each([
    ['no key column', 'bill_length_mm\n1\n', /no "penguin_id" column/],
    [
      'a repeated key',
      `${header}\np-1,39,18,181,3750,Dream,male\np-1,39,18,181,3750,Dream,male\n`,
      /line 3: penguin_id "p-1" appears twice/,
    ],
    ['a short row', `${header}\np-1,39\n`, /line 2: 2 fields, the header has 7/],
    [
      'a number that is not one',
      `${header}\np-1,long,18,181,3750,Dream,male\n`,
      /line 2 \(penguin_id "p-1"\): feature "bill_length_mm" must be a finite number/,
    ],
    ['an unknown column', 'penguin_id,beak\np-1,x\n', /unknown feature "beak"/],
  ])('refuses %s', (_name, text, message) => {
    expect(() => recordsFromCsv(PENGUIN_FEATURE_SPEC, text)).toThrow(message);
  });
});

describe('the shipped sample entities (models/penguins/entities.csv, the README loads them)', () => {
  const modelDir = path.join(__dirname, '../../../models/penguins');
  const sample = JSON.parse(readFileSync(path.join(modelDir, 'sample.json'), 'utf8')) as number[][];
  const metadata = JSON.parse(readFileSync(path.join(modelDir, '1/metadata.json'), 'utf8'));
  const spec = metadata.inputs[0].feature_spec;

  it('are the sample rows, p-i encoding to exactly sample row i under the shipped spec', () => {
    const rows = recordsFromCsv(spec, readFileSync(path.join(modelDir, 'entities.csv'), 'utf8'));
    expect(rows.map((r) => r.entity)).toEqual(sample.map((_, i) => `p-${i}`));
    const encoder = compileFeatureSpec(spec);
    expect(rows.map((r) => encoder.encode(r.values))).toEqual(sample);
  });
});
