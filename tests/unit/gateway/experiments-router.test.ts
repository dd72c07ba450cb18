/** POST /feedback, GET /experiments/:model and GET /predictions over an in-memory SQLite evidence
 * store (the real query layer; the engines themselves are covered in tests/integration/tracking). */
import express from 'express';
import { Registry } from 'prom-client';
import request from 'supertest';
import { errorMiddleware, notFoundHandler } from '../../../common/errors';
import { createSilentLogger } from '../../../common/logger';
import type { Routes } from '../../../common/wire';
import { createExperiments } from '../../../gateway/experiments';
import { createEvidenceStore, type EvidenceStore } from '../../../tracking/evidence-store';
import type { PredictionRecord } from '../../../tracking/record';
import { openDatabase } from '../../../tracking/store/database';

const ADMIN = 'admin-secret';

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

const stores: EvidenceStore[] = [];
afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()));
});

async function setup() {
  let clock = 1_700_000_000_000;
  let routes: Routes | undefined = routesWith(3, [
    ['1', 50],
    ['2', 50],
  ]);
  const registry = new Registry();
  const evidence = createEvidenceStore({
    database: await openDatabase('sqlite::memory:'),
    now: () => clock,
    flushMs: 10,
    bufferRows: 100_000,
    retentionDays: 30,
    retention: false,
  });
  stores.push(evidence);
  const experiments = createExperiments({
    evidence,
    registry,
    logger: createSilentLogger(),
    now: () => clock,
    routes: () => routes,
    adminToken: ADMIN,
  });
  const app = express();
  app.set('query parser', 'simple');
  app.use(experiments.router);
  app.use(notFoundHandler());
  app.use(errorMiddleware(createSilentLogger()));
  let id = 0;
  const predict = (version: string, predictedClass: string, extra: Partial<PredictionRecord> = {}) => {
    const record: PredictionRecord = {
      requestId: `r${++id}`,
      row: 0,
      model: 'pets',
      version,
      experimentId: null,
      unit: null,
      route: '/predict',
      reason: 'split',
      status: 200,
      ok: true,
      latencyMs: version === '2' ? 20 + (id % 7) : 10 + (id % 7),
      predictedClass,
      confidence: 0.9,
      at: clock,
      ...extra,
    };
    evidence.record(record);
    return record.requestId;
  };
  return {
    app,
    evidence,
    registry,
    predict,
    advance: (ms: number) => (clock += ms),
    setRoutes: (r: Routes | undefined) => (routes = r),
  };
}

describe('POST /feedback', () => {
  it('joins a label to the stored prediction (even one still buffered) and counts it by correctness', async () => {
    const { app, registry, predict } = await setup();
    const rid = predict('2', 'dog');
    const res = await request(app).post('/feedback').send({ request_id: rid, label: 'dog' });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      request_id: rid,
      row: 0,
      model: 'pets',
      version: '2',
      prediction: 'dog',
      label: 'dog',
      correct: true,
    });
    const text = await registry.metrics();
    expect(text).toContain('modelgate_feedback_total{model="pets",version="2",correct="true"} 1');
  });

  it('answers 404 "unknown" for an id it never saw and "expired" past the retention', async () => {
    const { app, predict, advance } = await setup();
    const res = await request(app).post('/feedback').send({ request_id: 'nope', label: 'dog' });
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('not_found');
    expect(res.body.error.message).toMatch(/unknown request_id: no prediction "nope"/);
    const rid = predict('1', 'cat');
    advance(31 * 86_400_000);
    const old = await request(app).post('/feedback').send({ request_id: rid, label: 'cat' });
    expect(old.status).toBe(404);
    expect(old.body.error.message).toMatch(/expired request_id/);
    expect(old.body.error.details.reason).toBe('expired');
  });

  it('answers 409 to a different second label and 200 to the same one again', async () => {
    const { app, predict } = await setup();
    const rid = predict('1', 'cat');
    await request(app).post('/feedback').send({ request_id: rid, label: 'cat' }).expect(201);
    const again = await request(app).post('/feedback').send({ request_id: rid, label: 'cat' });
    expect(again.status).toBe(200);
    expect(again.body.correct).toBe(true);
    const res = await request(app).post('/feedback').send({ request_id: rid, label: 'dog' });
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('conflict');
    expect(res.body.error.message).toMatch(/already given with label "cat"/);
  });

  it.each([
    ['a missing label', { request_id: 'r1' }],
    ['an extra field', { request_id: 'r1', label: 'cat', note: 'x' }],
    ['a non-string id', { request_id: 7, label: 'cat' }],
    ['a label of the wrong type', { request_id: 'r1', label: { cls: 'cat' } }],
    ['a boolean label', { request_id: 'r1', label: true }],
    ['a huge request_id', { request_id: 'x'.repeat(100_00), label: 'cat' }],
    ['a negative row', { request_id: 'r1', row: -1, label: 'cat' }],
    ['an array', [1, 2]],
  ])('rejects %s with a 400 naming the expected shape, and writes nothing', async (_what, body) => {
    const { app, predict, evidence } = await setup();
    predict('1', 'cat');
    const res = await request(app)
      .post('/feedback')
      .send(body as object);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_input');
    expect(res.body.error.message).toMatch(/request_id/);
    await evidence.flush();
    const page = await evidence.predictions({ limit: 10 });
    expect(page.predictions.map((p) => p.label)).toEqual([null]);
  });

  it('rejects a label that is not a class of the model, unwritten', async () => {
    const { app, predict } = await setup();
    const rid = predict('1', 'cat');
    const res = await request(app).post('/feedback').send({ request_id: rid, label: 'horse' });
    expect(res.status).toBe(400);
    expect(res.body.error.message).toMatch(/expected one of cat, dog/);
    await request(app).post('/feedback').send({ request_id: rid, label: 'dog' }).expect(201);
  });

  it('rejects malformed JSON and a wrong content type with actionable 4xx', async () => {
    const { app } = await setup();
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

describe('GET /experiments/:model with no experiment running', () => {
  it('answers counts per version and how to start an experiment, with no comparison', async () => {
    const { app, predict, evidence } = await setup();
    // v1 right 70% of the time, v2 right 90%: a gap the answer must not call a verdict.
    const labels: [string, string][] = [];
    for (let i = 0; i < 400; i++) {
      const version = i % 2 === 0 ? '1' : '2';
      const rid = predict(version, 'cat');
      const right = version === '1' ? i % 20 < 14 : i % 20 !== 1;
      labels.push([rid, right ? 'cat' : 'dog']);
    }
    await evidence.flush();
    for (const [rid, label] of labels) {
      await request(app).post('/feedback').send({ request_id: rid, label }).expect(201);
    }
    predict('2', 'cat', { ok: false, status: 502, predictedClass: null });
    await evidence.flush();
    const res = await request(app).get('/experiments/pets');
    expect(res.status).toBe(200);
    const r = res.body;
    expect(r.experiment).toBeNull();
    // No stable alias and a 50/50 tie: `experiment start` would refuse to guess, so the hint names none.
    expect(r.start_with).toBeNull();
    expect(r.message).toMatch(/^no experiment is running on pets: .*--control V --candidates W/);
    const [v1, v2] = r.versions;
    expect(v1).toMatchObject({ version: '1', weight_percent: 50, requests: 200, errors: 0, labelled: 200 });
    expect(v1.accuracy).toBeCloseTo(0.7, 5);
    expect(v2).toMatchObject({ version: '2', requests: 201, errors: 1, labelled: 200 });
    expect(v2.error_rate).toBeCloseTo(1 / 201, 8);
    expect(v2.accuracy).toBeCloseTo(0.9, 5);
    expect(v2.latency_p50_ms).toBeGreaterThan(v1.latency_p50_ms);
    // One report path: nothing of the old fixed-horizon comparison survives.
    expect(Object.keys(r).sort()).toEqual(
      ['experiment', 'message', 'model', 'since', 'start_with', 'summary', 'versions'].sort(),
    );
    expect(Object.keys(v2)).not.toContain('vsControl');
    expect(JSON.stringify(r)).not.toMatch(/[a-z][A-Z]/);
  }, 60_000);

  it('suggests the stable alias as the control of the experiment to start', async () => {
    const { app, setRoutes } = await setup();
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
    expect(res.body.start_with).toBe('modelgate experiment start pets --control 2 --candidates 1');
    expect(res.body.message).toContain('`modelgate experiment start pets --control 2 --candidates 1`');
  });

  it('keeps counting across policy revisions: changing weights or moving a label resets nothing', async () => {
    const { app, predict, setRoutes, advance, evidence } = await setup();
    predict('1', 'cat');
    predict('2', 'cat');
    advance(1000);
    setRoutes(
      routesWith(
        4,
        [
          ['1', 10],
          ['2', 90],
        ],
        { stable: '1' },
      ),
    );
    predict('2', 'cat');
    await evidence.flush(); // the report reads what is written: at most one flush interval behind
    const r = (await request(app).get('/experiments/pets')).body;
    expect(r.versions.map((v: { requests: number }) => v.requests)).toEqual([1, 2]);
    expect(r.since).toBe(new Date(1_700_000_000_000).toISOString());
    expect(r.versions.map((v: { weight_percent: number }) => v.weight_percent)).toEqual([10, 90]);
  });

  it('answers 404 for an unknown model, 400 for a bad name and 503 before any routing table', async () => {
    const { app, setRoutes } = await setup();
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

describe('GET /predictions', () => {
  const auth = { authorization: `Bearer ${ADMIN}` };

  it('needs the admin token', async () => {
    const { app } = await setup();
    expect((await request(app).get('/predictions')).status).toBe(401);
    const wrong = await request(app).get('/predictions').set('authorization', 'Bearer nope');
    expect(wrong.status).toBe(403);
  });

  it('filters by model, version and time and pages with the cursor it hands out', async () => {
    const { app, predict, advance, evidence } = await setup();
    for (let i = 0; i < 5; i++) {
      predict(i % 2 ? '2' : '1', 'cat');
      advance(1000);
    }
    await evidence.flush();
    const first = await request(app).get('/predictions?model=pets&version=1&limit=2').set(auth);
    expect(first.status).toBe(200);
    expect(first.body.predictions.map((p: { request_id: string }) => p.request_id)).toEqual(['r5', 'r3']);
    const next = await request(app)
      .get(`/predictions?model=pets&version=1&limit=2&cursor=${first.body.next_cursor}`)
      .set(auth);
    expect(next.body.predictions.map((p: { request_id: string }) => p.request_id)).toEqual(['r1']);
    expect(next.body.next_cursor).toBeNull();
    const since = new Date(1_700_000_000_000 + 3000).toISOString();
    const recent = await request(app).get(`/predictions?since=${since}`).set(auth);
    expect(recent.body.predictions.map((p: { request_id: string }) => p.request_id)).toEqual(['r5', 'r4']);
  });

  it.each([
    ['model', "pets' OR '1'='1"],
    ['model', 'pets;DROP TABLE predictions'],
    ['version', "1' --"],
    ['since', "2026-01-01' OR 1=1 --"],
    ['until', '1; DELETE FROM predictions'],
    ['limit', '10 OR 1=1'],
    ['limit', '100000'],
    ['cursor', "abc' OR '1'='1"],
    ['cursor', 'bm90LWEtY3Vyc29y'],
    ['colour', 'red'],
  ])('answers 400 to %s=%s and leaves the table as it was', async (name, value) => {
    const { app, predict, evidence } = await setup();
    predict('1', 'cat');
    await evidence.flush();
    const res = await request(app)
      .get(`/predictions?${name}=${encodeURIComponent(value)}`)
      .set(auth);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_input');
    expect(res.body.error.message).toMatch(/GET \/predictions takes/);
    const all = await request(app).get('/predictions').set(auth);
    expect(all.body.predictions).toHaveLength(1);
  });
});
