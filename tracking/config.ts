/** The evidence store's environment, shared by every service that opens it (gateway, registry);
 * each service spreads these fields into its own zod schema. */
import { z } from 'zod';

export const DEFAULT_DATABASE_URL = 'sqlite:./data/modelgate.db';

export const trackingEnvFields = {
  // Checked when opened (openDatabase), whose message masks a password; parseEnv would echo it.
  DATABASE_URL: z.string().trim().min(1).default(DEFAULT_DATABASE_URL),
  TRACKING_FLUSH_MS: z.coerce.number().int().min(10).max(60_000).default(200),
  TRACKING_BUFFER_ROWS: z.coerce.number().int().min(1).max(10_000_000).default(50_000),
  RETENTION_DAYS: z.coerce.number().positive().max(36_500).default(30),
  /** false: the gateway opens no store and records nothing (benchmarks' "tracking off" arm). */
  TRACKING_ENABLED: z
    .enum(['true', 'false', '1', '0'])
    .default('true')
    .transform((v) => v === 'true' || v === '1'),
  /** The grid of looks the always-valid tests are evaluated on: ms of data per look (gateway and
   * registry must agree, so both read this one variable). */
  EXPERIMENT_LOOK_MS: z.coerce.number().int().min(100).max(86_400_000).default(60_000),
};
