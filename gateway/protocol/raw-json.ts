/** Protocol routes forward the caller's bytes unchanged, so they keep the raw body and parse a copy
 * for validation instead of re-serialising what express.json would have parsed. */
import express, { type RequestHandler } from 'express';
import { AppError } from '../../common/errors';
import { jsonBody } from '../../common/http';

export function rawJsonBody(limit: string): RequestHandler[] {
  const [requireJson] = jsonBody(limit);
  const readRaw = express.raw({ type: ['application/json'], limit });
  const parseCopy: RequestHandler = function parseJsonCopy(req, res, next) {
    const raw = req.body as Buffer;
    try {
      res.locals.json = JSON.parse(raw.toString('utf8')) as unknown;
    } catch (err) {
      return next(new AppError('invalid_json', `request body is not valid JSON: ${(err as Error).message}`));
    }
    next();
  };
  return [requireJson!, readRaw, parseCopy];
}
