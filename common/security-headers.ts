/** The security headers every service sends (helmet's defaults: nosniff, frame and referrer
 * policy, a same-origin CSP, HSTS...), in one place. helmet's defaults do not depend on the request,
 * so its headers are captured once and each answer gets the same list written, Express routes
 * (`middleware`, the registry) and the node:http front doors of the gateway and the model-server
 * (`headers`) alike. */
import type { RequestHandler, Response } from 'express';
import helmet from 'helmet';

export interface SecurityHeaders {
  middleware: RequestHandler;
  headers: readonly (readonly [string, string])[];
}

export function securityHeaders(): SecurityHeaders {
  const headers: [string, string][] = [];
  const capture = {
    setHeader: (name: string, value: unknown) => headers.push([name, String(value)]),
    removeHeader: () => undefined,
    getHeader: () => undefined,
  };
  helmet()({ headers: {} } as never, capture as unknown as Response, () => undefined);
  return {
    headers,
    middleware: function setSecurityHeaders(_req, res, next) {
      for (const [name, value] of headers) res.setHeader(name, value);
      next();
    },
  };
}
