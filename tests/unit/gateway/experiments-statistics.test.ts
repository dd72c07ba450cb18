import {
  mannWhitneyGrouped,
  mannWhitneyU,
  twoProportionZTest,
  wilsonInterval,
  zFor,
} from '../../../gateway/experiments/statistics';

describe('experiment statistics', () => {
  it('uses z = 1.96 for a 95% interval', () => {
    expect(zFor(0.95)).toBeCloseTo(1.959964, 5);
  });

  it('gives the Wilson interval R and binom.confint give for 5 of 10', () => {
    const [lo, hi] = wilsonInterval(5, 10);
    expect(lo).toBeCloseTo(0.2365931, 5);
    expect(hi).toBeCloseTo(0.7634069, 5);
  });

  it('keeps the Wilson interval inside [0, 1] at 0 and n successes', () => {
    const [lo0, hi0] = wilsonInterval(0, 20);
    expect(lo0).toBeCloseTo(0, 12);
    expect(hi0).toBeCloseTo(0.1611252, 5); // scipy binomtest(0, 20).proportion_ci(method='wilson')
    const [lo1, hi1] = wilsonInterval(20, 20);
    expect(lo1).toBeCloseTo(1 - 0.1611252, 5);
    expect(hi1).toBeCloseTo(1, 12);
  });

  it('matches prop.test(c(15, 25), c(50, 50), correct = FALSE): X-squared 4.1667, p 0.04123', () => {
    const t = twoProportionZTest(15, 50, 25, 50);
    expect(t.difference).toBeCloseTo(-0.2, 10);
    expect(t.z * t.z).toBeCloseTo(4.1667, 3);
    expect(t.p).toBeCloseTo(0.0412268, 6); // scipy chi2_contingency(correction=False)
  });

  it('answers p = 1 for empty or identical degenerate samples rather than NaN', () => {
    expect(twoProportionZTest(0, 0, 3, 10).p).toBe(1);
    expect(twoProportionZTest(10, 10, 10, 10).p).toBe(1);
  });

  it('matches wilcox.test(1:3, 4:6, exact = FALSE): W 0, p 0.08086', () => {
    const t = mannWhitneyU([1, 2, 3], [4, 5, 6]);
    expect(t.u).toBe(0);
    expect(t.p).toBeCloseTo(0.0808556, 6); // scipy agrees
  });

  it('applies the tie correction like scipy mannwhitneyu([1,2,2,3], [2,3,4,4], asymptotic): U 2.5, p 0.134169', () => {
    const t = mannWhitneyU([1, 2, 2, 3], [2, 3, 4, 4]);
    expect(t.u).toBe(2.5);
    expect(t.p).toBeCloseTo(0.1341692, 6);
  });

  it('gives the same answer from histogram buckets as from the raw values they hold', () => {
    const a = [1, 1, 1, 2, 2, 3];
    const b = [2, 3, 3, 3, 4];
    const grouped = mannWhitneyGrouped([
      { a: 3, b: 0 },
      { a: 2, b: 1 },
      { a: 1, b: 3 },
      { a: 0, b: 1 },
    ]);
    expect(grouped).toEqual(mannWhitneyU(a, b));
  });

  it('finds no difference between two samples from the same values', () => {
    const xs = Array.from({ length: 200 }, (_, i) => i % 17);
    expect(mannWhitneyU(xs, [...xs].reverse()).p).toBeCloseTo(1, 6);
  });
});
