/** The experiment report (CONTRACTS.md "Experiments and the report"), computed from the evidence
 * store by one function that the gateway (GET /experiments/:model), the registry
 * (GET /models/:m/experiments/current/report) and the rollouts controller all call, so they answer
 * the same JSON. The SRM check comes first: when it fails, nothing below it can be trusted. */
import type { Kysely } from 'kysely';
import { versionEvidence } from '../report-queries';
import { bucketQuantile } from '../stats/bucket-quantile';
import { METRICS } from '../stats/metrics';
import { confidenceHalfWidth } from '../stats/msprt';
import { recommend } from '../stats/recommendation';
import { sampleRatioMismatchOverPeriods } from '../stats/srm';
import { EMPTY_STATISTIC } from '../stats/unit-statistic';
import { type ComparisonInput, judgeFamily, type MinimumEvidence } from '../stats/verdict';
import { describeJudgement } from '../stats/words';
import type { EvidenceSchema } from '../store/schema';
import { type ExperimentEvidence, experimentEvidence } from './evidence';
import { type Experiment, isAdaptive } from './experiment';

export interface ReportOptions {
  db: Kysely<EvidenceSchema>;
  experiment: Experiment;
  now: number;
  /** The grid of looks (default every 60 s of data, each counted 2 s after it closes). */
  lookEveryMs?: number;
  settleMs?: number;
  alpha?: number;
  minimum?: MinimumEvidence;
  /** Highest feature PSI of a version's instances, when the caller can ask them (the gateway). */
  driftOf?(version: string): Promise<number | null>;
}

export interface ReportArm {
  version: string;
  role: 'control' | 'candidate';
  requests: number;
  rows: number;
  errors: number;
  labelled: number;
  correct: number;
  units: number;
  latency_p50_ms: number | null;
  latency_p95_ms: number | null;
  drift_psi_max: number | null;
}

export interface ReportComparison {
  candidate: string;
  metric: string;
  estimate: number | null;
  ci: [number, number] | null;
  p_value: number | null;
  p_value_adjusted: number | null;
  n: { control: number; candidate: number };
  units: { control: number; candidate: number };
  verdict: string;
  more_rows_needed: number | null;
  text: string;
}

export interface ExperimentReport {
  model: string;
  experiment: {
    id: string;
    control: string;
    candidates: string[];
    unit: string;
    status: string;
    started_at: string;
    ended_at: string | null;
    end_reason: string | null;
  };
  srm: {
    ok: boolean;
    p_value: number;
    observed: Record<string, number>;
    expected_percent: Record<string, number>;
    text: string;
  };
  /** `adaptive` when a bandit sets the weights (issue 12): the warning then says what that does to
   * the estimates below. */
  allocation: { kind: 'fixed' | 'adaptive'; warning: string | null };
  arms: ReportArm[];
  comparisons: ReportComparison[];
  recommendation: { action: string; text: string };
  looks: {
    every_ms: number;
    closed: number;
    through: string;
    thresholds_ms: ExperimentEvidence['thresholdsMs'];
  };
  history: {
    at: string;
    candidate: string;
    metric: string;
    estimate: number;
    ci: [number, number];
    p_value: number;
  }[];
  /** One line per comparison plus the recommendation, for terminals. */
  summary: string;
}

/** Naive estimates under adaptive allocation are biased (Nie, Tian, Taylor & Zou, "Why adaptively
 * collected data have negative bias and how to correct for it", AISTATS 2018): an arm that drew
 * worse early is sampled less, so its early bad luck is never averaged out and its mean reads low. */
const ADAPTIVE_WARNING =
  'ADAPTIVE ALLOCATION: a bandit sets these weights from the outcomes so far, so the per-arm rates and differences below are biased (an arm that was unlucky early got less traffic and reads too low); read them as a ranking, not as effect sizes to quote, and confirm with a fixed-split experiment before relying on a number';

const round = (x: number | null, digits = 2) =>
  x === null ? null : Math.round(x * 10 ** digits) / 10 ** digits;

export async function experimentReport(options: ReportOptions): Promise<ExperimentReport> {
  const { db, experiment: e, now } = options;
  const lookEveryMs = options.lookEveryMs ?? 60_000;
  const alpha = options.alpha ?? 0.05;
  const evidence = await experimentEvidence(db, e, { lookEveryMs, settleMs: options.settleMs ?? 2_000, now });
  const totals = await versionEvidence(db, { model: e.model, experimentId: e.id });
  const versions = [e.control, ...e.candidates];

  // Only the experiment's arms: other variants of the policy are outside its comparison.
  const srmResult = sampleRatioMismatchOverPeriods({
    periods: evidence.assignments.map((p) => ({
      observed: Object.fromEntries(versions.map((v) => [v, p.observed[v] ?? 0])),
      weights: Object.fromEntries(versions.map((v) => [v, p.weights[v] ?? 0])),
    })),
  });
  const srmText = srmResult.ok
    ? `split as configured (SRM p = ${srmResult.pValue.toPrecision(2)})`
    : `SAMPLE RATIO MISMATCH: observed ${versions.map((v) => `v${v} ${srmResult.observed[v] ?? 0}`).join(', ')} against ${evidence.assignments.length > 1 ? `the weights of its ${evidence.assignments.length} weight periods, expected` : 'weights'} ${versions.map((v) => `${Math.round(srmResult.expectedPercent[v] ?? 0)}%`).join('/')} (p = ${srmResult.pValue.toExponential(1)}); fix the split before reading anything below`;

  const arms: ReportArm[] = await Promise.all(
    versions.map(async (version): Promise<ReportArm> => {
      const t = totals.find((x) => x.version === version);
      const counts = t?.latency.counts ?? [];
      const bounds = t?.latency.upperBoundsMs ?? [];
      return {
        version,
        role: version === e.control ? 'control' : 'candidate',
        requests: t?.requests ?? 0,
        rows: t?.rows ?? 0,
        errors: t?.errors ?? 0,
        labelled: t?.labelled ?? 0,
        correct: t?.correct ?? 0,
        units: evidence.units[version] ?? 0,
        latency_p50_ms: round(bucketQuantile(0.5, bounds, counts)),
        latency_p95_ms: round(bucketQuantile(0.95, bounds, counts)),
        drift_psi_max: options.driftOf ? round(await options.driftOf(version), 4) : null,
      };
    }),
  );

  const inputs: ComparisonInput[] = e.candidates.flatMap((candidate) =>
    e.metrics.map((metric): ComparisonInput => {
      const looks = (evidence.metrics[metric]?.looks ?? []).map((l) => ({
        control: l.byVersion.get(e.control) ?? EMPTY_STATISTIC,
        candidate: l.byVersion.get(candidate) ?? EMPTY_STATISTIC,
      }));
      return { candidate, metric, looks };
    }),
  );
  const judgements = judgeFamily({ comparisons: inputs, alpha, minimum: options.minimum });
  const lookTime = (index: number) =>
    new Date(Math.min(e.startedAt + (index + 1) * lookEveryMs, evidence.through)).toISOString();
  const comparisons: ReportComparison[] = judgements.map((j) => ({
    candidate: j.candidate,
    metric: j.metric,
    estimate: j.estimate,
    ci: j.ci,
    p_value: j.pValue,
    p_value_adjusted: j.pValueAdjusted,
    n: j.n,
    units: j.units,
    verdict: j.verdict,
    more_rows_needed: j.moreObservationsNeeded,
    text: describeJudgement({
      judgement: j,
      control: e.control,
      unit: e.unit,
      thresholdMs:
        j.metric === 'latency_p95' || j.metric === 'latency_p50' ? evidence.thresholdsMs[j.metric] : null,
    }),
  }));
  const history = judgements.flatMap((j) => {
    const looks = evidence.metrics[j.metric]?.looks ?? [];
    return j.trace.map((t) => ({
      at: lookTime(looks[t.index]?.index ?? 0),
      candidate: j.candidate,
      metric: j.metric,
      estimate: t.estimate,
      ci: t.ci,
      p_value: t.pValue,
    }));
  });

  // Shadow agreement: informational, outside the family (it is not a difference from the control).
  for (const candidate of e.candidates) {
    const s = evidence.shadow[candidate];
    if (!s || s.rows === 0) continue;
    const rate = s.agree / s.rows;
    const minimum = options.minimum?.observationsPerArm ?? 100;
    const variance = Math.max(rate * (1 - rate), 0.25 / s.rows) / s.rows;
    const h = confidenceHalfWidth({ variance, tauSquared: METRICS.accuracy.tauSquared, alpha });
    const ci: [number, number] = [Math.max(0, rate - h), Math.min(1, rate + h)];
    const enough = s.rows >= minimum;
    comparisons.push({
      candidate,
      metric: 'shadow_agreement',
      estimate: rate,
      ci: enough ? ci : null,
      p_value: null,
      p_value_adjusted: null,
      n: { control: s.rows, candidate: s.rows },
      units: { control: 0, candidate: 0 },
      verdict: !enough ? 'insufficient_data' : ci[0] >= 0.95 ? 'no_difference' : 'inconclusive',
      more_rows_needed: null,
      text: enough
        ? `v${candidate} agrees with the served answer on ${(rate * 100).toFixed(1)}% [${(ci[0] * 100).toFixed(1)}, ${(ci[1] * 100).toFixed(1)}] of ${s.rows.toLocaleString('en-US')} shadowed rows`
        : `v${candidate} shadow agreement: too little data (${s.rows} shadowed rows so far)`,
    });
  }

  const allocation: ExperimentReport['allocation'] = isAdaptive(e)
    ? {
        kind: 'adaptive',
        warning: ADAPTIVE_WARNING,
      }
    : { kind: 'fixed', warning: null };

  const recommendation = recommend({
    srm: { ok: srmResult.ok, pValue: srmResult.pValue },
    control: e.control,
    candidates: e.candidates,
    judgements,
  });
  return {
    model: e.model,
    experiment: {
      id: e.id,
      control: e.control,
      candidates: e.candidates,
      unit: e.unit,
      status: e.status,
      started_at: new Date(e.startedAt).toISOString(),
      ended_at: e.endedAt === null ? null : new Date(e.endedAt).toISOString(),
      end_reason: e.endReason,
    },
    srm: {
      ok: srmResult.ok,
      p_value: srmResult.pValue,
      observed: srmResult.observed,
      expected_percent: srmResult.expectedPercent,
      text: srmText,
    },
    allocation,
    arms,
    comparisons,
    recommendation,
    looks: {
      every_ms: lookEveryMs,
      closed: evidence.closedLooks,
      through: new Date(evidence.through).toISOString(),
      thresholds_ms: evidence.thresholdsMs,
    },
    history,
    summary: [
      srmText,
      ...(allocation.warning ? [allocation.warning] : []),
      ...comparisons.map((c) => c.text),
      `next: ${recommendation.text}`,
    ].join('\n'),
  };
}
