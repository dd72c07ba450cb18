/** A prediction record as the `predictions` table stores it, and the `prediction_counts` groups a
 * batch of them adds to. Pure: used on the event loop (PostgreSQL) and in the SQLite writer thread. */
import type { PredictionRecord } from '../record';
import {
  HOUR_MS,
  latencyBucketOf,
  PREDICTION_TEXT_WIDTHS,
  type PredictionCountsTable,
  type PredictionsTable,
} from './schema';

export type PredictionRow = Omit<PredictionsTable, 'id'>;

/** The record's columns, text cut to the column widths: PostgreSQL refuses a whole batch for one
 * over-long value (a sticky header of 300 characters, say), and would refuse it on every retry. */
export function toRow(r: PredictionRecord): PredictionRow {
  const w = PREDICTION_TEXT_WIDTHS;
  return {
    request_id: cut(r.requestId, w.request_id),
    row: r.row,
    model: cut(r.model, w.model),
    version: cut(r.version, w.version),
    experiment_id: cutOrNull(r.experimentId, w.experiment_id),
    unit: cutOrNull(r.unit, w.unit),
    route: cut(r.route, w.route),
    reason: r.reason,
    status: r.status,
    ok: r.ok ? 1 : 0,
    latency_ms: r.latencyMs,
    latency_bucket: latencyBucketOf(r.latencyMs),
    predicted_class: cutOrNull(r.predictedClass, w.predicted_class),
    confidence: r.confidence,
    created_at: Math.round(r.at),
  };
}

/** The batch's rows grouped as prediction_counts keys them; the keys are distinct, as PostgreSQL's
 * ON CONFLICT requires of one statement. */
export function countsOf(rows: readonly PredictionRow[]): PredictionCountsTable[] {
  const counts = new Map<string, PredictionCountsTable>();
  for (const r of rows) {
    const hour = r.created_at - (r.created_at % HOUR_MS);
    const experimentId = r.experiment_id ?? '';
    const key = `${r.model}\u0000${experimentId}\u0000${r.version}\u0000${r.reason}\u0000${r.ok}\u0000${r.latency_bucket}\u0000${hour}`;
    let c = counts.get(key);
    if (!c) {
      c = {
        model: r.model,
        experiment_id: experimentId,
        version: r.version,
        reason: r.reason,
        ok: r.ok,
        latency_bucket: r.latency_bucket,
        hour,
        requests: 0,
        rows: 0,
      };
      counts.set(key, c);
    }
    c.rows++;
    if (r.row === 0) c.requests++;
  }
  return [...counts.values()];
}

/** PostgreSQL counts characters, never more than the UTF-16 units cut here, so the result fits.
 * Its text types cannot hold NUL at all (a `"user_id": "a\u0000b"` would fail the whole batch), so
 * NUL becomes U+FFFD, as an invalid byte does in UTF-8 decoding. */
function cut(text: string, width: number): string {
  const fitted = text.length > width ? text.slice(0, width) : text;
  return fitted.includes('\u0000') ? fitted.replaceAll('\u0000', '\ufffd') : fitted;
}

function cutOrNull(text: string | null, width: number): string | null {
  return text === null ? null : cut(text, width);
}
