import {
  binIndex,
  binProportions,
  categoryCuts,
  deciles,
  featureValue,
  ksStatistic,
  PROPORTION_FLOOR,
  psi,
  summaryFeature,
} from '../../../common/drift';

/** A 28x28 image, blank except the given (row, col, intensity) pixels. */
function image(pixels: Array<[number, number, number]>): number[] {
  const row = new Array<number>(784).fill(0);
  for (const [r, c, v] of pixels) row[r * 28 + c] = v;
  return row;
}

describe('summaryFeature', () => {
  it('gives 0 intensity, 0 ink and a centred mass for a blank image', () => {
    const blank = image([]);
    expect(summaryFeature('mean_intensity', blank)).toBe(0);
    expect(summaryFeature('ink_fraction', blank)).toBe(0);
    expect(summaryFeature('center_of_mass_x', blank)).toBe(0.5);
    expect(summaryFeature('center_of_mass_y', blank)).toBe(0.5);
  });

  it('puts a single top-right pixel at x = 1, y = 0', () => {
    const row = image([[0, 27, 1]]);
    expect(summaryFeature('center_of_mass_x', row)).toBe(1);
    expect(summaryFeature('center_of_mass_y', row)).toBe(0);
    expect(summaryFeature('mean_intensity', row)).toBeCloseTo(1 / 784, 12);
    expect(summaryFeature('ink_fraction', row)).toBeCloseTo(1 / 784, 12);
  });

  it('weights the centre of mass by intensity and counts ink strictly above 0.5', () => {
    // (27,0) weight 1 and (27,27) weight 0.5: x = (0·1 + 27·0.5) / 1.5 / 27 = 1/3, y = 1.
    const row = image([
      [27, 0, 1],
      [27, 27, 0.5],
    ]);
    expect(summaryFeature('center_of_mass_x', row)).toBeCloseTo(1 / 3, 12);
    expect(summaryFeature('center_of_mass_y', row)).toBeCloseTo(1, 12);
    expect(summaryFeature('ink_fraction', row)).toBeCloseTo(1 / 784, 12);
    expect(summaryFeature('mean_intensity', row)).toBeCloseTo(1.5 / 784, 12);
  });

  it('works on any square image, e.g. 2x2', () => {
    // [[0.2, 0.6], [0.8, 0.4]]: mass 2, x moment 1.0 → 0.5; y moment 1.2 → 0.6.
    const row = [0.2, 0.6, 0.8, 0.4];
    expect(summaryFeature('mean_intensity', row)).toBeCloseTo(0.5, 12);
    expect(summaryFeature('ink_fraction', row)).toBe(0.5);
    expect(summaryFeature('center_of_mass_x', row)).toBeCloseTo(0.5, 12);
    expect(summaryFeature('center_of_mass_y', row)).toBeCloseTo(0.6, 12);
  });

  it('refuses a row that is not a square image', () => {
    expect(() => summaryFeature('mean_intensity', [1, 2, 3])).toThrow(/square image.*3 values/);
  });
});

describe('featureValue', () => {
  it('reads a column by index', () => {
    expect(featureValue({ kind: 'column', index: 2 }, [5, 6, 7])).toBe(7);
  });

  it('computes a summary for summary sources', () => {
    expect(featureValue({ kind: 'summary', fn: 'ink_fraction' }, [0, 1, 1, 1])).toBe(0.75);
  });

  it('refuses a column outside the row', () => {
    expect(() => featureValue({ kind: 'column', index: 3 }, [5, 6, 7])).toThrow(/column 3.*3 values/);
  });
});

describe('deciles', () => {
  it('gives 10, 20, ..., 90 for 0..100', () => {
    const values = Array.from({ length: 101 }, (_, i) => 100 - i);
    expect(deciles(values)).toEqual([10, 20, 30, 40, 50, 60, 70, 80, 90]);
  });

  it('interpolates linearly between order statistics', () => {
    // 1..10: h = 9p, so the 10th percentile is 1 + 0.9 = 1.9 and the median 5.5.
    const cuts = deciles([10, 9, 8, 7, 6, 5, 4, 3, 2, 1]);
    const expected = [1.9, 2.8, 3.7, 4.6, 5.5, 6.4, 7.3, 8.2, 9.1];
    for (const [i, c] of cuts.entries()) expect(c).toBeCloseTo(expected[i]!, 12);
  });

  it('refuses an empty set', () => {
    expect(() => deciles([])).toThrow(RangeError);
  });
});

describe('binProportions', () => {
  it('puts a value equal to a cut into the lower bin', () => {
    expect(binIndex(2, [2, 4])).toBe(0);
    expect(binIndex(2.1, [2, 4])).toBe(1);
    expect(binIndex(4, [2, 4])).toBe(1);
    expect(binIndex(9, [2, 4])).toBe(2);
  });

  it('gives the share of values in each bin', () => {
    expect(binProportions([1, 2, 3, 4], [2.5])).toEqual([0.5, 0.5]);
    expect(binProportions([1, 2, 3, 4, 5, 6, 7, 8], [2, 4, 6])).toEqual([0.25, 0.25, 0.25, 0.25]);
  });

  it('floors empty bins so a 0/1 column with tied cuts stays usable for PSI', () => {
    // deciles([0, 0, 0, 1]) = [0, 0, 0, 0, 0, 0, 0.1, 0.4, 0.7]: zeros in bin 0, the one in bin 9.
    const cuts = deciles([0, 0, 0, 1]);
    expect(cuts.slice(0, 6)).toEqual([0, 0, 0, 0, 0, 0]);
    const shares = binProportions([0, 0, 0, 1], cuts);
    expect(shares).toHaveLength(10);
    expect(shares[0]).toBe(0.75);
    expect(shares[9]).toBe(0.25);
    expect(shares.reduce((a, b) => a + b, 0)).toBeCloseTo(1 + 8 * PROPORTION_FLOOR, 12);
    expect(shares.filter((s) => s === PROPORTION_FLOOR)).toHaveLength(8);
  });

  it('refuses an empty set', () => {
    expect(() => binProportions([], [1])).toThrow(RangeError);
  });
});

describe('psi', () => {
  it('is 0 for identical distributions', () => {
    expect(psi([0.2, 0.3, 0.5], [0.2, 0.3, 0.5])).toBe(0);
  });

  it('matches the hand-computed value 0.25·ln 3 for 50/50 against 25/75', () => {
    // (0.25 − 0.5)·ln(0.5) + (0.75 − 0.5)·ln(1.5) = 0.25·(ln 2 + ln 1.5) = 0.25·ln 3
    expect(psi([0.5, 0.5], [0.25, 0.75])).toBeCloseTo(0.25 * Math.log(3), 12);
  });

  it('stays finite when a bin is empty on one side', () => {
    // (1e-4 − 0.5)·ln(1e-4/0.5) + (1 − 0.5)·ln(2)
    const expected = (PROPORTION_FLOOR - 0.5) * Math.log(PROPORTION_FLOOR / 0.5) + 0.5 * Math.log(2);
    expect(psi([0.5, 0.5], [0, 1])).toBeCloseTo(expected, 12);
  });

  it('refuses bins of different lengths', () => {
    expect(() => psi([0.5, 0.5], [1])).toThrow(/same bins/);
  });
});

describe('ksStatistic', () => {
  it('is 0 for the same sample', () => {
    expect(ksStatistic([1, 2, 3], [3, 1, 2])).toBe(0);
  });

  it('is 1 for disjoint samples', () => {
    expect(ksStatistic([1, 2, 3], [7, 8])).toBe(1);
  });

  it('matches the hand-computed D for overlapping samples', () => {
    // At x = 4: F_ref = 1, F_sample = 0.5, the largest gap.
    expect(ksStatistic([1, 2, 3, 4], [6, 5, 4, 3])).toBe(0.5);
    // Unequal sizes: ref [1,2,3,4,5], sample [2,4]; at x = 3: 3/5 vs 1/2; at x = 1: 1/5 vs 0 → D = 0.2.
    expect(ksStatistic([1, 2, 3, 4, 5], [4, 2])).toBeCloseTo(0.2, 12);
  });

  it('does not count a gap inside a run of tied values', () => {
    expect(ksStatistic([1, 1, 2, 2], [2, 1])).toBe(0);
  });

  it('refuses an empty side', () => {
    expect(() => ksStatistic([], [1])).toThrow(RangeError);
    expect(() => ksStatistic([1], [])).toThrow(RangeError);
  });
});

describe('category drift sources', () => {
  const island = { kind: 'category' as const, columns: [1, 2, 3], drop_first: false };
  const sex = { kind: 'category' as const, columns: [0], drop_first: true };

  it('reads the category index back from its one-hot columns', () => {
    expect(featureValue(island, [9, 0, 0, 1])).toBe(2);
    expect(featureValue(island, [9, 1, 0, 0])).toBe(0);
    expect(featureValue(island, [9, 0, 0, 0])).toBe(-1);
    expect(featureValue(sex, [1])).toBe(1);
    expect(featureValue(sex, [0])).toBe(0);
  });

  it('bins one category a bin, with a first bin for rows where none is hot', () => {
    const cuts = categoryCuts(3);
    expect(cuts).toEqual([-0.5, 0.5, 1.5]);
    expect([-1, 0, 1, 2].map((v) => binIndex(v, cuts))).toEqual([0, 1, 2, 3]);
  });

  it('refuses columns outside the row', () => {
    expect(() => featureValue(island, [0, 1])).toThrow(/column 2 .*2 values/);
  });
});
