/** How many more observations per arm before the always-valid test would likely detect a given
 * difference, at the variance seen so far.
 *
 * With v(N) = σ²_control / (n_c + N) + σ²_candidate / (n_t + N) the variance of the difference after
 * N more observations per arm (σ² the per-observation variance, v · n, which for user units carries
 * the design effect), the sequence rejects about when |θ̂| > h(v) (msprt.ts). For a true difference δ,
 * θ̂ ~ N(δ, v), so P(reject) ≥ power when δ − z_power · sqrt(v(N)) ≥ h(v(N)). The smallest such N is
 * found by doubling then bisection. This is the fixed-look approximation of the sequential power
 * (a little pessimistic: the sequence may also cross at an earlier look). */
import { zQuantile } from './distributions';
import { confidenceHalfWidth } from './msprt';

export interface ArmVariance {
  /** Observations so far (labelled rows, requests). */
  observations: number;
  /** Variance of this arm's estimate now. */
  variance: number;
}

export function moreObservationsPerArm(options: {
  control: ArmVariance;
  candidate: ArmVariance;
  detect: number;
  tauSquared: number;
  alpha: number;
  power?: number;
}): number | null {
  const { control, candidate, detect, tauSquared, alpha } = options;
  const zPower = zQuantile(options.power ?? 0.8);
  const perObsC = control.variance * control.observations;
  const perObsT = candidate.variance * candidate.observations;
  if (!(perObsC + perObsT > 0) || !(detect > 0)) return null;
  const detects = (more: number) => {
    const v = perObsC / (control.observations + more) + perObsT / (candidate.observations + more);
    return detect - zPower * Math.sqrt(v) >= confidenceHalfWidth({ variance: v, tauSquared, alpha });
  };
  if (detects(0)) return 0;
  let high = 1;
  while (!detects(high)) {
    high *= 2;
    if (high > 1e12) return null;
  }
  let low = high / 2;
  while (high - low > 1) {
    const mid = Math.floor((low + high) / 2);
    if (detects(mid)) high = mid;
    else low = mid;
  }
  return high;
}
