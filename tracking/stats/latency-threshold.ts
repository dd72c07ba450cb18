/** Latency under continuous monitoring: mSPRT on a per-request indicator, "slower than the
 * control's p95 (or p50)".
 *
 * Choice. The latency metrics reuse the mixture SPRT of msprt.ts on the indicator
 * 1{latency > T}, where T is the control's q-quantile over its first `burnIn` requests of the
 * experiment (type-7 quantile), and only requests after that burn-in are compared. If both versions
 * have the same latency distribution they exceed T equally often, so the indicator's difference is
 * 0 under H0 and the always-valid p-value and confidence sequence hold exactly as for accuracy.
 * Preferred over the quantile confidence sequences of Howard & Ramdas ("Sequential estimation of
 * quantiles with applications to A/B-testing and best-arm identification", Bernoulli 2022) because:
 * - its sufficient statistics are two counts per arm and look (requests, slow requests), which the
 *   evidence store answers with one GROUP BY on either engine, where a quantile sequence needs the
 *   order statistics of every latency at every look;
 * - the p-value, the interval and the direction come from one statistic, so "slower" can never
 *   contradict the test (the old report took the direction from the medians and the p-value from a
 *   rank test, and the two disagreed);
 * - per-user units, Holm and the sample-size estimate apply unchanged.
 * What it trades away: it tests the tail share at one fixed T, not the difference of quantiles in
 * milliseconds (the arms' p50/p95 in ms are reported beside it), and T is frozen after the burn-in,
 * which is what keeps the test valid (a threshold re-estimated on every read would make the
 * indicator depend on the data it is tested on). */

export const LATENCY_BURN_IN_REQUESTS = 100;

/** Type-7 quantile (numpy's and R's default) of the burn-in latencies, in the order given. */
export function latencyThreshold(options: { burnInMs: readonly number[]; quantile: number }): number | null {
  const sorted = [...options.burnInMs].filter(Number.isFinite).sort((a, b) => a - b);
  if (sorted.length === 0) return null;
  const h = (sorted.length - 1) * options.quantile;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo]! + (h - lo) * (sorted[hi]! - sorted[lo]!);
}
