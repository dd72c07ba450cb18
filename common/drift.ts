/** Pure drift statistics shared by training (which writes the baseline into metadata.json) and the
 * model-server's live drift monitor (which compares a window of traffic against it). Both sides must
 * bin and summarise rows identically, which is why this lives in one place and does no I/O. */
import type { z } from 'zod';
import type { driftSourceSchema } from './wire';

export type DriftSource = z.output<typeof driftSourceSchema>;
export type SummaryFn = Extract<DriftSource, { kind: 'summary' }>['fn'];

/** Smallest share a PSI bin may hold: an empty bin would make ln(a/e) infinite, and one stray row
 * in an otherwise empty bin should raise PSI a little, not without bound. */
export const PROPORTION_FLOOR = 1e-4;

/** Side of the square image a row holds (28 for MNIST's 784 pixels). */
function imageSide(row: ArrayLike<number>): number {
  const side = Math.round(Math.sqrt(row.length));
  if (side < 1 || side * side !== row.length) {
    throw new RangeError(`a summary feature needs a square image, got a row of ${row.length} values`);
  }
  return side;
}

/** A one-number summary of a whole image row, for inputs too wide to watch pixel by pixel.
 * Centre of mass is intensity-weighted, scaled so 0 is the first and 1 the last column (row), and
 * 0.5 for a blank image, where it is undefined; negative intensities carry no ink. */
export function summaryFeature(fn: SummaryFn, row: ArrayLike<number>): number {
  const side = imageSide(row);
  const n = row.length;
  switch (fn) {
    case 'mean_intensity': {
      let sum = 0;
      for (let i = 0; i < n; i++) sum += row[i]!;
      return sum / n;
    }
    case 'ink_fraction': {
      let inked = 0;
      for (let i = 0; i < n; i++) if (row[i]! > 0.5) inked++;
      return inked / n;
    }
    case 'center_of_mass_x':
    case 'center_of_mass_y': {
      const alongX = fn === 'center_of_mass_x';
      let mass = 0;
      let moment = 0;
      for (let i = 0; i < n; i++) {
        const w = Math.max(0, row[i]!);
        mass += w;
        moment += w * (alongX ? i % side : Math.floor(i / side));
      }
      if (mass === 0 || side === 1) return 0.5;
      return moment / mass / (side - 1);
    }
  }
}

/** Category index of a one-hot group read in place: the first hot column (> 0.5) gives it; none
 * hot is category 0 under drop_first (its all-zero row), else -1 (no valid category). */
export function categoryValue(
  columns: readonly number[],
  dropFirst: boolean,
  row: ArrayLike<number>,
  offset = 0,
): number {
  for (let i = 0; i < columns.length; i++) {
    if (row[offset + columns[i]!]! > 0.5) return dropFirst ? i + 1 : i;
  }
  return dropFirst ? 0 : -1;
}

/** PSI cut points of a category with `count` values: one bin per category, plus a first bin for -1. */
export function categoryCuts(count: number): number[] {
  return Array.from({ length: count }, (_, i) => i - 0.5);
}

/** The value a drift feature takes on one input row. */
export function featureValue(source: DriftSource, row: ArrayLike<number>): number {
  if (source.kind === 'summary') return summaryFeature(source.fn, row);
  if (source.kind === 'category') {
    const outside = source.columns.find((c) => c >= row.length);
    if (outside !== undefined) {
      throw new RangeError(`drift column ${outside} is outside a row of ${row.length} values`);
    }
    return categoryValue(source.columns, source.drop_first, row);
  }
  if (source.index >= row.length) {
    throw new RangeError(`drift column ${source.index} is outside a row of ${row.length} values`);
  }
  return row[source.index]!;
}

/** Linear-interpolated quantile of sorted values (the usual "type 7", as numpy and R default to). */
function quantileSorted(sorted: readonly number[], p: number): number {
  const h = (sorted.length - 1) * p;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo]! + (h - lo) * (sorted[hi]! - sorted[lo]!);
}

/** The nine cut points (10th..90th percentile) that split training values into ten PSI bins. */
export function deciles(values: readonly number[]): number[] {
  if (values.length === 0) throw new RangeError('deciles of an empty set are undefined');
  const sorted = [...values].sort((a, b) => a - b);
  return Array.from({ length: 9 }, (_, k) => quantileSorted(sorted, (k + 1) / 10));
}

/** Index of the bin a value falls in: bin i holds (cuts[i-1], cuts[i]], so a value equal to a cut
 * joins the lower bin. Tied cuts (a 0/1 column's deciles) leave the bins between them empty. */
export function binIndex(value: number, cuts: readonly number[]): number {
  let lo = 0;
  let hi = cuts.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cuts[mid]! < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Share of values in each of the len(cuts)+1 bins, each at least PROPORTION_FLOOR (so the shares
 * may sum to slightly more than 1). */
export function binProportions(values: readonly number[], cuts: readonly number[]): number[] {
  if (values.length === 0) throw new RangeError('bin proportions of an empty set are undefined');
  const counts = new Array<number>(cuts.length + 1).fill(0);
  for (const v of values) counts[binIndex(v, cuts)]!++;
  return counts.map((c) => Math.max(c / values.length, PROPORTION_FLOOR));
}

/** Population stability index: Σ (actual − expected) · ln(actual / expected) over bins. Common
 * reading: < 0.1 stable, 0.1–0.25 moderate shift, > 0.25 significant shift. Shares are floored
 * again here so callers may pass raw frequencies that contain zeros. */
export function psi(expected: readonly number[], actual: readonly number[]): number {
  if (expected.length !== actual.length) {
    throw new RangeError(
      `PSI needs the same bins on both sides, got ${expected.length} and ${actual.length}`,
    );
  }
  let total = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = Math.max(expected[i]!, PROPORTION_FLOOR);
    const a = Math.max(actual[i]!, PROPORTION_FLOOR);
    total += (a - e) * Math.log(a / e);
  }
  return total;
}

/** Two-sample Kolmogorov–Smirnov statistic D = sup |F_ref(x) − F_sample(x)|, evaluated after all
 * values equal to x on both sides have been counted, so ties do not inflate D. */
export function ksStatistic(sortedReference: readonly number[], sample: readonly number[]): number {
  if (sortedReference.length === 0 || sample.length === 0) {
    throw new RangeError('the KS statistic needs at least one value on each side');
  }
  const ref = sortedReference;
  const other = [...sample].sort((a, b) => a - b);
  let i = 0;
  let j = 0;
  let d = 0;
  while (i < ref.length && j < other.length) {
    const x = Math.min(ref[i]!, other[j]!);
    while (i < ref.length && ref[i]! <= x) i++;
    while (j < other.length && other[j]! <= x) j++;
    d = Math.max(d, Math.abs(i / ref.length - j / other.length));
  }
  return d;
}
