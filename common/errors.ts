import type { ServerResponse } from 'node:http';
import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { Logger } from './logger';

/** Every error a user can see, with its HTTP status. Codes are stable: clients branch on them. */
export const errorStatus = {
  invalid_input: 400,
  invalid_json: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  model_not_found: 404,
  version_not_found: 404,
  entity_not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  stale_revision: 412,
  payload_too_large: 413,
  unsupported_media_type: 415,
  instance_unverified: 422,
  precondition_required: 428,
  rate_limited: 429,
  internal: 500,
  upstream_error: 502,
  no_healthy_upstream: 503,
  overloaded: 503,
  not_ready: 503,
  feature_store_unavailable: 503,
  upstream_timeout: 504,
  insufficient_storage: 507,
} as const;

export type ErrorCode = keyof typeof errorStatus;

export interface ErrorBody {
  error: { code: ErrorCode; message: string; details?: unknown };
}

export class AppError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
    /** Extra response headers, e.g. Retry-After on 429/503. */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'AppError';
    this.status = errorStatus[code];
  }

  toBody(): ErrorBody {
    return {
      error: {
        code: this.code,
        message: this.message,
        ...(this.details === undefined ? {} : { details: this.details }),
      },
    };
  }
}

/** File-system failures that mean "this service cannot write its files", not "this request is bad":
 * each answers 507 with a message naming the errno, so an operator knows what to fix. */
const STORAGE_ERRORS: Record<string, string> = {
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EROFS: 'the file system is read-only',
  EIO: 'input/output error from the storage device',
  EFBIG: 'file too large for the file system',
  EACCES: 'permission denied',
};

/** The 507 for a file-system failure, or undefined when `err` is something else. */
export function storageError(err: unknown): AppError | undefined {
  const e = err as { code?: unknown; syscall?: unknown } | undefined;
  const code = typeof e?.code === 'string' ? e.code : undefined;
  const what = code === undefined ? undefined : STORAGE_ERRORS[code];
  if (what === undefined) return undefined;
  return new AppError(
    'insufficient_storage',
    `the change was not saved: ${code} (${what}); free space or fix the volume, then retry`,
    { errno: code, ...(typeof e?.syscall === 'string' ? { syscall: e.syscall } : {}) },
  );
}

/** Maps whatever was thrown to an AppError: body-parser's errors carry `type` and `status`; anything
 * unknown becomes a 500 whose message hides internals. */
export function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  const storage = storageError(err);
  if (storage) return storage;
  const e = err as { type?: string; status?: number; message?: string; code?: string } | undefined;
  switch (e?.type) {
    case 'entity.parse.failed':
      return new AppError('invalid_json', `request body is not valid JSON: ${e.message ?? 'parse error'}`);
    case 'entity.too.large':
      return new AppError('payload_too_large', 'request body is larger than this endpoint accepts');
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new AppError('unsupported_media_type', e.message ?? 'unsupported content encoding');
    case 'request.aborted':
      return new AppError('invalid_input', 'request was aborted by the client');
  }
  if (typeof e?.status === 'number' && e.status >= 400 && e.status < 500) {
    const code =
      (Object.keys(errorStatus) as ErrorCode[]).find((c) => errorStatus[c] === e.status) ?? 'invalid_input';
    return new AppError(code, e.message ?? 'bad request');
  }
  return new AppError('internal', 'internal error; the request id in X-Request-Id locates it in the logs');
}

function requestIdOf(res: { getHeader(name: string): unknown }): string | undefined {
  const id = res.getHeader('x-request-id');
  return typeof id === 'string' ? id : undefined;
}

type Render = (error: AppError) => unknown;

/** The one path from an error to a response, on a plain `node:http` response (Express's error
 * middleware below and the gateway's prediction routes both use it). `render` picks the wire shape:
 * modelgate's `{"error":{code,message,details}}` by default, the protocols' `{"error":"..."}` on
 * OIP/TF Serving routes. */
export function writeError(
  res: ServerResponse,
  err: unknown,
  options: { logger: Logger; path: string; render?: Render },
): void {
  const appError = toAppError(err);
  if (appError.status >= 500 && appError.code === 'internal') {
    options.logger.error('request failed', {
      requestId: requestIdOf(res),
      path: options.path,
      error: String((err as Error)?.stack ?? err),
    });
  }
  if (res.headersSent) {
    res.end();
    return;
  }
  for (const name in appError.headers) res.setHeader(name, appError.headers[name]!);
  const body = JSON.stringify((options.render ?? defaultRender)(appError));
  res.statusCode = appError.status;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.end(body);
}

const defaultRender: Render = (e) => e.toBody();

export function errorMiddleware(logger: Logger, render: Render = defaultRender): ErrorRequestHandler {
  return function handleError(err, req, res, _next) {
    writeError(res, err, { logger, path: req.path, render });
  };
}

/** Protocol-shaped error body used by KServe OIP v2 and TF Serving: `{"error": "..."}`. */
export const renderProtocolError: Render = (e) => ({ error: e.message });

/** Catch-all for unknown routes, so a 404 is JSON like every other error. */
export function notFoundHandler(): RequestHandler {
  return function notFound(req, _res, next) {
    next(new AppError('not_found', `no route for ${req.method} ${req.path}`));
  };
}
