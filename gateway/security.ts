/** API keys and per-caller rate limiting for the prediction endpoints. */
import { timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { AppError } from '../common/errors';

function presentedKey(
  authorization: string | undefined,
  apiKeyHeader: string | undefined,
): string | undefined {
  if (apiKeyHeader) return apiKeyHeader;
  const m = authorization?.match(/^Bearer\s+(.+)$/i);
  return m?.[1]?.trim();
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** With no keys configured the endpoints are open, as DESIGN.md says. */
export function apiKeyAuth(keys: readonly string[]): RequestHandler {
  return function requireApiKey(req, res, next) {
    if (keys.length === 0) return next();
    const key = presentedKey(req.get('authorization'), req.get('x-api-key'));
    if (key === undefined) {
      res.setHeader('WWW-Authenticate', 'Bearer');
      return next(
        new AppError(
          'unauthorized',
          'an API key is required: send "Authorization: Bearer <key>" or "X-API-Key: <key>"',
        ),
      );
    }
    if (!keys.some((k) => safeEqual(k, key))) {
      res.setHeader('WWW-Authenticate', 'Bearer error="invalid_token"');
      return next(new AppError('unauthorized', 'the API key is not valid'));
    }
    res.locals.apiKey = key;
    next();
  };
}

interface Bucket {
  tokens: number;
  updatedMs: number;
}

/** Token bucket per API key (or client IP without one): RATE_LIMIT_RPS sustained, the same as burst. */
export function rateLimit(rps: number, now: () => number, maxCallers = 50_000): RequestHandler {
  const buckets = new Map<string, Bucket>();
  return function limitRate(req, res, next) {
    if (rps <= 0) return next();
    const caller = typeof res.locals.apiKey === 'string' ? `key:${res.locals.apiKey}` : `ip:${req.ip ?? '?'}`;
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
      return next();
    }
    const retryAfterS = Math.max(1, Math.ceil((1 - bucket.tokens) / rps));
    next(
      new AppError(
        'rate_limited',
        `rate limit of ${rps} requests per second exceeded; retry after ${retryAfterS} s`,
        undefined,
        { 'Retry-After': String(retryAfterS) },
      ),
    );
  };
}

/** Forgets callers whose buckets have refilled: they would start full anyway. */
function prune(buckets: Map<string, Bucket>, t: number, rps: number): void {
  for (const [k, b] of buckets) if (b.tokens + ((t - b.updatedMs) / 1000) * rps >= rps) buckets.delete(k);
}
