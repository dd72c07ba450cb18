/** A seeded, clock-driven simulation of a rollout: traffic split by the policy decide() last wrote,
 * feedback per answered row, and a report built from the counts by a stand-in for the always-valid
 * test (the mixture SPRT below), until the rollout ends or the horizon passes.
 *
 * The stand-in is the normal-approximation mSPRT of Johari, Pekelis and Walsh, "Always valid
 * inference: bringing sequential analysis to A/B testing" (2017), eq. (11): with θ̂ the difference of
 * the two proportions, V its variance and a N(0, τ²) mixing distribution,
 *   Λ = sqrt(V / (V + τ²)) · exp(τ² θ̂² / (2 V (V + τ²))),   p = min over time of 1/Λ,
 * and the matching always-valid CI θ̂ ± sqrt(V (V + τ²) / τ² · (2 ln(1/α) + ln((V + τ²)/V))). */
import { type Random, seededRandom } from '../../../common/seeded-random';
import { type Action, decide, type Evidence, startRollout } from '../../../registry/rollouts/decide';
import type { PolicyBody } from '../../../registry/rollouts/policy-shapes';
import type { ReportComparison, RolloutReport, Verdict } from '../../../registry/rollouts/report';
import type { RolloutSpec } from '../../../registry/rollouts/spec';
import type { Phase, RolloutState } from '../../../registry/rollouts/state';

export interface ArmCounts {
  rows: number;
  labelled: number;
  correct: number;
  errors: number;
}

const TAU2 = 0.0001; // mixing variance: tuned for differences of about one accuracy point

export interface AlwaysValid {
  estimate: number;
  ci: [number, number];
  p: number;
}

export function msprt(
  c: { n: number; x: number },
  t: { n: number; x: number },
  alpha: number,
): AlwaysValid | null {
  if (c.n < 2 || t.n < 2) return null;
  const pc = c.x / c.n;
  const pt = t.x / t.n;
  // a pooled rate keeps V positive when an arm is all-correct
  const pooled = (c.x + t.x) / (c.n + t.n);
  const v = Math.max(pooled * (1 - pooled), 1e-4) * (1 / c.n + 1 / t.n);
  const theta = pt - pc;
  const lambda = Math.sqrt(v / (v + TAU2)) * Math.exp((TAU2 * theta * theta) / (2 * v * (v + TAU2)));
  const half = Math.sqrt(((v * (v + TAU2)) / TAU2) * (2 * Math.log(1 / alpha) + Math.log((v + TAU2) / v)));
  return { estimate: theta, ci: [theta - half, theta + half], p: Math.min(1, 1 / lambda) };
}

/** Keeps the running minimum p per metric: always-valid p-values are monotone by construction. */
export function createStandInReport(options: {
  control: string;
  candidate: string;
  alpha: number;
  margin: number;
}) {
  const minP = new Map<string, number>();
  return (arms: Record<string, ArmCounts>): RolloutReport => {
    const c = arms[options.control]!;
    const t = arms[options.candidate]!;
    const comparison = (
      metric: 'accuracy' | 'error_rate',
      better: 1 | -1,
      cx: number,
      cn: number,
      tx: number,
      tn: number,
    ) => {
      const r = msprt({ n: cn, x: cx }, { n: tn, x: tx }, options.alpha);
      if (!r)
        return {
          candidate: options.candidate,
          metric,
          estimate: null,
          ci: null,
          p_value: null,
          verdict: 'insufficient_data' as Verdict,
        };
      const p = Math.min(minP.get(metric) ?? 1, r.p);
      minP.set(metric, p);
      const oriented = r.estimate * better;
      let verdict: Verdict = 'inconclusive';
      if (p < options.alpha) verdict = oriented > 0 ? 'better' : 'worse';
      else if (r.ci[0] > -options.margin && r.ci[1] < options.margin) verdict = 'no_difference';
      const out: ReportComparison = {
        candidate: options.candidate,
        metric,
        estimate: r.estimate,
        ci: r.ci,
        p_value: p,
        verdict,
      };
      return out;
    };
    return {
      experiment: { id: 'sim', control: options.control, candidates: [options.candidate] },
      srm: { ok: true, p_value: 0.5 },
      arms: [options.control, options.candidate].map((version) => ({
        version,
        role: version === options.control ? 'control' : 'candidate',
        requests: arms[version]!.rows,
        rows: arms[version]!.rows,
        errors: arms[version]!.errors,
        labelled: arms[version]!.labelled,
        correct: arms[version]!.correct,
        latency_p95_ms: null,
        drift_psi_max: null,
      })),
      comparisons: [
        comparison('accuracy', 1, c.correct, c.labelled, t.correct, t.labelled),
        comparison('error_rate', -1, c.errors, c.rows, t.errors, t.rows),
      ],
    };
  };
}

export interface SimulationOptions {
  spec: RolloutSpec;
  baseline: PolicyBody;
  seed: number;
  requestsPerSecond: number;
  /** Share of answered rows that get feedback. */
  feedbackShare: number;
  accuracy: Record<string, number>;
  errorRate?: Record<string, number>;
  tickSeconds: number;
  horizonSeconds: number;
  margin?: number;
}

export interface SimulationResult {
  phase: Phase;
  endedAfterSeconds: number | null;
  state: RolloutState;
  /** Candidate weight after each tick, for the bandit checks. */
  candidateWeights: number[];
  policy: PolicyBody;
}

function binomial(n: number, p: number, random: Random): number {
  if (n > 200) {
    // normal approximation: plenty for traffic counts in a simulation
    const mean = n * p;
    const sd = Math.sqrt(n * p * (1 - p));
    const u = 1 - random();
    const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
    return Math.max(0, Math.min(n, Math.round(mean + sd * z)));
  }
  let k = 0;
  for (let i = 0; i < n; i++) if (random() < p) k++;
  return k;
}

export function simulate(o: SimulationOptions): SimulationResult {
  const random = seededRandom(o.seed);
  const { spec } = o;
  const report = createStandInReport({
    control: spec.control,
    candidate: spec.candidate,
    alpha: spec.alpha,
    margin: o.margin ?? 0.02,
  });
  const arms: Record<string, ArmCounts> = {
    [spec.control]: { rows: 0, labelled: 0, correct: 0, errors: 0 },
    [spec.candidate]: { rows: 0, labelled: 0, correct: 0, errors: 0 },
  };
  const t0 = 1_000_000;
  const started = startRollout({
    id: `sim-${o.seed}`,
    model: 'm',
    spec,
    policy: o.baseline,
    experimentId: 'sim',
    now: t0,
  });
  let state = started.state;
  let policy = o.baseline;
  const apply = (actions: Action[]) => {
    for (const a of actions) if (a.type === 'write_policy') policy = a.policy;
  };
  apply(started.actions);
  const candidateWeights: number[] = [];
  for (let t = o.tickSeconds; t <= o.horizonSeconds; t += o.tickSeconds) {
    const total = binomial(Math.round(o.requestsPerSecond * o.tickSeconds * 2), 0.5, random);
    const weightOf = (v: string) => policy.variants.find((x) => x.version === v)?.weight ?? 0;
    const toCandidate = binomial(total, weightOf(spec.candidate) / 100, random);
    for (const [version, n] of [
      [spec.candidate, toCandidate],
      [spec.control, total - toCandidate],
    ] as const) {
      const arm = arms[version]!;
      const errors = binomial(n, o.errorRate?.[version] ?? 0, random);
      const answered = n - errors;
      const labelled = binomial(answered, o.feedbackShare, random);
      arm.rows += n;
      arm.errors += errors;
      arm.labelled += labelled;
      arm.correct += binomial(labelled, o.accuracy[version]!, random);
    }
    const now = t0 + t * 1000;
    let evidence: Evidence = { report: report(arms), policy };
    for (let round = 0; round < 3; round++) {
      const d = decide(state, evidence, now);
      state = d.next;
      apply(d.actions);
      const hook = d.actions.find((a) => a.type === 'call_hook' && a.hook !== 'rollback');
      if (hook?.type !== 'call_hook' || hook.hook === 'rollback') break;
      evidence = { ...evidence, policy, hook: { hook: hook.hook, ok: true, detail: '200' } };
    }
    candidateWeights.push(weightOf(spec.candidate));
    if (state.endedAt !== null)
      return {
        phase: state.phase,
        endedAfterSeconds: (state.endedAt - t0) / 1000,
        state,
        candidateWeights,
        policy,
      };
  }
  return { phase: state.phase, endedAfterSeconds: null, state, candidateWeights, policy };
}
