/** Experiment statistics: per-arm sufficient statistics in, comparisons and verdicts out. Pure: no
 * I/O, no clock, no randomness; the caller (tracking/experiments) turns stored predictions and
 * feedback into statistics on a fixed grid of looks.
 *
 * What a verdict rests on, file by file (formulas and references at the top of each):
 * - unit-statistic.ts: every metric is a ratio Σy/Σm over independent units (rows, or users when the
 *   experiment's unit is `user`); Var by the delta method (Deng, Knoblich & Lu, KDD 2018), which for
 *   rows is exactly p(1 − p)/n.
 * - msprt.ts: mixture SPRT with a normal mixture (Johari, Pekelis & Walsh, "Always Valid Inference",
 *   Oper. Res. 2022): Λ_n = sqrt(v/(v+τ²))·exp(τ²θ̂²/(2v(v+τ²))), p_n = min(p_{n−1}, 1/Λ_n), and the
 *   matching confidence sequence θ̂ ± sqrt(v(v+τ²)/τ²·(2 ln(1/α) + ln((v+τ²)/v))). Valid however
 *   often it is read, because the looks are a fixed grid of the stored data (every N observations or
 *   every minute of data), not the moments someone asked: replicas, restarts and refreshes see the
 *   same looks and so the same running minimum.
 * - metrics.ts: accuracy, error rate, latency p95/p50, with their fixed τ² (= margin²).
 * - latency-threshold.ts: latency as mSPRT on "slower than the control's burn-in p95", and why that
 *   rather than quantile confidence sequences (Howard & Ramdas, Bernoulli 2022).
 * - srm.ts: sample-ratio mismatch, Pearson chi-square at α = 0.001 (GrowthBook's check_srm).
 * - multiplicity.ts: Holm over candidates × metrics (family-wise error), rather than BH.
 * - sample-size.ts: observations per arm still needed to detect the margin with 80% power.
 * - verdict.ts: minimum evidence, Holm, simultaneous (Bonferroni) intervals, verdict.
 * - words.ts and recommendation.ts: the sentences and the next step. */

export { LATENCY_BURN_IN_REQUESTS, latencyThreshold } from './latency-threshold';
export { METRICS, type MetricName, type MetricSpec } from './metrics';
export { type Action, type Recommendation, recommend } from './recommendation';
export { SRM_ALPHA, type SrmResult, sampleRatioMismatch } from './srm';
export {
  EMPTY_STATISTIC,
  proportionStatistic,
  ratioEstimate,
  UnitAccumulator,
  type UnitStatistic,
} from './unit-statistic';
export {
  type ArmsAtLook,
  type ComparisonInput,
  DEFAULT_MINIMUM_EVIDENCE,
  type Judgement,
  judgeFamily,
  type MinimumEvidence,
  type Verdict,
} from './verdict';
export { describeJudgement, formatP, points } from './words';
