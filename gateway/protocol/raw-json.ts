/** Protocol routes forward the caller's bytes unchanged, so they keep the raw body and parse a copy
 * for validation instead of re-serialising a parsed body. */
import type { RequestHandler } from 'express';
import { parseJsonBody, rawJsonBody as rawBody } from '../../common/http';

export function rawJsonBody(limit: string): RequestHandler[] {
  const parseCopy: RequestHandler = function parseJsonCopy(req, res, next) {
    try {
      res.locals.json = parseJsonBody(req.body as Buffer);
    } catch (err) {
      return next(err);
    }
    next();
  };
  return [...rawBody(limit), parseCopy];
}
