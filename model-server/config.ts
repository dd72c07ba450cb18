/** The model-server's environment, parsed once by main.ts and passed inward frozen. */
import { z } from 'zod';
import { ConfigError, envFields, parseEnv, serverEnvFields } from '../common/config';
import { modelNameSchema, versionNameSchema } from '../common/wire';

export const modelServerEnvSchema = z.object({
  PORT: envFields.port(8501),
  HOST: envFields.host(),
  MODEL_STORE: z.string().min(1).default('./models'),
  MODEL_NAME: envFields.optionalString(),
  MODEL_VERSION: envFields.optionalString(),
  REGISTRY_URL: envFields.url('http://127.0.0.1:8100'),
  /** URL advertised in heartbeats; defaults to http://HOST:<bound port> once listening. */
  PUBLIC_URL: z.url().optional(),
  HEARTBEAT_INTERVAL_MS: envFields.positiveInt(2000),
  /** The credential heartbeats carry; the registry's INSTANCE_TOKEN (or, when that is unset there,
   * its ADMIN_TOKEN). ADMIN_TOKEN is the fallback here too, so one secret can serve a small setup. */
  INSTANCE_TOKEN: envFields.optionalString(),
  ADMIN_TOKEN: envFields.optionalString(),
  TFJS_BACKEND: z.enum(['auto', 'tensorflow', 'wasm', 'cpu']).default('auto'),
  MAX_BATCH_SIZE: envFields.positiveInt(32),
  MAX_BATCH_DELAY_MS: envFields.nonNegativeNumber(2),
  MAX_QUEUE_ROWS: envFields.positiveInt(1024),
  BODY_LIMIT: envFields.byteSize('8mb'),
  SHUTDOWN_DEADLINE_MS: envFields.positiveInt(10_000),
  DRIFT_WINDOW_ROWS: envFields.positiveInt(2000),
  DRIFT_WINDOW_SECONDS: envFields.positiveInt(600),
  LOG_LEVEL: envFields.logLevel(),
  LOG_FORMAT: envFields.logFormat(),
  ...serverEnvFields(30_000),
});

export type ModelServerEnv = z.output<typeof modelServerEnvSchema>;

export interface ModelServerConfig extends ModelServerEnv {
  model: string;
  version: string;
}

export interface ModelFlags {
  model?: string;
  version?: string;
}

/** Flags win over MODEL_NAME / MODEL_VERSION (the container form); both go through the name rule
 * because they become a path under MODEL_STORE. */
export function loadConfig(flags: ModelFlags = {}, env: NodeJS.ProcessEnv = process.env): ModelServerConfig {
  const parsed = parseEnv(modelServerEnvSchema, {
    ...env,
    ...(flags.model === undefined ? {} : { MODEL_NAME: flags.model }),
    ...(flags.version === undefined ? {} : { MODEL_VERSION: flags.version }),
  });
  const names = parseEnv(
    z.object({
      MODEL_NAME: z.string({ error: 'required: pass --model M or set MODEL_NAME' }).pipe(modelNameSchema),
      MODEL_VERSION: z
        .string({ error: 'required: pass --version V or set MODEL_VERSION' })
        .pipe(versionNameSchema),
    }),
    { MODEL_NAME: parsed.MODEL_NAME, MODEL_VERSION: parsed.MODEL_VERSION },
  );
  if (parsed.MAX_QUEUE_ROWS < parsed.MAX_BATCH_SIZE) {
    throw new ConfigError([
      `MAX_QUEUE_ROWS: must be at least MAX_BATCH_SIZE (${parsed.MAX_BATCH_SIZE}), got "${parsed.MAX_QUEUE_ROWS}"`,
    ]);
  }
  return Object.freeze({ ...parsed, model: names.MODEL_NAME, version: names.MODEL_VERSION });
}
