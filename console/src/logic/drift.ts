/** Drift levels as the console colours them. PSI: below 0.1 stable, 0.1 to 0.25 a moderate shift,
 * above 0.25 significant (the alert rule's threshold, docs/metrics.md). KS: significant when the
 * statistic exceeds the two-sample critical value at the 5 % level for the window and reference
 * sizes, which the registry computes and sends as `ks_critical`. */

export type DriftLevel = 'stable' | 'moderate' | 'significant' | 'unknown';

export const PSI_MODERATE = 0.1;
export const PSI_SIGNIFICANT = 0.25;

export function psiLevel(psi: number | null | undefined): DriftLevel {
  if (psi === null || psi === undefined || !Number.isFinite(psi)) return 'unknown';
  if (psi > PSI_SIGNIFICANT) return 'significant';
  if (psi >= PSI_MODERATE) return 'moderate';
  return 'stable';
}

/** Above the critical value is significant; within 80 % of it moderate (worth watching). */
export function ksLevel(ks: number | null | undefined, critical: number | null | undefined): DriftLevel {
  if (ks === null || ks === undefined || !Number.isFinite(ks)) return 'unknown';
  if (critical === null || critical === undefined || !Number.isFinite(critical)) return 'unknown';
  if (ks > critical) return 'significant';
  if (ks >= 0.8 * critical) return 'moderate';
  return 'stable';
}

export function levelText(level: DriftLevel): string {
  switch (level) {
    case 'stable':
      return 'stable';
    case 'moderate':
      return 'moderate shift';
    case 'significant':
      return 'significant shift';
    default:
      return 'no reading';
  }
}
