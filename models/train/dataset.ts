/** What every training recipe works on: a data set already encoded to the model's raw input rows,
 * split once (seeded) into training and held-out rows shared by all versions of the model. */
import type { DriftSource } from '../../common/drift';

export interface Rows {
  rows: number[][];
  /** Class index per row, into `labels`. */
  labels: number[];
}

export interface DriftFeatureSpec {
  name: string;
  source: DriftSource;
  continuous: boolean;
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
  /** Where the rows came from and under which licence, for metadata and the README. */
  source: string;
}

export function pick(data: Rows, indices: readonly number[]): Rows {
  return { rows: indices.map((i) => data.rows[i]!), labels: indices.map((i) => data.labels[i]!) };
}
