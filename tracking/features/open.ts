/** Picks the feature-store backend from the environment: FEATURE_STORE_URL=redis://… for Redis,
 * unset for the embedded default (the evidence store's database, which the caller opens). */
import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { EvidenceSchema } from '../store/schema';
import { createRedisFeatureStore } from './redis-store';
import { createSqlFeatureStore } from './sql-store';
import type { FeatureStore } from './store';

/** Spread into each service's zod env schema (gateway, CLI). */
export const featureStoreEnvFields = {
  FEATURE_STORE_URL: z
    .string()
    .trim()
    .optional()
    .transform((v) => (v === '' ? undefined : v))
    .refine((v) => v === undefined || /^rediss?:\/\/.+/.test(v), {
      message: 'expected redis://host:port[/db] (or unset: the embedded store in DATABASE_URL)',
    }),
  FEATURE_STORE_TIMEOUT_MS: z.coerce.number().int().min(1).max(60_000).default(250),
  FEATURE_STORE_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9:_-]{1,64}$/, 'letters, digits, ":", "_" or "-"')
    .default('modelgate:features'),
};

export interface FeatureStoreConfig {
  FEATURE_STORE_URL?: string | undefined;
  FEATURE_STORE_TIMEOUT_MS: number;
  FEATURE_STORE_PREFIX: string;
}

export function usesRedis(config: FeatureStoreConfig): boolean {
  return config.FEATURE_STORE_URL !== undefined;
}

export function createFeatureStore(options: {
  config: FeatureStoreConfig;
  /** The evidence store's database; needed unless FEATURE_STORE_URL names Redis. */
  db?: Kysely<EvidenceSchema> | undefined;
  now(): number;
  onError?(err: Error): void;
}): FeatureStore {
  const { config } = options;
  if (config.FEATURE_STORE_URL !== undefined) {
    return createRedisFeatureStore({
      url: config.FEATURE_STORE_URL,
      timeoutMs: config.FEATURE_STORE_TIMEOUT_MS,
      prefix: config.FEATURE_STORE_PREFIX,
      ...(options.onError ? { onError: options.onError } : {}),
    });
  }
  if (!options.db) throw new Error('the embedded feature store needs the evidence store database');
  return createSqlFeatureStore({ db: options.db, now: options.now });
}
