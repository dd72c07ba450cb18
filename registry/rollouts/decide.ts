/** The rollout state machine: `decide(state, evidence, now) -> {next, actions, wakeAt}`. No I/O, no
 * clock of its own: the executor passes the report, the policy it read and the time, then carries out
 * the actions. Inconclusive evidence waits (Argo pauses on Inconclusive), a gate violated with
 * always-valid evidence rolls back at once, and every phase change is a Transition with an audit
 * action. */
import { seededRandom } from '../../common/seeded-random';
import { type BanditArm, thompsonWeights } from './bandit';
import { evaluateGates, type GateResult } from './gates';
import {
  bodyOf,
  describeChange,
  type PolicyBody,
  promotedPolicy,
  samePolicy,
  stepPolicy,
  weightsPolicy,
} from './policy-shapes';
import type { RolloutReport } from './report';
import type { RolloutSpec, Step } from './spec';
import { isFinal, type Phase, type RolloutState, type Transition, type TransitionReason } from './state';

export type HookName = 'confirm_promotion' | 'pre_step' | 'rollback';

export interface HookOutcome {
  hook: 'confirm_promotion' | 'pre_step';
  ok: boolean;
  detail: string;
}

export interface Evidence {
  /** The current experiment report, or null when none could be computed. */
  report: RolloutReport | null;
  /** policy.json as read just now. */
  policy: PolicyBody;
  /** The answer of the hook the previous decision asked for. */
  hook?: HookOutcome;
}

export type Action =
  | { type: 'write_policy'; policy: PolicyBody }
  | { type: 'call_hook'; hook: HookName }
  | { type: 'stop_experiment' }
  | { type: 'audit'; transition: Transition; gates: GateResult[] };

export interface Decision {
  next: RolloutState;
  actions: Action[];
  /** When to decide again at the latest because of time alone; null: whenever evidence may have moved. */
  wakeAt: number | null;
}

/** A refused confirm_promotion / pre_step hook is asked again after this long. */
export const HOOK_RETRY_MS = 10_000;
/** Updates in a row an arm must lead with promote_probability before the bandit ends. */
export const BANDIT_STREAK = 3;
/** History kept in the state file; the audit log keeps everything. */
const HISTORY_LIMIT = 200;

const earliest = (...times: (number | null | undefined)[]): number | null => {
  const t = times.filter((x): x is number => typeof x === 'number');
  return t.length ? Math.min(...t) : null;
};

const seconds = (ms: number) => `${Math.max(0, Math.ceil(ms / 1000))} s`;

function transition(
  state: RolloutState,
  to: Phase,
  reason: TransitionReason,
  text: string,
  now: number,
  patch: Partial<RolloutState> = {},
): { next: RolloutState; audit: Action } {
  const t: Transition = {
    at: now,
    from: state.phase,
    to,
    reason,
    step_index: patch.stepIndex ?? state.stepIndex,
    text,
  };
  const next: RolloutState = {
    ...state,
    ...patch,
    phase: to,
    history: [...state.history, t].slice(-HISTORY_LIMIT),
    ...(isFinal(to) ? { endedAt: now, waitingFor: text } : {}),
  };
  return { next, audit: { type: 'audit', transition: t, gates: next.gates } };
}

function stepOf(spec: RolloutSpec, index: number): Step {
  return spec.steps[Math.min(index, spec.steps.length - 1)]!;
}

function candidateCounts(
  report: RolloutReport | null,
  candidate: string,
): { rows: number; labelled: number } {
  const arm = report?.arms.find((a) => a.version === candidate);
  return { rows: arm?.rows ?? 0, labelled: arm?.labelled ?? 0 };
}

/** The initial state and the first policy write. */
export function startRollout(options: {
  id: string;
  model: string;
  spec: RolloutSpec;
  policy: PolicyBody;
  experimentId: string | null;
  now: number;
}): { state: RolloutState; actions: Action[] } {
  const { spec, now } = options;
  const baseline = bodyOf(options.policy);
  const bandit = spec.strategy === 'bandit';
  const first = bandit
    ? weightsPolicy(baseline, spec, { [spec.control]: 50, [spec.candidate]: 50 })
    : stepPolicy(baseline, spec, spec.steps[0]!);
  const initial: RolloutState = {
    id: options.id,
    model: options.model,
    spec,
    phase: 'running',
    stepIndex: 0,
    startedAt: now,
    stepStartedAt: now,
    endedAt: null,
    rowsAtStepStart: 0,
    labelledAtStepStart: 0,
    countedInStep: 0,
    completedSteps: [],
    baseline,
    expected: first,
    experimentId: options.experimentId,
    pausedReason: null,
    gates: [],
    waitingFor: 'the first step to collect evidence',
    hookHold: null,
    bandit: bandit
      ? {
          weights: { [spec.control]: 50, [spec.candidate]: 50 },
          lastUpdateAt: null,
          updates: 0,
          probabilityBest: null,
          streak: null,
        }
      : null,
    history: [],
  };
  const text = bandit
    ? `bandit rollout of ${spec.candidate} against ${spec.control} started at 50/50`
    : `rollout of ${spec.candidate} against ${spec.control} started at ${describeStep(spec.steps[0]!)}`;
  const t: Transition = { at: now, from: null, to: 'running', reason: 'started', step_index: 0, text };
  const state = { ...initial, history: [t] };
  return {
    state,
    actions: [
      { type: 'write_policy', policy: first },
      { type: 'audit', transition: t, gates: [] },
    ],
  };
}

export function describeStep(step: Step): string {
  return step.kind === 'shadow' ? `shadow ${step.percent}%` : `weight ${step.percent}%`;
}

function finish(
  state: RolloutState,
  to: 'rolled_back' | 'timed_out' | 'aborted' | 'promoted',
  reason: TransitionReason,
  text: string,
  now: number,
): Decision {
  const policy = to === 'promoted' ? promotedPolicy(state.baseline, state.spec) : state.baseline;
  const { next, audit } = transition(state, to, reason, text, now, { expected: policy, hookHold: null });
  const actions: Action[] = [{ type: 'write_policy', policy }, { type: 'stop_experiment' }, audit];
  if (to === 'rolled_back' && state.spec.webhooks.rollback)
    actions.push({ type: 'call_hook', hook: 'rollback' });
  return { next, actions, wakeAt: null };
}

function wait(
  state: RolloutState,
  phase: 'running' | 'waiting',
  waitingFor: string,
  reason: TransitionReason,
  now: number,
  wakeAt: number | null,
  patch: Partial<RolloutState> = {},
): Decision {
  if (state.phase === phase) return { next: { ...state, ...patch, waitingFor }, actions: [], wakeAt };
  const { next, audit } = transition({ ...state, waitingFor }, phase, reason, waitingFor, now, patch);
  return { next: { ...next, waitingFor }, actions: [audit], wakeAt };
}

/** Every gate holds: ask the hook if one is configured, then do `proceed`. */
function throughHook(
  state: RolloutState,
  evidence: Evidence,
  hook: 'confirm_promotion' | 'pre_step',
  now: number,
  deadline: number,
  proceed: () => Decision,
): Decision {
  const url = state.spec.webhooks[hook];
  if (!url) return proceed();
  if (evidence.hook?.hook === hook) {
    if (evidence.hook.ok) return proceed();
    const hold = {
      hook,
      at: now,
      detail: evidence.hook.detail,
      attempts: (state.hookHold?.attempts ?? 0) + 1,
    };
    const text = `the ${hook} webhook refused (${evidence.hook.detail}); held, asking again in ${seconds(HOOK_RETRY_MS)}`;
    if (state.hookHold === null) {
      const { next, audit } = transition(
        { ...state, waitingFor: text },
        'waiting',
        'hook_refused',
        text,
        now,
        {
          hookHold: hold,
        },
      );
      return { next, actions: [audit], wakeAt: earliest(now + HOOK_RETRY_MS, deadline) };
    }
    return {
      next: { ...state, phase: 'waiting', hookHold: hold, waitingFor: text },
      actions: [],
      wakeAt: earliest(now + HOOK_RETRY_MS, deadline),
    };
  }
  if (state.hookHold && now < state.hookHold.at + HOOK_RETRY_MS) {
    return { next: state, actions: [], wakeAt: earliest(state.hookHold.at + HOOK_RETRY_MS, deadline) };
  }
  return {
    next: { ...state, waitingFor: `the ${hook} webhook's answer` },
    actions: [{ type: 'call_hook', hook }],
    wakeAt: now,
  };
}

function decideSteps(previous: RolloutState, evidence: Evidence, now: number, deadline: number): Decision {
  const { spec } = previous;
  const step = stepOf(spec, previous.stepIndex);
  const counts = candidateCounts(evidence.report, spec.candidate);
  // Shadow answers are never returned, so in a shadow step the candidate's rows are what accrues.
  const counted = Math.max(
    0,
    step.kind === 'shadow'
      ? counts.rows - previous.rowsAtStepStart
      : counts.labelled - previous.labelledAtStepStart,
  );
  const state = { ...previous, countedInStep: counted };
  const minUntil = state.stepStartedAt + spec.stepMinSeconds * 1000;
  const unit = step.kind === 'shadow' ? 'shadow rows' : 'labelled rows';
  if (now < minUntil || counted < spec.stepMinLabelled) {
    const needs = [
      ...(now < minUntil ? [`${seconds(minUntil - now)} more in step ${state.stepIndex + 1}`] : []),
      ...(counted < spec.stepMinLabelled
        ? [
            `${spec.stepMinLabelled - Math.max(0, counted)} more ${unit} for v${spec.candidate} (${Math.max(0, counted)} of ${spec.stepMinLabelled})`,
          ]
        : []),
    ];
    return wait(
      state,
      'running',
      `step ${state.stepIndex + 1} of ${spec.steps.length} (${describeStep(step)}): ${needs.join(' and ')}`,
      'started',
      now,
      earliest(now < minUntil ? minUntil : null, deadline),
    );
  }
  const pending = state.gates.filter((g) => g.ok !== true);
  if (!evidence.report || pending.length > 0) {
    const why = evidence.report
      ? pending.map((g) => g.text).join('; ')
      : 'the experiment report (none could be computed yet)';
    return wait(state, 'waiting', `evidence: ${why}`, 'evidence_inconclusive', now, deadline);
  }
  const last = state.stepIndex >= spec.steps.length - 1;
  if (last) {
    return throughHook(state, evidence, 'confirm_promotion', now, deadline, () =>
      finish(
        state,
        'promoted',
        'promoted',
        `promoted ${spec.candidate}: every gate held at the last step; stable → ${spec.candidate}`,
        now,
      ),
    );
  }
  return throughHook(state, evidence, 'pre_step', now, deadline, () => {
    const index = state.stepIndex + 1;
    const nextStep = stepOf(spec, index);
    const policy = stepPolicy(state.baseline, spec, nextStep);
    const text = `step ${state.stepIndex + 1} passed (${state.gates.map((g) => g.name).join(', ')} held); now step ${index + 1} of ${spec.steps.length}: ${describeStep(nextStep)}`;
    const left = {
      index: state.stepIndex,
      startedAt: state.stepStartedAt,
      endedAt: now,
      counted: state.countedInStep,
    };
    const { next, audit } = transition(state, 'running', 'step_advanced', text, now, {
      completedSteps: [...(state.completedSteps ?? []), left],
      stepIndex: index,
      stepStartedAt: now,
      rowsAtStepStart: counts.rows,
      labelledAtStepStart: counts.labelled,
      countedInStep: 0,
      expected: policy,
      hookHold: null,
      waitingFor: `step ${index + 1} of ${spec.steps.length} (${describeStep(nextStep)}) to collect evidence`,
    });
    return {
      next,
      actions: [{ type: 'write_policy', policy }, audit],
      wakeAt: earliest(now + spec.stepMinSeconds * 1000, deadline),
    };
  });
}

/** A stable seed per rollout and update, so a replay draws the same weights. */
function seedOf(id: string, update: number): number {
  let h = 2166136261;
  for (const ch of `${id}:${update}`) h = Math.imul(h ^ ch.charCodeAt(0), 16777619);
  return h >>> 0;
}

function banditArms(report: RolloutReport | null, spec: RolloutSpec): BanditArm[] {
  return [spec.control, spec.candidate].map((version) => {
    const arm = report?.arms.find((a) => a.version === version);
    const labelled = arm?.labelled ?? 0;
    const correct = arm?.correct ?? 0;
    return { version, successes: correct, failures: Math.max(0, labelled - correct) };
  });
}

function decideBandit(previous: RolloutState, evidence: Evidence, now: number, deadline: number): Decision {
  const { spec } = previous;
  const b = spec.bandit;
  const bandit = previous.bandit!;
  const arms = banditArms(evidence.report, spec);
  const fewest = Math.min(...arms.map((a) => a.successes + a.failures));
  const state = { ...previous, countedInStep: fewest };
  const burnInUntil = state.startedAt + b.burnInSeconds * 1000;
  if (now < burnInUntil || fewest < b.burnInLabelled) {
    const needs = [
      ...(now < burnInUntil ? [`${seconds(burnInUntil - now)} more`] : []),
      ...(fewest < b.burnInLabelled
        ? [`${b.burnInLabelled - fewest} more labelled rows on the thinner arm`]
        : []),
    ];
    return wait(
      state,
      'running',
      `bandit burn-in at 50/50: ${needs.join(' and ')}`,
      'started',
      now,
      earliest(now < burnInUntil ? burnInUntil : null, deadline),
    );
  }
  const intervalMs = b.updateIntervalSeconds * 1000;
  let s = state;
  const actions: Action[] = [];
  if (bandit.lastUpdateAt === null || now >= bandit.lastUpdateAt + intervalMs) {
    const update = thompsonWeights({
      arms,
      floorPercent: b.floorPercent,
      random: seededRandom(seedOf(state.id, bandit.updates)),
    });
    const policy = weightsPolicy(state.baseline, spec, update.weights);
    const leader = Object.entries(update.probabilityBest).find(([, p]) => p >= b.promoteProbability)?.[0];
    const streak = leader
      ? { version: leader, updates: bandit.streak?.version === leader ? bandit.streak.updates + 1 : 1 }
      : null;
    s = {
      ...s,
      bandit: {
        weights: update.weights,
        lastUpdateAt: now,
        updates: bandit.updates + 1,
        probabilityBest: update.probabilityBest,
        streak,
      },
    };
    if (!samePolicy(policy, s.expected)) {
      s = { ...s, expected: policy, stepIndex: s.stepIndex + 1 };
      actions.push({ type: 'write_policy', policy });
    }
  }
  const p = s.bandit!.probabilityBest ?? {};
  const pCandidate = p[spec.candidate] ?? 0;
  const pControl = p[spec.control] ?? 0;
  const leads = (v: string) => s.bandit!.streak?.version === v && s.bandit!.streak.updates >= BANDIT_STREAK;
  const nextUpdate = s.bandit!.lastUpdateAt! + intervalMs;
  const weights = `${spec.control}=${s.bandit!.weights[spec.control]} ${spec.candidate}=${s.bandit!.weights[spec.candidate]}`;
  if (leads(spec.control)) {
    return finish(
      s,
      'rolled_back',
      'bandit_lost',
      `bandit: ${spec.control} is better with probability ${pControl.toFixed(3)}; rolled back`,
      now,
    );
  }
  const pending = s.gates.filter((g) => g.ok !== true);
  if (leads(spec.candidate) && pending.length === 0) {
    return throughHook(s, evidence, 'confirm_promotion', now, deadline, () =>
      finish(
        s,
        'promoted',
        'promoted',
        `bandit: ${spec.candidate} is better with probability ${pCandidate.toFixed(3)} and every gate held; stable → ${spec.candidate}`,
        now,
      ),
    );
  }
  const why = leads(spec.candidate)
    ? `the gates: ${pending.map((g) => g.text).join('; ')}`
    : `P(${spec.candidate} better) ${pCandidate.toFixed(3)} to reach ${b.promoteProbability} at ${BANDIT_STREAK} updates in a row (or P(${spec.control} better), for a rollback)`;
  const waited = wait(
    s,
    'waiting',
    `bandit at ${weights}: ${why}`,
    'evidence_inconclusive',
    now,
    earliest(nextUpdate, deadline),
  );
  return { ...waited, actions: [...actions, ...waited.actions] };
}

export function decide(state: RolloutState, evidence: Evidence, now: number): Decision {
  if (isFinal(state.phase) || state.phase === 'paused') return { next: state, actions: [], wakeAt: null };
  if (!samePolicy(evidence.policy, state.expected)) {
    return pause(
      state,
      `someone changed the policy during the rollout (${describeChange(state.expected, evidence.policy)}); paused. \`modelgate rollout resume\` re-applies the rollout's step, \`rollout abort\` restores the policy from before it`,
      now,
      'manual_change',
    );
  }
  const { spec } = state;
  const deadline = state.startedAt + spec.maxSeconds * 1000;
  const weightsChanged = state.stepIndex > 0 || (state.bandit?.updates ?? 0) > 0;
  const gates = evidence.report ? evaluateGates(spec, evidence.report, weightsChanged) : [];
  const s = { ...state, gates };
  const violated = gates.filter((g) => g.violated);
  if (violated.length > 0) {
    return finish(
      s,
      'rolled_back',
      'gate_violated',
      `rolled back: ${violated.map((g) => g.text).join('; ')} (alpha ${spec.alpha})`,
      now,
    );
  }
  if (now >= deadline) {
    return finish(
      s,
      'timed_out',
      'timed_out',
      `timed out after ${spec.maxSeconds} s without conclusive evidence; the policy from before the rollout is restored`,
      now,
    );
  }
  return spec.strategy === 'bandit'
    ? decideBandit(s, evidence, now, deadline)
    : decideSteps(s, evidence, now, deadline);
}

/** Pause (a person's request or a manual policy change): nothing is written, the step is kept. */
export function pause(
  state: RolloutState,
  why: string,
  now: number,
  reason: TransitionReason = 'paused',
): Decision {
  if (isFinal(state.phase) || state.phase === 'paused') return { next: state, actions: [], wakeAt: null };
  const { next, audit } = transition(state, 'paused', reason, why, now, {
    pausedReason: why,
    waitingFor: why,
  });
  return { next, actions: [audit], wakeAt: null };
}

/** Resume: re-apply the current step's policy (over any manual change) and restart the step's clock
 * and counts, since what was observed during the pause was not this step's split. */
export function resume(state: RolloutState, report: RolloutReport | null, now: number): Decision {
  if (state.phase !== 'paused') return { next: state, actions: [], wakeAt: now };
  const counts = candidateCounts(report, state.spec.candidate);
  const policy =
    state.spec.strategy === 'bandit'
      ? weightsPolicy(state.baseline, state.spec, state.bandit!.weights)
      : stepPolicy(state.baseline, state.spec, stepOf(state.spec, state.stepIndex));
  const text = `resumed at step ${state.stepIndex + 1}; its policy is applied again`;
  const { next, audit } = transition(state, 'running', 'resumed', text, now, {
    pausedReason: null,
    expected: policy,
    stepStartedAt: now,
    rowsAtStepStart: counts.rows,
    labelledAtStepStart: counts.labelled,
    countedInStep: 0,
    hookHold: null,
    waitingFor: text,
  });
  return { next, actions: [{ type: 'write_policy', policy }, audit], wakeAt: now };
}

export function abort(state: RolloutState, who: string, now: number): Decision {
  if (isFinal(state.phase)) return { next: state, actions: [], wakeAt: null };
  return finish(
    state,
    'aborted',
    'aborted',
    `aborted by ${who}; the policy from before the rollout is restored`,
    now,
  );
}
