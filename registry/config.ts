import { z } from 'zod';
import { envFields, parseEnv } from '../common/config';

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
  LOG_LEVEL: envFields.logLevel(),
  LOG_FORMAT: envFields.logFormat(),
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
  logLevel: string;
  logFormat: 'json' | 'pretty';
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
    logLevel: e.LOG_LEVEL,
    logFormat: e.LOG_FORMAT,
  });
}
