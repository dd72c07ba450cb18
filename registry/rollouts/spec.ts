/** The body of `POST /models/:m/rollouts` (DESIGN Part 2, "Rollouts") and its checks. Everything a
 * rollout needs is validated here, before anything is written: a refused rollout leaves no file, no
 * policy change and no audit line. */
import { z } from 'zod';
import { AppError } from '../../common/errors';
import { type Policy, versionNameSchema } from '../../common/wire';

/** A step is one of two kinds; the union makes "exactly one of" a compile-time fact, not a run-time
 * check as in Argo's `hasMultipleStepsType`. */
export type Step = { kind: 'shadow'; percent: number } | { kind: 'weight'; percent: number };

export type AccuracyGate = 'not_worse' | 'better';

export interface Gates {
  accuracy?: AccuracyGate;
  error_rate?: 'not_worse';
  /** Budget over the control's p95, as a fraction: "+20%" → 0.2. */
  latency_p95_budget?: number;
  drift_psi_max?: number;
}

export interface BanditOptions {
  floorPercent: number;
  burnInSeconds: number;
  burnInLabelled: number;
  updateIntervalSeconds: number;
  /** Promote when the candidate's posterior probability of being the better arm reaches this. */
  promoteProbability: number;
}

export interface Webhooks {
  confirm_promotion: string | null;
  rollback: string | null;
  pre_step: string | null;
}

export interface RolloutSpec {
  candidate: string;
  control: string;
  strategy: 'steps' | 'bandit';
  steps: Step[];
  stepMinSeconds: number;
  stepMinLabelled: number;
  maxSeconds: number;
  gates: Gates;
  onInconclusive: 'wait';
  alpha: number;
  unit: 'request' | 'user';
  webhooks: Webhooks;
  bandit: BanditOptions;
}

export const DEFAULT_STEPS: readonly Step[] = [
  { kind: 'weight', percent: 5 },
  { kind: 'weight', percent: 25 },
  { kind: 'weight', percent: 50 },
  { kind: 'weight', percent: 100 },
];

const webhookUrl = z
  .string()
  .max(2048)
  .refine((s) => {
    try {
      const u = new URL(s);
      return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname !== '';
    } catch {
      return false;
    }
  }, 'must be an http:// or https:// URL')
  .nullable()
  .default(null);

const stepSchema = z.union([
  z.object({ shadow: z.number().gt(0).max(100) }).strict(),
  z.object({ weight: z.number().int().min(1).max(100) }).strict(),
]);

const GATE_NAMES = ['accuracy', 'error_rate', 'latency_p95_ms', 'drift_psi_max'] as const;

const gatesSchema = z
  .object({
    accuracy: z.enum(['not_worse', 'better']).optional(),
    error_rate: z.literal('not_worse').optional(),
    latency_p95_ms: z
      .string()
      .regex(/^\+\d{1,4}(\.\d+)?%$/, 'must be a budget over the control like "+20%"')
      .optional(),
    drift_psi_max: z.number().positive().max(10).optional(),
  })
  .strict();

export const rolloutBodySchema = z
  .object({
    candidate: versionNameSchema,
    control: versionNameSchema.optional(),
    strategy: z.enum(['steps', 'bandit']).default('steps'),
    steps: z.array(stepSchema).min(1).max(20).optional(),
    step_min_seconds: z.number().min(0).max(604_800).default(300),
    step_min_labelled: z.number().int().min(0).max(10_000_000).default(500),
    max_seconds: z.number().gt(0).max(31_536_000).default(86_400),
    gates: gatesSchema.default({
      accuracy: 'not_worse',
      error_rate: 'not_worse',
      latency_p95_ms: '+20%',
      drift_psi_max: 0.25,
    }),
    on_inconclusive: z.literal('wait').default('wait'),
    alpha: z.number().gt(0).max(0.5).default(0.05),
    unit: z.enum(['request', 'user']).optional(),
    webhooks: z
      .object({ confirm_promotion: webhookUrl, rollback: webhookUrl, pre_step: webhookUrl })
      .strict()
      .default({ confirm_promotion: null, rollback: null, pre_step: null }),
    bandit: z
      .object({
        floor_percent: z.number().int().min(1).max(49).default(5),
        burn_in_seconds: z.number().min(0).default(300),
        burn_in_labelled: z.number().int().min(0).default(200),
        update_interval_seconds: z.number().gt(0).default(60),
        promote_probability: z.number().gt(0.5).lt(1).default(0.95),
      })
      .strict()
      .default({
        floor_percent: 5,
        burn_in_seconds: 300,
        burn_in_labelled: 200,
        update_interval_seconds: 60,
        promote_probability: 0.95,
      }),
  })
  .strict();

function issuesOf(error: z.ZodError): string[] {
  return error.issues.map((i) => {
    const where = i.path.map(String).join('.');
    if (i.code === 'unrecognized_keys' && where === 'gates') {
      return `gates: unknown metric ${i.keys.map((k) => `"${k}"`).join(', ')} (gates can name ${GATE_NAMES.join(', ')})`;
    }
    return where ? `${where}: ${i.message}` : i.message;
  });
}

function stepsOf(raw: z.output<typeof stepSchema>[]): Step[] {
  return raw.map((s) =>
    'shadow' in s ? { kind: 'shadow', percent: s.shadow } : { kind: 'weight', percent: s.weight },
  );
}

/** Order rules Argo leaves to run time: shadow steps come first, weights strictly increase. */
function stepProblems(steps: readonly Step[]): string[] {
  const problems: string[] = [];
  let seenWeight = false;
  let lastWeight = 0;
  steps.forEach((s, i) => {
    if (s.kind === 'shadow') {
      if (seenWeight) problems.push(`steps.${i}: a shadow step must come before every weight step`);
      return;
    }
    seenWeight = true;
    if (s.percent <= lastWeight)
      problems.push(
        `steps.${i}: weights must increase from step to step, ${s.percent} follows ${lastWeight}`,
      );
    lastWeight = s.percent;
  });
  return problems;
}

export interface SpecContext {
  model: string;
  /** Versions that exist in the store. */
  versions: readonly string[];
  policy: Policy;
}

/** The control a rollout compares against: the `stable` alias, else the variant with most traffic. */
export function defaultControl(policy: Policy): string {
  const stable = policy.aliases.stable;
  if (stable !== undefined) return stable;
  return [...policy.variants].sort((a, b) => b.weight - a.weight)[0]!.version;
}

/** Parses and checks a start request; throws AppError (400/404) naming every problem. */
export function parseRolloutSpec(body: unknown, ctx: SpecContext): RolloutSpec {
  const parsed = rolloutBodySchema.safeParse(body);
  if (!parsed.success) {
    const details = issuesOf(parsed.error);
    throw new AppError('invalid_input', `rollout is invalid: ${details.join('; ')}`, details);
  }
  const b = parsed.data;
  const steps = b.steps ? stepsOf(b.steps) : [...DEFAULT_STEPS];
  const problems = b.strategy === 'steps' ? stepProblems(steps) : [];
  if (problems.length > 0)
    throw new AppError('invalid_input', `rollout is invalid: ${problems.join('; ')}`, problems);
  const known = ctx.versions.join(', ');
  if (!ctx.versions.includes(b.candidate)) {
    throw new AppError(
      'version_not_found',
      `model "${ctx.model}" has no version "${b.candidate}" to roll out (versions: ${known}); push it first`,
    );
  }
  const control = b.control ?? defaultControl(ctx.policy);
  if (!ctx.versions.includes(control)) {
    throw new AppError(
      'version_not_found',
      `control version "${control}" of model "${ctx.model}" does not exist (versions: ${known})`,
    );
  }
  if (control === b.candidate) {
    throw new AppError(
      'invalid_input',
      `candidate "${b.candidate}" is already the control (the stable alias or the main variant); roll out a different version or pass "control"`,
    );
  }
  const gates: Gates = {
    ...(b.gates.accuracy ? { accuracy: b.gates.accuracy } : {}),
    ...(b.gates.error_rate ? { error_rate: b.gates.error_rate } : {}),
    ...(b.gates.latency_p95_ms
      ? { latency_p95_budget: Number(b.gates.latency_p95_ms.slice(1, -1)) / 100 }
      : {}),
    ...(b.gates.drift_psi_max === undefined ? {} : { drift_psi_max: b.gates.drift_psi_max }),
  };
  return {
    candidate: b.candidate,
    control,
    strategy: b.strategy,
    steps,
    stepMinSeconds: b.step_min_seconds,
    stepMinLabelled: b.step_min_labelled,
    maxSeconds: b.max_seconds,
    gates,
    onInconclusive: b.on_inconclusive,
    alpha: b.alpha,
    unit: b.unit ?? (ctx.policy.sticky ? 'user' : 'request'),
    webhooks: b.webhooks,
    bandit: {
      floorPercent: b.bandit.floor_percent,
      burnInSeconds: b.bandit.burn_in_seconds,
      burnInLabelled: b.bandit.burn_in_labelled,
      updateIntervalSeconds: b.bandit.update_interval_seconds,
      promoteProbability: b.bandit.promote_probability,
    },
  };
}
