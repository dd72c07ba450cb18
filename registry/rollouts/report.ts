/** The experiment report as CONTRACTS.md fixes it (snake_case, computed by the shared tracking
 * function). The rollout controller reads only the fields below, so it is written against this
 * structural subset rather than the full type: any report that has them drives decide(). */

export type Verdict = 'better' | 'worse' | 'no_difference' | 'inconclusive' | 'insufficient_data';

export interface ReportArm {
  version: string;
  role: string;
  requests: number;
  rows: number;
  errors: number;
  labelled: number;
  correct: number;
  latency_p95_ms: number | null;
  drift_psi_max: number | null;
}

export interface ReportComparison {
  candidate: string;
  metric: string;
  /** Candidate minus control, in the metric's unit (points of a proportion, milliseconds). */
  estimate: number | null;
  /** Always-valid confidence interval of `estimate`. */
  ci: [number, number] | null;
  /** Always-valid p-value: safe to read at every tick. */
  p_value: number | null;
  /** The same after the multiplicity correction over candidates × metrics; preferred when present. */
  p_value_adjusted?: number | null;
  verdict: Verdict;
  more_rows_needed?: number | null;
  text?: string;
}

export interface RolloutReport {
  experiment: { id: string; control: string; candidates: string[] } | null;
  srm?: { ok: boolean; p_value: number | null } | null;
  arms: ReportArm[];
  comparisons: ReportComparison[];
}
