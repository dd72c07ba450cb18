/** The gateway's side of the feature store: one batched lookup per request, counted and timed,
 * and a store that cannot answer turned into a 503 with Retry-After (never a guessed value). */
import { Counter, Histogram, type Registry } from 'prom-client';
import { AppError } from '../../common/errors';
import { type FeatureStore, FeatureStoreUnavailable } from '../../tracking/features/store';
import type { FeatureLookup } from './rows';

const BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];

export interface FeatureLookupDeps {
  store: FeatureStore;
  registry: Registry;
  now(): number;
  retryAfterSeconds: number;
}

export function createFeatureLookup(deps: FeatureLookupDeps): FeatureLookup {
  const { store, now } = deps;
  const lookups = new Counter({
    name: 'modelgate_feature_lookups_total',
    help: 'Entities looked up in the online feature store, by result (hit, miss, error).',
    labelNames: ['model', 'backend', 'result'],
    registers: [deps.registry],
  });
  const duration = new Histogram({
    name: 'modelgate_feature_lookup_duration_seconds',
    help: 'Time of one feature-store lookup (all entities of a request).',
    labelNames: ['model', 'backend'],
    buckets: BUCKETS,
    registers: [deps.registry],
  });
  const backend = store.backend;
  return async function lookup(model, entities) {
    const startedAt = now();
    try {
      const records = await store.getMany(model, entities);
      const hits = records.filter((r) => r !== undefined).length;
      if (hits > 0) lookups.labels(model, backend, 'hit').inc(hits);
      if (hits < records.length) lookups.labels(model, backend, 'miss').inc(records.length - hits);
      return records;
    } catch (err) {
      lookups.labels(model, backend, 'error').inc(entities.length);
      if (err instanceof FeatureStoreUnavailable) {
        throw new AppError(
          'feature_store_unavailable',
          `the feature store (${backend}) is not answering; the prediction was not made. Retry shortly.`,
          { backend },
          { 'Retry-After': String(deps.retryAfterSeconds) },
        );
      }
      throw err;
    } finally {
      duration.labels(model, backend).observe((now() - startedAt) / 1000);
    }
  };
}
