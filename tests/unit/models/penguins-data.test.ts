import { readFileSync } from 'node:fs';
import {
  encodePenguin,
  encodePenguins,
  loadPenguins,
  PENGUIN_FEATURES,
  type PenguinRecord,
  penguinsJsonPath,
} from '../../../models/train/penguins-data';

const adelie: PenguinRecord = {
  Species: 'Adelie',
  Island: 'Torgersen',
  'Beak Length (mm)': 39.1,
  'Beak Depth (mm)': 18.7,
  'Flipper Length (mm)': 181,
  'Body Mass (g)': 3750,
  Sex: 'MALE',
};

describe('penguin encoding', () => {
  it('orders the eight columns as the metadata names them', () => {
    expect(PENGUIN_FEATURES).toEqual([
      'bill_length_mm',
      'bill_depth_mm',
      'flipper_length_mm',
      'body_mass_g',
      'island_biscoe',
      'island_dream',
      'island_torgersen',
      'sex_male',
    ]);
  });

  it('keeps the measurements raw and one-hot encodes island and sex', () => {
    expect(encodePenguin(adelie)).toEqual({ row: [39.1, 18.7, 181, 3750, 0, 0, 1, 1], label: 0 });
    expect(encodePenguin({ ...adelie, Species: 'Gentoo', Island: 'Biscoe', Sex: 'FEMALE' })).toEqual({
      row: [39.1, 18.7, 181, 3750, 1, 0, 0, 0],
      label: 2,
    });
    expect(encodePenguin({ ...adelie, Species: 'Chinstrap', Island: 'Dream' })?.row.slice(4)).toEqual([
      0, 1, 0, 1,
    ]);
  });

  it('drops rows with a missing measurement, a missing or "." sex, or an unknown island or species', () => {
    expect(encodePenguin({ ...adelie, 'Body Mass (g)': null })).toBeUndefined();
    expect(encodePenguin({ ...adelie, Sex: null })).toBeUndefined();
    expect(encodePenguin({ ...adelie, Sex: '.' })).toBeUndefined();
    expect(encodePenguin({ ...adelie, Island: 'Atlantis' })).toBeUndefined();
    expect(encodePenguin({ ...adelie, Species: 'Emperor' })).toBeUndefined();
  });

  it('keeps 333 of the 344 rows of vega-datasets penguins.json', () => {
    const records = JSON.parse(readFileSync(penguinsJsonPath(), 'utf8')) as PenguinRecord[];
    expect(records).toHaveLength(344);
    const encoded = encodePenguins(records);
    expect(encoded.rows).toHaveLength(333);
    expect(encoded.rows.every((row) => row.length === 8 && row.every(Number.isFinite))).toBe(true);
  });

  it('splits about 75/25 per species, the same way every time', () => {
    const a = loadPenguins(1);
    const b = loadPenguins(1);
    expect(a.heldout.rows).toEqual(b.heldout.rows);
    expect(a.train.rows.length + a.heldout.rows.length).toBe(333);
    for (const species of [0, 1, 2]) {
      const train = a.train.labels.filter((l) => l === species).length;
      const heldout = a.heldout.labels.filter((l) => l === species).length;
      expect(heldout / (train + heldout)).toBeCloseTo(0.25, 1);
    }
  });
});
