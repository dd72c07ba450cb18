/** Sample-ratio mismatch: do the observed assignments match the configured weights?
 *
 * Pearson's chi-square goodness of fit, χ² = Σ (O_i − E_i)² / E_i with E_i = N · w_i / Σw over the
 * arms with a positive weight, k − 1 degrees of freedom, flagged at α = 0.001 as GrowthBook does
 * (packages/stats/gbstats/utils.py `check_srm`; the strict level because the check runs on every
 * read and a false alarm stops an experiment). Only split and sticky assignments belong in the
 * counts: pins, label routes, shadow copies and failovers are not random draws from the weights.
 * An arm with weight 0 that still received assignments is a mismatch by itself (p = 0).
 *
 * Weight periods: when the weights change mid-experiment (a rollout step, a manual `traffic set`),
 * the assignments of each period are draws from that period's weights, so the expected count of an
 * arm is E_i = Σ_p N_p · w_{p,i} / Σ_j w_{p,j} over the periods p (N_p: assignments in period p),
 * and the observed count is the arm's total. Checking the totals against the latest weights alone
 * reads every rollout step as a mismatch. */
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

export interface WeightPeriodAssignments {
  /** Split and sticky assignments per arm made while these weights applied. */
  observed: Readonly<Record<string, number>>;
  weights: Readonly<Record<string, number>>;
}

/** One period: the observed split against one set of weights. */
export function sampleRatioMismatch(options: {
  observed: Readonly<Record<string, number>>;
  weights: Readonly<Record<string, number>>;
  alpha?: number;
}): SrmResult {
  return sampleRatioMismatchOverPeriods({
    periods: [{ observed: options.observed, weights: options.weights }],
    alpha: options.alpha,
  });
}

export function sampleRatioMismatchOverPeriods(options: {
  periods: readonly WeightPeriodAssignments[];
  alpha?: number | undefined;
}): SrmResult {
  const alpha = options.alpha ?? SRM_ALPHA;
  const arms = [
    ...new Set(options.periods.flatMap((p) => [...Object.keys(p.weights), ...Object.keys(p.observed)])),
  ];
  const observed = Object.fromEntries(
    arms.map((a) => [a, options.periods.reduce((sum, p) => sum + (p.observed[a] ?? 0), 0)]),
  );
  const expected = Object.fromEntries(arms.map((a) => [a, 0]));
  for (const p of options.periods) {
    const n = arms.reduce((sum, a) => sum + (p.observed[a] ?? 0), 0);
    const totalWeight = arms.reduce((sum, a) => sum + Math.max(0, p.weights[a] ?? 0), 0);
    if (n === 0 || totalWeight === 0) continue;
    for (const a of arms) expected[a]! += (n * Math.max(0, p.weights[a] ?? 0)) / totalWeight;
  }
  const total = arms.reduce((sum, a) => sum + observed[a]!, 0);
  const expectedTotal = arms.reduce((sum, a) => sum + expected[a]!, 0);
  // With no assignments yet, the share the weights give (the last period's) is what the report shows.
  const last = options.periods[options.periods.length - 1];
  const lastWeight = last ? arms.reduce((sum, a) => sum + Math.max(0, last.weights[a] ?? 0), 0) : 0;
  const expectedPercent = Object.fromEntries(
    arms.map((a) => [
      a,
      expectedTotal > 0
        ? (100 * expected[a]!) / expectedTotal
        : lastWeight > 0
          ? (100 * Math.max(0, last?.weights[a] ?? 0)) / lastWeight
          : 0,
    ]),
  );
  const result = (chiSquare: number, pValue: number): SrmResult => ({
    ok: !(pValue < alpha),
    pValue,
    chiSquare,
    observed,
    expectedPercent,
  });
  if (total === 0 || expectedTotal === 0) return result(0, 1);
  let chiSquare = 0;
  let positive = 0;
  for (const a of arms) {
    const e = expected[a]!;
    const o = observed[a]!;
    if (e === 0) {
      if (o > 0) return result(Number.POSITIVE_INFINITY, 0);
      continue;
    }
    positive++;
    chiSquare += ((o - e) * (o - e)) / e;
  }
  if (positive < 2) return result(0, 1);
  return result(chiSquare, chiSquareSurvival(chiSquare, positive - 1));
}
