/** The few distribution functions the tests need. jstat supplies the numerics; the wrappers fix the
 * edge cases (infinite or NaN statistics, p-values rounding past 1) once, for every test family. */
import { jStat } from 'jstat';

/** Standard normal quantile: zQuantile(0.975) = 1.959964. */
export function zQuantile(p: number): number {
  return jStat.normal.inv(p, 0, 1);
}

/** Upper tail of the chi-square distribution, P(X ≥ x) with `dof` degrees of freedom. */
export function chiSquareSurvival(x: number, dof: number): number {
  if (Number.isNaN(x) || dof <= 0) return 1;
  if (x <= 0) return 1;
  if (!Number.isFinite(x)) return 0;
  return Math.min(1, Math.max(0, 1 - jStat.chisquare.cdf(x, dof)));
}
