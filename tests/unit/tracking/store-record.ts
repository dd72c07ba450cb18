/** A prediction record as the gateway hands it to the evidence store, for the store's tests. */
import type { PredictionRecord } from '../../../tracking/record';

export function predictionRecord(over: Partial<PredictionRecord> = {}): PredictionRecord {
  return {
    requestId: 'r1',
    row: 0,
    model: 'pets',
    version: '1',
    experimentId: null,
    unit: null,
    route: '/predict',
    reason: 'split',
    status: 200,
    ok: true,
    latencyMs: 12,
    predictedClass: 'cat',
    confidence: 0.9,
    at: 1_700_000_000_000,
    ...over,
  };
}
