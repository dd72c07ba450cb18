/** What every request to the model-server goes through, once: request id, security headers, the
 * draining `Connection: close` and the request count. Then inference is served on plain node:http
 * (inference-routes.ts) and everything else by the Express app. Each concern lives here and nowhere
 * else, so the two kinds of routes cannot drift apart. */
import type { RequestListener } from 'node:http';
import { requestIdFrom } from '../common/http';
import { type inferenceRoutes, matchInferenceRoute } from './inference-routes';

export type Protocol = 'v1' | 'v2';

/** The protocol a path belongs to, for the request counter; health probes are not counted. */
export function protocolOf(path: string): Protocol | undefined {
  if (path.startsWith('/v1/')) return 'v1';
  if (path.startsWith('/v2') && !path.startsWith('/v2/health')) return 'v2';
  return undefined;
}

export interface FrontDoorDeps {
  /** The security headers every answer carries (common/security-headers.ts), computed once. */
  securityHeaders: readonly (readonly [string, string])[];
  /** While draining, every answer closes its connection so keep-alive clients move elsewhere. */
  draining(): boolean;
  countRequest(protocol: Protocol, status: number): void;
  inference: ReturnType<typeof inferenceRoutes>;
  /** Everything that is not inference: the Express app. */
  app: RequestListener;
}

export function frontDoor(deps: FrontDoorDeps): RequestListener {
  return function modelServerHandler(req, res) {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const given = req.headers['x-request-id'];
    res.setHeader('X-Request-Id', requestIdFrom(typeof given === 'string' ? given : undefined));
    for (const [name, value] of deps.securityHeaders) res.setHeader(name, value);
    if (deps.draining()) res.setHeader('Connection', 'close');
    const protocol = protocolOf(path);
    if (protocol) res.once('finish', () => deps.countRequest(protocol, res.statusCode));
    const route = matchInferenceRoute(req.method, path);
    if (route) deps.inference(req, res, route, path);
    else deps.app(req, res);
  };
}
