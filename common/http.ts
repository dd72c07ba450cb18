import { randomUUID } from 'node:crypto';
import { createServer, type RequestListener, type Server, type ServerResponse } from 'node:http';
import express, { type RequestHandler } from 'express';
import type { Registry } from 'prom-client';
import { AppError } from './errors';
import type { Logger } from './logger';
import { onSupervisorGone, tellSupervisor } from './supervised';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The caller's X-Request-Id when it is sane, else a new one. */
export function requestIdFrom(given: string | undefined, generate: () => string = randomUUID): string {
  return given && REQUEST_ID.test(given) ? given : generate();
}

/** Takes the caller's X-Request-Id when it is sane, else makes one; echoes it on every answer. */
export function requestId(generate: () => string = randomUUID): RequestHandler {
  return function assignRequestId(req, res, next) {
    const id = requestIdFrom(req.get('x-request-id'), generate);
    res.locals.requestId = id;
    res.setHeader('X-Request-Id', id);
    next();
  };
}

/** JSON bodies only: a wrong Content-Type is a 415 that says what to send, a bad body a 400. */
export function jsonBody(limit: string | number, types: string[] = ['application/json']): RequestHandler[] {
  const parse = express.json({ limit, type: types, strict: false });
  const requireJson: RequestHandler = function requireJson(req, _res, next) {
    const length = req.get('content-length');
    const hasBody = (length !== undefined && length !== '0') || req.get('transfer-encoding') !== undefined;
    if (!hasBody) return next(new AppError('invalid_input', 'request body is empty; send a JSON object'));
    if (!req.is(types)) {
      return next(
        new AppError(
          'unsupported_media_type',
          `Content-Type must be application/json, got "${req.get('content-type') ?? 'none'}"`,
        ),
      );
    }
    next();
  };
  return [requireJson, parse];
}

/** res.json for plain node:http responses. */
export function writeJson(res: ServerResponse, body: unknown, status = 200): void {
  const text = JSON.stringify(body);
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(text));
  res.end(text);
}

export function metricsHandler(registry: Registry): RequestHandler {
  return async function serveMetrics(_req, res) {
    res.setHeader('Content-Type', registry.contentType);
    res.end(await registry.metrics());
  };
}

export interface RunningServer {
  server: Server;
  port: number;
  url: string;
  close(): Promise<void>;
}

/** Listens, logs one `listening` line with the bound port (integration tests start services with
 * PORT=0 and read it), and tells a supervising `modelgate up` the port, or the reason it failed,
 * over IPC. */
export function listen(
  app: express.Express | RequestListener,
  port: number,
  host: string,
  logger: Logger,
): Promise<RunningServer> {
  return new Promise((resolve, reject) => {
    const server = createServer(app as RequestListener).listen(port, host);
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
      const url = `http://${host.includes(':') ? `[${host}]` : host}:${boundPort}`;
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
