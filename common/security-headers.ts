/** The security headers every service sends (helmet's defaults: nosniff, frame and referrer
 * policy, a same-origin CSP, HSTS...), in one place. The list is computed once, because it does not
 * depend on the request: the gateway's fast path writes it without running a middleware. */
import type { RequestHandler, Response } from 'express';
import helmet from 'helmet';

export interface SecurityHeaders {
  middleware: RequestHandler;
  headers: readonly (readonly [string, string])[];
}

export function securityHeaders(): SecurityHeaders {
  const middleware = helmet();
  const headers: [string, string][] = [];
  const capture = {
    setHeader: (name: string, value: unknown) => headers.push([name, String(value)]),
    removeHeader: () => undefined,
    getHeader: () => undefined,
  };
  middleware({ headers: {} } as never, capture as unknown as Response, () => undefined);
  return { middleware, headers };
}
