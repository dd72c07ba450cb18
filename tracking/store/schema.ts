/** Row types of the evidence store, one interface per table, joined in `EvidenceSchema` (atproto's
 * `database-schema.ts` layout). Times are epoch milliseconds in BIGINT columns, read back as numbers. */
import type { Generated } from 'kysely';

/** How the answering version was chosen; `shadow` rows are copies the caller never saw. */
export type RouteReason = 'split' | 'sticky' | 'pin' | 'label' | 'failover' | 'shadow';

export interface PredictionsTable {
  id: Generated<number>;
  request_id: string;
  /** Row index inside a batch; 0 for a single prediction (and for a failed request). */
  row: number;
  model: string;
  version: string;
  experiment_id: string | null;
  /** Assignment unit: the sticky key's value, else user_id, else null. */
  unit: string | null;
  route: string;
  reason: RouteReason;
  status: number;
  /** 1 answered, 0 failed (5xx / upstream failure); integers so both engines sum them alike. */
  ok: number;
  latency_ms: number;
  /** Index into LATENCY_BUCKETS_MS, so the report groups latencies with an index-only scan. */
  latency_bucket: number;
  predicted_class: string | null;
  confidence: number | null;
  created_at: number;
}

export interface FeedbackTable {
  request_id: string;
  row: number;
  label: string;
  /** 1 when the label equals the served prediction's class. */
  correct: number;
  /** Copied from the joined prediction so the report never joins the two big tables. */
  model: string;
  version: string;
  experiment_id: string | null;
  predicted_at: number;
  created_at: number;
}

/** An experiment (tracking/experiments/repository.ts); JSON columns are text. */
export interface ExperimentsTable {
  id: string;
  model: string;
  control: string;
  /** JSON array of versions. */
  candidates: string;
  unit: 'request' | 'user';
  /** JSON array of metric names. */
  metrics: string;
  status: 'running' | 'stopped';
  /** JSON array of {from, weights}: the configured weights over time, for the SRM check. */
  weights: string;
  started_at: number;
  ended_at: number | null;
  end_reason: string | null;
  created_by: string | null;
}

/** Served predictions counted per hour and group (written with the rows, in one transaction). */
export interface PredictionCountsTable {
  model: string;
  /** '' when the prediction belonged to no experiment. */
  experiment_id: string;
  version: string;
  reason: RouteReason;
  ok: number;
  latency_bucket: number;
  /** Epoch ms of the hour's start. */
  hour: number;
  /** Row-0 records: one per request. */
  requests: number;
  rows: number;
}

/** The online feature store's embedded backend (tracking/features/sql-store.ts). */
export interface FeaturesTable {
  model: string;
  /** The entity key's value, e.g. "p-17" for penguin_id. */
  entity: string;
  /** JSON object of raw named values. */
  feature_values: string;
  updated_at: number;
}

export interface EvidenceSchema {
  predictions: PredictionsTable;
  feedback: FeedbackTable;
  experiments: ExperimentsTable;
  prediction_counts: PredictionCountsTable;
  features: FeaturesTable;
}

/** Widths of the predictions table's varchar columns, as 0001-evidence.ts made them. PostgreSQL
 * refuses a longer value and with it the whole batch, which would then be retried for ever; SQLite
 * would keep it whole. The writer cuts text to these first, so both engines store the same. */
export const PREDICTION_TEXT_WIDTHS = {
  request_id: 200,
  model: 128,
  version: 128,
  experiment_id: 128,
  unit: 256,
  route: 64,
  predicted_class: 256,
} as const;

export const HOUR_MS = 3_600_000;

/** Upper bounds (ms) of the latency buckets; the last is Infinity. Fine enough that interpolated
 * p50/p95 stay within a few percent of the exact quantile for service latencies. */
export const LATENCY_BUCKETS_MS: readonly number[] = [
  0.5,
  1,
  1.5,
  2,
  3,
  4,
  5,
  6,
  8,
  10,
  12,
  15,
  20,
  25,
  30,
  40,
  50,
  65,
  80,
  100,
  125,
  150,
  200,
  250,
  300,
  400,
  500,
  650,
  800,
  1000,
  1500,
  2000,
  3000,
  5000,
  10000,
  30000,
  Number.POSITIVE_INFINITY,
];

export function latencyBucketOf(ms: number): number {
  let lo = 0;
  let hi = LATENCY_BUCKETS_MS.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (ms <= LATENCY_BUCKETS_MS[mid]!) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}
