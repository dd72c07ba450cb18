/** The significance tests of the experiment report. The normal distribution comes from jstat; what
 * is here is only the arithmetic of each test, unit-tested against R's results. */
import { jStat } from 'jstat';

/** Two-sided p-value of a standard normal statistic. */
export function twoSidedP(z: number): number {
  if (!Number.isFinite(z)) return Number.isNaN(z) ? 1 : 0;
  return Math.min(1, 2 * (1 - jStat.normal.cdf(Math.abs(z), 0, 1)));
}

/** The z for a two-sided confidence level (1.959964 for 95%). */
export function zFor(confidence: number): number {
  return jStat.normal.inv(1 - (1 - confidence) / 2, 0, 1);
}

/** Wilson score interval: unlike the normal (Wald) interval it stays inside [0, 1] and is honest for
 * small n or rates near 0 and 1, which is where a fresh canary sits. */
export function wilsonInterval(successes: number, n: number, confidence = 0.95): [number, number] {
  if (n <= 0) return [0, 1];
  const z = zFor(confidence);
  const p = successes / n;
  const z2 = z * z;
  const denominator = 1 + z2 / n;
  const centre = (p + z2 / (2 * n)) / denominator;
  const half = (z / denominator) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}

export interface ProportionTest {
  /** p1 - p2. */
  difference: number;
  z: number;
  p: number;
}

/** Two-proportion z-test with the pooled standard error (R: prop.test(correct = FALSE)). */
export function twoProportionZTest(x1: number, n1: number, x2: number, n2: number): ProportionTest {
  if (n1 <= 0 || n2 <= 0) return { difference: 0, z: 0, p: 1 };
  const p1 = x1 / n1;
  const p2 = x2 / n2;
  const pooled = (x1 + x2) / (n1 + n2);
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2));
  if (se === 0) return { difference: p1 - p2, z: 0, p: 1 };
  const z = (p1 - p2) / se;
  return { difference: p1 - p2, z, p: twoSidedP(z) };
}

export interface RankTest {
  /** U of the first sample: how often one of its values beats (is larger than) one of the second. */
  u: number;
  z: number;
  p: number;
}

/** Mann-Whitney U over grouped data: `groups` are ordered value classes (equal values, or histogram
 * buckets), each with how many observations of sample A and B fall in it. Everything in one group is
 * a tie, which is what lets the same test run on raw samples and on Prometheus histogram buckets.
 * Normal approximation with tie and continuity correction (R: wilcox.test(exact = FALSE)). */
export function mannWhitneyGrouped(groups: readonly { a: number; b: number }[]): RankTest {
  let n1 = 0;
  let n2 = 0;
  for (const g of groups) {
    n1 += g.a;
    n2 += g.b;
  }
  const n = n1 + n2;
  if (n1 === 0 || n2 === 0) return { u: 0, z: 0, p: 1 };
  let below = 0;
  let rankSumA = 0;
  let tieTerm = 0;
  for (const g of groups) {
    const t = g.a + g.b;
    if (t === 0) continue;
    rankSumA += g.a * (below + (t + 1) / 2);
    tieTerm += t * t * t - t;
    below += t;
  }
  const u = rankSumA - (n1 * (n1 + 1)) / 2;
  const mean = (n1 * n2) / 2;
  const variance = ((n1 * n2) / 12) * (n + 1 - tieTerm / (n * (n - 1)));
  if (variance <= 0) return { u, z: 0, p: 1 };
  const delta = u - mean;
  const corrected = delta === 0 ? 0 : delta - Math.sign(delta) * 0.5;
  const z = corrected / Math.sqrt(variance);
  return { u, z, p: twoSidedP(z) };
}

/** Mann-Whitney U of two raw samples (ties share their average rank). */
export function mannWhitneyU(a: readonly number[], b: readonly number[]): RankTest {
  const tagged: [number, 0 | 1][] = [];
  for (const x of a) tagged.push([x, 0]);
  for (const x of b) tagged.push([x, 1]);
  tagged.sort((l, r) => l[0] - r[0]);
  const groups: { a: number; b: number }[] = [];
  let last = Number.NaN;
  for (const [value, side] of tagged) {
    if (value !== last || groups.length === 0) {
      groups.push({ a: 0, b: 0 });
      last = value;
    }
    const g = groups[groups.length - 1]!;
    if (side === 0) g.a += 1;
    else g.b += 1;
  }
  return mannWhitneyGrouped(groups);
}
