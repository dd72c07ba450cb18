/** GET /predictions and `modelgate predictions`: stored prediction rows, newest first, with their
 * feedback, in pages. The cursor is the (created_at, id) of the last row of a page; every filter is a
 * bound parameter, never spliced into SQL. */
import type { Kysely } from 'kysely';
import type { StoredPrediction } from './prediction-wire';
import type { EvidenceSchema } from './store/schema';

export interface PredictionFilter {
  model?: string | undefined;
  version?: string | undefined;
  /** Epoch ms, inclusive. */
  since?: number | undefined;
  /** Epoch ms, exclusive. */
  until?: number | undefined;
  limit: number;
  cursor?: { createdAt: number; id: number } | undefined;
  /** Only rows whose label matched the prediction, did not, or has not come yet. */
  feedback?: FeedbackFilter | undefined;
}

export const FEEDBACK_FILTERS = ['correct', 'incorrect', 'unlabelled'] as const;
export type FeedbackFilter = (typeof FEEDBACK_FILTERS)[number];

export interface PredictionPage {
  predictions: StoredPrediction[];
  /** Pass as `cursor` for the next (older) page; null on the last page. */
  next_cursor: string | null;
}

export function encodeCursor(createdAt: number, id: number): string {
  return Buffer.from(`${createdAt}.${id}`, 'utf8').toString('base64url');
}

/** The cursor's parts, or undefined when it is not one this store handed out. */
export function decodeCursor(cursor: string): { createdAt: number; id: number } | undefined {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(cursor)) return undefined;
  const m = /^(\d{1,15})\.(\d{1,15})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  return m ? { createdAt: Number(m[1]), id: Number(m[2]) } : undefined;
}

export async function listPredictions(
  db: Kysely<EvidenceSchema>,
  filter: PredictionFilter,
): Promise<PredictionPage> {
  let q = db
    .selectFrom('predictions as p')
    .leftJoin('feedback as f', (j) =>
      j.onRef('f.request_id', '=', 'p.request_id').onRef('f.row', '=', 'p.row'),
    )
    .select([
      'p.id',
      'p.request_id',
      'p.row',
      'p.model',
      'p.version',
      'p.experiment_id',
      'p.unit',
      'p.route',
      'p.reason',
      'p.status',
      'p.ok',
      'p.latency_ms',
      'p.predicted_class',
      'p.confidence',
      'p.created_at',
      'f.label',
      'f.correct',
    ]);
  if (filter.model !== undefined) q = q.where('p.model', '=', filter.model);
  if (filter.version !== undefined) q = q.where('p.version', '=', filter.version);
  if (filter.since !== undefined) q = q.where('p.created_at', '>=', filter.since);
  if (filter.until !== undefined) q = q.where('p.created_at', '<', filter.until);
  if (filter.feedback === 'unlabelled') q = q.where('f.request_id', 'is', null);
  else if (filter.feedback !== undefined)
    q = q.where('f.correct', '=', filter.feedback === 'correct' ? 1 : 0);
  const cursor = filter.cursor;
  if (cursor) {
    q = q.where((eb) =>
      eb.or([
        eb('p.created_at', '<', cursor.createdAt),
        eb.and([eb('p.created_at', '=', cursor.createdAt), eb('p.id', '<', cursor.id)]),
      ]),
    );
  }
  const rows = await q
    .orderBy('p.created_at', 'desc')
    .orderBy('p.id', 'desc')
    .limit(filter.limit + 1)
    .execute();
  const page = rows.slice(0, filter.limit);
  const last = page[page.length - 1];
  return {
    predictions: page.map((r) => ({
      id: Number(r.id),
      request_id: r.request_id,
      row: r.row,
      model: r.model,
      version: r.version,
      experiment_id: r.experiment_id,
      unit: r.unit,
      route: r.route,
      reason: r.reason,
      status: r.status,
      ok: Number(r.ok) === 1,
      latency_ms: r.latency_ms,
      predicted_class: r.predicted_class,
      confidence: r.confidence,
      created_at: new Date(Number(r.created_at)).toISOString(),
      label: r.label ?? null,
      correct: r.correct === null || r.correct === undefined ? null : Number(r.correct) === 1,
    })),
    next_cursor:
      rows.length > filter.limit && last ? encodeCursor(Number(last.created_at), Number(last.id)) : null,
  };
}
