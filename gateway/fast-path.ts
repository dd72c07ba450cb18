/** The prediction hot path without the Express stack. A plain `node:http` handler recognises the
 * OIP v2 infer and TF Serving predict routes with one regular expression and serves them itself:
 * request id, security and CORS headers, API key, rate limit, body read (common/body-limit.ts, as
 * every route does) and parse, then the same protocol code the Express routes run. Anything unusual
 * (another method or path form, a body without Content-Length or compressed, another media type)
 * falls through to Express untouched, before any side effect, so its answer is Express's by
 * construction. */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { readBody } from '../common/body-limit';
import { AppError, renderProtocolError, toAppError } from '../common/errors';
import { parseJsonBody, requestIdFrom } from '../common/http';
import type { Logger } from '../common/logger';
import type { RouteReason } from '../tracking/store/schema';
import { type CallLocals, oipInfer, type ProtocolDeps } from './protocol/oip-v2';
import { tfPredict } from './protocol/tf-serving';
import { callerOf, checkApiKey } from './security';
import type { predictCore } from './seed/predict';
import type { HeaderSource } from './selection';

/** 1: OIP model, 2: OIP version; 3: TF model, 4: TF version, 5: TF label; 6: "predict", 7: "/batch".
 * The query string is allowed; '#', other cases and trailing slashes are left to Express. */
const PREDICTION_PATH =
  /^\/(?:v2\/models\/([^/?#]+)(?:\/versions\/([^/?#]+))?\/infer|v1\/models\/([^/:?#]+)(?:\/versions\/([^/:?#]+)|\/labels\/([^/:?#]+))?:predict|(predict)(\/batch)?)(?:\?|$)/;

/** Media types served here; any other spelling goes through Express's type-is check. */
const FAST_TYPES = new Set([
  'application/json',
  'application/json; charset=utf-8',
  'application/json;charset=utf-8',
  'application/json; charset=UTF-8',
  'application/json;charset=UTF-8',
]);

const DIGITS = /^[0-9]{1,15}$/;

export interface AccessEntry {
  method: string;
  url: string;
  status: number;
  startedAt: number;
  requestId: string;
  model: string | undefined;
  version: string | undefined;
  reason?: RouteReason | undefined;
  unit?: string | undefined;
}

type Middleware = (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void;

export interface FastPathDeps {
  protocol: Pick<ProtocolDeps, 'plane' | 'maxBatchRows'>;
  /** /predict and /predict/batch, from seed/predict.ts. */
  predict: ReturnType<typeof predictCore>;
  logger: Logger;
  now(): number;
  bodyLimitBytes: number;
  apiKeys: readonly string[];
  rateLimiter: { take(caller: string): AppError | undefined };
  /** Headers helmet sets on every answer, computed once. */
  securityHeaders: readonly (readonly [string, string])[];
  /** The cors middleware itself: its headers depend on the request's Origin. */
  cors: Middleware;
  access(entry: AccessEntry): void;
}

/** Header lookup with Express's `req.get` semantics for the names the gateway reads. */
class Headers implements HeaderSource {
  constructor(private readonly req: IncomingMessage) {}
  get(name: string): string | undefined {
    const v = this.req.headers[name.toLowerCase()];
    return Array.isArray(v) ? v.join(', ') : v;
  }
}

/** Wraps `fallback` (the Express app) with the fast path. */
export function withFastPath(deps: FastPathDeps, fallback: RequestListener): RequestListener {
  const { protocol, logger, now } = deps;

  /** The same bytes Express's errorMiddleware writes, in the given shape. */
  const sendError = (res: ServerResponse, err: unknown, protocolShape: boolean, path: string) => {
    const e = toAppError(err);
    if (e.status >= 500 && e.code === 'internal') {
      const id = res.getHeader('x-request-id');
      logger.error('request failed', {
        requestId: typeof id === 'string' ? id : undefined,
        path,
        error: String((err as Error)?.stack ?? err),
      });
    }
    if (res.headersSent) {
      res.end();
      return;
    }
    for (const name in e.headers) res.setHeader(name, e.headers[name]!);
    res.statusCode = e.status;
    res.setHeader('Content-Type', 'application/json; charset=utf-8');
    res.end(JSON.stringify(protocolShape ? renderProtocolError(e) : e.toBody()));
  };

  const serve = (req: IncomingMessage, res: ServerResponse, match: RegExpExecArray) => {
    const startedAt = now();
    const headers = new Headers(req);
    const locals: CallLocals = { requestId: requestIdFrom(headers.get('x-request-id')) };
    res.setHeader('X-Request-Id', locals.requestId);
    const url = req.url!;
    res.once('finish', () =>
      deps.access({
        method: 'POST',
        url,
        status: res.statusCode,
        startedAt,
        requestId: locals.requestId,
        model: locals.model,
        version: locals.version,
        reason: locals.reason,
        unit: locals.unit,
      }),
    );
    for (const [name, value] of deps.securityHeaders) res.setHeader(name, value);
    deps.cors(req, res, () => undefined);
    const path = url.split('?', 1)[0]!;

    const key = checkApiKey(deps.apiKeys, headers.get('authorization'), headers.get('x-api-key'));
    if (key instanceof AppError) return sendError(res, key, false, path);
    const limited = deps.rateLimiter.take(callerOf(key, req.socket.remoteAddress));
    if (limited) return sendError(res, limited, false, path);

    // Protocol routes answer errors in the protocols' {"error": "..."} shape, /predict in modelgate's.
    const protocolShape = match[6] === undefined;
    readBody({ req, res, limitBytes: deps.bodyLimitBytes }).then(
      (raw) => {
        let json: unknown;
        try {
          json = parseJsonBody(raw);
        } catch (err) {
          return sendError(res, err, protocolShape, path);
        }
        let call: Promise<void>;
        try {
          if (match[1] !== undefined) {
            call = oipInfer(
              protocol,
              headers,
              res,
              locals,
              decode(match[1]),
              decodeOptional(match[2]),
              raw,
              json,
            );
          } else if (match[3] !== undefined) {
            call = tfPredict(protocol, headers, res, locals, match[3], match[4], match[5], raw, json);
          } else {
            const route = match[7] === undefined ? deps.predict.predict : deps.predict.batch;
            call = route(headers, res, locals, sendJson(res), json);
          }
        } catch (err) {
          return sendError(res, err, protocolShape, path);
        }
        call.catch((err: unknown) => sendError(res, err, protocolShape, path));
      },
      (err: unknown) => sendError(res, err, protocolShape, path),
    );
  };

  return function gatewayHandler(req, res) {
    const match = fastEligible(req) ? PREDICTION_PATH.exec(req.url ?? '') : null;
    if (match && decodable(match)) return serve(req, res, match);
    fallback(req, res);
  };
}

/** Whether the fast path serves this request; any other goes to Express. A Content-Length over
 * BODY_LIMIT is served here too: readBody refuses it before reading, as Express's route would. */
function fastEligible(req: IncomingMessage): boolean {
  if (req.method !== 'POST') return false;
  const h = req.headers;
  if (h['transfer-encoding'] !== undefined || h['content-encoding'] !== undefined) return false;
  const type = h['content-type'];
  if (type === undefined || !FAST_TYPES.has(type)) return false;
  const lengthHeader = h['content-length'];
  return lengthHeader !== undefined && DIGITS.test(lengthHeader) && Number(lengthHeader) > 0;
}

/** Express's res.json for a 200, without its ETag. */
function sendJson(res: ServerResponse): (body: unknown) => void {
  return (body) => {
    res.setHeader('Content-Type', 'application/json; charset=utf-8');
    res.end(JSON.stringify(body));
  };
}

function decode(s: string): string {
  return s.includes('%') ? decodeURIComponent(s) : s;
}

function decodeOptional(s: string | undefined): string | undefined {
  return s === undefined ? undefined : decode(s);
}

/** OIP names are percent-decoded as Express does; a name Express would refuse goes to Express. */
function decodable(match: RegExpExecArray): boolean {
  if (match[1] === undefined) return true;
  try {
    decode(match[1]);
    if (match[2] !== undefined) decode(match[2]);
    return true;
  } catch {
    return false;
  }
}
