import express from 'express';
import request from 'supertest';
import {
  AppError,
  errorMiddleware,
  errorStatus,
  notFoundHandler,
  renderProtocolError,
  toAppError,
} from '../../../common/errors';
import { jsonBody, requestId } from '../../../common/http';
import { createSilentLogger } from '../../../common/logger';

function appThrowing(err: unknown, render = errorMiddleware(createSilentLogger())) {
  const app = express();
  app.use(requestId(() => 'fixed-id'));
  app.get('/boom', () => {
    throw err;
  });
  app.post('/echo', ...jsonBody('1kb'), (req, res) => {
    res.json(req.body);
  });
  app.use(notFoundHandler());
  app.use(render);
  return app;
}

describe('AppError', () => {
  it('takes its status from the code table', () => {
    for (const [code, status] of Object.entries(errorStatus)) {
      expect(new AppError(code as keyof typeof errorStatus, 'x').status).toBe(status);
    }
  });

  it('maps a full or broken disk to 507 naming the errno, and leaves other errors alone', () => {
    const full = toAppError(
      Object.assign(new Error('ENOSPC: no space left'), { code: 'ENOSPC', syscall: 'write' }),
    );
    expect(full.status).toBe(507);
    expect(full.code).toBe('insufficient_storage');
    expect(full.message).toMatch(/ENOSPC \(no space left on the device\)/);
    expect(full.details).toEqual({ errno: 'ENOSPC', syscall: 'write' });
    expect(toAppError(Object.assign(new Error('x'), { code: 'EROFS' })).message).toMatch(/read-only/);
    expect(toAppError(Object.assign(new Error('x'), { code: 'ENOENT' })).status).toBe(500);
  });

  it('maps body-parser failures to client errors', () => {
    expect(toAppError({ type: 'entity.parse.failed', message: 'Unexpected token' }).code).toBe(
      'invalid_json',
    );
    expect(toAppError({ type: 'entity.too.large' }).status).toBe(413);
    expect(toAppError(new Error('secret internals')).message).not.toContain('secret');
  });
});

describe('errorMiddleware', () => {
  it('renders the stable JSON shape with status and extra headers', async () => {
    const res = await request(
      appThrowing(new AppError('rate_limited', 'slow down', undefined, { 'Retry-After': '2' })),
    ).get('/boom');
    expect(res.status).toBe(429);
    expect(res.headers['retry-after']).toBe('2');
    expect(res.body).toEqual({ error: { code: 'rate_limited', message: 'slow down' } });
  });

  it('hides unexpected errors behind a 500 with no stack trace', async () => {
    const res = await request(appThrowing(new TypeError('cannot read x of undefined'))).get('/boom');
    expect(res.status).toBe(500);
    expect(res.body.error.code).toBe('internal');
    expect(JSON.stringify(res.body)).not.toMatch(/TypeError|at /);
    expect(res.headers['x-request-id']).toBe('fixed-id');
  });

  it('renders protocol errors as {"error": "..."} on protocol routes', async () => {
    const res = await request(
      appThrowing(
        new AppError('invalid_input', 'bad shape'),
        errorMiddleware(createSilentLogger(), renderProtocolError),
      ),
    ).get('/boom');
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: 'bad shape' });
  });

  it('answers unknown routes with a JSON 404', async () => {
    const res = await request(appThrowing(null)).get('/nowhere');
    expect(res.status).toBe(404);
    expect(res.body.error.message).toContain('GET /nowhere');
  });
});

describe('jsonBody', () => {
  const app = appThrowing(null);

  it('refuses a non-JSON content type with 415', async () => {
    const res = await request(app).post('/echo').set('Content-Type', 'text/plain').send('hello');
    expect(res.status).toBe(415);
    expect(res.body.error.code).toBe('unsupported_media_type');
  });

  it('refuses malformed JSON with 400', async () => {
    const res = await request(app).post('/echo').set('Content-Type', 'application/json').send('{"a":');
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_json');
  });

  it('refuses an oversized body with 413', async () => {
    const res = await request(app)
      .post('/echo')
      .send({ big: 'x'.repeat(5000) });
    expect(res.status).toBe(413);
  });

  it('refuses an empty body with 400', async () => {
    const res = await request(app).post('/echo').set('Content-Type', 'application/json');
    expect(res.status).toBe(400);
  });

  it('passes a valid body through', async () => {
    const res = await request(app).post('/echo').send({ a: 1 });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ a: 1 });
  });
});

describe('requestId', () => {
  it('keeps a sane caller id and replaces a hostile one', async () => {
    const app = appThrowing(null);
    const kept = await request(app).get('/x').set('X-Request-Id', 'abc-123');
    expect(kept.headers['x-request-id']).toBe('abc-123');
    const replaced = await request(app).get('/x').set('X-Request-Id', 'a b <script>');
    expect(replaced.headers['x-request-id']).toBe('fixed-id');
  });
});
