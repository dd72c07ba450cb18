/** The rollout page's arithmetic: step labels, where each step stands, each step's time and labelled
 * rows against the minimums, and the steps and gates typed into the start form. */
import { formatCount, formatDuration } from './format';

export type StepView = { shadow: number } | { weight: number };

/** A step's own time and count (the registry's `step_log`); nulls for a step not begun. */
export interface StepLogEntry {
  step_index: number;
  started_at: string | null;
  ended_at: string | null;
  seconds: number | null;
  counted: number | null;
  unit: string;
}

export interface RolloutView {
  id: string;
  model: string;
  candidate: string;
  control: string;
  strategy: string;
  state: string;
  step_index: number;
  steps: StepView[];
  weights?: Record<string, number>;
  started_at?: string | null;
  ended_at?: string | null;
  step_started_at: string | null;
  time_in_step_seconds?: number;
  step_min_seconds?: number;
  labelled_in_step: number;
  step_min_labelled?: number;
  /** Absent from registries older than the step log: then only the current step is measured. */
  step_log?: StepLogEntry[];
  max_seconds?: number;
  deadline_at?: string | null;
  gates: {
    name: string;
    verdict: string | null;
    ok: boolean | null;
    text: string | null;
    p_value?: number | null;
  }[];
  waiting_for: string | null;
  paused_reason?: string | null;
  warnings?: string[];
  history: {
    at: string;
    from: string | null;
    to: string;
    reason: string | null;
    step_index?: number | null;
    text?: string | null;
  }[];
  experiment_id: string | null;
}

export const FINAL_STATES = ['promoted', 'rolled_back', 'aborted', 'timed_out'];

export const isFinal = (state: string) => FINAL_STATES.includes(state);

export function stepLabel(step: StepView): string {
  return 'shadow' in step ? `shadow ${step.shadow} %` : `${step.weight} % of traffic`;
}

export type StepStatus = 'done' | 'current' | 'next';

export function stepStatuses(view: Pick<RolloutView, 'steps' | 'step_index' | 'state'>): StepStatus[] {
  return view.steps.map((_, i) => {
    if (view.state === 'promoted' || i < view.step_index) return 'done';
    if (i === view.step_index && !isFinal(view.state)) return 'current';
    return 'next';
  });
}

export interface StepMinimums {
  time: string;
  rows: string;
  /** null: the step has not begun. */
  timeMet: boolean | null;
  rowsMet: boolean | null;
}

/** Every step against the minimums: "4 min 10 s of 5 min minimum" and "312 of 500 labelled rows
 * minimum" for steps left behind and the current one, what a later step will need. The current step
 * of a running rollout counts time on the page's clock between two refreshes. */
export function stepMinimums(view: RolloutView, nowMs: number): StepMinimums[] {
  const minS = view.step_min_seconds ?? 0;
  const minRows = view.step_min_labelled ?? 0;
  const measured = (seconds: number, counted: number, unit: string): StepMinimums => ({
    time: `${formatDuration(seconds)} of ${formatDuration(minS)} minimum`,
    timeMet: seconds >= minS,
    rows: `${formatCount(counted)} of ${formatCount(minRows)} ${unit} minimum`,
    rowsMet: counted >= minRows,
  });
  return view.steps.map((step, i) => {
    const unit = 'shadow' in step ? 'shadow rows' : 'labelled rows';
    const log = view.step_log?.[i];
    if (i === view.step_index && !isFinal(view.state)) {
      const inStep =
        view.time_in_step_seconds ??
        (view.step_started_at ? Math.max(0, (nowMs - Date.parse(view.step_started_at)) / 1000) : 0);
      return measured(inStep, view.labelled_in_step, unit);
    }
    if (log && log.seconds !== null && log.counted !== null) return measured(log.seconds, log.counted, unit);
    return {
      time: `not begun: needs ${formatDuration(minS)}`,
      timeMet: null,
      rows: `and ${formatCount(minRows)} ${unit}`,
      rowsMet: null,
    };
  });
}

export interface GateChoices {
  accuracy: boolean;
  errorRate: boolean;
  /** Percent over the control's p95; empty: no latency gate. */
  latencyPercent: string;
  /** Highest PSI; empty: no drift gate. */
  driftPsi: string;
}

export const DEFAULT_GATES: GateChoices = {
  accuracy: true,
  errorRate: true,
  latencyPercent: '20',
  driftPsi: '0.25',
};

/** The start form's gate choices → the API's `gates`, or a message for bad input. */
export function gatesBody(c: GateChoices): Record<string, string | number> | string {
  const gates: Record<string, string | number> = {};
  if (c.accuracy) gates.accuracy = 'not_worse';
  if (c.errorRate) gates.error_rate = 'not_worse';
  const latency = c.latencyPercent.trim();
  if (latency) {
    if (!/^\d{1,4}(\.\d+)?$/.test(latency)) return `the latency budget "${latency}" is not a percentage ≥ 0`;
    gates.latency_p95_ms = `+${latency}%`;
  }
  const drift = c.driftPsi.trim();
  if (drift) {
    const psi = Number(drift);
    if (!(Number.isFinite(psi) && psi > 0 && psi <= 10))
      return `the drift ceiling "${drift}" is not a PSI above 0, at most 10`;
    gates.drift_psi_max = psi;
  }
  return gates;
}

/** The chosen gates in words, for the confirmation. */
export function gatesText(gates: Record<string, string | number>): string {
  const parts = [
    ...(gates.accuracy ? ['accuracy not worse'] : []),
    ...(gates.error_rate ? ['error rate not worse'] : []),
    ...(gates.latency_p95_ms ? [`p95 latency within ${gates.latency_p95_ms}`] : []),
    ...(gates.drift_psi_max !== undefined ? [`drift PSI at most ${gates.drift_psi_max}`] : []),
  ];
  return parts.length ? parts.join(', ') : 'none: each step advances on its minimums alone';
}

/** "5,25,50,100" (optionally after a shadow step) → the API's steps; an error message for bad input. */
export function parseSteps(text: string, shadowPercent: number | undefined): StepView[] | string {
  const parts = text
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter(Boolean);
  if (parts.length === 0) return 'give at least one step, e.g. 5,25,50,100';
  const weights: number[] = [];
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) < 1 || Number(p) > 100)
      return `"${p}" is not a whole percentage from 1 to 100`;
    const w = Number(p);
    if (weights.length && w <= weights[weights.length - 1]!)
      return 'each step must give the candidate more traffic than the one before';
    weights.push(w);
  }
  return [...(shadowPercent ? [{ shadow: shadowPercent }] : []), ...weights.map((weight) => ({ weight }))];
}

/** A state in words; null is the "from" of a rollout's first transition. */
export function stateText(state: string | null | undefined): string {
  return state ? state.replace(/_/g, ' ') : 'new';
}

export function stateLevel(state: string): 'ok' | 'bad' | 'waiting' | 'unknown' {
  if (state === 'promoted' || state === 'running') return 'ok';
  if (state === 'rolled_back' || state === 'aborted' || state === 'timed_out') return 'bad';
  if (state === 'paused' || state === 'waiting') return 'waiting';
  return 'unknown';
}
