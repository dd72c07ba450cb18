import { z } from 'zod';
import { envFields, parseEnv, serverEnvFields } from '../common/config';
import { loadTls, type TlsSettings } from '../common/tls';
import { trackingEnvFields } from '../tracking/config';

/** One `name:token` pair per admin; the name (never the token) is what audit.jsonl records. */
const adminTokens = envFields.csv().transform((pairs, ctx) => {
  const tokens: { name: string; token: string }[] = [];
  for (const pair of pairs) {
    const at = pair.indexOf(':');
    const name = pair.slice(0, at).trim();
    const token = pair.slice(at + 1).trim();
    if (at <= 0 || token === '' || !/^[A-Za-z0-9._@-]{1,64}$/.test(name)) {
      ctx.addIssue({
        code: 'custom',
        message: 'expected comma-separated name:token pairs, e.g. alice:s3cret',
      });
      return z.NEVER;
    }
    tokens.push({ name, token });
  }
  return tokens;
});

export const RegistryEnv = z.object({
  PORT: envFields.port(8100),
  HOST: envFields.host(),
  MODEL_STORE: z.string().min(1).default('./models'),
  ADMIN_TOKEN: envFields.optionalString(),
  ADMIN_TOKENS: adminTokens,
  /** The credential model-servers heartbeat with; defaults to the admin token(s). */
  INSTANCE_TOKEN: envFields.optionalString(),
  /** How long the registry waits for a new instance to prove it serves the claimed version. */
  INSTANCE_VERIFY_TIMEOUT_MS: envFields.positiveInt(3000),
  MAX_UPLOAD_BYTES: envFields.positiveInt(64 * 1024 * 1024),
  HEARTBEAT_INTERVAL_MS: envFields.positiveInt(2000),
  /** Defaults to three heartbeat intervals: an instance missing three heartbeats is dropped. */
  INSTANCE_TTL_MS: z.coerce.number().int().positive().optional(),
  /** How often the store is re-read, so changes made by another registry process on the same store
   * reach this process's routing table. Own writes are visible at once. */
  STORE_SCAN_MS: envFields.positiveInt(2000),
  /** Longest wait between two looks of the rollout controller at the evidence. */
  ROLLOUT_TICK_MS: envFields.positiveInt(2000),
  ROLLOUT_WEBHOOK_TIMEOUT_MS: envFields.positiveInt(10_000),
  ROLLOUT_WEBHOOK_ATTEMPTS: envFields.positiveInt(3),
  ROLLOUT_WEBHOOK_BACKOFF_MS: envFields.positiveInt(500),
  LOG_LEVEL: envFields.logLevel(),
  LOG_FORMAT: envFields.logFormat(),
  /** The evidence store: experiments live there, their reports read it, and so do stored-prediction reads. */
  DATABASE_URL: trackingEnvFields.DATABASE_URL,
  EXPERIMENT_LOOK_MS: trackingEnvFields.EXPERIMENT_LOOK_MS,
  /** How often the registry recomputes running experiments' gauges. */
  EXPERIMENT_GAUGES_MS: z.coerce.number().int().min(500).max(3_600_000).default(30_000),
  /** Uploads of up to MAX_UPLOAD_BYTES must arrive within REQUEST_TIMEOUT_MS. */
  ...serverEnvFields(120_000),
});

export type RegistryConfig = Readonly<{
  port: number;
  host: string;
  modelStore: string;
  adminTokens: readonly { name: string; token: string }[];
  instanceTokens: readonly { name: string; token: string }[];
  instanceVerifyTimeoutMs: number;
  maxUploadBytes: number;
  instanceTtlMs: number;
  storeScanMs: number;
  rolloutTickMs: number;
  webhook: { timeoutMs: number; attempts: number; backoffMs: number };
  logLevel: string;
  logFormat: 'json' | 'pretty';
  databaseUrl: string;
  experimentLookMs: number;
  experimentGaugesMs: number;
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  metricsToken: string | undefined;
  tls: TlsSettings;
}>;

export function loadConfig(env: NodeJS.ProcessEnv = process.env): RegistryConfig {
  const e = parseEnv(RegistryEnv, env);
  const adminTokens = [
    ...(e.ADMIN_TOKEN ? [{ name: 'admin', token: e.ADMIN_TOKEN }] : []),
    ...e.ADMIN_TOKENS,
  ];
  return Object.freeze({
    port: e.PORT,
    host: e.HOST,
    modelStore: e.MODEL_STORE,
    adminTokens,
    instanceTokens: e.INSTANCE_TOKEN ? [{ name: 'instance', token: e.INSTANCE_TOKEN }] : adminTokens,
    instanceVerifyTimeoutMs: e.INSTANCE_VERIFY_TIMEOUT_MS,
    maxUploadBytes: e.MAX_UPLOAD_BYTES,
    instanceTtlMs: e.INSTANCE_TTL_MS ?? 3 * e.HEARTBEAT_INTERVAL_MS,
    storeScanMs: e.STORE_SCAN_MS,
    rolloutTickMs: e.ROLLOUT_TICK_MS,
    webhook: Object.freeze({
      timeoutMs: e.ROLLOUT_WEBHOOK_TIMEOUT_MS,
      attempts: e.ROLLOUT_WEBHOOK_ATTEMPTS,
      backoffMs: e.ROLLOUT_WEBHOOK_BACKOFF_MS,
    }),
    logLevel: e.LOG_LEVEL,
    logFormat: e.LOG_FORMAT,
    databaseUrl: e.DATABASE_URL,
    experimentLookMs: e.EXPERIMENT_LOOK_MS,
    experimentGaugesMs: e.EXPERIMENT_GAUGES_MS,
    headersTimeoutMs: e.HEADERS_TIMEOUT_MS,
    requestTimeoutMs: e.REQUEST_TIMEOUT_MS,
    metricsToken: e.METRICS_TOKEN,
    tls: loadTls(e),
  });
}
