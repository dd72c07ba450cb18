/** CORS for every gateway answer, from CORS_ORIGINS. The cors package rebuilds its options object
 * and header list on every request; with the default `*` the headers of an ordinary (non-preflight)
 * answer never depend on the request, so they are written directly, and only preflights and an
 * origin list go through the package. tests/unit/gateway/cors.test.ts holds both to the same output. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import cors from 'cors';

export type Middleware = (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void;

/** Headers a browser script may read on a gateway answer. */
const EXPOSED_HEADERS = ['X-Request-Id', 'X-Model-Version', 'X-Model-Failover', 'Retry-After'];

export function gatewayCors(origins: readonly string[]): Middleware {
  const wildcard = origins.includes('*');
  const full = cors({
    origin: wildcard ? '*' : [...origins],
    exposedHeaders: EXPOSED_HEADERS,
  }) as Middleware;
  if (!wildcard) return full;
  const exposed = EXPOSED_HEADERS.join(',');
  return function wildcardCors(req, res, next) {
    if (req.method === 'OPTIONS') return full(req, res, next);
    res.setHeader('Access-Control-Allow-Origin', '*');
    res.setHeader('Access-Control-Expose-Headers', exposed);
    next();
  };
}
