/** Palmer penguins from vega-datasets (CC0), encoded to the eight raw columns both penguins
 * versions take. Rows with any missing value (or the stray "." sex) are dropped: 344 → 333. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { columnNames, type FeatureSpec, featureSpecSchema } from '../../common/feature-spec';
import { seededRandom, stratifiedSplit } from '../../common/seeded-random';
import { type Dataset, driftFromSpec, pick, type Rows } from './dataset';

const ISLANDS = ['Biscoe', 'Dream', 'Torgersen'];

/** The named features behind the eight columns. Ranges are generous physical bounds (the data
 * spans bills of 32-60 mm, flippers of 172-231 mm, 2.7-6.3 kg), wide enough for any real penguin
 * and narrow enough to catch grams sent as kilograms. Looked up by `penguin_id` from the feature
 * store when a request names one. */
export const PENGUIN_FEATURE_SPEC: FeatureSpec = featureSpecSchema.parse({
  features: [
    { name: 'bill_length_mm', type: 'number', unit: 'mm', min: 20, max: 80, description: 'Culmen length' },
    { name: 'bill_depth_mm', type: 'number', unit: 'mm', min: 10, max: 30, description: 'Culmen depth' },
    { name: 'flipper_length_mm', type: 'number', unit: 'mm', min: 150, max: 250 },
    { name: 'body_mass_g', type: 'number', unit: 'g', min: 2000, max: 7500 },
    { name: 'island', type: 'category', vocabulary: ISLANDS, one_hot: 'all' },
    { name: 'sex', type: 'category', vocabulary: ['female', 'male'], one_hot: 'drop_first' },
  ],
  layout: ['bill_length_mm', 'bill_depth_mm', 'flipper_length_mm', 'body_mass_g', 'island', 'sex'],
  entity: {
    key: 'penguin_id',
    features: ['bill_length_mm', 'bill_depth_mm', 'flipper_length_mm', 'body_mass_g', 'island', 'sex'],
  },
});

/** bill_length_mm … body_mass_g, island_biscoe, island_dream, island_torgersen, sex_male. */
export const PENGUIN_FEATURES = columnNames(PENGUIN_FEATURE_SPEC);
export const PENGUIN_LABELS = ['Adelie', 'Chinstrap', 'Gentoo'];

export interface PenguinRecord {
  Species?: unknown;
  Island?: unknown;
  'Beak Length (mm)'?: unknown;
  'Beak Depth (mm)'?: unknown;
  'Flipper Length (mm)'?: unknown;
  'Body Mass (g)'?: unknown;
  Sex?: unknown;
}

function finite(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

/** One record → [raw features, class index], or undefined when anything is missing or unknown. */
export function encodePenguin(record: PenguinRecord): { row: number[]; label: number } | undefined {
  const measurements = [
    record['Beak Length (mm)'],
    record['Beak Depth (mm)'],
    record['Flipper Length (mm)'],
    record['Body Mass (g)'],
  ];
  if (!measurements.every(finite)) return undefined;
  const island = ISLANDS.indexOf(String(record.Island));
  const label = PENGUIN_LABELS.indexOf(String(record.Species));
  if (island < 0 || label < 0 || (record.Sex !== 'MALE' && record.Sex !== 'FEMALE')) return undefined;
  const islandOneHot = ISLANDS.map((_, i) => (i === island ? 1 : 0));
  return { row: [...measurements, ...islandOneHot, record.Sex === 'MALE' ? 1 : 0], label };
}

export function penguinsJsonPath(): string {
  // vega-datasets' package "exports" hides data/, so resolve its entry point and walk up.
  return path.resolve(path.dirname(require.resolve('vega-datasets')), '..', 'data', 'penguins.json');
}

export function encodePenguins(records: readonly PenguinRecord[]): Rows {
  const data: Rows = { rows: [], labels: [] };
  for (const record of records) {
    const encoded = encodePenguin(record);
    if (!encoded) continue;
    data.rows.push(encoded.row);
    data.labels.push(encoded.label);
  }
  return data;
}

export function loadPenguins(seed: number): Dataset {
  const records = JSON.parse(readFileSync(penguinsJsonPath(), 'utf8')) as PenguinRecord[];
  const all = encodePenguins(records);
  // Strata are species × island × sex, not species alone: with only ~84 held-out rows a species-only
  // split can land far from the training mix of sex and island (body mass follows sex), and the
  // held-out sample is what tests and demos replay — it must read as "no drift" against the baseline.
  const SEX = PENGUIN_FEATURES.length - 1;
  const strata = all.rows.map(
    (row, i) => all.labels[i]! * 8 + (row[4]! * 1 + row[5]! * 2 + row[6]! * 3) * 2 + row[SEX]!,
  );
  const split = stratifiedSplit(strata, 0.25, seededRandom(seed));
  return {
    model: 'penguins',
    features: PENGUIN_FEATURES,
    labels: PENGUIN_LABELS,
    train: pick(all, split.train),
    heldout: pick(all, split.heldout),
    featureSpec: PENGUIN_FEATURE_SPEC,
    drift: driftFromSpec(PENGUIN_FEATURE_SPEC),
    source:
      'Palmer penguins (Gorman, Williams & Fraser 2014) from npm vega-datasets data/penguins.json, CC0; rows with missing values dropped',
  };
}
