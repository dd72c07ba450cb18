/** What every request to the gateway goes through, once, before it is served: request id, security
 * and CORS headers, the access log, and for every path but probes, metrics and docs the API key and
 * the rate limit. Then prediction routes are served on plain node:http (prediction-routes.ts) and
 * everything else by the Express app, which sees the same `res.locals`. Each concern lives here and
 * nowhere else, so the two kinds of routes cannot drift apart. */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { AppError, writeError } from '../common/errors';
import { requestIdFrom } from '../common/http';
import type { Logger } from '../common/logger';
import type { RouteReason } from '../tracking/store/schema';
import type { Middleware } from './cors';
import type { CallLocals } from './prediction-call';
import { matchPredictionRoute, type predictionRoutes } from './prediction-routes';
import { callerOf, checkApiKey } from './security';
import type { AdaptiveLimit } from './upstream/concurrency-limit';

/** Paths anyone may call even when API_KEYS is set: probes, metrics and docs; and those guarded by
 * ADMIN_TOKEN instead (both use the Authorization header). */
const PUBLIC_PATH =
  /^\/(health|ready|metrics|openapi\.json|docs(\/.*)?|v2\/health\/(live|ready)|predictions)$/;

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

export interface FrontDoorDeps {
  logger: Logger;
  now(): number;
  apiKeys: readonly string[];
  /** Prediction requests this gateway admits at once (adaptive within MAX_CONCURRENT_REQUESTS);
   * past it new ones are shed with 503 before their body is read. */
  admission: AdaptiveLimit;
  rateLimiter: { take(caller: string): AppError | undefined };
  /** The security headers every answer carries (common/security-headers.ts), computed once. */
  securityHeaders: readonly (readonly [string, string])[];
  /** The cors middleware: its headers depend on the request's Origin; it answers preflights. */
  cors: Middleware;
  access(entry: AccessEntry): void;
  predictions: ReturnType<typeof predictionRoutes>;
  /** Everything that is not a prediction: the Express app. */
  app: RequestListener;
}

export function frontDoor(deps: FrontDoorDeps): RequestListener {
  const { now } = deps;
  return function gatewayHandler(req, res) {
    const startedAt = now();
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const given = req.headers['x-request-id'];
    const locals: CallLocals = { requestId: requestIdFrom(typeof given === 'string' ? given : undefined) };
    // Express adopts an existing res.locals (express/lib/application.js handle()).
    (res as ServerResponse & { locals: CallLocals }).locals = locals;
    res.setHeader('X-Request-Id', locals.requestId);
    // One listener per request for both the access line and the admission slot: 'close' follows
    // 'finish' on every answer, and fires alone when the client went away first.
    let admitted = false;
    res.once('close', () => {
      if (admitted) {
        deps.admission.release({
          rttMs: now() - startedAt,
          dropped: res.statusCode === 504 || !res.writableFinished,
        });
      }
      if (!res.writableFinished) return;
      deps.access({
        method: req.method ?? 'GET',
        url,
        status: res.statusCode,
        startedAt,
        requestId: locals.requestId,
        model: locals.model,
        version: locals.version,
        reason: locals.reason,
        unit: locals.unit,
      });
    });
    for (const [name, value] of deps.securityHeaders) res.setHeader(name, value);
    deps.cors(req, res, () => {
      if (!PUBLIC_PATH.test(path)) {
        const denied = guard(deps, req);
        if (denied) return writeError(res, denied, { logger: deps.logger, path });
      }
      const route = matchPredictionRoute(req.method, path);
      if (!route) return deps.app(req, res);
      const { admission } = deps;
      if (!admission.tryAcquire())
        return writeError(res, shed(admission.limit), { logger: deps.logger, path });
      admitted = true;
      deps.predictions(req, res, locals, route, path);
    });
  };
}

/** Past the gateway's limit a request is refused before its body is read: queueing it would only
 * make every admitted request slower. */
function shed(limit: number): AppError {
  return new AppError(
    'overloaded',
    `the gateway has ${limit} prediction requests in flight, as many as it admits now; retry after 1 s`,
    undefined,
    { 'Retry-After': '1' },
  );
}

/** The 401 or 429 to answer, or undefined when the request may go on. */
function guard(deps: FrontDoorDeps, req: IncomingMessage): AppError | undefined {
  const h = req.headers;
  const key = checkApiKey(deps.apiKeys, str(h.authorization), str(h['x-api-key']));
  if (key instanceof AppError) return key;
  return deps.rateLimiter.take(callerOf(key, req.socket.remoteAddress));
}

function str(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v.join(', ') : v;
}
