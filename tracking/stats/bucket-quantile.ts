/** Quantiles of a latency histogram (the evidence store keeps latencies in fixed buckets). */

/** histogram_quantile's interpolation: linear within the bucket holding the rank; the +Inf bucket
 * answers its lower bound. */
export function bucketQuantile(
  q: number,
  upperBounds: readonly number[],
  counts: readonly number[],
): number | null {
  const total = counts.reduce((a, b) => a + b, 0);
  if (total <= 0) return null;
  const rank = q * total;
  let below = 0;
  for (let i = 0; i < counts.length; i++) {
    const c = counts[i]!;
    if (below + c >= rank && c > 0) {
      const lower = i === 0 ? 0 : upperBounds[i - 1]!;
      const upper = upperBounds[i]!;
      if (!Number.isFinite(upper)) return lower;
      return lower + (upper - lower) * ((rank - below) / c);
    }
    below += c;
  }
  return upperBounds[upperBounds.length - 2] ?? null;
}
