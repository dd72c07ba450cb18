/** What every training recipe works on: a data set already encoded to the model's raw input rows,
 * split once (seeded) into training and held-out rows shared by all versions of the model. */
import type { DriftSource } from '../../common/drift';
import { type FeatureSpec, layoutColumns } from '../../common/feature-spec';

export interface Rows {
  rows: number[][];
  /** Class index per row, into `labels`. */
  labels: number[];
}

export interface DriftFeatureSpec {
  name: string;
  source: DriftSource;
  continuous: boolean;
  /** Category names of a `category` source, in index order. */
  categories?: string[];
}

export interface Dataset {
  model: string;
  /** Input column names, in input order. */
  features: string[];
  /** Class names, in output order. */
  labels: string[];
  train: Rows;
  heldout: Rows;
  /** The series the drift monitor watches; their training distribution goes into the baseline. */
  drift: DriftFeatureSpec[];
  /** Named features of the input row, written into metadata.json as inputs[0].feature_spec. */
  featureSpec: FeatureSpec;
  /** Where the rows came from and under which licence, for metadata and the README. */
  source: string;
}

export function pick(data: Rows, indices: readonly number[]): Rows {
  return { rows: indices.map((i) => data.rows[i]!), labels: indices.map((i) => data.labels[i]!) };
}

/** Drift watches the raw named features: numbers as their column, categories as one series read
 * back from their one-hot columns (island, not island_biscoe/island_dream/island_torgersen). */
export function driftFromSpec(spec: FeatureSpec): DriftFeatureSpec[] {
  const slots = new Map(layoutColumns(spec).map((s) => [s.name, s]));
  return spec.features.flatMap((f): DriftFeatureSpec[] => {
    const slot = slots.get(f.name);
    if (!slot || f.type === 'vector') return [];
    if (f.type === 'number')
      return [{ name: f.name, source: { kind: 'column', index: slot.start }, continuous: true }];
    return [
      {
        name: f.name,
        source: {
          kind: 'category',
          columns: Array.from({ length: slot.width }, (_, i) => slot.start + i),
          drop_first: f.one_hot === 'drop_first',
        },
        continuous: false,
        categories: [...f.vocabulary],
      },
    ];
  });
}
