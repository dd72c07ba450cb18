/** Thompson sampling on feedback reward (correct = 1) over Beta posteriors, with a floor per arm.
 * Pure: the randomness is passed in, so a seed replays the same weights.
 *
 * Each arm's posterior is Beta(1 + correct, 1 + wrong). The share an arm gets is the posterior
 * probability that it is the best arm, estimated from `draws` joint samples; every arm then keeps at
 * least `floorPercent`, so a loser still gets the traffic that would reveal a change of fortune and the
 * experiment's comparisons keep getting rows. */
import type { Random } from '../../common/seeded-random';

export interface BanditArm {
  version: string;
  /** Labelled rows answered correctly / wrongly. */
  successes: number;
  failures: number;
}

/** Marsaglia and Tsang (2000), "A simple method for generating gamma variables", ACM TOMS 26(3),
 * for shape ≥ 1; shape < 1 by the boost Gamma(a) = Gamma(a + 1) · U^(1/a). */
function gamma(shape: number, random: Random): number {
  if (shape < 1) return gamma(shape + 1, random) * random() ** (1 / shape);
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      x = normal(random);
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = random();
    if (u < 1 - 0.0331 * x ** 4) return d * v;
    if (Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
  }
}

/** Box–Muller; one of the pair is enough here. */
function normal(random: Random): number {
  const u = 1 - random();
  const v = random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

export function sampleBeta(a: number, b: number, random: Random): number {
  const x = gamma(a, random);
  const y = gamma(b, random);
  return x / (x + y);
}

/** Posterior probability that each arm has the highest success rate. */
export function probabilityBest(
  arms: readonly BanditArm[],
  random: Random,
  draws = 2000,
): Record<string, number> {
  const wins = new Map<string, number>(arms.map((a) => [a.version, 0]));
  for (let i = 0; i < draws; i++) {
    let best = '';
    let bestValue = -1;
    for (const arm of arms) {
      const value = sampleBeta(1 + arm.successes, 1 + arm.failures, random);
      if (value > bestValue) {
        bestValue = value;
        best = arm.version;
      }
    }
    wins.set(best, (wins.get(best) ?? 0) + 1);
  }
  return Object.fromEntries([...wins].map(([v, n]) => [v, n / draws]));
}

/** Integer weights summing to 100, each at least `floorPercent`, the rest shared in proportion to
 * `shares` (largest remainders get the rounding). */
export function allocate(shares: Record<string, number>, floorPercent: number): Record<string, number> {
  const versions = Object.keys(shares);
  const free = 100 - floorPercent * versions.length;
  if (free < 0) throw new Error(`a floor of ${floorPercent}% cannot hold for ${versions.length} arms`);
  const total = versions.reduce((s, v) => s + (shares[v] ?? 0), 0);
  const exact = versions.map((v) => ({
    v,
    x: total > 0 ? ((shares[v] ?? 0) / total) * free : free / versions.length,
  }));
  const weights = Object.fromEntries(exact.map(({ v, x }) => [v, floorPercent + Math.floor(x)]));
  let left = 100 - Object.values(weights).reduce((s, w) => s + w, 0);
  for (const { v } of [...exact].sort((a, b) => (b.x % 1) - (a.x % 1))) {
    if (left <= 0) break;
    weights[v] = (weights[v] ?? 0) + 1;
    left--;
  }
  return weights;
}

export interface ThompsonUpdate {
  probabilityBest: Record<string, number>;
  weights: Record<string, number>;
}

export function thompsonWeights(options: {
  arms: readonly BanditArm[];
  floorPercent: number;
  random: Random;
  draws?: number;
}): ThompsonUpdate {
  const p = probabilityBest(options.arms, options.random, options.draws);
  return { probabilityBest: p, weights: allocate(p, options.floorPercent) };
}
