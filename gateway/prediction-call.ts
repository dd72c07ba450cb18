/** One prediction request once its route is known and its body read: what every prediction
 * handler (OIP v2, TF Serving, the JSON API) receives, as one object rather than a row of
 * positional parameters. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RouteReason } from '../tracking/store/schema';
import type { HeaderSource } from './selection';

/** What a call records for the access log and the error renderer; the front door creates it and
 * Express sees the same object as `res.locals`. */
export interface CallLocals {
  requestId: string;
  model?: string;
  version?: string;
  /** How the version was chosen and the assignment unit, for the evidence record of a failure. */
  reason?: RouteReason;
  unit?: string | undefined;
}

export interface PredictionCall {
  headers: HeaderSource;
  res: ServerResponse;
  locals: CallLocals;
  /** The body as received (decompressed, no byte order mark): protocol routes forward it as is. */
  raw: Buffer;
  json: unknown;
}

/** Header lookup with Express's `req.get` semantics for the names the gateway reads. */
export function headerSource(req: IncomingMessage): HeaderSource {
  return {
    get(name) {
      const v = req.headers[name.toLowerCase()];
      return Array.isArray(v) ? v.join(', ') : v;
    },
  };
}
