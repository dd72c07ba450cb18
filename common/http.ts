import { createServer, type RequestListener, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type express from 'express';
import type { RequestHandler } from 'express';
import type { Registry } from 'prom-client';
import { parseByteLimit, readJsonBody } from './body-limit';
import { AppError } from './errors';
import type { Logger } from './logger';
import { matchesSecret, secretDigest } from './secret';
import { onSupervisorGone, tellSupervisor } from './supervised';
import { uuidV7 } from './uuid-v7';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The caller's X-Request-Id when it is sane, else a new, time-ordered one (common/uuid-v7.ts says why). */
export function requestIdFrom(given: string | undefined, generate: () => string = uuidV7): string {
  return given && REQUEST_ID.test(given) ? given : generate();
}

/** Takes the caller's X-Request-Id when it is sane, else makes one; echoes it on every answer. */
export function requestId(generate: () => string = uuidV7): RequestHandler {
  return function assignRequestId(req, res, next) {
    const id = requestIdFrom(req.get('x-request-id'), generate);
    res.locals.requestId = id;
    res.setHeader('X-Request-Id', id);
    next();
  };
}

/** A path segment percent-decoded, as Express decodes route parameters; a 400 when it cannot be. */
export function decodePathSegment(s: string | undefined): string | undefined {
  if (s === undefined || !s.includes('%')) return s;
  try {
    return decodeURIComponent(s);
  } catch {
    throw new AppError('invalid_input', `"${s.slice(0, 64)}" in the path is not valid percent-encoding`);
  }
}

/** JSON bodies only (common/body-limit.ts readJsonBody): a wrong Content-Type is a 415 that says
 * what to send, a bad body a 400, one over `limit` a 413 before it is read. `req.body` is the parsed
 * value. An array, so routes spread it as they did body-parser's middleware list. */
export function jsonBody(limit: string | number): RequestHandler[] {
  const limitBytes = parseByteLimit(limit);
  return [
    function readJson(req, res, next) {
      readJsonBody({ req, res, limitBytes }).then(({ json }) => {
        req.body = json;
        next();
      }, next);
    },
  ];
}

/** res.json for plain node:http responses. */
export function writeJson(res: ServerResponse, body: unknown, status = 200): void {
  writeJsonText(res, JSON.stringify(body), status);
}

/** JSON already serialised (the model-server writes its answers straight from typed arrays). */
export function writeJsonText(res: ServerResponse, text: string, status = 200): void {
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(text));
  res.end(text);
}

/** GET /metrics; with a token, only for `Authorization: Bearer <token>` (the page names upstream
 * URLs and models, which callers of the data plane need not see). */
export function metricsHandler(
  registry: Registry,
  token?: string,
  /** The text to serve, when it is not this registry's own (a cluster worker answers for all). */
  text: () => Promise<string> = () => registry.metrics(),
): RequestHandler {
  const known = token === undefined ? undefined : [secretDigest(token)];
  return async function serveMetrics(req, res, next) {
    if (known) {
      const given = /^Bearer\s+(\S+)\s*$/i.exec(req.get('authorization') ?? '')?.[1];
      if (given === undefined || !matchesSecret(known, given)) {
        return next(
          new AppError(
            'unauthorized',
            'GET /metrics needs Authorization: Bearer <METRICS_TOKEN> on this service',
            undefined,
            { 'WWW-Authenticate': 'Bearer realm="metrics"' },
          ),
        );
      }
    }
    res.setHeader('Content-Type', registry.contentType);
    res.end(await text());
  };
}

export interface RunningServer {
  server: Server;
  port: number;
  url: string;
  close(): Promise<void>;
}

export interface ListenOptions {
  /** Time to receive the headers; Node's default is 60 s. */
  headersTimeoutMs?: number;
  /** Time to receive the whole request, body included; Node's default is 300 s, which lets a body
   * that never ends hold a connection for five minutes. */
  requestTimeoutMs?: number;
  /** Serve HTTPS with this certificate and key (common/tls.ts). */
  tls?: { cert: Buffer; key: Buffer } | undefined;
}

/** Listens, logs one `listening` line with the bound port (integration tests start services with
 * PORT=0 and read it), and tells a supervising `modelgate up` the port, or the reason it failed,
 * over IPC. */
export function listen(
  app: express.Express | RequestListener,
  port: number,
  host: string,
  logger: Logger,
  options: ListenOptions = {},
): Promise<RunningServer> {
  const requestTimeout = options.requestTimeoutMs ?? 30_000;
  // Node refuses a headers timeout longer than the request timeout.
  const headersTimeout = Math.min(options.headersTimeoutMs ?? 10_000, requestTimeout);
  return new Promise((resolve, reject) => {
    const serverOptions = {
      requestTimeout,
      headersTimeout,
      // Node enforces both timeouts by sweeping connections, every 30 s by default: a 2 s timeout
      // would then close a connection up to 32 s late.
      connectionsCheckingInterval: Math.min(1000, Math.max(100, Math.floor(headersTimeout / 2))),
    };
    const server: Server = (
      options.tls
        ? createHttpsServer({ ...serverOptions, ...options.tls }, app as RequestListener)
        : createServer(serverOptions, app as RequestListener)
    ).listen(port, host);
    server.keepAliveTimeout = 65_000; // longer than common load balancers' idle timeout
    server.once('error', (err: NodeJS.ErrnoException) => {
      const failed = {
        type: 'listen_failed',
        code: err.code ?? 'unknown',
        port,
        message: err.message,
      } as const;
      void tellSupervisor(failed).then(() => reject(err));
    });
    server.once('listening', () => {
      const address = server.address();
      const boundPort = typeof address === 'object' && address ? address.port : port;
      const scheme = options.tls ? 'https' : 'http';
      const url = `${scheme}://${host.includes(':') ? `[${host}]` : host}:${boundPort}`;
      logger.info('listening', { event: 'listening', port: boundPort, url });
      void tellSupervisor({ type: 'listening', port: boundPort, url });
      resolve({
        server,
        port: boundPort,
        url,
        close: () =>
          new Promise<void>((done) => {
            // server.close() stops accepting but leaves keep-alive sockets open, and a client that
            // reuses one keeps being served. Closing idle sockets until the last in-flight request
            // ends makes every client reconnect (elsewhere) as soon as its current answer is sent.
            const sweep = setInterval(() => server.closeIdleConnections(), 25);
            server.close(() => {
              clearInterval(sweep);
              done();
            });
            server.closeIdleConnections();
          }),
      });
    });
  });
}

/** Runs `stop` once on SIGTERM/SIGINT or when a supervising parent goes away (its IPC channel
 * closes), then exits 0; exits 1 if it exceeds the deadline. */
export function onShutdown(logger: Logger, stop: () => Promise<void>, deadlineMs = 10_000): void {
  let stopping = false;
  const handler = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info('shutting down', { signal });
    const timer = setTimeout(() => {
      logger.error('shutdown deadline passed, exiting', { deadlineMs });
      process.exit(1);
    }, deadlineMs);
    timer.unref();
    stop().then(
      () => process.exit(0),
      (err) => {
        logger.error('shutdown failed', { error: String(err) });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => handler('SIGTERM'));
  process.on('SIGINT', () => handler('SIGINT'));
  onSupervisorGone(() => handler('disconnect'));
}
