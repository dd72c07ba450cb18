/** The prediction hot path without the Express stack. A plain `node:http` handler recognises the
 * OIP v2 infer and TF Serving predict routes with one regular expression and serves them itself:
 * request id, security and CORS headers, API key, rate limit, body read and parse, then the same
 * protocol code the Express routes run. Anything unusual (another method or path form, a body
 * without Content-Length, compressed or too large, another media type) falls through to Express
 * untouched, before any side effect, so its answer is Express's by construction. */

import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { AppError, renderProtocolError, toAppError } from '../common/errors';
import { requestIdFrom } from '../common/http';
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

  const serve = (req: IncomingMessage, res: ServerResponse, match: RegExpExecArray, length: number) => {
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
    readBody(req, length, (raw) => {
      if (raw === undefined) {
        const e = new AppError('invalid_input', 'request size did not match content length');
        return sendError(res, e, protocolShape, path);
      }
      let json: unknown;
      try {
        // body-parser (behind /predict) drops a UTF-8 byte order mark; express.raw does not.
        json = JSON.parse((protocolShape || !hasBom(raw) ? raw : raw.subarray(3)).toString('utf8'));
      } catch (err) {
        const e = new AppError('invalid_json', `request body is not valid JSON: ${(err as Error).message}`);
        return sendError(res, e, protocolShape, path);
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
    });
  };

  return function gatewayHandler(req, res) {
    const length = fastLength(req, deps.bodyLimitBytes);
    const match = length > 0 ? PREDICTION_PATH.exec(req.url ?? '') : null;
    if (match && decodable(match)) return serve(req, res, match, length);
    fallback(req, res);
  };
}

/** The body length when this request is one the fast path serves, else 0 (Express takes it). */
function fastLength(req: IncomingMessage, limit: number): number {
  if (req.method !== 'POST') return 0;
  const h = req.headers;
  if (h['transfer-encoding'] !== undefined || h['content-encoding'] !== undefined) return 0;
  const type = h['content-type'];
  if (type === undefined || !FAST_TYPES.has(type)) return 0;
  const lengthHeader = h['content-length'];
  if (lengthHeader === undefined || !DIGITS.test(lengthHeader)) return 0;
  const length = Number(lengthHeader);
  return length > 0 && length <= limit ? length : 0;
}

/** Express's res.json for a 200, without its ETag. */
function sendJson(res: ServerResponse): (body: unknown) => void {
  return (body) => {
    res.setHeader('Content-Type', 'application/json; charset=utf-8');
    res.end(JSON.stringify(body));
  };
}

function hasBom(b: Buffer): boolean {
  return b.length >= 3 && b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf;
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

/** Reads exactly `length` bytes (Node's parser never delivers more than Content-Length). A client
 * that goes away mid-body gets no answer, as with body-parser. */
function readBody(req: IncomingMessage, length: number, done: (raw: Buffer | undefined) => void): void {
  let first: Buffer | undefined;
  let chunks: Buffer[] | undefined;
  let received = 0;
  req.on('data', (chunk: Buffer) => {
    received += chunk.length;
    if (first === undefined) first = chunk;
    else {
      if (chunks === undefined) chunks = [first];
      chunks.push(chunk);
    }
  });
  req.on('end', () => {
    if (received !== length) return done(undefined);
    done(chunks ? Buffer.concat(chunks, received) : (first ?? Buffer.alloc(0)));
  });
  req.on('error', () => undefined);
}

/** BODY_LIMIT as the `bytes` package (body-parser's) reads it: "1mb", "512kb", "100000". */
export function parseByteLimit(limit: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(b|kb|mb|gb|tb|pb)?\s*$/i.exec(limit);
  if (!m) throw new Error(`BODY_LIMIT "${limit}" is not a size like 1mb or 512kb`);
  const unit = (m[2] ?? 'b').toLowerCase();
  const power = ['b', 'kb', 'mb', 'gb', 'tb', 'pb'].indexOf(unit);
  return Math.floor(Number(m[1]) * 1024 ** power);
}
