/** Numbers as the console prints them: always with their unit, and sample sizes beside rates, so a
 * 100 % accuracy on 3 rows never reads like one on 3 000. Pure, locale-fixed (en) for stable tests. */

const integer = new Intl.NumberFormat('en', { maximumFractionDigits: 0 });

export const DASH = '—';

const missing = (x: number | null | undefined): x is null | undefined =>
  x === null || x === undefined || !Number.isFinite(x);

export function formatCount(n: number | null | undefined): string {
  return missing(n) ? DASH : integer.format(n);
}

/** A share in 0..1 as a percentage, e.g. 0.9734 → "97.3 %". */
export function formatShare(x: number | null | undefined, digits = 1): string {
  return missing(x) ? DASH : `${(x * 100).toFixed(digits)} %`;
}

/** A rate with its denominator: "97.3 % of 1,204". */
export function formatRate(numerator: number, denominator: number): string {
  if (denominator <= 0) return `${DASH} (no rows)`;
  return `${formatShare(numerator / denominator)} of ${formatCount(denominator)}`;
}

export function formatMs(ms: number | null | undefined): string {
  if (missing(ms)) return DASH;
  if (ms >= 10_000) return `${(ms / 1000).toFixed(1)} s`;
  return ms >= 100 ? `${ms.toFixed(0)} ms` : `${ms.toFixed(ms >= 10 ? 1 : 2)} ms`;
}

/** A duration in seconds as "4 min 10 s", "2 h 5 min", "38 s". */
export function formatDuration(seconds: number | null | undefined): string {
  if (missing(seconds)) return DASH;
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min${s % 60 ? ` ${s % 60} s` : ''}`;
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return `${h} h${m ? ` ${m} min` : ''}`;
}

/** How long ago, from two epoch-ms instants: "12 s ago", "3 min ago". */
export function formatAgo(thenMs: number, nowMs: number): string {
  const s = Math.round((nowMs - thenMs) / 1000);
  if (s < 1) return 'just now';
  return `${formatDuration(s)} ago`;
}

/** ISO timestamp as "2026-12-02 01:02:03 UTC": unambiguous for people in different zones. */
export function formatTime(iso: string | number | null | undefined): string {
  if (iso === null || iso === undefined) return DASH;
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return `${d.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

export function formatP(p: number | null | undefined): string {
  if (missing(p)) return DASH;
  if (p < 0.001) return 'p < 0.001';
  return `p = ${p.toFixed(p < 0.01 ? 4 : 3)}`;
}

export function formatNumber(x: number | null | undefined, digits = 3): string {
  return missing(x) ? DASH : x.toFixed(digits);
}

/** Metrics the report compares, with how their difference is read. */
export type Metric = 'accuracy' | 'error_rate' | 'latency_p95' | 'latency_p50' | 'shadow_agreement' | string;

const POINT_METRICS = new Set(['accuracy', 'error_rate', 'shadow_agreement']);

export function metricLabel(metric: Metric): string {
  switch (metric) {
    case 'accuracy':
      return 'Accuracy';
    case 'error_rate':
      return 'Error rate';
    case 'latency_p95':
      return 'Latency p95';
    case 'latency_p50':
      return 'Latency p50';
    case 'shadow_agreement':
      return 'Shadow agreement';
    default:
      return metric.replace(/_/g, ' ');
  }
}

/** The unit a metric's difference is shown in: percentage points for shares, ms for latency. */
export function metricUnit(metric: Metric): 'points' | 'ms' | '' {
  if (POINT_METRICS.has(metric)) return 'points';
  if (metric.startsWith('latency')) return 'ms';
  return '';
}

/** A difference (candidate − control) in its metric's unit, signed: "+2.1 points", "−3.40 ms". */
export function formatDifference(metric: Metric, estimate: number | null | undefined): string {
  if (missing(estimate)) return DASH;
  const unit = metricUnit(metric);
  const value = unit === 'points' ? estimate * 100 : estimate;
  const digits = unit === 'points' ? 1 : unit === 'ms' ? 2 : 3;
  const sign = value > 0 ? '+' : value < 0 ? '−' : '±';
  return `${sign}${Math.abs(value).toFixed(digits)}${unit ? ` ${unit}` : ''}`;
}

export function formatInterval(metric: Metric, ci: readonly [number, number] | null | undefined): string {
  if (!ci) return DASH;
  return `${formatDifference(metric, ci[0])} to ${formatDifference(metric, ci[1])}`;
}

/** The scale a metric's difference is charted on (points for shares, ms for latency). */
export function chartValue(metric: Metric, x: number): number {
  return metricUnit(metric) === 'points' ? x * 100 : x;
}
