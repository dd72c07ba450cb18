/** The rollout page's arithmetic: step labels, where each step stands, progress against the step's
 * minimum time and labelled rows, and the steps typed into the start form. */
import { formatCount, formatDuration } from './format';

export type StepView = { shadow: number } | { weight: number };

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

/** "4 min 10 s of 5 min" and "312 of 500 labelled rows", with whether each minimum is met. */
export function stepProgress(
  view: RolloutView,
  nowMs: number,
): { time: string; timeMet: boolean; rows: string; rowsMet: boolean } {
  const inStep =
    view.time_in_step_seconds ??
    (view.step_started_at ? Math.max(0, (nowMs - Date.parse(view.step_started_at)) / 1000) : 0);
  const minS = view.step_min_seconds ?? 0;
  const minRows = view.step_min_labelled ?? 0;
  return {
    time: `${formatDuration(inStep)} of ${formatDuration(minS)} minimum`,
    timeMet: inStep >= minS,
    rows: `${formatCount(view.labelled_in_step)} of ${formatCount(minRows)} labelled rows minimum`,
    rowsMet: view.labelled_in_step >= minRows,
  };
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
