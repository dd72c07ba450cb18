/** The training distribution written into metadata.json, against which the model-server's drift
 * monitor compares live traffic: deciles, bin shares and a KS reference per feature, plus class
 * frequencies for the predicted class. */
import { binProportions, categoryCuts, deciles, featureValue } from '../../common/drift';
import type { Metadata } from '../../common/wire';
import type { DriftFeatureSpec, Rows } from './dataset';

/** Most reference values kept per feature: enough for a KS statistic to two decimals, small enough
 * to keep metadata.json readable. */
export const REFERENCE_SIZE = 200;

/** Evenly spaced order statistics: a deterministic, representative sample of sorted values. */
export function referenceSample(sortedValues: readonly number[], size = REFERENCE_SIZE): number[] {
  if (sortedValues.length <= size) return [...sortedValues];
  return Array.from(
    { length: size },
    (_, k) => sortedValues[Math.floor(((k + 0.5) * sortedValues.length) / size)]!,
  );
}

export function buildBaseline(
  train: Rows,
  specs: readonly DriftFeatureSpec[],
  labels: readonly string[],
): Metadata['baseline'] {
  const features = specs.map((spec) => {
    const values = train.rows.map((row) => featureValue(spec.source, row));
    // Shares are counted with the rounded cuts the monitor will read back, so both bin alike.
    // A category gets one bin per value (and one for "none"), not deciles of its index.
    const cuts =
      spec.source.kind === 'category'
        ? categoryCuts(spec.categories?.length ?? spec.source.columns.length + 1)
        : deciles(values).map(round6);
    return {
      name: spec.name,
      source: spec.source,
      continuous: spec.continuous,
      ...(spec.categories ? { categories: spec.categories } : {}),
      deciles: cuts,
      proportions: binProportions(values, cuts).map(round6),
      // KS is for continuous features only; a category's reference would be dead weight.
      reference:
        spec.source.kind === 'category' ? [] : referenceSample([...values].sort((a, b) => a - b)).map(round6),
    };
  });
  const counts = new Array<number>(labels.length).fill(0);
  for (const label of train.labels) counts[label]!++;
  const classes = Object.fromEntries(
    labels.map((name, i) => [name, round6(counts[i]! / train.labels.length)]),
  );
  return { features, classes };
}

/** Six decimals are far below any drift signal and keep metadata.json diff-friendly. */
function round6(value: number): number {
  return Math.round(value * 1e6) / 1e6;
}
