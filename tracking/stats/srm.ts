/** Sample-ratio mismatch: do the observed assignments match the configured weights?
 *
 * Pearson's chi-square goodness of fit, χ² = Σ (O_i − E_i)² / E_i with E_i = N · w_i / Σw over the
 * arms with a positive weight, k − 1 degrees of freedom, flagged at α = 0.001 as GrowthBook does
 * (packages/stats/gbstats/utils.py `check_srm`; the strict level because the check runs on every
 * read and a false alarm stops an experiment). Only split and sticky assignments belong in the
 * counts: pins, label routes, shadow copies and failovers are not random draws from the weights.
 * An arm with weight 0 that still received assignments is a mismatch by itself (p = 0). */
import { chiSquareSurvival } from './distributions';

export const SRM_ALPHA = 0.001;

export interface SrmResult {
  ok: boolean;
  pValue: number;
  chiSquare: number;
  /** Assignments per arm, as given. */
  observed: Record<string, number>;
  /** The weights as percentages of their sum. */
  expectedPercent: Record<string, number>;
}

export function sampleRatioMismatch(options: {
  observed: Readonly<Record<string, number>>;
  weights: Readonly<Record<string, number>>;
  alpha?: number;
}): SrmResult {
  const alpha = options.alpha ?? SRM_ALPHA;
  const arms = [...new Set([...Object.keys(options.weights), ...Object.keys(options.observed)])];
  const totalWeight = arms.reduce((sum, a) => sum + Math.max(0, options.weights[a] ?? 0), 0);
  const total = arms.reduce((sum, a) => sum + (options.observed[a] ?? 0), 0);
  const observed = Object.fromEntries(arms.map((a) => [a, options.observed[a] ?? 0]));
  const expectedPercent = Object.fromEntries(
    arms.map((a) => [a, totalWeight > 0 ? (100 * Math.max(0, options.weights[a] ?? 0)) / totalWeight : 0]),
  );
  const result = (chiSquare: number, pValue: number): SrmResult => ({
    ok: !(pValue < alpha),
    pValue,
    chiSquare,
    observed,
    expectedPercent,
  });
  if (total === 0 || totalWeight === 0) return result(0, 1);
  let chiSquare = 0;
  let positive = 0;
  for (const a of arms) {
    const expected = (total * Math.max(0, options.weights[a] ?? 0)) / totalWeight;
    const o = observed[a] ?? 0;
    if (expected === 0) {
      if (o > 0) return result(Number.POSITIVE_INFINITY, 0);
      continue;
    }
    positive++;
    chiSquare += ((o - expected) * (o - expected)) / expected;
  }
  if (positive < 2) return result(0, 1);
  return result(chiSquare, chiSquareSurvival(chiSquare, positive - 1));
}
