/** A stored prediction as GET /predictions answers it: the one definition the server and the console
 * share. No imports, so the browser bundle's type-check (console/tsconfig.json) can include it. */
export interface StoredPrediction {
  id: number;
  request_id: string;
  row: number;
  model: string;
  version: string;
  experiment_id: string | null;
  unit: string | null;
  route: string;
  reason: string;
  status: number;
  ok: boolean;
  latency_ms: number;
  predicted_class: string | null;
  confidence: number | null;
  created_at: string;
  label: string | null;
  correct: boolean | null;
}
