/** Bearer-token guard for admin writes. Tokens are compared through sha256 digests with
 * timingSafeEqual, so neither a token's content nor its length leaks through response timing. */
import type { RequestHandler } from 'express';
import { AppError } from '../common/errors';
import { matchesSecret, secretDigest } from '../common/secret';

export interface AdminToken {
  name: string;
  token: string;
}

export function requireAdmin(tokens: readonly AdminToken[]): RequestHandler {
  const known = tokens.map((t) => ({ name: t.name, digest: secretDigest(t.token) }));
  return function checkAdminToken(req, res, next) {
    if (known.length === 0) {
      return next(
        new AppError(
          'forbidden',
          'admin writes are disabled because the registry has no token: start it with ADMIN_TOKEN=<secret> (or ADMIN_TOKENS=name:secret,...) and send Authorization: Bearer <secret>',
        ),
      );
    }
    const header = req.get('authorization');
    const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (!match) {
      return next(
        new AppError(
          'unauthorized',
          'this write needs Authorization: Bearer <ADMIN_TOKEN>; the CLI sends it when ADMIN_TOKEN is set',
          undefined,
          { 'WWW-Authenticate': 'Bearer realm="modelgate-registry"' },
        ),
      );
    }
    let who: string | undefined;
    for (const k of known) if (matchesSecret([k.digest], match[1]!) && who === undefined) who = k.name;
    if (who === undefined)
      return next(
        new AppError('forbidden', 'the admin token is not valid for this registry; check ADMIN_TOKEN'),
      );
    res.locals.actor = who;
    next();
  };
}
