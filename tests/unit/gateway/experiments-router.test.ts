import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { Registry } from 'prom-client';
import request from 'supertest';
import { errorMiddleware, notFoundHandler } from '../../../common/errors';
import { createSilentLogger } from '../../../common/logger';
import type { Routes } from '../../../common/wire';
import { createExperiments, type PredictionOutcome } from '../../../gateway/experiments';

function routesWith(
  revision: number,
  weights: [string, number][],
  aliases: Record<string, string> = {},
): Routes {
  const versions = Object.fromEntries(
    weights.map(([v]) => [
      v,
      { instances: [], input_width: 2, features: ['a', 'b'], labels: ['cat', 'dog'] },
    ]),
  );
  return {
    revision,
    models: {
      pets: {
        policy: {
          variants: weights.map(([version, weight]) => ({ version, weight })),
          sticky: null,
          shadow: null,
          aliases,
          failover: true,
          revision,
        },
        versions,
      },
    },
  };
}

function setup(opts: { prometheusUrl?: string; feedbackTtlMs?: number; journalSize?: number } = {}) {
  let clock = 1_700_000_000_000;
  let routes: Routes | undefined = routesWith(3, [
    ['1', 50],
    ['2', 50],
  ]);
  const registry = new Registry();
  const experiments = createExperiments({
    registry,
    logger: createSilentLogger(),
    now: () => clock,
    routes: () => routes,
    ...opts,
  });
  const app = express();
  app.use(experiments.router);
  app.use(notFoundHandler());
  app.use(errorMiddleware(createSilentLogger()));
  let id = 0;
  const predict = (version: string, predictedClass: string, extra: Partial<PredictionOutcome> = {}) => {
    const outcome: PredictionOutcome = {
      requestId: `r${++id}`,
      model: 'pets',
      version,
      route: '/predict',
      status: 200,
      ok: true,
      latencyMs: version === '2' ? 20 + (id % 7) : 10 + (id % 7),
      predictedClass,
      confidence: 0.9,
      at: clock,
      ...extra,
    };
    experiments.observe(outcome);
    return outcome.requestId;
  };
  return {
    app,
    registry,
    predict,
    advance: (ms: number) => (clock += ms),
    setRoutes: (r: Routes | undefined) => (routes = r),
  };
}

describe('POST /feedback', () => {
  it('joins a label to the logged prediction and counts it by correctness', async () => {
    const { app, registry, predict } = setup();
    const rid = predict('2', 'dog');
    const res = await request(app).post('/feedback').send({ request_id: rid, label: 'dog' });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      request_id: rid,
      model: 'pets',
      version: '2',
      prediction: 'dog',
      label: 'dog',
      correct: true,
    });
    const text = await registry.metrics();
    expect(text).toContain('modelgate_feedback_total{model="pets",version="2",correct="true"} 1');
  });

  it('answers 404 for an id it never saw', async () => {
    const { app } = setup();
    const res = await request(app).post('/feedback').send({ request_id: 'nope', label: 'dog' });
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('not_found');
    expect(res.body.error.message).toMatch(/no prediction with request_id "nope"/);
  });

  it('answers 404 once the prediction is older than the feedback TTL', async () => {
    const { app, predict, advance } = setup({ feedbackTtlMs: 60_000 });
    const rid = predict('1', 'cat');
    advance(60_001);
    const res = await request(app).post('/feedback').send({ request_id: rid, label: 'cat' });
    expect(res.status).toBe(404);
    expect(res.body.error.message).toMatch(/too old/);
  });

  it('forgets the oldest predictions beyond the journal size', async () => {
    const { app, predict } = setup({ journalSize: 2 });
    const first = predict('1', 'cat');
    predict('1', 'cat');
    const last = predict('1', 'cat');
    expect((await request(app).post('/feedback').send({ request_id: first, label: 'cat' })).status).toBe(404);
    expect((await request(app).post('/feedback').send({ request_id: last, label: 'cat' })).status).toBe(201);
  });

  it('answers 409 to a second label for the same prediction', async () => {
    const { app, predict } = setup();
    const rid = predict('1', 'cat');
    await request(app).post('/feedback').send({ request_id: rid, label: 'cat' }).expect(201);
    const res = await request(app).post('/feedback').send({ request_id: rid, label: 'dog' });
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('conflict');
  });

  it.each([
    ['a missing label', { request_id: 'r1' }],
    ['an extra field', { request_id: 'r1', label: 'cat', note: 'x' }],
    ['a non-string id', { request_id: 7, label: 'cat' }],
    ['an array', [1, 2]],
  ])('rejects %s with a 400 naming the expected shape', async (_what, body) => {
    const { app, predict } = setup();
    predict('1', 'cat');
    const res = await request(app)
      .post('/feedback')
      .send(body as object);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_input');
    expect(res.body.error.message).toMatch(/request_id/);
  });

  it('rejects a label that is not a class of the model', async () => {
    const { app, predict } = setup();
    const rid = predict('1', 'cat');
    const res = await request(app).post('/feedback').send({ request_id: rid, label: 'horse' });
    expect(res.status).toBe(400);
    expect(res.body.error.message).toMatch(/expected one of cat, dog/);
  });

  it('rejects malformed JSON and a wrong content type with actionable 4xx', async () => {
    const { app } = setup();
    const bad = await request(app)
      .post('/feedback')
      .set('Content-Type', 'application/json')
      .send('{"request_id":');
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('invalid_json');
    const text = await request(app).post('/feedback').set('Content-Type', 'text/plain').send('hi');
    expect(text.status).toBe(415);
  });
});

describe('GET /experiments/:model from the gateway tallies', () => {
  it('finds a planted accuracy difference and reports share, errors and latency', async () => {
    const { app, predict } = setup();
    // v1 right 70% of the time, v2 right 90%; v2 also slower by 10 ms.
    for (let i = 0; i < 400; i++) {
      const version = i % 2 === 0 ? '1' : '2';
      const rid = predict(version, 'cat');
      const right = version === '1' ? i % 20 < 14 : i % 20 !== 1;
      await request(app)
        .post('/feedback')
        .send({ request_id: rid, label: right ? 'cat' : 'dog' })
        .expect(201);
    }
    predict('2', 'cat', { ok: false, status: 502 });
    const res = await request(app).get('/experiments/pets');
    expect(res.status).toBe(200);
    const r = res.body;
    expect(r.source).toBe('gateway');
    expect(r.control).toBe('1');
    expect(r.revision).toBe(3);
    const [v1, v2] = r.versions;
    expect(v1).toMatchObject({ version: '1', control: true, requests: 200, weightPercent: 50, errors: 0 });
    expect(v1.accuracy.rate).toBeCloseTo(0.7, 5);
    expect(v2).toMatchObject({ version: '2', requests: 201, errors: 1 });
    expect(v2.accuracy.rate).toBeCloseTo(0.9, 5);
    expect(v2.accuracy.ci95[0]).toBeLessThan(0.9);
    expect(v2.accuracy.ci95[1]).toBeGreaterThan(0.9);
    expect(v2.share).toBeCloseTo(201 / 401, 5);
    expect(v2.vsControl.accuracy.differencePoints).toBeCloseTo(20, 5);
    expect(v2.vsControl.accuracy.significant).toBe(true);
    expect(v2.vsControl.latency.significant).toBe(true);
    expect(v2.latencyMs.p50).toBeGreaterThan(v1.latencyMs.p50);
    expect(v2.verdict).toMatch(
      /^v2: accuracy \+20\.0 points, p < 0\.001; error rate no different; latency slower/,
    );
    expect(v1.verdict).toBe('v1: control');
  });

  it('says "no different" when the versions behave the same', async () => {
    const { app, predict } = setup();
    for (let i = 0; i < 200; i++) {
      const rid = predict(i % 2 ? '1' : '2', 'cat', { latencyMs: 10 + (i % 5) });
      await request(app)
        .post('/feedback')
        .send({ request_id: rid, label: Math.floor(i / 2) % 4 < 3 ? 'cat' : 'dog' });
    }
    const v2 = (await request(app).get('/experiments/pets')).body.versions[1];
    expect(v2.verdict).toMatch(
      /^v2: accuracy no different \(p = [01]\.\d{3}\); error rate no different; latency no different$/,
    );
  });

  it('uses the stable alias as the control', async () => {
    const { app, setRoutes } = setup();
    setRoutes(
      routesWith(
        4,
        [
          ['1', 50],
          ['2', 50],
        ],
        { stable: '2' },
      ),
    );
    const res = await request(app).get('/experiments/pets');
    expect(res.body.control).toBe('2');
    expect(res.body.versions[1].verdict).toBe('v2: control');
  });

  it('starts a fresh tally when the policy revision changes', async () => {
    const { app, predict, setRoutes, advance } = setup();
    predict('1', 'cat');
    predict('2', 'cat');
    advance(1000);
    setRoutes(
      routesWith(4, [
        ['1', 10],
        ['2', 90],
      ]),
    );
    predict('2', 'cat');
    const r = (await request(app).get('/experiments/pets')).body;
    expect(r.revision).toBe(4);
    expect(r.requests).toBe(1);
    expect(r.versions.map((v: { weightPercent: number }) => v.weightPercent)).toEqual([10, 90]);
  });

  it('answers 404 for an unknown model, 400 for a bad name and 503 before any routing table', async () => {
    const { app, setRoutes } = setup();
    const unknown = await request(app).get('/experiments/horses');
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.message).toMatch(/known models: pets/);
    expect((await request(app).get('/experiments/Bad%20Name')).status).toBe(400);
    setRoutes(undefined);
    const early = await request(app).get('/experiments/pets');
    expect(early.status).toBe(503);
    expect(early.headers['retry-after']).toBe('1');
  });
});

describe('GET /experiments/:model from Prometheus', () => {
  let server: Server;
  let url: string;
  const queries: string[] = [];
  const vector = (result: { metric: Record<string, string>; value: [number, string] }[]) => ({
    status: 'success',
    data: { resultType: 'vector', result },
  });
  const at = 1_700_000_000;

  beforeAll(async () => {
    server = createServer((req, res) => {
      const q = new URL(req.url ?? '/', 'http://x').searchParams.get('query') ?? '';
      queries.push(q);
      let body: unknown = vector([]);
      if (q.includes('modelgate_gateway_requests_total')) {
        body = vector([
          { metric: { version: '1', status: '200' }, value: [at, '1000'] },
          { metric: { version: '2', status: '200' }, value: [at, '990.4'] },
          { metric: { version: '2', status: '503' }, value: [at, '10'] },
        ]);
      } else if (q.includes('modelgate_feedback_total')) {
        body = vector([
          { metric: { version: '1', correct: 'true' }, value: [at, '700'] },
          { metric: { version: '1', correct: 'false' }, value: [at, '300'] },
          { metric: { version: '2', correct: 'true' }, value: [at, '900'] },
          { metric: { version: '2', correct: 'false' }, value: [at, '100'] },
        ]);
      } else if (q.includes('_bucket')) {
        const cumulative = (v: string, counts: number[]) =>
          ['0.005', '0.01', '0.025', '+Inf'].map((le, i) => ({
            metric: { version: v, le },
            value: [at, String(counts[i])] as [number, string],
          }));
        body = vector([
          ...cumulative('1', [100, 600, 1000, 1000]),
          ...cumulative('2', [100, 600, 1000, 1000]),
        ]);
      } else if (q.includes('modelgate_drift_psi_max')) {
        body = vector([{ metric: { version: '2' }, value: [at, '0.31'] }]);
      }
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify(body));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('computes the report from the summed series of every replica', async () => {
    const { app } = setup({ prometheusUrl: url });
    const res = await request(app).get('/experiments/pets');
    expect(res.status).toBe(200);
    const r = res.body;
    expect(r.source).toBe('prometheus');
    expect(queries.every((q) => q.includes('model="pets"'))).toBe(true);
    // Counts are "now minus W ago, or now for series born since", never increase(), which would
    // miss what a fresh canary counted before its first scrape.
    const feedbackQuery = queries.find((q) => q.includes('modelgate_feedback_total'))!;
    expect(feedbackQuery).toMatch(
      /^sum by \(version, correct\) \(clamp_min\(.+ - .+ offset \d+s, 0\) or modelgate_feedback_total\{model="pets"\}\)$/,
    );
    expect(queries.some((q) => q.includes('increase('))).toBe(false);
    const [v1, v2] = r.versions;
    expect(v1.requests).toBe(1000);
    expect(v2).toMatchObject({ requests: 1000, errors: 10 });
    expect(v2.accuracy.rate).toBeCloseTo(0.9, 5);
    expect(v2.vsControl.accuracy.significant).toBe(true);
    expect(v2.vsControl.latency.significant).toBe(false);
    expect(v1.latencyMs.p50).toBeCloseTo(9, 5); // rank 500: 400 of the 500 in the (5, 10] ms bucket
    expect(v2.drift).toEqual({ psiMax: 0.31, psiMean: null, predictionPsi: null });
    expect(v2.verdict).toMatch(
      /^v2: accuracy \+20\.0 points, p < 0\.001; error rate \+1\.0 points, p = 0\.00\d; latency no different$/,
    );
  });

  it('answers 502 naming PROMETHEUS_URL when Prometheus is unreachable', async () => {
    const { app } = setup({ prometheusUrl: 'http://127.0.0.1:1' });
    const res = await request(app).get('/experiments/pets');
    expect(res.status).toBe(502);
    expect(res.body.error.message).toMatch(/PROMETHEUS_URL/);
  });
});
