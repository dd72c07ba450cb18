/** The policies a rollout writes, computed from the policy as it was before the rollout (the
 * baseline), and the comparison that tells the rollout's own writes from a person's. */
import type { Policy } from '../../common/wire';
import type { RolloutSpec, Step } from './spec';

export type PolicyBody = Omit<Policy, 'revision'>;

export function bodyOf(policy: Policy | PolicyBody): PolicyBody {
  const { revision: _r, ...rest } = policy as Policy;
  return {
    variants: rest.variants,
    sticky: rest.sticky,
    shadow: rest.shadow,
    aliases: rest.aliases,
    failover: rest.failover,
  };
}

/** Sticky and failover are the operator's and stay as they were; the rollout owns the split, the
 * shadow and the `canary` alias (pointed at the candidate so `X-Model-Label: canary` reaches it). */
export function stepPolicy(baseline: PolicyBody, spec: RolloutSpec, step: Step): PolicyBody {
  const aliases = { ...baseline.aliases, canary: spec.candidate };
  if (step.kind === 'shadow') {
    return {
      ...baseline,
      variants: [
        { version: spec.control, weight: 100 },
        { version: spec.candidate, weight: 0 },
      ],
      shadow: { version: spec.candidate, percent: step.percent },
      aliases,
    };
  }
  return weightsPolicy(baseline, spec, {
    [spec.control]: 100 - step.percent,
    [spec.candidate]: step.percent,
  });
}

export function weightsPolicy(
  baseline: PolicyBody,
  spec: RolloutSpec,
  weights: Record<string, number>,
): PolicyBody {
  return {
    ...baseline,
    variants: [
      { version: spec.control, weight: weights[spec.control] ?? 0 },
      { version: spec.candidate, weight: weights[spec.candidate] ?? 0 },
    ],
    shadow: null,
    aliases: { ...baseline.aliases, canary: spec.candidate },
  };
}

/** Promoted: all traffic and `stable` on the candidate. The control stays listed at 0 so moving back
 * by hand is one `traffic set`. */
export function promotedPolicy(baseline: PolicyBody, spec: RolloutSpec): PolicyBody {
  return {
    ...weightsPolicy(baseline, spec, { [spec.candidate]: 100 }),
    aliases: { ...baseline.aliases, canary: spec.candidate, stable: spec.candidate },
  };
}

function canonical(p: PolicyBody): string {
  const aliases = Object.fromEntries(Object.entries(p.aliases).sort(([a], [b]) => (a < b ? -1 : 1)));
  const variants = p.variants
    .filter((v) => v.weight > 0)
    .map((v) => `${v.version}=${v.weight}`)
    .sort();
  return JSON.stringify({ variants, shadow: p.shadow, aliases, sticky: p.sticky, failover: p.failover });
}

/** Same routing: listing a version at weight 0 or not is the same split. */
export function samePolicy(a: PolicyBody, b: PolicyBody): boolean {
  return canonical(a) === canonical(b);
}

/** What a person changed, in words, for the pause reason. */
export function describeChange(expected: PolicyBody, actual: PolicyBody): string {
  const parts: string[] = [];
  const split = (p: PolicyBody) =>
    p.variants
      .filter((v) => v.weight > 0)
      .map((v) => `${v.version}=${v.weight}`)
      .join(' ');
  if (split(expected) !== split(actual)) parts.push(`split ${split(expected)} → ${split(actual)}`);
  const aliases = (p: PolicyBody) =>
    Object.entries(p.aliases)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([a, v]) => `${a}→${v}`)
      .join(' ');
  if (aliases(expected) !== aliases(actual)) parts.push(`aliases ${aliases(expected)} → ${aliases(actual)}`);
  if (JSON.stringify(expected.shadow) !== JSON.stringify(actual.shadow)) parts.push('shadow changed');
  if (JSON.stringify(expected.sticky) !== JSON.stringify(actual.sticky)) parts.push('sticky changed');
  if (expected.failover !== actual.failover) parts.push('failover changed');
  return parts.join('; ') || 'policy changed';
}
