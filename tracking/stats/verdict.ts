/** From per-look statistics of each candidate × metric to verdicts: minimum evidence, the
 * always-valid test per comparison, Holm over the family, simultaneous intervals, and the verdict.
 *
 * - Minimum evidence: a look counts only when both arms have at least `observationsPerArm`
 *   observations and `unitsPerArm` units (counts alone decide, never outcomes, so skipping early
 *   looks keeps the test valid). Below it at the current look the verdict is `insufficient_data`
 *   (3/3 vs 0/3 labelled is not "+100 points").
 * - p-value: the mSPRT running minimum (msprt.ts), Holm-adjusted over the comparisons that have one
 *   (multiplicity.ts). `better`/`worse` when the adjusted p-value is below α, oriented by the
 *   metric's direction.
 * - Interval: the confidence sequence at level 1 − α/m (m comparisons in the family: Bonferroni,
 *   so the intervals hold simultaneously, and an interval excluding 0 implies a Holm rejection).
 * - `no_difference` when not significant and the interval lies inside ±margin: the difference is
 *   smaller than max(|low|, |high|), which the text states ("no difference larger than 0.8 points").
 * - otherwise `inconclusive`, with the observations per arm still needed to detect the margin
 *   (sample-size.ts). */
import type { MetricName } from './metrics';
import { METRICS } from './metrics';
import { type Look, type SequentialResult, sequentialTest } from './msprt';
import { holmAdjust } from './multiplicity';
import { moreObservationsPerArm } from './sample-size';
import { ratioEstimate, testVariance, type UnitStatistic } from './unit-statistic';

export type Verdict = 'better' | 'worse' | 'no_difference' | 'inconclusive' | 'insufficient_data';

export interface ArmsAtLook {
  control: UnitStatistic;
  candidate: UnitStatistic;
}

export interface ComparisonInput {
  candidate: string;
  metric: MetricName;
  /** Cumulative statistics at each look of the fixed grid, oldest first; the last is now. */
  looks: readonly ArmsAtLook[];
}

export interface MinimumEvidence {
  /** Labelled rows (accuracy) or requests (error rate, latency) per arm. */
  observationsPerArm: number;
  /** Independent units per arm (equal to observations when rows are the unit). */
  unitsPerArm: number;
}

export const DEFAULT_MINIMUM_EVIDENCE: MinimumEvidence = { observationsPerArm: 100, unitsPerArm: 20 };

export interface Judgement {
  candidate: string;
  metric: MetricName;
  /** Candidate rate − control rate at the current look (not oriented). */
  estimate: number | null;
  ci: [number, number] | null;
  pValue: number | null;
  pValueAdjusted: number | null;
  /** Observations and units per arm at the current look. */
  n: { control: number; candidate: number };
  units: { control: number; candidate: number };
  rates: { control: number | null; candidate: number | null };
  verdict: Verdict;
  /** For `no_difference`: the difference is smaller than this (a rate, e.g. 0.008). */
  noDifferenceLargerThan: number | null;
  /** For `inconclusive`: about this many more observations per arm to detect `margin`. */
  moreObservationsNeeded: number | null;
  margin: number;
  /** Look index → running estimate, interval and p-value, for the history. */
  trace: SequentialResult['trace'];
}

function enough(s: UnitStatistic, minimum: MinimumEvidence): boolean {
  return s.sumM >= minimum.observationsPerArm && s.units >= minimum.unitsPerArm;
}

function toLook(arms: ArmsAtLook): Look {
  const c = ratioEstimate(arms.control);
  const t = ratioEstimate(arms.candidate);
  return {
    estimate: (t.mean ?? 0) - (c.mean ?? 0),
    variance: testVariance(arms.control) + testVariance(arms.candidate),
  };
}

export function judgeFamily(options: {
  comparisons: readonly ComparisonInput[];
  alpha?: number;
  minimum?: MinimumEvidence;
}): Judgement[] {
  const alpha = options.alpha ?? 0.05;
  const minimum = options.minimum ?? DEFAULT_MINIMUM_EVIDENCE;
  const prepared = options.comparisons.map((c) => {
    const current = c.looks[c.looks.length - 1];
    const eligible = c.looks.filter((l) => enough(l.control, minimum) && enough(l.candidate, minimum));
    const ready =
      current !== undefined && enough(current.control, minimum) && enough(current.candidate, minimum);
    const looks = ready ? eligible.map(toLook) : [];
    const spec = METRICS[c.metric];
    const first = ready ? sequentialTest({ looks, tauSquared: spec.tauSquared, alpha }) : null;
    return { input: c, current, looks, spec, pValue: first?.pValue ?? null };
  });
  const adjusted = holmAdjust(prepared.map((p) => p.pValue));
  const familySize = adjusted.filter((p) => p !== null).length;
  return prepared.map((p, i): Judgement => {
    const control = p.current?.control;
    const candidate = p.current?.candidate;
    const base = {
      candidate: p.input.candidate,
      metric: p.input.metric,
      n: { control: control?.sumM ?? 0, candidate: candidate?.sumM ?? 0 },
      units: { control: control?.units ?? 0, candidate: candidate?.units ?? 0 },
      rates: {
        control: control ? ratioEstimate(control).mean : null,
        candidate: candidate ? ratioEstimate(candidate).mean : null,
      },
      margin: p.spec.margin,
    };
    const pAdj = adjusted[i] ?? null;
    if (p.pValue === null || pAdj === null || !control || !candidate) {
      return {
        ...base,
        estimate:
          base.rates.candidate !== null && base.rates.control !== null
            ? base.rates.candidate - base.rates.control
            : null,
        ci: null,
        pValue: null,
        pValueAdjusted: null,
        verdict: 'insufficient_data',
        noDifferenceLargerThan: null,
        moreObservationsNeeded: null,
        trace: [],
      };
    }
    const simultaneousAlpha = alpha / Math.max(1, familySize);
    const result = sequentialTest({
      looks: p.looks,
      tauSquared: p.spec.tauSquared,
      alpha: simultaneousAlpha,
    })!;
    let verdict: Verdict;
    let noDifferenceLargerThan: number | null = null;
    let moreObservationsNeeded: number | null = null;
    if (pAdj < alpha) {
      verdict = result.estimate > 0 === p.spec.higherIsBetter ? 'better' : 'worse';
    } else if (result.ci[0] > -p.spec.margin && result.ci[1] < p.spec.margin) {
      verdict = 'no_difference';
      noDifferenceLargerThan = Math.max(Math.abs(result.ci[0]), Math.abs(result.ci[1]));
    } else {
      verdict = 'inconclusive';
      moreObservationsNeeded = moreObservationsPerArm({
        control: { observations: control.sumM, variance: testVariance(control) },
        candidate: { observations: candidate.sumM, variance: testVariance(candidate) },
        detect: p.spec.margin,
        tauSquared: p.spec.tauSquared,
        alpha: simultaneousAlpha,
      });
    }
    return {
      ...base,
      estimate: result.estimate,
      ci: result.ci,
      pValue: p.pValue,
      pValueAdjusted: pAdj,
      verdict,
      noDifferenceLargerThan,
      moreObservationsNeeded,
      trace: result.trace,
    };
  });
}
