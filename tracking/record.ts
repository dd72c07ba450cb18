/** One answered (or failed) prediction row as the gateway hands it to the store. */
import type { RouteReason } from './store/schema';

export interface PredictionRecord {
  requestId: string;
  row: number;
  model: string;
  version: string;
  experimentId: string | null;
  unit: string | null;
  route: string;
  reason: RouteReason;
  status: number;
  ok: boolean;
  latencyMs: number;
  predictedClass: string | null;
  confidence: number | null;
  /** Epoch ms. */
  at: number;
}
