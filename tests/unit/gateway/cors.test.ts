/** The wildcard fast path writes what the cors package would, and preflights and origin lists still
 * go through the package. */
import http from 'node:http';
import cors from 'cors';
import request from 'supertest';
import { gatewayCors, type Middleware } from '../../../gateway/cors';

function serverWith(middleware: Middleware) {
  return http.createServer((req, res) =>
    middleware(req, res, () => {
      res.statusCode = 200;
      res.end('ok');
    }),
  );
}

const corsHeaders = (headers: Record<string, string>) =>
  Object.fromEntries(Object.entries(headers).filter(([name]) => /^(access-control-|vary$)/.test(name)));

const reference = cors({
  origin: '*',
  exposedHeaders: ['X-Request-Id', 'X-Model-Version', 'X-Model-Failover', 'Retry-After'],
}) as Middleware;

describe('gateway CORS', () => {
  it.each([
    ['POST without Origin', 'post', {}],
    ['POST from a page', 'post', { origin: 'http://app.test' }],
    ['GET from a page', 'get', { origin: 'http://other.test' }],
    ['a preflight', 'options', { origin: 'http://app.test', 'access-control-request-method': 'POST' }],
  ] as const)(
    'answers %s with the cors package headers when CORS_ORIGINS is *',
    async (_n, method, headers) => {
      const ours = await request(serverWith(gatewayCors(['*'])))
        [method]('/predict')
        .set(headers);
      const theirs = await request(serverWith(reference))[method]('/predict').set(headers);
      expect(ours.status).toBe(theirs.status);
      expect(corsHeaders(ours.headers)).toEqual(corsHeaders(theirs.headers));
      expect(ours.headers['access-control-allow-origin']).toBe('*');
    },
  );

  it('allows only the listed origins, and says Vary: Origin', async () => {
    const app = serverWith(gatewayCors(['http://app.test']));
    const listed = await request(app).post('/predict').set('origin', 'http://app.test');
    const other = await request(app).post('/predict').set('origin', 'http://evil.test');
    expect(listed.headers['access-control-allow-origin']).toBe('http://app.test');
    expect(listed.headers.vary).toMatch(/Origin/);
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
  });
});
