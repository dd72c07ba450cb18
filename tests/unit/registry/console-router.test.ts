import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import express from 'express';
import request from 'supertest';
import { errorMiddleware, notFoundHandler } from '../../../common/errors';
import { createLogger } from '../../../common/logger';
import { CONSOLE_CSP, consoleRouter } from '../../../registry/console';

const appWith = (dir: string | undefined) => {
  const app = express();
  app.use('/console', consoleRouter(dir));
  app.use(notFoundHandler());
  app.use(errorMiddleware(createLogger({ service: 'test', level: 'error', format: 'json' })));
  return app;
};

describe('the console router', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'console-dist-'));
    await writeFile(path.join(dir, 'index.html'), '<!doctype html><title>x</title>');
    await writeFile(path.join(dir, 'app.js'), 'export {};');
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('serves the page at /console and /console/ under the strict CSP', async () => {
    for (const url of ['/console', '/console/']) {
      const res = await request(appWith(dir)).get(url);
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/text\/html/);
      expect(res.headers['content-security-policy']).toBe(CONSOLE_CSP);
      expect(res.headers['x-frame-options']).toBe('DENY');
    }
    expect(CONSOLE_CSP).not.toMatch(/unsafe-inline|unsafe-eval|\*/);
  });

  it('serves the bundle with a script type', async () => {
    const res = await request(appWith(dir)).get('/console/app.js');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/javascript/);
  });

  it('answers a missing file or a path escaping the folder with a JSON 404', async () => {
    for (const url of ['/console/nope.js', '/console/..%2F..%2Fetc%2Fpasswd']) {
      const res = await request(appWith(dir)).get(url);
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe('not_found');
    }
  });

  it('says to run the build when the console is not built', async () => {
    const res = await request(appWith(path.join(dir, 'absent'))).get('/console/');
    expect(res.status).toBe(404);
    expect(res.body.error.message).toMatch(/the console is not built .*npm run build/);
  });
});
