/** Serves the experimenter's console (console/ built into dist/console/ by `npm run build`) under
 * /console. The page is static and same-origin with the API it calls, so the Content-Security-Policy
 * can be strict: scripts, styles and connections from this origin only, nothing inline, no framing.
 * The admin token lives in the tab's sessionStorage and goes out as a header, never a cookie, so
 * there is nothing another site could make the browser send. */
import { existsSync } from 'node:fs';
import path from 'node:path';
import express, { type RequestHandler, type Router } from 'express';
import { AppError } from '../common/errors';

export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const securityHeaders: RequestHandler = function consoleSecurityHeaders(_req, res, next) {
  res.setHeader('Content-Security-Policy', CONSOLE_CSP);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
  // Files keep their names across builds, so the browser revalidates instead of caching stale code.
  res.setHeader('Cache-Control', 'no-cache');
  next();
};

export function consoleRouter(dir: string | undefined): Router {
  const router = express.Router();
  router.use(securityHeaders);
  const index = dir ? path.join(dir, 'index.html') : undefined;
  if (!dir || !index || !existsSync(index)) {
    router.use(function consoleNotBuilt(_req, _res, next) {
      next(
        new AppError(
          'not_found',
          `the console is not built${dir ? ` (no ${index})` : ''}: run \`npm run build\` and restart the registry`,
        ),
      );
    });
    return router;
  }
  router.get(['/', '/index.html'], function consolePage(_req, res) {
    res.sendFile(index);
  });
  router.use(express.static(dir, { index: false, redirect: false, etag: true, dotfiles: 'ignore' }));
  return router;
}
