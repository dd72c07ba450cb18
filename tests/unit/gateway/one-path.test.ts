/** Every request crosses the same front door: security and CORS headers, API keys and the rate limit
 * are applied once for prediction routes (plain node:http) and Express routes alike, and prediction
 * bodies are read by one reader whatever their framing. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import request from 'supertest';
import { parseByteLimit } from '../../../common/body-limit';
import { matchPredictionRoute } from '../../../gateway/prediction-routes';
import { type FakeUpstream, startFakeUpstream } from './fake-upstream';
import { createFixture, type Fixture, policy, routesFor } from './gateway-fixture';

jest.setTimeout(30_000);

const OIP = { inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }] };
const json = (x: unknown) => JSON.stringify(x);

describe('one prediction path', () => {
  let v1: FakeUpstream;
  let v2: FakeUpstream;
  let fixture: Fixture;

  beforeAll(async () => {
    v1 = await startFakeUpstream(['a', 'b', 'c'], [0.7, 0.2, 0.1]);
    v2 = await startFakeUpstream(['a', 'b', 'c'], [0.1, 0.3, 0.6]);
  });
  afterAll(async () => {
    await v1.close();
    await v2.close();
  });
  afterEach(async () => {
    await fixture?.gateway.close();
    v1.mode = 'ok';
  });

  const routes = () =>
    routesFor(
      'm',
      policy({
        variants: [
          { version: '1', weight: 50 },
          { version: '2', weight: 50 },
        ],
        aliases: { stable: '1', canary: '2' },
      }),
      { '1': [v1.url], '2': [v2.url] },
    );

  const post = (path: string, body: string, headers: Record<string, string> = {}) => {
    let r = request(fixture.gateway.handler).post(path).set('content-type', 'application/json');
    for (const [k, v] of Object.entries(headers)) r = r.set(k, v);
    return r.send(body);
  };

  it.each([
    ['OIP pinned', '/v2/models/m/versions/2/infer', json(OIP), {}, 200, '2'],
    ['OIP label header', '/v2/models/m/infer', json(OIP), { 'x-model-label': 'stable' }, 200, '1'],
    ['OIP query string', '/v2/models/m/versions/1/infer?x=1', json(OIP), {}, 200, '1'],
    ['OIP encoded name', '/v2/models/%6D/versions/1/infer', json(OIP), {}, 200, '1'],
    ['OIP trailing slash', '/v2/models/m/versions/1/infer/', json(OIP), {}, 200, '1'],
    ['TF pinned', '/v1/models/m/versions/1:predict', json({ instances: [[1, 2, 3, 4]] }), {}, 200, '1'],
    ['TF label', '/v1/models/m/labels/canary:predict', json({ instances: [[1, 2, 3, 4]] }), {}, 200, '2'],
    ['predict pinned', '/predict', json({ features: [1, 2, 3, 4] }), { 'x-model-version': '1' }, 200, '1'],
    [
      'predict upper case',
      '/PREDICT',
      json({ features: [1, 2, 3, 4] }),
      { 'x-model-version': '1' },
      200,
      '1',
    ],
    [
      'predict BOM',
      '/predict',
      `\ufeff${json({ features: [1, 2, 3, 4], model: 'm' })}`,
      { 'x-model-version': '2' },
      200,
      '2',
    ],
  ])('serves %s', async (_name, path, body, headers, status, version) => {
    fixture = createFixture(routes());
    const res = await post(path, body, headers);
    expect(res.status).toBe(status);
    expect(res.headers['x-model-version']).toBe(version);
  });

  it.each([
    ['OIP unknown model', '/v2/models/zz/infer', json(OIP), 404, 'protocol', /no model "zz"/],
    ['OIP unknown version', '/v2/models/m/versions/9/infer', json(OIP), 404, 'protocol', /no version "9"/],
    ['OIP bad JSON', '/v2/models/m/infer', '{"inputs": [', 400, 'protocol', /not valid JSON/],
    ['OIP not an object', '/v2/models/m/versions/1/infer', '[1,2]', 400, 'protocol', /JSON object/],
    ['OIP bad escape', '/v2/models/%E0%A4%A/infer', json(OIP), 400, 'protocol', /percent-encoding/],
    [
      'TF NaN literal',
      '/v1/models/m/versions/1:predict',
      '{"instances": [[1, 2, 3, NaN]]}',
      400,
      'protocol',
      /JSON/,
    ],
    [
      'TF unknown label',
      '/v1/models/m/labels/nope:predict',
      json({ instances: [[1, 2, 3, 4]] }),
      404,
      'protocol',
      /no label "nope"/,
    ],
    ['predict bad JSON', '/predict', '{"features": [1,', 400, 'modelgate', /not valid JSON/],
    ['predict schema', '/predict', json({ features: 'nope' }), 400, 'modelgate', /features/],
    ['predict array body', '/predict', '[1,2,3,4]', 400, 'modelgate', /JSON object/],
    ['predict empty batch', '/predict/batch', json({ instances: [] }), 400, 'modelgate', /instances/],
  ])(
    'answers %s with an actionable error in the route shape',
    async (_n, path, body, status, shape, message) => {
      fixture = createFixture(routes(), {}, { random: () => 0.25 });
      const res = await post(path, body);
      expect(res.status).toBe(status);
      if (shape === 'protocol') expect(res.body.error).toMatch(message);
      else expect(res.body.error.message).toMatch(message);
    },
  );

  it('puts the same security and CORS headers on prediction and Express routes', async () => {
    fixture = createFixture(routes());
    const predicted = await post('/v2/models/m/versions/1/infer', json(OIP), { origin: 'http://x.test' });
    const status = await request(fixture.gateway.handler).get('/health').set('origin', 'http://x.test');
    const missing = await request(fixture.gateway.handler).get('/nope').set('origin', 'http://x.test');
    for (const res of [predicted, status, missing]) {
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['strict-transport-security']).toMatch(/max-age=/);
      expect(res.headers['access-control-allow-origin']).toBe('*');
      expect(res.headers['access-control-expose-headers']).toMatch(/X-Model-Version/);
      expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
      expect(res.headers['x-powered-by']).toBeUndefined();
    }
    expect(missing.status).toBe(404);
  });

  it('answers a CORS preflight for a prediction route without an API key', async () => {
    fixture = createFixture(routes(), { API_KEYS: 'k1', CORS_ORIGINS: 'http://app.test' });
    const res = await request(fixture.gateway.handler)
      .options('/predict')
      .set('origin', 'http://app.test')
      .set('access-control-request-method', 'POST');
    expect(res.status).toBe(204);
    expect(res.headers['access-control-allow-origin']).toBe('http://app.test');
  });

  it('asks for the API key on prediction and Express routes alike, and keeps probes open', async () => {
    fixture = createFixture(routes(), { API_KEYS: 'k1' });
    const noKey = await post('/v2/models/m/versions/1/infer', json(OIP));
    const badKey = await post('/predict', json({ features: [1, 2, 3, 4] }), { authorization: 'Bearer nope' });
    const info = await request(fixture.gateway.handler).get('/model/info');
    const good = await post('/v1/models/m/versions/1:predict', json({ instances: [[1, 2, 3, 4]] }), {
      'x-api-key': 'k1',
    });
    const probe = await request(fixture.gateway.handler).get('/ready');
    for (const res of [noKey, badKey, info]) {
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('unauthorized');
      expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
    }
    expect(good.status).toBe(200);
    expect(probe.status).toBe(200);
  });

  it('rate-limits prediction and Express routes from one bucket per caller, with Retry-After', async () => {
    fixture = createFixture(routes(), { RATE_LIMIT_RPS: '2' });
    const a = await post('/v2/models/m/versions/1/infer', json(OIP));
    const b = await request(fixture.gateway.handler).get('/model/info');
    const c = await post('/predict', json({ features: [1, 2, 3, 4] }));
    expect([a.status, b.status]).toEqual([200, 200]);
    expect(c.status).toBe(429);
    expect(c.headers['retry-after']).toBe('1');
    expect(c.body.error.code).toBe('rate_limited');
  });

  it('counts prediction requests in the request metrics with model, version and route', async () => {
    fixture = createFixture(routes());
    await post('/v2/models/m/versions/2/infer', json(OIP));
    await post('/v2/models/zz/infer', json(OIP));
    const text = await fixture.registry.metrics();
    expect(text).toMatch(
      /modelgate_gateway_requests_total\{model="m",version="2",route="\/v2\/infer",status="200"\} 1/,
    );
    expect(text).toMatch(
      /modelgate_gateway_requests_total\{model="none",version="none",route="\/v2\/infer",status="404"\} 1/,
    );
  });

  it('relays a failing pinned upstream as a 5xx in the protocol shape', async () => {
    fixture = createFixture(routes());
    v1.mode = 'fail';
    const res = await post('/v2/models/m/versions/1/infer', json(OIP));
    expect(res.status).toBeGreaterThanOrEqual(500);
    expect(typeof res.body.error).toBe('string');
  });

  it('reads chunked and gzip bodies on the same path', async () => {
    fixture = createFixture(routes());
    const server = http.createServer(fixture.gateway.handler).listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const port = (server.address() as AddressInfo).port;
    try {
      const chunked = await rawPost(
        port,
        '/v2/models/m/versions/1/infer',
        [json(OIP).slice(0, 10), json(OIP).slice(10)],
        {
          'content-type': 'application/json',
          'transfer-encoding': 'chunked',
        },
      );
      expect(chunked.status).toBe(200);
      const zipped = await rawPost(port, '/predict', [gzipSync(json({ features: [1, 2, 3, 4] }))], {
        'content-type': 'application/json',
        'content-encoding': 'gzip',
        'x-model-version': '2',
      });
      expect(zipped.status).toBe(200);
      expect(JSON.parse(zipped.body).prediction).toBe('c');
    } finally {
      server.close();
    }
  });

  it('refuses another media type with 415 and an empty body with 400', async () => {
    fixture = createFixture(routes());
    const text = await post('/predict', json({ features: [1, 2, 3, 4] }), { 'content-type': 'text/plain' });
    expect(text.status).toBe(415);
    expect(text.body.error.message).toMatch(/application\/json/);
    const latin = await post('/v2/models/m/infer', json(OIP), {
      'content-type': 'application/json; charset=latin1',
    });
    expect(latin.status).toBe(415);
    const empty = await request(fixture.gateway.handler).post('/predict');
    expect(empty.status).toBe(400);
    expect(empty.body.error.message).toMatch(/empty/);
  });

  it('answers 413 to a Content-Length over BODY_LIMIT before the body arrives', async () => {
    fixture = createFixture(routes(), { BODY_LIMIT: '1kb' });
    const server = http.createServer(fixture.gateway.handler).listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const port = (server.address() as AddressInfo).port;
    try {
      // Announces a gigabyte and sends nothing: the answer must come without waiting for it.
      const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = http.request({
          port,
          host: '127.0.0.1',
          method: 'POST',
          path: '/v2/models/m/infer',
          headers: { 'content-type': 'application/json', 'content-length': String(1024 ** 3) },
        });
        req.on('response', (r) => {
          let body = '';
          r.on('data', (c) => {
            body += c;
          });
          r.on('end', () => resolve({ status: r.statusCode!, body }));
        });
        req.on('error', reject);
        req.flushHeaders();
      });
      expect(res.status).toBe(413);
      expect(JSON.parse(res.body).error).toMatch(/larger than/);
      const big = json({ inputs: [{ ...OIP.inputs[0], data: new Array(400).fill(1.5) }] });
      const chunked = await rawPost(port, '/v2/models/m/infer', [big.slice(0, 600), big.slice(600)], {
        'content-type': 'application/json',
        'transfer-encoding': 'chunked',
      });
      expect(chunked.status).toBe(413);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it('reads BODY_LIMIT as body-parser does', () => {
    expect(parseByteLimit('10mb')).toBe(10 * 1024 * 1024);
    expect(parseByteLimit('512KB')).toBe(512 * 1024);
    expect(parseByteLimit('100')).toBe(100);
    expect(parseByteLimit('1.5kb')).toBe(1536);
    expect(() => parseByteLimit('lots', 'BODY_LIMIT')).toThrow(/BODY_LIMIT "lots" is not a size/);
  });

  it('recognises prediction routes by method and path only', () => {
    expect(matchPredictionRoute('POST', '/v2/models/m/versions/3/infer')).toEqual({
      kind: 'oip',
      model: 'm',
      version: '3',
    });
    expect(matchPredictionRoute('POST', '/v1/models/m/labels/x:predict')).toEqual({
      kind: 'tf',
      model: 'm',
      version: undefined,
      label: 'x',
    });
    expect(matchPredictionRoute('POST', '/predict/batch')).toEqual({ kind: 'batch' });
    expect(matchPredictionRoute('GET', '/predict')).toBeUndefined();
    expect(matchPredictionRoute('POST', '/v2/models/m')).toBeUndefined();
  });
});

/** A POST written chunk by chunk, for bodies supertest would send with a Content-Length. */
function rawPost(
  port: number,
  path: string,
  chunks: (string | Buffer)[],
  headers: Record<string, string>,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ port, host: '127.0.0.1', method: 'POST', path, headers });
    req.on('response', (r) => {
      let body = '';
      r.on('data', (c) => {
        body += c;
      });
      r.on('end', () => resolve({ status: r.statusCode!, body }));
    });
    req.on('error', reject);
    for (const c of chunks) req.write(c);
    req.end();
  });
}

describe('response cache through the gateway', () => {
  let v1: FakeUpstream;
  let fixture: Fixture;
  beforeAll(async () => {
    v1 = await startFakeUpstream(['a', 'b', 'c'], [0.7, 0.2, 0.1]);
  });
  afterAll(async () => {
    await fixture?.gateway.close();
    await v1.close();
  });

  const routes = () =>
    routesFor('m', policy({ variants: [{ version: '1', weight: 100 }] }), {
      '1': [v1.url],
    });

  it('is off by default: every request reaches the model-server', async () => {
    fixture = createFixture(routes());
    for (let i = 0; i < 3; i++) {
      await request(fixture.gateway.handler)
        .post('/predict')
        .send({ features: [1, 2, 3, 4] });
    }
    expect(v1.paths.filter((p) => p.includes('/infer')).length).toBe(3);
    expect(await fixture.registry.metrics()).not.toMatch(/response_cache_lookups_total\{/);
    await fixture.gateway.close();
  });

  it('answers repeated inputs from the cache, each with its own request id, and reports the hit ratio', async () => {
    fixture = createFixture(routes(), { RESPONSE_CACHE_BYTES: '1000000' });
    v1.paths.length = 0;
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await request(fixture.gateway.handler)
        .post('/predict')
        .send({ features: [1, 2, 3, 4] });
      expect(res.status).toBe(200);
      expect(res.body.prediction).toBe('a');
      ids.push(res.body.request_id);
    }
    const other = await request(fixture.gateway.handler)
      .post('/predict')
      .send({ features: [4, 3, 2, 1] });
    expect(other.status).toBe(200);
    expect(new Set(ids).size).toBe(4);
    // One upstream call per distinct input.
    expect(v1.paths.filter((p) => p.includes('/infer')).length).toBe(2);
    const text = await fixture.registry.metrics();
    expect(text).toMatch(/modelgate_gateway_response_cache_lookups_total\{result="hit"\} 3/);
    expect(text).toMatch(/modelgate_gateway_response_cache_lookups_total\{result="miss"\} 2/);
    expect(text).toMatch(/modelgate_gateway_response_cache_hit_ratio 0\.6/);
  });

  it('never compares a cached answer with the shadow version', async () => {
    const v2 = await startFakeUpstream(['a', 'b', 'c'], [0.1, 0.3, 0.6]);
    try {
      fixture = createFixture(
        routesFor(
          'm',
          policy({ variants: [{ version: '1', weight: 100 }], shadow: { version: '2', percent: 100 } }),
          {
            '1': [v1.url],
            '2': [v2.url],
          },
        ),
        { RESPONSE_CACHE_BYTES: '1000000' },
      );
      for (let i = 0; i < 3; i++) {
        await request(fixture.gateway.handler)
          .post('/predict')
          .send({ features: [2, 2, 2, 2] });
      }
      // Shadow copies leave after the answer; the skips for cached answers happened before it.
      const deadline = Date.now() + 5000;
      while (v2.paths.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      expect(v2.paths.filter((p) => p.includes('/infer')).length).toBe(1);
    } finally {
      await v2.close();
    }
  });
});
