/** API keys and per-caller rate limiting for the prediction endpoints. */
import { AppError } from '../common/errors';
import { matchesSecret, secretDigest } from '../common/secret';

function presentedKey(
  authorization: string | undefined,
  apiKeyHeader: string | undefined,
): string | undefined {
  if (apiKeyHeader) return apiKeyHeader;
  const m = authorization?.match(/^Bearer\s+(.+)$/i);
  return m?.[1]?.trim();
}

const digests = new WeakMap<readonly string[], Buffer[]>();

/** The configured keys' digests, computed once per key list. */
function keyDigests(keys: readonly string[]): Buffer[] {
  let known = digests.get(keys);
  if (!known) {
    known = keys.map(secretDigest);
    digests.set(keys, known);
  }
  return known;
}

/** Checks the presented key (with no keys configured the endpoints are open, as DESIGN.md says);
 * returns the key, undefined when no keys are configured, or the 401 to
 * send (with its WWW-Authenticate header). Called once per request, by the front door. */
export function checkApiKey(
  keys: readonly string[],
  authorization: string | undefined,
  apiKeyHeader: string | undefined,
): string | undefined | AppError {
  if (keys.length === 0) return undefined;
  const key = presentedKey(authorization, apiKeyHeader);
  if (key === undefined) {
    return new AppError(
      'unauthorized',
      'an API key is required: send "Authorization: Bearer <key>" or "X-API-Key: <key>"',
      undefined,
      { 'WWW-Authenticate': 'Bearer' },
    );
  }
  // Hashing both sides keeps a length mismatch from returning early (and so from timing).
  if (!matchesSecret(keyDigests(keys), key)) {
    return new AppError('unauthorized', 'the API key is not valid', undefined, {
      'WWW-Authenticate': 'Bearer error="invalid_token"',
    });
  }
  return key;
}

interface Bucket {
  tokens: number;
  updatedMs: number;
}

/** Token bucket per caller: RATE_LIMIT_RPS sustained, the same as burst. `take` returns the 429 to
 * send, or undefined when the request may go on. */
export function createRateLimiter(
  rps: number,
  now: () => number,
  maxCallers = 50_000,
): { take(caller: string): AppError | undefined } {
  const buckets = new Map<string, Bucket>();
  return {
    take(caller) {
      if (rps <= 0) return undefined;
      const t = now();
      let bucket = buckets.get(caller);
      if (!bucket) {
        if (buckets.size >= maxCallers) prune(buckets, t, rps);
        bucket = { tokens: rps, updatedMs: t };
        buckets.set(caller, bucket);
      }
      bucket.tokens = Math.min(rps, bucket.tokens + ((t - bucket.updatedMs) / 1000) * rps);
      bucket.updatedMs = t;
      if (bucket.tokens >= 1) {
        bucket.tokens -= 1;
        return undefined;
      }
      const retryAfterS = Math.max(1, Math.ceil((1 - bucket.tokens) / rps));
      return new AppError(
        'rate_limited',
        `rate limit of ${rps} requests per second exceeded; retry after ${retryAfterS} s`,
        undefined,
        { 'Retry-After': String(retryAfterS) },
      );
    },
  };
}

/** The rate-limit key: the API key when one was presented, else the client IP. */
export function callerOf(apiKey: string | undefined, ip: string | undefined): string {
  return apiKey !== undefined ? `key:${apiKey}` : `ip:${ip ?? '?'}`;
}

/** Forgets callers whose buckets have refilled: they would start full anyway. */
function prune(buckets: Map<string, Bucket>, t: number, rps: number): void {
  for (const [k, b] of buckets) if (b.tokens + ((t - b.updatedMs) / 1000) * rps >= rps) buckets.delete(k);
}
