/** Bearer-token guards: admin writes, and instance heartbeats (a credential the gateway's callers
 * never hold, so nobody who can merely reach the registry can put their URL into routing). Tokens
 * are compared through sha256 digests with timingSafeEqual, so neither a token's content nor its
 * length leaks through response timing. */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { AppError } from '../common/errors';

export interface AdminToken {
  name: string;
  token: string;
}

const digest = (s: string) => createHash('sha256').update(s).digest();

interface TokenGuard {
  tokens: readonly AdminToken[];
  realm: string;
  /** Said when no token is configured at all. */
  disabled: string;
  /** Said when the header is missing. */
  missing: string;
  /** Said when the token is wrong. */
  invalid: string;
}

function requireToken(guard: TokenGuard): RequestHandler {
  const known = guard.tokens.map((t) => ({ name: t.name, digest: digest(t.token) }));
  return function checkToken(req, res, next) {
    if (known.length === 0) return next(new AppError('forbidden', guard.disabled));
    const header = req.get('authorization');
    const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (!match) {
      return next(
        new AppError('unauthorized', guard.missing, undefined, {
          'WWW-Authenticate': `Bearer realm="${guard.realm}"`,
        }),
      );
    }
    const given = digest(match[1]!);
    let who: string | undefined;
    for (const k of known) if (timingSafeEqual(k.digest, given) && who === undefined) who = k.name;
    if (who === undefined) return next(new AppError('forbidden', guard.invalid));
    res.locals.actor = who;
    next();
  };
}

export function requireAdmin(tokens: readonly AdminToken[]): RequestHandler {
  return requireToken({
    tokens,
    realm: 'modelgate-registry',
    disabled:
      'admin writes are disabled because the registry has no token: start it with ADMIN_TOKEN=<secret> (or ADMIN_TOKENS=name:secret,...) and send Authorization: Bearer <secret>',
    missing: 'this write needs Authorization: Bearer <ADMIN_TOKEN>; the CLI sends it when ADMIN_TOKEN is set',
    invalid: 'the admin token is not valid for this registry; check ADMIN_TOKEN',
  });
}

/** Heartbeats (joining and leaving routing) need the instance credential: INSTANCE_TOKEN, or the
 * admin token(s) when INSTANCE_TOKEN is unset. */
export function requireInstanceToken(tokens: readonly AdminToken[]): RequestHandler {
  return requireToken({
    tokens,
    realm: 'modelgate-instances',
    disabled:
      'instance registration is disabled because the registry has no INSTANCE_TOKEN or ADMIN_TOKEN; set one on the registry and the same value on every model-server',
    missing:
      "heartbeats need Authorization: Bearer <INSTANCE_TOKEN>; model-servers send it when INSTANCE_TOKEN (or ADMIN_TOKEN) is set to the registry's value",
    invalid:
      "the instance token is not valid for this registry; set INSTANCE_TOKEN on the model-server to the registry's value",
  });
}
