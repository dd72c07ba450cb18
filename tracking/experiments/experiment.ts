/** An experiment as a stored object, and the pure rules for starting and ending one.
 * DESIGN Part 2: the control is explicit (default: the `stable` alias, else the variant with the
 * largest weight when the experiment starts, never the first listed); weight and alias changes do
 * not end it; removing a candidate (or the control) from the policy, or an explicit stop, does. */
import { z } from 'zod';
import { AppError } from '../../common/errors';
import { type Policy, versionNameSchema } from '../../common/wire';
import type { MetricName } from '../stats/metrics';

export type ExperimentUnit = 'request' | 'user';

export interface WeightPeriod {
  /** Epoch ms from which these weights applied. */
  from: number;
  weights: Record<string, number>;
  /** Set on the first period of an experiment whose weights a bandit moves by the outcomes so far
   * (adaptive allocation). Kept in the weights JSON, so it needs no schema change. */
  adaptive?: true;
}

export interface Experiment {
  id: string;
  model: string;
  control: string;
  candidates: string[];
  unit: ExperimentUnit;
  metrics: MetricName[];
  status: 'running' | 'stopped';
  weights: WeightPeriod[];
  startedAt: number;
  endedAt: number | null;
  endReason: string | null;
  createdBy: string | null;
}

export const DEFAULT_METRICS: MetricName[] = ['accuracy', 'error_rate', 'latency_p95'];

export const startExperimentSchema = z
  .object({
    control: versionNameSchema.optional().describe('the version the others are compared with'),
    candidates: z.array(versionNameSchema).min(1).max(8),
    unit: z.enum(['request', 'user']).default('request'),
    metrics: z
      .array(z.enum(['accuracy', 'error_rate', 'latency_p95', 'latency_p50']))
      .min(1)
      .max(4)
      .optional(),
  })
  .strict();

/** The versions a policy serves: its variants and its shadow. */
function servedVersions(policy: Policy): Set<string> {
  return new Set([
    ...policy.variants.map((v) => v.version),
    ...(policy.shadow ? [policy.shadow.version] : []),
  ]);
}

export function weightsOf(policy: Policy): Record<string, number> {
  return Object.fromEntries(policy.variants.map((v) => [v.version, v.weight]));
}

/** The control when none is named: the `stable` alias if it is a variant, else the variant with
 * the largest weight; a tie is refused rather than broken by list order. */
export function defaultControl(policy: Policy): string {
  const stable = policy.aliases.stable;
  if (stable && policy.variants.some((v) => v.version === stable)) return stable;
  const top = Math.max(...policy.variants.map((v) => v.weight));
  const leaders = policy.variants.filter((v) => v.weight === top).map((v) => v.version);
  if (leaders.length !== 1) {
    throw new AppError(
      'invalid_input',
      `no stable alias and versions ${leaders.join(', ')} share the largest weight (${top}); name the control (--control / "control")`,
    );
  }
  return leaders[0]!;
}

/** Checks a start request against the model's policy; returns the experiment's shape. */
export function planExperiment(options: { body: unknown; policy: Policy }): {
  control: string;
  candidates: string[];
  unit: ExperimentUnit;
  metrics: MetricName[];
} {
  const parsed = startExperimentSchema.safeParse(options.body);
  if (!parsed.success) {
    const details = parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
    const first = details[0];
    throw new AppError(
      'invalid_input',
      `an experiment is {"candidates": ["2"], "control": "1" (optional), "unit": "request"|"user" (optional)}${first ? `: ${first.path || 'body'} ${first.message}` : ''}`,
      details,
    );
  }
  const { policy } = options;
  const control = parsed.data.control ?? defaultControl(policy);
  const served = servedVersions(policy);
  const candidates = [...new Set(parsed.data.candidates)];
  if (candidates.length !== parsed.data.candidates.length)
    throw new AppError('invalid_input', 'a candidate is listed twice');
  if (!policy.variants.some((v) => v.version === control)) {
    throw new AppError(
      'invalid_input',
      `the control "${control}" is not a variant of the policy (variants: ${policy.variants.map((v) => v.version).join(', ')})`,
    );
  }
  if (candidates.includes(control))
    throw new AppError('invalid_input', `"${control}" cannot be both the control and a candidate`);
  const missing = candidates.filter((c) => !served.has(c));
  if (missing.length > 0) {
    throw new AppError(
      'invalid_input',
      `candidate ${missing.join(', ')} gets no traffic under the policy (variants: ${policy.variants.map((v) => v.version).join(', ')}${policy.shadow ? `; shadow: ${policy.shadow.version}` : ''}); add it to the policy first`,
    );
  }
  return { control, candidates, unit: parsed.data.unit, metrics: parsed.data.metrics ?? DEFAULT_METRICS };
}

/** Why a running experiment must end under a new policy, or null when it goes on (weight and alias
 * changes do not end it). */
export function endReasonUnder(experiment: Experiment, policy: Policy | undefined): string | null {
  if (!policy) return 'the model was deleted';
  const served = servedVersions(policy);
  if (!policy.variants.some((v) => v.version === experiment.control))
    return `the control v${experiment.control} was removed from the policy`;
  const gone = experiment.candidates.filter((c) => !served.has(c));
  if (gone.length > 0) return `candidate ${gone.map((c) => `v${c}`).join(', ')} was removed from the policy`;
  return null;
}

/** The weight history with the policy's current weights appended when they changed. */
export function withWeights(experiment: Experiment, policy: Policy, now: number): WeightPeriod[] | null {
  const current = weightsOf(policy);
  const last = experiment.weights[experiment.weights.length - 1];
  if (last && JSON.stringify(last.weights) === JSON.stringify(current)) return null;
  return [...experiment.weights, { from: now, weights: current }];
}

/** Whether a bandit allocates the experiment's traffic: then every naive estimate in its report is
 * biased (an arm that drew worse early gets less traffic, so its early luck is never averaged out). */
export function isAdaptive(e: Experiment): boolean {
  return e.weights.some((w) => w.adaptive === true);
}

/** The stored object on the wire (snake_case). */
export function experimentView(e: Experiment) {
  return {
    id: e.id,
    model: e.model,
    control: e.control,
    candidates: e.candidates,
    unit: e.unit,
    metrics: e.metrics,
    status: e.status,
    started_at: new Date(e.startedAt).toISOString(),
    ended_at: e.endedAt === null ? null : new Date(e.endedAt).toISOString(),
    end_reason: e.endReason,
    allocation: isAdaptive(e) ? 'adaptive' : 'fixed',
    weights: e.weights.map((w) => ({ from: new Date(w.from).toISOString(), weights: w.weights })),
  };
}
