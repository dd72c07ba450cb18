import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import express from 'express';
import request from 'supertest';
import { parseByteLimit } from '../../../common/body-limit';
import { errorMiddleware } from '../../../common/errors';
import { jsonBody } from '../../../common/http';
import { createLogger } from '../../../common/logger';

function echoApp(limit: string) {
  const app = express();
  app.post('/echo', ...jsonBody(limit), (req, res) => {
    res.json(req.body);
  });
  app.use(errorMiddleware(createLogger({ service: 'test', level: 'error', format: 'json' })));
  return app;
}

/** supertest serialises a Buffer as JSON when the type is JSON; this sends the bytes as they are. */
async function post(app: express.Express, headers: Record<string, string>, body: Buffer) {
  const server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  try {
    const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/echo`, {
      method: 'POST',
      headers,
      body: new Uint8Array(body),
    });
    return { status: res.status, body: (await res.json()) as any };
  } finally {
    server.close();
  }
}

describe('jsonBody limits', () => {
  it('decodes a gzip body', async () => {
    const gzip = { 'content-type': 'application/json', 'content-encoding': 'gzip' };
    const res = await post(echoApp('1kb'), gzip, gzipSync(JSON.stringify({ a: [1, 2, 3] })));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ a: [1, 2, 3] });
  });

  it('refuses a small gzip body that inflates past the limit with 413', async () => {
    const bomb = gzipSync(JSON.stringify({ a: 'x'.repeat(200_000) }));
    expect(bomb.length).toBeLessThan(1024);
    const gzip = { 'content-type': 'application/json', 'content-encoding': 'gzip' };
    const res = await post(echoApp('1kb'), gzip, bomb);
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe('payload_too_large');
    expect(res.body.error.details).toEqual({ limit_bytes: 1024 });
  });

  it('refuses an unknown Content-Encoding with 415 naming the accepted ones', async () => {
    const res = await request(echoApp('1kb'))
      .post('/echo')
      .set('Content-Type', 'application/json')
      .set('Content-Encoding', 'compress')
      .send('{}');
    expect(res.status).toBe(415);
    expect(res.body.error.message).toMatch(/identity, gzip, deflate or br/);
  });

  it('refuses a charset other than UTF-8 with 415', async () => {
    const res = await request(echoApp('1kb'))
      .post('/echo')
      .set('Content-Type', 'application/json; charset=latin1')
      .send('{}');
    expect(res.status).toBe(415);
    expect(res.body.error.message).toMatch(/UTF-8/);
  });

  it('drops a UTF-8 byte order mark', async () => {
    const bom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"b":2}')]);
    const res = await post(echoApp('1kb'), { 'content-type': 'application/json' }, bom);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ b: 2 });
  });

  it('reads sizes as body-parser does', () => {
    expect(parseByteLimit('64kb')).toBe(65536);
    expect(parseByteLimit(10)).toBe(10);
    expect(() => parseByteLimit('ten')).toThrow(/not a size/);
  });
});
