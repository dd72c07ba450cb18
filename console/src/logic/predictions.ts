/** The Predictions page's query string and CSV columns (every stored field, in the API's names). */

export const CSV_COLUMNS = [
  'created_at',
  'request_id',
  'row',
  'model',
  'version',
  'experiment_id',
  'unit',
  'route',
  'reason',
  'status',
  'ok',
  'latency_ms',
  'predicted_class',
  'confidence',
  'label',
  'correct',
] as const;

export type Outcome = '' | 'correct' | 'incorrect' | 'unlabelled';

export function predictionsQuery(filters: { version: string; outcome: Outcome; limit: number }): string {
  const q = new URLSearchParams();
  if (filters.version) q.set('version', filters.version);
  if (filters.outcome) q.set('feedback', filters.outcome);
  q.set('limit', String(filters.limit));
  return q.toString();
}
