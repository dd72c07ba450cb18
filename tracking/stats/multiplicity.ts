/** Holm's step-down correction over the family of comparisons (candidates × metrics).
 *
 * Holm, "A simple sequentially rejective multiple test procedure", Scand. J. Statist. 6 (1979):
 * with the m p-values sorted ascending, p̃_(i) = max_{j ≤ i} min(1, (m − j + 1) · p_(j)).
 * Chosen over Benjamini-Hochberg because an experimenter acts on each flag ("roll back v3"), so the
 * error to bound is the chance of any false flag (family-wise), and because Holm needs no assumption
 * about how the comparisons depend on each other: accuracy, error rate and latency of one candidate
 * share its control and are correlated, where BH would need positive dependence (PRDS). Always-valid
 * p-values stay valid at any stopping time, so the adjusted ones do too. Entries without a p-value
 * (too little data) are not part of the family and stay null. */
export function holmAdjust(pValues: readonly (number | null)[]): (number | null)[] {
  const present = pValues
    .map((p, index) => ({ p, index }))
    .filter((e): e is { p: number; index: number } => e.p !== null)
    .sort((a, b) => a.p - b.p);
  const m = present.length;
  const adjusted: (number | null)[] = pValues.map(() => null);
  let running = 0;
  present.forEach((e, rank) => {
    running = Math.max(running, Math.min(1, (m - rank) * e.p));
    adjusted[e.index] = running;
  });
  return adjusted;
}
