/** A rollout as the API answers it (CONTRACTS.md, snake_case), with times as ISO strings and the
 * step's progress spelled out for `rollout status`. */
import type { RolloutState } from './state';

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
const secondsBetween = (from: number, to: number) => Math.max(0, Math.round((to - from) / 1000));

/** Every step against its minimums: steps left behind from their records, the current one as it
 * stands (until the rollout's end), later ones not begun (nulls). A bandit has no steps. */
function stepLog(s: RolloutState, now: number) {
  if (s.spec.strategy === 'bandit') return [];
  const left = new Map((s.completedSteps ?? []).map((r) => [r.index, r]));
  return s.spec.steps.map((step, i) => {
    const unit = step.kind === 'shadow' ? 'shadow rows' : 'labelled rows';
    const r = left.get(i);
    if (r)
      return {
        step_index: i,
        started_at: iso(r.startedAt),
        ended_at: iso(r.endedAt),
        seconds: secondsBetween(r.startedAt, r.endedAt),
        counted: r.counted,
        unit,
      };
    if (i === s.stepIndex)
      return {
        step_index: i,
        started_at: iso(s.stepStartedAt),
        ended_at: iso(s.endedAt),
        seconds: secondsBetween(s.stepStartedAt, s.endedAt ?? now),
        counted: s.countedInStep,
        unit,
      };
    return { step_index: i, started_at: null, ended_at: null, seconds: null, counted: null, unit };
  });
}

export function rolloutView(s: RolloutState, now: number) {
  const { spec } = s;
  const bandit = spec.strategy === 'bandit';
  return {
    id: s.id,
    model: s.model,
    candidate: spec.candidate,
    control: spec.control,
    strategy: spec.strategy,
    state: s.phase,
    step_index: s.stepIndex,
    steps: spec.steps.map((step) =>
      step.kind === 'shadow' ? { shadow: step.percent } : { weight: step.percent },
    ),
    weights: Object.fromEntries(s.expected.variants.map((v) => [v.version, v.weight])),
    shadow: s.expected.shadow,
    started_at: iso(s.startedAt),
    ended_at: iso(s.endedAt),
    step_started_at: iso(s.stepStartedAt),
    time_in_step_seconds: secondsBetween(s.stepStartedAt, s.endedAt ?? now),
    step_min_seconds: spec.stepMinSeconds,
    labelled_in_step: s.countedInStep,
    step_min_labelled: bandit ? spec.bandit.burnInLabelled : spec.stepMinLabelled,
    step_log: stepLog(s, now),
    max_seconds: spec.maxSeconds,
    deadline_at: iso(s.startedAt + spec.maxSeconds * 1000),
    gates: s.gates.map((g) => ({
      name: g.name,
      verdict: g.verdict,
      ok: g.ok,
      text: g.text,
      p_value: g.p_value,
    })),
    waiting_for: s.waitingFor,
    paused_reason: s.pausedReason,
    webhooks: spec.webhooks,
    bandit: s.bandit
      ? {
          weights: s.bandit.weights,
          probability_best: s.bandit.probabilityBest,
          updates: s.bandit.updates,
          last_update_at: iso(s.bandit.lastUpdateAt),
          floor_percent: spec.bandit.floorPercent,
        }
      : null,
    warnings: bandit
      ? [
          'adaptive allocation: the weights followed the outcomes, so naive per-arm estimates are biased; rely on the always-valid comparisons',
        ]
      : [],
    history: s.history.map((t) => ({
      at: iso(t.at),
      from: t.from,
      to: t.to,
      reason: t.reason,
      step_index: t.step_index,
      text: t.text,
    })),
    experiment_id: s.experimentId,
  };
}

export type RolloutView = ReturnType<typeof rolloutView>;
