import request from 'supertest';
import { buildRouteState } from '../../../gateway/routing/route-state';
import { deadUrl, type FakeUpstream, startFakeUpstream } from './fake-upstream';
import { createFixture, type Fixture, policy, routesFor } from './gateway-fixture';

jest.setTimeout(20_000);

const ROW = [1, 2, 3, 4];

describe('gateway app against fake model-servers', () => {
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
    v2.mode = 'ok';
  });

  const twoVersions = () =>
    routesFor(
      'm',
      policy({
        variants: [
          { version: '1', weight: 80 },
          { version: '2', weight: 20 },
        ],
        aliases: { stable: '1', canary: '2' },
      }),
      { '1': [v1.url], '2': [v2.url] },
    );

  it('answers /predict with the class, probabilities by label, confidence, version and request id', async () => {
    fixture = createFixture(twoVersions());
    const res = await request(fixture.gateway.handler)
      .post('/predict')
      .set('x-model-version', '1')
      .set('x-request-id', 'req-123')
      .send({ features: ROW });
    expect(res.status).toBe(200);
    expect(res.headers['x-model-version']).toBe('1');
    expect(res.headers['x-request-id']).toBe('req-123');
    expect(res.body).toEqual({
      prediction: 'a',
      probabilities: { a: 0.7, b: 0.2, c: 0.1 },
      confidence: 0.7,
      model: 'm',
      version: '1',
      request_id: 'req-123',
    });
    expect(v1.paths.at(-1)).toBe('/v2/models/m/versions/1/infer');
  });

  it('answers /predict/batch with one prediction per row in order, each with its own request id', async () => {
    fixture = createFixture(twoVersions());
    const res = await request(fixture.gateway.handler)
      .post('/predict/batch')
      .set('x-model-label', 'canary')
      .send({ instances: [ROW, ROW, ROW] });
    expect(res.status).toBe(200);
    expect(res.body.version).toBe('2');
    expect(res.body.predictions).toHaveLength(3);
    expect(res.body.predictions[2]).toMatchObject({
      prediction: 'c',
      request_id: `${res.body.request_id}:2`,
    });
  });

  it('keeps a sticky header user on one version across requests', async () => {
    const routes = twoVersions();
    routes.models.m!.policy.sticky = { header: 'x-user-id' };
    fixture = createFixture(routes);
    const versions = new Set<string>();
    for (let i = 0; i < 8; i++) {
      const res = await request(fixture.gateway.handler)
        .post('/predict')
        .set('x-user-id', 'alice')
        .send({ features: ROW });
      versions.add(String(res.headers['x-model-version']));
    }
    expect(versions.size).toBe(1);
  });

  it.each([
    ['an unknown model', { model: 'nope', features: ROW }, {}, 404, /no model "nope"; models: "m"/],
    [
      'an unknown version',
      { features: ROW },
      { 'x-model-version': '9' },
      404,
      /no version "9"; versions: 1, 2/,
    ],
    [
      'an unknown label',
      { features: ROW },
      { 'x-model-label': 'beta' },
      404,
      /no label "beta"; labels: stable -> 1, canary -> 2/,
    ],
    ['the wrong width', { features: [1, 2] }, {}, 400, /takes 4 features per row \(f0, f1, f2, f3\); got 2/],
    ['a string feature', { features: [1, 2, 'x', 4] }, {}, 400, /features\.2/],
    ['a number beyond float32', { features: [1, 2, 1e300, 4] }, {}, 400, /finite number/],
    ['no features', { model: 'm' }, {}, 400, /features/],
    ['a JSON array body', [1, 2, 3], {}, 400, /JSON object/],
  ])('refuses %s with a JSON error', async (_name, body, headers, status, message) => {
    fixture = createFixture(twoVersions());
    const res = await request(fixture.gateway.handler)
      .post('/predict')
      .set(headers)
      .send(body as object);
    expect(res.status).toBe(status);
    expect(res.body.error.message).toMatch(message);
    expect(res.headers['x-request-id']).toBeDefined();
  });

  it('refuses an empty batch, an oversized batch, non-JSON, bad JSON, Infinity-like literals and huge bodies', async () => {
    fixture = createFixture(twoVersions(), { MAX_BATCH_ROWS: '2', BODY_LIMIT: '1kb' });
    const app = fixture.gateway.handler;
    const empty = await request(app).post('/predict/batch').send({ instances: [] });
    expect(empty.status).toBe(400);
    expect(empty.body.error.message).toMatch(/at least one row/);
    const many = await request(app)
      .post('/predict/batch')
      .send({ instances: [ROW, ROW, ROW] });
    expect(many.status).toBe(400);
    expect(many.body.error.message).toMatch(/at most 2 rows/);
    const text = await request(app).post('/predict').set('content-type', 'text/plain').send('1,2,3,4');
    expect(text.status).toBe(415);
    expect(text.body.error.code).toBe('unsupported_media_type');
    const bad = await request(app)
      .post('/predict')
      .set('content-type', 'application/json')
      .send('{"features":[1,2,');
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('invalid_json');
    const nan = await request(app)
      .post('/predict')
      .set('content-type', 'application/json')
      .send('{"features":[NaN,1,2,3]}');
    expect(nan.status).toBe(400);
    const inf = await request(app)
      .post('/predict')
      .set('content-type', 'application/json')
      .send('{"features":[1e999,1,2,3]}');
    expect(inf.status).toBe(400);
    const huge = await request(app)
      .post('/predict')
      .send({ features: Array.from({ length: 500 }, () => 1.5) });
    expect(huge.status).toBe(413);
    expect(huge.body.error.code).toBe('payload_too_large');
  });

  it('ignores prototype-pollution keys', async () => {
    fixture = createFixture(twoVersions());
    const res = await request(fixture.gateway.handler)
      .post('/predict')
      .set('content-type', 'application/json')
      .send(
        '{"features":[1,2,3,4],"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}',
      );
    expect(res.status).toBe(200);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('fails over to the other variant when the chosen one has no reachable instance, and says so', async () => {
    const routes = routesFor(
      'm',
      policy({
        variants: [
          { version: '1', weight: 100 },
          { version: '2', weight: 0 },
        ],
      }),
      {
        '1': [await deadUrl()],
        '2': [v2.url],
      },
    );
    fixture = createFixture(routes);
    const res = await request(fixture.gateway.handler).post('/predict').send({ features: ROW });
    expect(res.status).toBe(200);
    expect(res.headers['x-model-version']).toBe('2');
    expect(res.headers['x-model-failover']).toBe('1->2');
    expect(res.body.failover).toEqual({ from: '1', to: '2' });
    const metrics = await fixture.registry.metrics();
    expect(metrics).toMatch(
      /modelgate_gateway_failovers_total\{model="m",from_version="1",to_version="2"\} 1/,
    );
  });

  it('answers 503 with Retry-After when no variant has a live instance', async () => {
    const routes = routesFor('m', policy({ variants: [{ version: '1', weight: 100 }] }), { '1': [] });
    fixture = createFixture(routes);
    const res = await request(fixture.gateway.handler).post('/predict').send({ features: ROW });
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toBe('2'); // BREAKER_RESET_TIMEOUT_MS defaults to 2000;
    expect(res.body.error.code).toBe('no_healthy_upstream');
  });

  it('does not fail over a pinned version: 503 instead', async () => {
    const routes = routesFor(
      'm',
      policy({
        variants: [
          { version: '1', weight: 50 },
          { version: '2', weight: 50 },
        ],
      }),
      {
        '1': [],
        '2': [v2.url],
      },
    );
    fixture = createFixture(routes);
    const res = await request(fixture.gateway.handler)
      .post('/predict')
      .set('x-model-version', '1')
      .send({ features: ROW });
    expect(res.status).toBe(503);
  });

  it('answers 504 when the only upstream does not answer within the breaker timeout', async () => {
    v1.mode = 'stall';
    const routes = routesFor('m', policy({ variants: [{ version: '1', weight: 100 }] }), { '1': [v1.url] });
    fixture = createFixture(routes, { BREAKER_TIMEOUT_MS: '150' });
    const res = await request(fixture.gateway.handler).post('/predict').send({ features: ROW });
    expect(res.status).toBe(504);
    expect(res.body.error.code).toBe('upstream_timeout');
  });

  it('answers 502 naming the model-server error when it fails and failover is off', async () => {
    v1.mode = 'fail';
    const routes = routesFor('m', policy({ variants: [{ version: '1', weight: 100 }], failover: false }), {
      '1': [v1.url],
    });
    fixture = createFixture(routes);
    const res = await request(fixture.gateway.handler).post('/predict').send({ features: ROW });
    expect(res.status).toBe(502);
    expect(res.body.error.message).toMatch(/model exploded/);
    expect(JSON.stringify(res.body)).not.toMatch(/at .*\.js/);
  });

  it('sends a shadow copy after answering, never showing it, and counts agreement', async () => {
    const routes = routesFor(
      'm',
      policy({ variants: [{ version: '1', weight: 100 }], shadow: { version: '2', percent: 100 } }),
      { '1': [v1.url], '2': [v2.url] },
    );
    fixture = createFixture(routes);
    const before = v2.paths.length;
    const res = await request(fixture.gateway.handler).post('/predict').send({ features: ROW });
    expect(res.status).toBe(200);
    expect(res.body.version).toBe('1');
    expect(res.headers['x-model-version']).toBe('1');
    for (let i = 0; i < 50 && !(await fixture.registry.metrics()).includes('outcome="disagree"'); i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(v2.paths.length).toBe(before + 1);
    expect(await fixture.registry.metrics()).toMatch(
      /modelgate_shadow_requests_total\{model="m",version="1",shadow_version="2",outcome="disagree"\} 1/,
    );
  });

  it('forwards OIP v2 infer to the chosen version and relays the answer', async () => {
    fixture = createFixture(twoVersions());
    const body = { inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32', data: ROW }] };
    const res = await request(fixture.gateway.handler).post('/v2/models/m/versions/2/infer').send(body);
    expect(res.status).toBe(200);
    expect(res.headers['x-model-version']).toBe('2');
    expect(res.body.outputs[1].data).toEqual(['c']);
    const wrong = await request(fixture.gateway.handler)
      .post('/v2/models/m/infer')
      .send({ inputs: [{ name: 'input', shape: [1, 3], datatype: 'FP32', data: [1, 2, 3] }] });
    expect(wrong.status).toBe(400);
    expect(typeof wrong.body.error).toBe('string');
    const unknown = await request(fixture.gateway.handler).post('/v2/models/zz/infer').send(body);
    expect(unknown.status).toBe(404);
    expect(unknown.body).toEqual({ error: 'no model "zz"; models: "m"' });
  });

  it('serves the rest of the OIP v2 surface', async () => {
    fixture = createFixture(twoVersions());
    const app = fixture.gateway.handler;
    expect((await request(app).get('/v2')).body).toMatchObject({ name: 'modelgate' });
    expect((await request(app).get('/v2/health/live')).body).toEqual({ live: true });
    expect((await request(app).get('/v2/health/ready')).status).toBe(200);
    expect((await request(app).get('/v2/models/m/versions/2')).body).toMatchObject({
      name: 'm',
      versions: ['2'],
      inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 4] }],
    });
    expect((await request(app).get('/v2/models/m/versions/1/ready')).body).toMatchObject({ ready: true });
    expect((await request(app).get('/v2/nothing')).body).toEqual({ error: 'no route for GET /nothing' });
  });

  it('forwards TF Serving predict by version and label, and answers status and metadata', async () => {
    fixture = createFixture(twoVersions());
    const app = fixture.gateway.handler;
    const byLabel = await request(app)
      .post('/v1/models/m/labels/canary:predict')
      .send({ instances: [ROW] });
    expect(byLabel.status).toBe(200);
    expect(byLabel.headers['x-model-version']).toBe('2');
    expect(v2.paths.at(-1)).toBe('/v1/models/m/versions/2:predict');
    const unversioned = await request(app)
      .post('/v1/models/m:predict')
      .set('x-model-version', '1')
      .send({ inputs: [ROW] });
    expect(unversioned.headers['x-model-version']).toBe('1');
    const bad = await request(app)
      .post('/v1/models/m:predict')
      .send({ instances: [[1, 2]] });
    expect(bad.status).toBe(400);
    expect(bad.body).toEqual({ error: 'instances[0] has 2 values; this model takes 4' });
    const status = await request(app).get('/v1/models/m/versions/1');
    expect(status.body.model_version_status[0]).toMatchObject({ version: '1', state: 'AVAILABLE' });
    const meta = await request(app).get('/v1/models/m/metadata');
    expect(meta.body.model_spec.name).toBe('m');
  });

  it('answers GET /v2/models/:m and /v1/models/:m for the whole model, every live version, the same each time', async () => {
    // v10 sorts after v2 by number; it has no instance, so it is not live.
    const routes = routesFor(
      'm',
      policy({
        variants: [
          { version: '1', weight: 20 },
          { version: '2', weight: 80 },
        ],
      }),
      { '1': [v1.url], '2': [v2.url], '10': [] },
    );
    fixture = createFixture(routes);
    const app = fixture.gateway.handler;
    const answers = await Promise.all(Array.from({ length: 20 }, () => request(app).get('/v2/models/m')));
    for (const res of answers) {
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ name: 'm', versions: ['1', '2'], inputs: [{ shape: [-1, 4] }] });
    }
    const v1Status = await Promise.all(Array.from({ length: 20 }, () => request(app).get('/v1/models/m')));
    for (const res of v1Status) {
      expect(
        res.body.model_version_status.map((s: { version: string; state: string }) => [s.version, s.state]),
      ).toEqual([
        ['1', 'AVAILABLE'],
        ['2', 'AVAILABLE'],
        ['10', 'UNAVAILABLE'],
      ]);
    }
    const meta = await request(app).get('/v1/models/m/metadata');
    expect(meta.body.model_spec).toMatchObject({ name: 'm', version: '2' });
    expect((await request(app).get('/v2/models/m/ready')).body).toEqual({
      name: 'm',
      ready: true,
      versions: ['1', '2'],
    });
    // A header still picks one version.
    const pinned = await request(app).get('/v2/models/m').set('x-model-version', '1');
    expect(pinned.body.versions).toEqual(['1']);
    expect(
      (await request(app).get('/v1/models/m').set('x-model-version', '1')).body.model_version_status,
    ).toHaveLength(1);
  });

  it('requires an API key when API_KEYS is set, but not for probes, metrics and docs', async () => {
    fixture = createFixture(twoVersions(), { API_KEYS: 'k1, k2' });
    const app = fixture.gateway.handler;
    const none = await request(app).post('/predict').send({ features: ROW });
    expect(none.status).toBe(401);
    expect(none.body.error.code).toBe('unauthorized');
    expect(
      (await request(app).post('/predict').set('authorization', 'Bearer nope').send({ features: ROW }))
        .status,
    ).toBe(401);
    expect(
      (await request(app).post('/predict').set('authorization', 'Bearer k2').send({ features: ROW })).status,
    ).toBe(200);
    expect((await request(app).post('/predict').set('x-api-key', 'k1').send({ features: ROW })).status).toBe(
      200,
    );
    expect((await request(app).post('/v2/models/m/infer').send({})).status).toBe(401);
    for (const path of ['/health', '/ready', '/metrics', '/openapi.json', '/v2/health/live']) {
      expect((await request(app).get(path)).status).toBe(200);
    }
  });

  it('rate limits per caller with 429 and Retry-After', async () => {
    let now = 1_000_000;
    fixture = createFixture(twoVersions(), { RATE_LIMIT_RPS: '2' }, { now: () => now });
    const app = fixture.gateway.handler;
    expect((await request(app).post('/predict').send({ features: ROW })).status).toBe(200);
    expect((await request(app).post('/predict').send({ features: ROW })).status).toBe(200);
    const limited = await request(app).post('/predict').send({ features: ROW });
    expect(limited.status).toBe(429);
    expect(limited.headers['retry-after']).toBe('1');
    now += 1000;
    expect((await request(app).post('/predict').send({ features: ROW })).status).toBe(200);
  });

  it('sets helmet headers and CORS from CORS_ORIGINS', async () => {
    fixture = createFixture(twoVersions(), { CORS_ORIGINS: 'https://ui.example' });
    const res = await request(fixture.gateway.handler).get('/health').set('origin', 'https://ui.example');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['access-control-allow-origin']).toBe('https://ui.example');
    const other = await request(fixture.gateway.handler).get('/health').set('origin', 'https://evil.example');
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('is not ready before a routing table arrives, and says why', async () => {
    fixture = createFixture(undefined);
    const ready = await request(fixture.gateway.handler).get('/ready');
    expect(ready.status).toBe(503);
    expect(ready.body.status).toBe('not_ready');
    const predict = await request(fixture.gateway.handler).post('/predict').send({ features: ROW });
    expect(predict.status).toBe(503);
    expect(predict.body.error.message).toMatch(/no routing table yet/);
  });

  it('describes models, versions and the live split on /model/info', async () => {
    fixture = createFixture(twoVersions());
    const res = await request(fixture.gateway.handler).get('/model/info');
    expect(res.body.default_model).toBe('m');
    expect(res.body.models[0].split).toEqual([
      { version: '1', weight_percent: 80, buckets: [0, 8000] },
      { version: '2', weight_percent: 20, buckets: [8000, 10000] },
    ]);
    expect(res.body.models[0].versions[0]).toMatchObject({ version: '1', input_width: 4, live_instances: 1 });
  });

  it('exports request, routing and table metrics', async () => {
    fixture = createFixture(twoVersions());
    await request(fixture.gateway.handler)
      .post('/predict')
      .set('x-model-version', '2')
      .send({ features: ROW });
    await new Promise((r) => setImmediate(r));
    const text = await fixture.registry.metrics();
    expect(text).toMatch(
      /modelgate_gateway_requests_total\{model="m",version="2",route="\/predict",status="200"\} 1/,
    );
    expect(text).toMatch(/modelgate_gateway_routed_total\{model="m",version="2",reason="pinned"\} 1/);
    expect(text).toMatch(/modelgate_gateway_traffic_weight_percent\{model="m",version="1"\} 80/);
    expect(text).toMatch(
      /modelgate_gateway_circuit_state\{model="m",version="1",upstream="http:\/\/127\.0\.0\.1:\d+"\} 0/,
    );
    expect(text).toMatch(/modelgate_predictions_total\{model="m",version="2",class="c"\} 1/);
    expect(text).toMatch(/modelgate_gateway_routing_table_stale 0/);
  });

  it('answers unknown routes with a JSON 404', async () => {
    fixture = createFixture(twoVersions());
    const res = await request(fixture.gateway.handler).get('/nope');
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('not_found');
  });

  it('builds route state once per table, keeping breakers across rebuilds', () => {
    fixture = createFixture(twoVersions());
    const breakers = {
      get: jest.fn((k) => ({ ...k, available: () => true, state: () => 'closed' })),
      retain: jest.fn(),
    };
    const state = buildRouteState(twoVersions(), breakers as never);
    expect(state.models.get('m')!.failoverOrder).toEqual(['1', '2']);
    expect(breakers.get).toHaveBeenCalledTimes(2);
    expect(breakers.retain).toHaveBeenCalledTimes(1);
  });
});
