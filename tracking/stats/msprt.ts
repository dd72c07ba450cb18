/** The mixture sequential probability ratio test (mSPRT) with a normal mixture, for a difference of
 * two ratio metrics (candidate − control), and its confidence sequence.
 *
 * Johari, Pekelis & Walsh, "Always Valid Inference: Continuous Monitoring of A/B Tests" (Operations
 * Research 70(3), 2022; arXiv 1512.04922), eq. (6)–(8) and section 4: with θ̂_n the estimated
 * difference, V the per-observation variance of the difference and the mixing distribution
 * θ ~ N(θ0, τ²),
 *   Λ_n = sqrt(V / (V + nτ²)) · exp( n² τ² (θ̂_n − θ0)² / (2 V (V + nτ²)) ).
 * Written with the variance of the estimator v_n = V/n (which is what unequal arms and the delta
 * method give directly: v_n = Var(r̂_candidate) + Var(r̂_control)),
 *   Λ_n = sqrt(v_n / (v_n + τ²)) · exp( τ² (θ̂_n − θ0)² / (2 v_n (v_n + τ²)) ).
 * The always-valid p-value is the running minimum p_n = min(p_{n−1}, 1/Λ_n), p_0 = 1: under H0,
 * P(∃n: p_n ≤ α) ≤ α, so it may be read at every look and acted on at any of them. Inverting
 * Λ_n(θ0) < 1/α gives the confidence sequence θ̂_n ± h_n,
 *   h_n = sqrt( v_n (v_n + τ²) / τ² · (2 ln(1/α) + ln((v_n + τ²) / v_n)) ),
 * valid simultaneously over all n; its running intersection is too (Howard, Ramdas, McAuliffe &
 * Sekhon, "Time-uniform, nonparametric, nonasymptotic confidence sequences", Ann. Stat. 2021, §1),
 * and 0 leaves the running intersection exactly when the running-minimum p-value drops below α.
 *
 * v_n is the plug-in estimate, as in Johari et al. §4.2 (and Optimizely's Stats Engine): the test is
 * asymptotically, not exactly, always valid; the simulations in tests/unit/tracking check its error
 * rates at the sample sizes a model experiment has. τ² is fixed per metric (see metrics.ts): the
 * mixture puts its weight on differences of about ±τ, and fixing it before the data arrive is what
 * keeps the test valid. */

export interface Look {
  /** θ̂: candidate − control at this look. */
  estimate: number;
  /** v: variance of θ̂ at this look. */
  variance: number;
}

/** ln Λ for H0: θ = θ0 (default 0). */
export function logMixtureLikelihoodRatio(options: {
  estimate: number;
  variance: number;
  tauSquared: number;
  nullValue?: number;
}): number {
  const { estimate, variance, tauSquared } = options;
  const delta = estimate - (options.nullValue ?? 0);
  if (!(variance > 0)) return delta === 0 ? 0 : Number.POSITIVE_INFINITY;
  const total = variance + tauSquared;
  return 0.5 * Math.log(variance / total) + (tauSquared * delta * delta) / (2 * variance * total);
}

/** 1/Λ capped at 1: the p-value this look alone would give. */
export function lookPValue(options: { estimate: number; variance: number; tauSquared: number }): number {
  return Math.min(1, Math.exp(-logMixtureLikelihoodRatio(options)));
}

/** h: half-width of the (1 − α) confidence sequence at this look. */
export function confidenceHalfWidth(options: {
  variance: number;
  tauSquared: number;
  alpha: number;
}): number {
  const { variance, tauSquared, alpha } = options;
  if (!(variance > 0)) return 0;
  const total = variance + tauSquared;
  return Math.sqrt(
    ((variance * total) / tauSquared) * (2 * Math.log(1 / alpha) + Math.log(total / variance)),
  );
}

export interface SequentialResult {
  /** θ̂ at the last look. */
  estimate: number;
  /** Variance of θ̂ at the last look. */
  variance: number;
  /** Running minimum of 1/Λ over the looks. */
  pValue: number;
  /** Running intersection of the (1 − α) confidence sequence. */
  ci: [number, number];
  looks: number;
  /** Per look used, in order: the running values after it (for the report's history). */
  trace: { index: number; estimate: number; pValue: number; ci: [number, number] }[];
}

/** Evaluates the looks in order. The looks are the fixed grid the caller derived from stored data,
 * so the answer depends only on the data, never on how often or by whom it is read. An empty
 * intersection (probability ≤ α when the model holds) falls back to the last look's interval rather
 * than to nothing. */
export function sequentialTest(options: {
  looks: readonly Look[];
  tauSquared: number;
  alpha: number;
}): SequentialResult | null {
  const { looks, tauSquared, alpha } = options;
  let pValue = 1;
  let low = Number.NEGATIVE_INFINITY;
  let high = Number.POSITIVE_INFINITY;
  let last: Look | undefined;
  let used = 0;
  const trace: SequentialResult['trace'] = [];
  for (const [index, look] of looks.entries()) {
    if (!(look.variance > 0) || !Number.isFinite(look.estimate)) continue;
    used++;
    last = look;
    pValue = Math.min(pValue, lookPValue({ ...look, tauSquared }));
    const h = confidenceHalfWidth({ variance: look.variance, tauSquared, alpha });
    low = Math.max(low, look.estimate - h);
    high = Math.min(high, look.estimate + h);
    trace.push({
      index,
      estimate: look.estimate,
      pValue,
      ci: low <= high ? [low, high] : [look.estimate - h, look.estimate + h],
    });
  }
  if (!last) return null;
  if (low > high) {
    const h = confidenceHalfWidth({ variance: last.variance, tauSquared, alpha });
    low = last.estimate - h;
    high = last.estimate + h;
  }
  return { estimate: last.estimate, variance: last.variance, pValue, ci: [low, high], looks: used, trace };
}
