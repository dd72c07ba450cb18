/** The metrics compared, with the fixed mixing scale τ of each mSPRT and the smallest difference
 * worth detecting (the "X" of "no difference larger than X"). τ = that difference: the normal
 * mixture N(0, τ²) then puts most of its weight on differences an experimenter cares about, which
 * is the choice Johari et al. recommend (§4.3, τ² matched to the effect sizes one expects); a
 * smaller τ detects tiny differences sooner but large ones later. All are differences of rates. */

export type MetricName = 'accuracy' | 'error_rate' | 'latency_p95' | 'latency_p50';

export interface MetricSpec {
  name: MetricName;
  /** True when a larger rate is good for the candidate (accuracy), false for failures and slow
   * requests. */
  higherIsBetter: boolean;
  /** τ²: variance of the normal mixture over the difference of rates. */
  tauSquared: number;
  /** Smallest difference of rates worth detecting; also what "inconclusive" sizes the data for. */
  margin: number;
  /** What an observation is, in words for the report. */
  observation: 'labelled' | 'requests';
}

const spec = (s: Omit<MetricSpec, 'tauSquared'>): MetricSpec => ({ ...s, tauSquared: s.margin * s.margin });

export const METRICS: Readonly<Record<MetricName, MetricSpec>> = {
  /** Share of labelled rows predicted right; 1 point is the smallest gain worth a model swap. */
  accuracy: spec({ name: 'accuracy', higherIsBetter: true, margin: 0.01, observation: 'labelled' }),
  /** Share of requests that failed (5xx, timeouts); half a point doubles a 0.5% base rate. */
  error_rate: spec({ name: 'error_rate', higherIsBetter: false, margin: 0.005, observation: 'requests' }),
  /** Share of requests slower than the control's p95 (5% for the control by construction); 2 points
   * is the candidate's p95 moving to about the control's p93. */
  latency_p95: spec({ name: 'latency_p95', higherIsBetter: false, margin: 0.02, observation: 'requests' }),
  /** Share of requests slower than the control's median. */
  latency_p50: spec({ name: 'latency_p50', higherIsBetter: false, margin: 0.05, observation: 'requests' }),
};
