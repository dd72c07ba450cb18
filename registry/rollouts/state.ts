/** A rollout's stored state: what decide() reads and returns, and what rollout.json holds, so a
 * restarted registry continues at the same step (Argo's `Status.CurrentStepIndex`). */
import type { GateResult } from './gates';
import type { PolicyBody } from './policy-shapes';
import type { RolloutSpec } from './spec';

export type Phase = 'running' | 'paused' | 'waiting' | 'promoted' | 'rolled_back' | 'aborted' | 'timed_out';

export const FINAL_PHASES: ReadonlySet<Phase> = new Set(['promoted', 'rolled_back', 'aborted', 'timed_out']);

export const isFinal = (phase: Phase) => FINAL_PHASES.has(phase);

/** Why a transition happened; a small fixed set, so it can label a metric. */
export type TransitionReason =
  | 'started'
  | 'step_minimum_reached'
  | 'step_advanced'
  | 'evidence_inconclusive'
  | 'hook_refused'
  | 'promoted'
  | 'gate_violated'
  | 'bandit_lost'
  | 'timed_out'
  | 'manual_change'
  | 'paused'
  | 'resumed'
  | 'aborted';

export interface Transition {
  at: number;
  from: Phase | null;
  to: Phase;
  reason: TransitionReason;
  step_index: number;
  text: string;
}

export interface HookHold {
  hook: 'confirm_promotion' | 'pre_step';
  at: number;
  detail: string;
  attempts: number;
}

export interface BanditState {
  weights: Record<string, number>;
  lastUpdateAt: number | null;
  updates: number;
  probabilityBest: Record<string, number> | null;
  /** Consecutive updates at which one arm's probability of being best reached promote_probability:
   * one lucky draw of the posterior does not end a rollout. */
  streak: { version: string; updates: number } | null;
}

/** A step the rollout has left: how long it took and what it counted toward its minimum, kept so
 * the console and `rollout status --json` show every step against its minimums, not only the
 * current one. */
export interface StepRecord {
  index: number;
  startedAt: number;
  endedAt: number;
  counted: number;
}

export interface RolloutState {
  id: string;
  model: string;
  spec: RolloutSpec;
  phase: Phase;
  stepIndex: number;
  startedAt: number;
  stepStartedAt: number;
  endedAt: number | null;
  /** Candidate rows / labelled rows in the report when the step began: the step's own counts are the
   * growth since. */
  rowsAtStepStart: number;
  labelledAtStepStart: number;
  /** What the step has collected toward step_min_labelled at the last decision (labelled rows; in a
   * shadow step the candidate's rows; for a bandit the thinner arm's labelled rows). */
  countedInStep: number;
  /** Steps left behind, oldest first; absent in files written before it existed. */
  completedSteps?: StepRecord[];
  /** The policy before the rollout; a rollback restores exactly this. */
  baseline: PolicyBody;
  /** The policy the controller last wrote; anything else found in policy.json is a person's change. */
  expected: PolicyBody;
  experimentId: string | null;
  pausedReason: string | null;
  gates: GateResult[];
  waitingFor: string;
  hookHold: HookHold | null;
  bandit: BanditState | null;
  history: Transition[];
}
