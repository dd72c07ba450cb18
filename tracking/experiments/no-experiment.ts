/** GET /experiments/:model when the model runs no experiment: operational counts per version and
 * how to start one, but no comparison. Pure: the counts come from the evidence store.
 *
 * Why no verdict here, not even an "implicit experiment" over the current policy: a comparison is
 * valid only over a population assigned at random under a known split from a known start. Without a
 * stored experiment the rows span earlier policies, pins, labels and failovers, the start is
 * wherever retention cut the data, and the control would be whatever the policy says today; any
 * p-value over that answers a question nobody posed (the defects issue 11 lists). So the report
 * path stays one: verdicts come only from tracking/experiments/report.ts, over a started
 * experiment, and this answer says how to get one. */

import type { VersionEvidence } from '../report-queries';
import { bucketQuantile } from '../stats/bucket-quantile';

export interface OperationalVersion {
  version: string;
  /** Configured weight, or null for a version that has stored rows but is no longer a variant. */
  weight_percent: number | null;
  requests: number;
  rows: number;
  errors: number;
  error_rate: number | null;
  labelled: number;
  correct: number;
  accuracy: number | null;
  latency_p50_ms: number | null;
  latency_p95_ms: number | null;
  drift_psi_max: number | null;
}

export interface NoExperimentReport {
  model: string;
  experiment: null;
  /** What is shown and what to do, in words. */
  message: string;
  /** The command that starts an experiment with the default control, or null when the policy has
   * no second variant to compare. */
  start_with: string | null;
  /** Oldest stored prediction of the model (ISO 8601), null when none is stored. */
  since: string | null;
  versions: OperationalVersion[];
  summary: string;
}

const round = (x: number | null, digits = 2) =>
  x === null ? null : Math.round(x * 10 ** digits) / 10 ** digits;

export function noExperimentReport(input: {
  model: string;
  /** Policy variants in policy order. */
  weights: readonly { version: string; weight: number }[];
  /** The control an experiment started now would get (tracking/experiments/experiment.ts
   * defaultControl), or null when it could not pick one. */
  control: string | null;
  evidence: readonly VersionEvidence[];
  since: number | undefined;
  driftPsiMax: ReadonlyMap<string, number | null>;
}): NoExperimentReport {
  const { model } = input;
  const order = [
    ...input.weights.map((w) => w.version),
    ...input.evidence.map((e) => e.version).filter((v) => !input.weights.some((w) => w.version === v)),
  ];
  const versions = order.map((version): OperationalVersion => {
    const e = input.evidence.find((x) => x.version === version);
    const requests = e?.requests ?? 0;
    const labelled = e?.labelled ?? 0;
    const counts = e?.latency.counts ?? [];
    const bounds = e?.latency.upperBoundsMs ?? [];
    return {
      version,
      weight_percent: input.weights.find((w) => w.version === version)?.weight ?? null,
      requests,
      rows: e?.rows ?? 0,
      errors: e?.errors ?? 0,
      error_rate: requests > 0 ? (e?.errors ?? 0) / requests : null,
      labelled,
      correct: e?.correct ?? 0,
      accuracy: labelled > 0 ? (e?.correct ?? 0) / labelled : null,
      latency_p50_ms: round(bucketQuantile(0.5, bounds, counts)),
      latency_p95_ms: round(bucketQuantile(0.95, bounds, counts)),
      drift_psi_max: round(input.driftPsiMax.get(version) ?? null, 4),
    };
  });
  const candidates = input.weights.map((w) => w.version).filter((v) => v !== input.control);
  const startWith =
    input.control !== null && candidates.length > 0
      ? `modelgate experiment start ${model} --control ${input.control} --candidates ${candidates.join(',')}`
      : null;
  let how: string;
  if (startWith !== null)
    how = `start one with \`${startWith}\` (POST /models/${model}/experiments on the registry)`;
  else if (input.control === null)
    how = `start one naming the control (\`modelgate experiment start ${model} --control V --candidates W\`): the policy has no stable alias and no single largest weight`;
  else how = `add a second variant to the policy (\`modelgate traffic set ${model} ...\`), then start one`;
  const message = `no experiment is running on ${model}: below are operational counts per version since the oldest stored prediction, with no comparison between versions; to compare them with always-valid verdicts, ${how}`;
  return {
    model,
    experiment: null,
    message,
    start_with: startWith,
    since: input.since === undefined ? null : new Date(input.since).toISOString(),
    versions,
    summary: message,
  };
}
