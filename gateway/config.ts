import { z } from 'zod';
import { envFields, parseEnv, serverEnvFields } from '../common/config';
import { trackingEnvFields } from '../tracking/config';
import { featureStoreEnvFields } from '../tracking/features/open';

const GatewayEnv = z.object({
  PORT: envFields.port(8000),
  HOST: envFields.host(),
  REGISTRY_URL: envFields.url('http://127.0.0.1:8100'),
  API_KEYS: envFields.csv(),
  CORS_ORIGINS: z
    .string()
    .default('*')
    .transform((v) =>
      v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    ),
  DEFAULT_MODEL: envFields.optionalString(),
  MAX_BATCH_ROWS: envFields.positiveInt(1024),
  /** 0 turns rate limiting off. */
  RATE_LIMIT_RPS: envFields.nonNegativeNumber(0),
  LOG_LEVEL: envFields.logLevel(),
  LOG_FORMAT: envFields.logFormat(),
  BODY_LIMIT: envFields.byteSize('10mb'),
  /** The longest the gateway waits for an upstream answer; also the deadline until a version has
   * answered UPSTREAM_DEADLINE_MIN_SAMPLES times. */
  BREAKER_TIMEOUT_MS: envFields.positiveInt(5000),
  /** Per-request deadline = this × the version's recent p99 (0: always BREAKER_TIMEOUT_MS). */
  UPSTREAM_DEADLINE_P99_MULTIPLE: envFields.nonNegativeNumber(3),
  UPSTREAM_DEADLINE_FLOOR_MS: envFields.positiveInt(250),
  UPSTREAM_DEADLINE_MIN_SAMPLES: envFields.positiveInt(50),
  /** Load shedding: prediction requests in flight in this gateway at most; within it the limit
   * adapts to the gateway's own latency. Past it: 503 + Retry-After before the body is read.
   * UPSTREAM_CONCURRENCY_ADAPTIVE=false makes this limit and the per-instance one fixed. */
  MAX_CONCURRENT_REQUESTS: envFields.positiveInt(1024),
  /** Calls in flight per upstream instance at most (also the connection pool size); within it the
   * limit adapts to the instance's latency unless UPSTREAM_CONCURRENCY_ADAPTIVE=false. */
  UPSTREAM_MAX_CONCURRENCY: envFields.positiveInt(64),
  UPSTREAM_CONCURRENCY_ADAPTIVE: z
    .enum(['true', 'false'])
    .default('true')
    .transform((v) => v === 'true'),
  /** Gateway processes sharing the port (node:cluster); 1 runs in this process. */
  GATEWAY_WORKERS: z.coerce.number().int().min(1).max(64).default(1),
  /** Response cache (model, version, hash of the input) bounded in bytes; 0 turns it off. */
  RESPONSE_CACHE_BYTES: z.coerce.number().int().min(0).default(0),
  /** Outlier ejection: consecutive failures that eject, first and longest ejection, latency factor. */
  OUTLIER_CONSECUTIVE_FAILURES: envFields.positiveInt(3),
  OUTLIER_BASE_EJECTION_MS: envFields.positiveInt(2000),
  OUTLIER_MAX_EJECTION_MS: envFields.positiveInt(60_000),
  OUTLIER_LATENCY_FACTOR: z.coerce.number().min(1).default(5),
  BREAKER_ERROR_THRESHOLD_PERCENT: z.coerce.number().min(1).max(100).default(50),
  BREAKER_VOLUME_THRESHOLD: z.coerce.number().int().min(1).default(5),
  BREAKER_RESET_TIMEOUT_MS: envFields.positiveInt(2000),
  SHADOW_MAX_CONCURRENCY: z.coerce.number().int().min(0).default(16),
  /** Long-poll window asked of the registry's GET /routes?wait=N. */
  ROUTES_WAIT_S: z.coerce.number().int().min(0).max(120).default(20),
  /** How long the instances of a model are kept when a table from the registry has none left for
   * it (a restarting registry); 0 turns the guard off. */
  ROUTES_EMPTY_GRACE_MS: z.coerce.number().int().min(0).default(10_000),
  ...serverEnvFields(30_000),
  /** Guards the admin-only reads (GET /predictions). */
  ADMIN_TOKEN: envFields.optionalString(),
  ...trackingEnvFields,
  ...featureStoreEnvFields,
  NODE_ENV: envFields.optionalString(),
  /** Schema introspection and the GraphiQL page; default on, off when NODE_ENV=production. */
  GRAPHQL_INTROSPECTION: z
    .enum(['true', 'false', '1', '0'])
    .optional()
    .transform((v) => (v === undefined ? undefined : v === 'true' || v === '1')),
  GRAPHQL_MAX_DEPTH: envFields.positiveInt(8),
  GRAPHQL_MAX_ALIASES: envFields.positiveInt(20),
  GRAPHQL_MAX_COMPLEXITY: envFields.positiveInt(2000),
  /** Operations per batched request (a JSON array body). */
  GRAPHQL_MAX_BATCH: envFields.positiveInt(5),
});

export type GatewayConfig = Readonly<z.output<typeof GatewayEnv>>;

export const loadGatewayConfig = (env: NodeJS.ProcessEnv = process.env): GatewayConfig =>
  parseEnv(GatewayEnv, env);
