/** The experiment report: per-version figures, each compared with the control, and a one-line
 * verdict per version. Pure: the inputs come from the evidence store. */
import { bucketQuantile } from '../../tracking/stats/bucket-quantile';
import {
  mannWhitneyGrouped,
  mannWhitneyU,
  type RankTest,
  twoProportionZTest,
  wilsonInterval,
} from './statistics';

/** Latency either as raw samples (this gateway) or as histogram buckets (Prometheus, summed over
 * replicas); `upperBoundsMs` are the buckets' `le` in ms, ascending, ending with Infinity. */
export type LatencyData =
  | { kind: 'samples'; ms: number[] }
  | { kind: 'buckets'; upperBoundsMs: number[]; counts: number[] };

export interface VersionStats {
  version: string;
  requests: number;
  errors: number;
  labelled: number;
  correct: number;
  latency: LatencyData;
  drift: DriftSummary | null;
}

export interface DriftSummary {
  psiMax: number | null;
  psiMean: number | null;
  predictionPsi: number | null;
}

export interface Comparison {
  /** Percentage points, this version minus the control. */
  differencePoints: number;
  p: number;
  significant: boolean;
}

export interface VersionReport {
  version: string;
  weightPercent: number | null;
  control: boolean;
  requests: number;
  /** Share of the model's requests this version answered (0..1). */
  share: number;
  errors: number;
  errorRate: number | null;
  latencyMs: { p50: number | null; p95: number | null; p99: number | null };
  accuracy: { labelled: number; correct: number; rate: number | null; ci95: [number, number] | null };
  drift: DriftSummary | null;
  vsControl: {
    accuracy: Comparison | null;
    errorRate: Comparison | null;
    latency: { u: number; p: number; significant: boolean; medianDifferenceMs: number | null } | null;
  } | null;
  verdict: string;
}

export interface ExperimentReport {
  model: string;
  revision: number;
  /** When the oldest stored prediction of the model (or experiment) was made, ISO 8601. */
  since: string;
  source: 'store';
  control: string | null;
  alpha: number;
  requests: number;
  versions: VersionReport[];
  summary: string;
}

export interface ReportInput {
  model: string;
  revision: number;
  since: number;
  source: ExperimentReport['source'];
  /** Configured weights by version (policy variants), in policy order. */
  weights: { version: string; weight: number }[];
  control: string | null;
  stats: VersionStats[];
  alpha?: number;
}

/** The control: the `stable` alias when it points at a variant, else the first variant. */
export function pickControl(
  variants: readonly { version: string }[],
  aliases: Readonly<Record<string, string>>,
): string | null {
  const stable = aliases.stable;
  if (stable && variants.some((v) => v.version === stable)) return stable;
  return variants[0]?.version ?? null;
}

export function buildReport(input: ReportInput): ExperimentReport {
  const alpha = input.alpha ?? 0.05;
  const byVersion = new Map(input.stats.map((s) => [s.version, s]));
  const order = [
    ...input.weights.map((w) => w.version),
    ...input.stats.map((s) => s.version).filter((v) => !input.weights.some((w) => w.version === v)),
  ];
  const empty = (version: string): VersionStats => ({
    version,
    requests: 0,
    errors: 0,
    labelled: 0,
    correct: 0,
    latency: { kind: 'samples', ms: [] },
    drift: null,
  });
  const all = order.map((v) => byVersion.get(v) ?? empty(v));
  const total = all.reduce((sum, s) => sum + s.requests, 0);
  const control = input.control ? (byVersion.get(input.control) ?? empty(input.control)) : undefined;

  const versions = all.map((s): VersionReport => {
    const isControl = s.version === input.control;
    const vsControl = control && !isControl ? compare(s, control, alpha) : null;
    const latency = latencyQuantiles(s.latency);
    return {
      version: s.version,
      weightPercent: input.weights.find((w) => w.version === s.version)?.weight ?? null,
      control: isControl,
      requests: s.requests,
      share: total > 0 ? s.requests / total : 0,
      errors: s.errors,
      errorRate: s.requests > 0 ? s.errors / s.requests : null,
      latencyMs: latency,
      accuracy: {
        labelled: s.labelled,
        correct: s.correct,
        rate: s.labelled > 0 ? s.correct / s.labelled : null,
        ci95: s.labelled > 0 ? wilsonInterval(s.correct, s.labelled) : null,
      },
      drift: s.drift,
      vsControl,
      verdict: verdictOf(s, isControl, vsControl),
    };
  });
  return {
    model: input.model,
    revision: input.revision,
    since: new Date(input.since).toISOString(),
    source: input.source,
    control: input.control,
    alpha,
    requests: total,
    versions,
    summary: versions.map((v) => v.verdict).join('\n'),
  };
}

function compare(
  s: VersionStats,
  control: VersionStats,
  alpha: number,
): NonNullable<VersionReport['vsControl']> {
  const proportion = (x1: number, n1: number, x2: number, n2: number): Comparison | null => {
    if (n1 === 0 || n2 === 0) return null;
    const t = twoProportionZTest(x1, n1, x2, n2);
    return { differencePoints: t.difference * 100, p: t.p, significant: t.p < alpha };
  };
  const rank = latencyTest(s.latency, control.latency);
  const mine = latencyQuantiles(s.latency).p50;
  const theirs = latencyQuantiles(control.latency).p50;
  return {
    accuracy: proportion(s.correct, s.labelled, control.correct, control.labelled),
    errorRate: proportion(s.errors, s.requests, control.errors, control.requests),
    latency: rank
      ? {
          u: rank.u,
          p: rank.p,
          significant: rank.p < alpha,
          medianDifferenceMs: mine !== null && theirs !== null ? mine - theirs : null,
        }
      : null,
  };
}

function latencyTest(a: LatencyData, b: LatencyData): RankTest | null {
  if (a.kind === 'samples' && b.kind === 'samples') {
    return a.ms.length > 0 && b.ms.length > 0 ? mannWhitneyU(a.ms, b.ms) : null;
  }
  if (a.kind === 'buckets' && b.kind === 'buckets') {
    // Align by bucket bound; versions scraped from one gateway build share the bounds.
    const bounds = [...new Set([...a.upperBoundsMs, ...b.upperBoundsMs])].sort((x, y) => x - y);
    const countAt = (d: typeof a, le: number) => d.counts[d.upperBoundsMs.indexOf(le)] ?? 0;
    const groups = bounds.map((le) => ({ a: countAt(a, le), b: countAt(b, le) }));
    const n = groups.reduce((sum, g) => sum + g.a + g.b, 0);
    return n > 0 && groups.some((g) => g.a > 0) && groups.some((g) => g.b > 0)
      ? mannWhitneyGrouped(groups)
      : null;
  }
  return null;
}

export function latencyQuantiles(d: LatencyData): VersionReport['latencyMs'] {
  const qs = [0.5, 0.95, 0.99] as const;
  let values: (number | null)[];
  if (d.kind === 'samples') {
    const sorted = [...d.ms].sort((x, y) => x - y);
    values = qs.map((q) => (sorted.length ? quantileSorted(sorted, q) : null));
  } else {
    values = qs.map((q) => bucketQuantile(q, d.upperBoundsMs, d.counts));
  }
  const [p50, p95, p99] = values.map((v) => (v === null ? null : Math.round(v * 100) / 100));
  return { p50: p50 ?? null, p95: p95 ?? null, p99: p99 ?? null };
}

/** Type-7 quantile (numpy's and R's default) of ascending values. */
function quantileSorted(sorted: readonly number[], q: number): number {
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo]! + (h - lo) * (sorted[hi]! - sorted[lo]!);
}

const formatP = (p: number) => (p < 0.001 ? 'p < 0.001' : `p = ${p.toFixed(3)}`);
const signed = (x: number, digits = 1) => `${x >= 0 ? '+' : ''}${x.toFixed(digits)}`;

function verdictOf(s: VersionStats, isControl: boolean, vs: VersionReport['vsControl']): string {
  const name = `v${s.version}`;
  if (isControl) return `${name}: control`;
  if (!vs) return `${name}: no control to compare with`;
  const parts: string[] = [];
  if (!vs.accuracy) parts.push('accuracy unknown (no feedback yet)');
  else if (vs.accuracy.significant) {
    parts.push(`accuracy ${signed(vs.accuracy.differencePoints)} points, ${formatP(vs.accuracy.p)}`);
  } else parts.push(`accuracy no different (${formatP(vs.accuracy.p)})`);
  if (vs.errorRate?.significant) {
    parts.push(`error rate ${signed(vs.errorRate.differencePoints)} points, ${formatP(vs.errorRate.p)}`);
  } else if (vs.errorRate) parts.push('error rate no different');
  if (!vs.latency) parts.push('latency unknown');
  else if (vs.latency.significant) {
    const median = vs.latency.medianDifferenceMs;
    const direction = median === null ? 'different' : median > 0 ? 'slower' : 'faster';
    const by = median === null ? '' : ` (median ${signed(median)} ms)`;
    parts.push(`latency ${direction}${by}, ${formatP(vs.latency.p)}`);
  } else parts.push('latency no different');
  return `${name}: ${parts.join('; ')}`;
}
