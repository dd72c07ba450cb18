/** The per-version evidence an experiment report is computed from, straight from the database so
 * every gateway replica (and the registry, and the CLI) reads the same numbers. Predictions are read
 * from their hourly counts (`prediction_counts`, kept by the writer in the rows' transaction), labels
 * from `feedback` grouped in the order of its index: neither read grows with every prediction stored.
 *
 * Counting rules: a request is its row 0 (a failed request is recorded as one row, ok = 0); rows are
 * answered rows; latency is counted once per request (every row of a batch shares it); shadow copies
 * are not the served answer and are left out. */
import type { Kysely } from 'kysely';
import { type EvidenceSchema, LATENCY_BUCKETS_MS } from './store/schema';

export interface VersionEvidence {
  version: string;
  requests: number;
  rows: number;
  errors: number;
  labelled: number;
  correct: number;
  /** Answered requests per latency bucket; bounds are LATENCY_BUCKETS_MS (last is Infinity). */
  latency: { upperBoundsMs: readonly number[]; counts: number[] };
}

export interface EvidenceScope {
  model: string;
  /** Only predictions recorded under this experiment (the routing table's experiment id). */
  experimentId?: string | undefined;
}

export async function versionEvidence(
  db: Kysely<EvidenceSchema>,
  scope: EvidenceScope,
): Promise<VersionEvidence[]> {
  let predictions = db
    .selectFrom('prediction_counts')
    .select([
      'version',
      'ok',
      'latency_bucket',
      (eb) => eb.fn.sum<number>('rows').as('n'),
      (eb) => eb.fn.sum<number>('requests').as('requests'),
    ])
    .where('model', '=', scope.model)
    .where('reason', '<>', 'shadow');
  if (scope.experimentId !== undefined)
    predictions = predictions.where('experiment_id', '=', scope.experimentId);
  const grouped = await predictions.groupBy(['version', 'ok', 'latency_bucket']).execute();

  let labels = db
    .selectFrom('feedback')
    .select(['version', 'correct', (eb) => eb.fn.countAll<number>().as('n')]);
  labels =
    scope.experimentId === undefined
      ? labels.where('model', '=', scope.model)
      : labels.where('experiment_id', '=', scope.experimentId).where('model', '=', scope.model);
  const labelled = await labels.groupBy(['version', 'correct']).execute();

  const byVersion = new Map<string, VersionEvidence>();
  const get = (version: string) => {
    let v = byVersion.get(version);
    if (!v) {
      v = {
        version,
        requests: 0,
        rows: 0,
        errors: 0,
        labelled: 0,
        correct: 0,
        latency: { upperBoundsMs: LATENCY_BUCKETS_MS, counts: LATENCY_BUCKETS_MS.map(() => 0) },
      };
      byVersion.set(version, v);
    }
    return v;
  };
  for (const g of grouped) {
    const v = get(g.version);
    const n = Number(g.n);
    const requests = Number(g.requests);
    v.requests += requests;
    if (Number(g.ok) === 1) {
      v.rows += n;
      const bucket = Math.min(Number(g.latency_bucket), LATENCY_BUCKETS_MS.length - 1);
      v.latency.counts[bucket]! += requests;
    } else v.errors += requests;
  }
  for (const l of labelled) {
    const v = get(l.version);
    const n = Number(l.n);
    v.labelled += n;
    if (Number(l.correct) === 1) v.correct += n;
  }
  return [...byVersion.values()].sort((a, b) => a.version.localeCompare(b.version, 'en', { numeric: true }));
}

/** When the model's oldest stored prediction was made (epoch ms), or undefined if none is. */
export async function oldestPredictionAt(
  db: Kysely<EvidenceSchema>,
  model: string,
): Promise<number | undefined> {
  const row = await db
    .selectFrom('predictions')
    .select('created_at')
    .where('model', '=', model)
    .orderBy('created_at', 'asc')
    .limit(1)
    .executeTakeFirst();
  return row ? Number(row.created_at) : undefined;
}
