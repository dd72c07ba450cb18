import { z } from 'zod';

/** Raised when the environment does not satisfy a service's schema; `main.ts` prints it and exits 1. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

/** Parses the environment once with a service's schema and freezes the result. Every problem names
 * the variable and what it received, e.g. `PORT: expected a number, got "80a"`. */
export function parseEnv<S extends z.ZodType>(
  schema: S,
  env: NodeJS.ProcessEnv = process.env,
): Readonly<z.output<S>> {
  const result = schema.safeParse(env);
  if (result.success) return Object.freeze(result.data) as Readonly<z.output<S>>;
  const problems = result.error.issues.map((issue) => {
    const name = issue.path.join('.') || '(environment)';
    const got = issue.path.length ? env[String(issue.path[0])] : undefined;
    return `${name}: ${issue.message}${got === undefined ? '' : `, got ${JSON.stringify(got)}`}`;
  });
  throw new ConfigError(problems);
}

/** Why `value` is not an http(s) base URL, or undefined when it is. `localhost:8100` parses as a URL
 * with the scheme `localhost:`, so the scheme is checked by name and the message says what to add. */
export function httpUrlProblem(value: string): string | undefined {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) {
    return `is missing http:// (did you mean "http://${value}"?)`;
  }
  if (!/^https?:\/\//i.test(value)) return 'must start with http:// or https://';
  try {
    new URL(value);
    return undefined;
  } catch {
    return 'is not a valid URL';
  }
}

/** An http(s) base URL without trailing slashes, or a CliError-ready message naming `name`. */
export function parseHttpUrl(name: string, value: string): string {
  const problem = httpUrlProblem(value.trim());
  if (problem) throw new Error(`${name} ${problem}, got ${JSON.stringify(value)}`);
  return value.trim().replace(/\/+$/, '');
}

/** Reusable environment fields so every service spells them the same way. */
export const envFields = {
  port: (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback),
  host: () => z.string().min(1).default('127.0.0.1'),
  url: (fallback: string) =>
    z
      .string()
      .default(fallback)
      .superRefine((v, ctx) => {
        const problem = httpUrlProblem(v);
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      }),
  logLevel: () => z.enum(['error', 'warn', 'info', 'http', 'verbose', 'debug', 'silly']).default('info'),
  logFormat: () => z.enum(['json', 'pretty']).default('json'),
  /** A byte size as body-parser spells it ("10mb", "512kb") or a number of bytes, checked here so a
   * typo stops start-up; common/body-limit.ts parseByteLimit reads it. */
  byteSize: (fallback: string) =>
    z
      .string()
      .regex(/^\d+(\.\d+)?\s*(b|kb|mb|gb)?$/i, 'expected a size such as "10mb", "512kb" or a number of bytes')
      .default(fallback),
  positiveInt: (fallback: number) => z.coerce.number().int().positive().default(fallback),
  nonNegativeNumber: (fallback: number) => z.coerce.number().nonnegative().default(fallback),
  optionalString: () =>
    z
      .string()
      .optional()
      .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim())),
  csv: () =>
    z
      .string()
      .optional()
      .transform((v) =>
        (v ?? '')
          .split(',')
          .map((s) => s.trim())
          .filter((s) => s.length > 0),
      ),
};

/** What every HTTP service takes for its listener (common/http.ts `listen`) and /metrics;
 * docs/operations.md explains them. */
export const serverEnvFields = (requestTimeoutMs: number) => ({
  HEADERS_TIMEOUT_MS: z.coerce.number().int().positive().default(10_000),
  REQUEST_TIMEOUT_MS: z.coerce.number().int().positive().default(requestTimeoutMs),
  /** When set, GET /metrics needs `Authorization: Bearer <METRICS_TOKEN>`. */
  METRICS_TOKEN: envFields.optionalString(),
  /** PEM certificate and key: both set, the service serves HTTPS (common/tls.ts). */
  TLS_CERT_FILE: envFields.optionalString(),
  TLS_KEY_FILE: envFields.optionalString(),
  /** A PEM CA to trust, with the system's, for this service's own HTTPS calls. */
  TLS_CA_FILE: envFields.optionalString(),
});
