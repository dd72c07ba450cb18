/** The admin-only reads the gateway serves (GET /predictions) take `Authorization: Bearer
 * <ADMIN_TOKEN>`, compared through sha256 digests with timingSafeEqual (as the registry does). */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { AppError } from '../common/errors';

const digest = (s: string) => createHash('sha256').update(s).digest();

export function requireAdminToken(token: string | undefined): RequestHandler {
  const known = token ? digest(token) : undefined;
  return function checkAdminToken(req, _res, next) {
    if (!known) {
      return next(
        new AppError(
          'forbidden',
          'admin reads are disabled because the gateway has no token: start it with ADMIN_TOKEN=<secret> and send Authorization: Bearer <secret>',
        ),
      );
    }
    const match = /^Bearer\s+(\S+)\s*$/i.exec(req.get('authorization') ?? '');
    if (!match) {
      return next(
        new AppError(
          'unauthorized',
          'this read needs Authorization: Bearer <ADMIN_TOKEN>; the CLI sends it when ADMIN_TOKEN is set',
          undefined,
          { 'WWW-Authenticate': 'Bearer realm="modelgate-gateway"' },
        ),
      );
    }
    if (!timingSafeEqual(known, digest(match[1]!))) {
      return next(
        new AppError('forbidden', 'the admin token is not valid for this gateway; check ADMIN_TOKEN'),
      );
    }
    next();
  };
}
