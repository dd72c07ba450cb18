/** Joins a ground-truth label to a recorded prediction, in the database, whichever gateway answered
 * it and however late (up to the retention). The label is committed before the caller hears 201;
 * the primary key (request_id, row) makes a second label a conflict even when two gateways race. */
import type { Kysely } from 'kysely';
import type { EvidenceSchema } from './store/schema';

export interface FeedbackInput {
  requestId: string;
  /** Row of a batch; absent: row 0, or the `:N` suffix of a batch answer's row id. */
  row?: number | undefined;
  label: string;
  now: number;
  /** Predictions older than this (epoch ms) are expired. */
  expiredBefore: number;
  /** The classes a version predicts; a label outside a non-empty list is refused unwritten. */
  labelsOf?(model: string, version: string): readonly string[];
}

export interface JoinedPrediction {
  requestId: string;
  row: number;
  model: string;
  version: string;
  predictedClass: string;
  predictedAt: number;
}

export type FeedbackOutcome =
  | { kind: 'created'; prediction: JoinedPrediction; label: string; correct: boolean }
  | { kind: 'repeated'; prediction: JoinedPrediction; label: string; correct: boolean }
  | { kind: 'bad_label'; prediction: JoinedPrediction; labels: readonly string[] }
  | { kind: 'conflict'; prediction: JoinedPrediction; existingLabel: string }
  | { kind: 'unknown'; requestId: string; row: number }
  | { kind: 'expired'; prediction: JoinedPrediction };

/** The served (not shadow) answered prediction for an id and row, newest if the id was reused. */
export async function findPrediction(
  db: Kysely<EvidenceSchema>,
  requestId: string,
  row: number,
): Promise<(JoinedPrediction & { experimentId: string | null }) | undefined> {
  const found = await db
    .selectFrom('predictions')
    .select(['request_id', 'row', 'model', 'version', 'predicted_class', 'created_at', 'experiment_id'])
    .where('request_id', '=', requestId)
    .where('row', '=', row)
    .where('reason', '<>', 'shadow')
    .where('ok', '=', 1)
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
  if (!found || found.predicted_class === null) return undefined;
  return {
    requestId: found.request_id,
    row: found.row,
    model: found.model,
    version: found.version,
    predictedClass: found.predicted_class,
    predictedAt: Number(found.created_at),
    experimentId: found.experiment_id,
  };
}

/** The (request id, row) pairs an id may name: as given (row or 0), and a batch answer's `ID:N`. */
export function candidateKeys(
  requestId: string,
  row: number | undefined,
): { requestId: string; row: number }[] {
  if (row !== undefined) return [{ requestId, row }];
  const keys = [{ requestId, row: 0 }];
  const m = /^(.+):(\d{1,6})$/.exec(requestId);
  if (m) keys.push({ requestId: m[1]!, row: Number(m[2]) });
  return keys;
}

export async function recordFeedback(
  db: Kysely<EvidenceSchema>,
  input: FeedbackInput,
): Promise<FeedbackOutcome> {
  let prediction: Awaited<ReturnType<typeof findPrediction>>;
  for (const key of candidateKeys(input.requestId, input.row)) {
    prediction = await findPrediction(db, key.requestId, key.row);
    if (prediction) break;
  }
  if (!prediction) return { kind: 'unknown', requestId: input.requestId, row: input.row ?? 0 };
  const { experimentId, ...joined } = prediction;
  if (joined.predictedAt < input.expiredBefore) return { kind: 'expired', prediction: joined };
  const labels = input.labelsOf?.(joined.model, joined.version) ?? [];
  if (labels.length > 0 && !labels.includes(input.label))
    return { kind: 'bad_label', prediction: joined, labels };
  const correct = input.label === joined.predictedClass;
  const inserted = await db
    .insertInto('feedback')
    .values({
      request_id: joined.requestId,
      row: joined.row,
      label: input.label,
      correct: correct ? 1 : 0,
      model: joined.model,
      version: joined.version,
      experiment_id: experimentId,
      predicted_at: joined.predictedAt,
      created_at: Math.round(input.now),
    })
    .onConflict((oc) => oc.columns(['request_id', 'row']).doNothing())
    .executeTakeFirst();
  if (Number(inserted.numInsertedOrUpdatedRows ?? 0) > 0) {
    return { kind: 'created', prediction: joined, label: input.label, correct };
  }
  const existing = await db
    .selectFrom('feedback')
    .select(['label', 'correct'])
    .where('request_id', '=', joined.requestId)
    .where('row', '=', joined.row)
    .executeTakeFirstOrThrow();
  return existing.label === input.label
    ? { kind: 'repeated', prediction: joined, label: existing.label, correct: existing.correct === 1 }
    : { kind: 'conflict', prediction: joined, existingLabel: existing.label };
}
