/** Rollout metrics (docs/metrics.md), on the registry's Registry. */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Phase, RolloutState, TransitionReason } from './state';

const PHASES: readonly Phase[] = [
  'running',
  'paused',
  'waiting',
  'promoted',
  'rolled_back',
  'aborted',
  'timed_out',
];

export interface RolloutMetrics {
  step: Gauge<'model' | 'candidate'>;
  state: Gauge<'model' | 'candidate' | 'state'>;
  transitions: Counter<'model' | 'candidate' | 'reason'>;
  /** Sets the gauges from a rollout's state. */
  show(state: RolloutState): void;
  transition(model: string, candidate: string, reason: TransitionReason): void;
}

export function createRolloutMetrics(registry: Registry): RolloutMetrics {
  const step = new Gauge({
    name: 'modelgate_rollout_step',
    help: 'Current step of the rollout, counted from 1 (for a bandit: weight updates so far).',
    labelNames: ['model', 'candidate'],
    registers: [registry],
  });
  const state = new Gauge({
    name: 'modelgate_rollout_state',
    help: "1 for the rollout's current state, 0 for the others.",
    labelNames: ['model', 'candidate', 'state'],
    registers: [registry],
  });
  const transitions = new Counter({
    name: 'modelgate_rollout_transitions_total',
    help: 'Rollout transitions by reason (started, step_advanced, promoted, gate_violated, manual_change, ...).',
    labelNames: ['model', 'candidate', 'reason'],
    registers: [registry],
  });
  return {
    step,
    state,
    transitions,
    show(s) {
      step.set({ model: s.model, candidate: s.spec.candidate }, s.stepIndex + 1);
      for (const p of PHASES)
        state.set({ model: s.model, candidate: s.spec.candidate, state: p }, p === s.phase ? 1 : 0);
    },
    transition(model, candidate, reason) {
      transitions.inc({ model, candidate, reason });
    },
  };
}
