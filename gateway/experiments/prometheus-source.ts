/** Experiment figures from Prometheus: summed over every gateway replica it scrapes, which a single
 * gateway's own tallies cannot be.
 *
 * Counts since the window start are `now - (value W ago)` per series, not `increase()`: a version
 * that starts taking traffic inside the window has series born inside it, and increase() cannot see
 * what they counted before their first scrape (with a fresh canary that is most of it). A series
 * absent W ago counts from zero; a counter reset (a gateway restart) inside the window is clamped to
 * zero for that series, undercounting rather than going negative. */
import { AppError } from '../../common/errors';
import type { DriftSummary, VersionStats } from './report';

interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}

export type FetchLike = (url: string, init?: { signal?: AbortSignal }) => Promise<Response>;

export async function queryPrometheus(
  baseUrl: string,
  promql: string,
  fetchImpl: FetchLike = fetch,
): Promise<Sample[]> {
  const url = `${baseUrl.replace(/\/$/, '')}/api/v1/query?query=${encodeURIComponent(promql)}`;
  let body: { status?: string; error?: string; data?: { resultType?: string; result?: Sample[] } };
  try {
    const res = await fetchImpl(url, { signal: AbortSignal.timeout(5_000) });
    body = (await res.json()) as typeof body;
  } catch (err) {
    throw new AppError(
      'upstream_error',
      `Prometheus at ${baseUrl} did not answer (${(err as Error).message}); check PROMETHEUS_URL`,
    );
  }
  if (body.status !== 'success' || body.data?.resultType !== 'vector') {
    throw new AppError(
      'upstream_error',
      `Prometheus rejected a report query: ${body.error ?? 'unexpected answer'}`,
      {
        query: promql,
      },
    );
  }
  return body.data.result ?? [];
}

/** How much a counter grew over the window, per series, summed by `by` (see the file comment). */
export function countSince(series: string, by: string, window: string): string {
  return `sum by (${by}) (clamp_min(${series} - ${series} offset ${window}, 0) or ${series})`;
}

export async function statsFromPrometheus(
  baseUrl: string,
  model: string,
  windowSeconds: number,
  fetchImpl: FetchLike = fetch,
): Promise<VersionStats[]> {
  const sel = `model="${model}"`;
  const w = `${Math.max(1, Math.round(windowSeconds))}s`;
  const q = (promql: string) => queryPrometheus(baseUrl, promql, fetchImpl);
  const [requests, feedback, buckets, psiMax, psiMean, predictionPsi] = await Promise.all([
    q(countSince(`modelgate_gateway_requests_total{${sel},version!="none"}`, 'version, status', w)),
    q(countSince(`modelgate_feedback_total{${sel}}`, 'version, correct', w)),
    q(
      countSince(
        `modelgate_gateway_request_duration_seconds_bucket{${sel},version!="none"}`,
        'version, le',
        w,
      ),
    ),
    q(`max by (version) (modelgate_drift_psi_max{${sel}})`),
    q(`max by (version) (modelgate_drift_psi_mean{${sel}})`),
    q(`max by (version) (modelgate_drift_prediction_psi{${sel}})`),
  ]);

  const stats = new Map<string, VersionStats & { cumulative: Map<number, number> }>();
  const of = (version: string) => {
    let s = stats.get(version);
    if (!s) {
      s = {
        version,
        requests: 0,
        errors: 0,
        labelled: 0,
        correct: 0,
        latency: { kind: 'buckets', upperBoundsMs: [], counts: [] },
        drift: null,
        cumulative: new Map(),
      };
      stats.set(version, s);
    }
    return s;
  };
  const num = (s: Sample) => Number(s.value[1]) || 0;

  for (const s of requests) {
    const v = of(s.metric.version ?? 'unknown');
    const n = Math.round(num(s));
    v.requests += n;
    if ((s.metric.status ?? '').startsWith('5')) v.errors += n;
  }
  for (const s of feedback) {
    const v = of(s.metric.version ?? 'unknown');
    const n = Math.round(num(s));
    v.labelled += n;
    if (s.metric.correct === 'true') v.correct += n;
  }
  for (const s of buckets) {
    const le = s.metric.le === '+Inf' ? Number.POSITIVE_INFINITY : Number(s.metric.le) * 1000;
    if (Number.isNaN(le)) continue;
    of(s.metric.version ?? 'unknown').cumulative.set(le, num(s));
  }
  const drift = (version: string): DriftSummary | null => {
    const pick = (samples: Sample[]) => {
      const found = samples.find((s) => s.metric.version === version);
      return found ? num(found) : null;
    };
    const d = { psiMax: pick(psiMax), psiMean: pick(psiMean), predictionPsi: pick(predictionPsi) };
    return d.psiMax === null && d.predictionPsi === null ? null : d;
  };
  for (const s of [...psiMax, ...predictionPsi]) of(s.metric.version ?? 'unknown');

  return [...stats.values()].map(({ cumulative, ...s }) => {
    const bounds = [...cumulative.keys()].sort((a, b) => a - b);
    // Buckets are cumulative; the rank test wants how many fell in each.
    const counts = bounds.map((le, i) => {
      const here = cumulative.get(le) ?? 0;
      const before = i === 0 ? 0 : (cumulative.get(bounds[i - 1]!) ?? 0);
      return Math.max(0, Math.round(here - before));
    });
    return { ...s, latency: { kind: 'buckets', upperBoundsMs: bounds, counts }, drift: drift(s.version) };
  });
}
