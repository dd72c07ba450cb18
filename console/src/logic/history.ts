/** The experiment report's `history` as chart data: one chart per metric, x = time (epoch seconds),
 * and for each candidate its estimated difference with the always-valid interval's two bounds, on the
 * metric's display scale (points for shares, ms for latency). Candidates are aligned on the union
 * of timestamps, with null where a candidate has no point (uPlot leaves a gap). */
import { chartValue } from './format';

export interface HistoryPoint {
  at: string;
  candidate: string;
  metric: string;
  estimate: number | null;
  ci: [number, number] | null;
  p_value?: number | null;
}

export interface MetricSeries {
  metric: string;
  x: number[];
  candidates: {
    candidate: string;
    estimate: (number | null)[];
    low: (number | null)[];
    high: (number | null)[];
  }[];
}

export function metricsInHistory(history: readonly HistoryPoint[]): string[] {
  return [...new Set(history.map((h) => h.metric))];
}

export function historySeries(history: readonly HistoryPoint[], metric: string): MetricSeries {
  const points = history
    .filter((h) => h.metric === metric)
    .map((h) => ({ ...h, t: Math.floor(Date.parse(h.at) / 1000) }))
    .filter((h) => Number.isFinite(h.t));
  const x = [...new Set(points.map((p) => p.t))].sort((a, b) => a - b);
  const index = new Map(x.map((t, i) => [t, i]));
  const names = [...new Set(points.map((p) => p.candidate))].sort(
    new Intl.Collator('en', { numeric: true }).compare,
  );
  const candidates = names.map((candidate) => {
    const estimate: (number | null)[] = x.map(() => null);
    const low: (number | null)[] = x.map(() => null);
    const high: (number | null)[] = x.map(() => null);
    for (const p of points) {
      if (p.candidate !== candidate) continue;
      const i = index.get(p.t)!;
      const finite = (v: number | null | undefined) =>
        v === null || v === undefined || !Number.isFinite(v) ? null : chartValue(metric, v);
      estimate[i] = finite(p.estimate);
      low[i] = finite(p.ci?.[0]);
      high[i] = finite(p.ci?.[1]);
    }
    return { candidate, estimate, low, high };
  });
  return { metric, x, candidates };
}

/** How many plotted estimates a series holds (what the browser test counts as "the chart has points"). */
export function pointCount(series: MetricSeries): number {
  return series.candidates.reduce((n, c) => n + c.estimate.filter((v) => v !== null).length, 0);
}
