/** The experiment report's queries on both engines: records written through the evidence store,
 * an experiment from the repository, the report read back. Checks the counting rules: a batch is one
 * request for the error rate, pins and shadow copies stay out of comparisons and the SRM check,
 * users are the unit when the experiment says so, and looks after `now` are not counted. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { formatExperimentReport } from '../../../cli/commands/report';
import { trackingEvidence } from '../../../registry/rollouts/evidence';
import { createEvidenceStore, type EvidenceStore } from '../../../tracking/evidence-store';
import { experimentView } from '../../../tracking/experiments/experiment';
import { experimentReport } from '../../../tracking/experiments/report';
import { createExperimentRepository } from '../../../tracking/experiments/repository';
import type { PredictionRecord } from '../../../tracking/record';
import { type EvidenceDatabase, openDatabase } from '../../../tracking/store/database';
import { ENGINES, type Engine, type PostgresCluster, startPostgres } from '../../helpers/postgres';

let pg: PostgresCluster;
let dir: string;
let count = 0;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'modelgate-exp-report-'));
  pg = await startPostgres();
}, 120_000);
afterAll(async () => {
  await pg?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

async function freshUrl(engine: Engine): Promise<string> {
  count++;
  if (engine === 'sqlite') return `sqlite:${path.join(dir, `e${count}.db`)}`;
  const client = new Client({ connectionString: pg.url });
  await client.connect();
  await client.query(`CREATE DATABASE e${count}`);
  await client.end();
  return pg.url.replace(/\/postgres$/, `/e${count}`);
}

const T0 = 1_700_000_000_000;

describe.each(ENGINES)('the experiment report on %s', (engine) => {
  let database: EvidenceDatabase;
  let store: EvidenceStore;
  let clock = T0;

  beforeEach(async () => {
    database = await openDatabase(await freshUrl(engine));
    clock = T0;
    store = createEvidenceStore({
      database,
      now: () => clock,
      flushMs: 20,
      bufferRows: 100_000,
      retentionDays: 30,
      retention: false,
    });
  });
  afterEach(() => store.close());

  it('counts requests, rows, units, labels and shadow agreement by the rules', async () => {
    const repo = createExperimentRepository(database.db);
    const e = await repo.start({
      model: 'pets',
      control: '1',
      candidates: ['2'],
      unit: 'user',
      metrics: ['accuracy', 'error_rate'],
      weights: { '1': 50, '2': 50 },
      now: T0,
      createdBy: 'test',
    });
    const base = (over: Partial<PredictionRecord>): PredictionRecord => ({
      requestId: 'r',
      row: 0,
      model: 'pets',
      version: '1',
      experimentId: e.id,
      unit: null,
      route: '/predict',
      reason: 'sticky',
      status: 200,
      ok: true,
      latencyMs: 10,
      predictedClass: 'cat',
      confidence: 0.9,
      at: T0 + 100,
      ...over,
    });
    // 30 users per arm, 2 requests each; every request of arm 2 is a batch of 10 rows.
    for (let u = 0; u < 60; u++) {
      const version = u % 2 === 0 ? '1' : '2';
      for (let k = 0; k < 2; k++) {
        const requestId = `u${u}-${k}`;
        const rows = version === '2' ? 10 : 1;
        for (let row = 0; row < rows; row++)
          store.record(base({ requestId, row, version, unit: `user${u}`, at: T0 + 100 + u * 10 + k }));
      }
    }
    // one failed request per arm, a pin (outside the comparison), and a shadow copy that agrees
    store.record(base({ requestId: 'fail-1', version: '1', unit: 'user0', ok: false, status: 502 }));
    store.record(base({ requestId: 'fail-2', version: '2', unit: 'user1', ok: false, status: 502 }));
    store.record(base({ requestId: 'pin', version: '2', reason: 'pin', unit: 'pinned-user' }));
    store.record(base({ requestId: 'u0-0', version: '2', reason: 'shadow', unit: 'user0' }));
    // after the last closed look: not counted yet
    store.record(base({ requestId: 'late', version: '1', unit: 'user0', at: T0 + 9_500 }));
    await store.flush();
    clock = T0 + 2_000;
    for (let u = 0; u < 60; u++) {
      const version = u % 2 === 0 ? '1' : '2';
      const rows = version === '2' ? 10 : 1;
      for (let row = 0; row < rows; row++) {
        const outcome = await store.feedback({
          requestId: `u${u}-0`,
          row,
          label: u % 3 === 0 ? 'dog' : 'cat',
        });
        expect(outcome.kind).toBe('created');
      }
    }
    const r = await experimentReport({ db: database.db, experiment: e, now: T0 + 10_000, lookEveryMs: 1000 });
    expect(r.srm.observed).toEqual({ '1': 30, '2': 30 });
    expect(r.srm.ok).toBe(true);
    const arm = (v: string) => r.arms.find((a) => a.version === v)!;
    // arms count every route but shadow (the pin included), requests once per batch
    expect(arm('1')).toMatchObject({ role: 'control', requests: 62, rows: 61, errors: 1, labelled: 30 });
    expect(arm('2')).toMatchObject({ role: 'candidate', requests: 62, rows: 601, errors: 1, labelled: 300 });
    const error = r.comparisons.find((c) => c.metric === 'error_rate')!;
    // looks close at T0 + 8 s (2 s settling): the late request is out, the pin is out
    expect(error.n).toEqual({ control: 61, candidate: 61 });
    expect(error.units).toEqual({ control: 30, candidate: 30 });
    const accuracy = r.comparisons.find((c) => c.metric === 'accuracy')!;
    expect(accuracy.n).toEqual({ control: 30, candidate: 300 });
    expect(accuracy.units).toEqual({ control: 30, candidate: 30 });
    const shadow = r.comparisons.find((c) => c.metric === 'shadow_agreement')!;
    expect(shadow).toMatchObject({
      estimate: 1,
      n: { control: 1, candidate: 1 },
      verdict: 'insufficient_data',
    });
    expect(r.looks.closed).toBe(8);
    expect(r.experiment).toMatchObject({
      id: e.id,
      control: '1',
      candidates: ['2'],
      unit: 'user',
      status: 'running',
    });
  });

  it('checks the split against every weight period, not only the latest', async () => {
    const repo = createExperimentRepository(database.db);
    const e = await repo.start({
      model: 'pets',
      control: '1',
      candidates: ['2'],
      unit: 'request',
      metrics: ['error_rate'],
      weights: { '1': 80, '2': 20 },
      now: T0,
      createdBy: 'test',
    });
    // a rollout step at T0 + 1 s moves the split to 50/50
    const stepAt = T0 + 1_000;
    await repo.setWeights(e.id, [...e.weights, { from: stepAt, weights: { '1': 50, '2': 50 } }]);
    const record = (requestId: string, version: string, at: number) =>
      store.record({
        requestId,
        row: 0,
        model: 'pets',
        version,
        experimentId: e.id,
        unit: null,
        route: '/predict',
        reason: 'split',
        status: 200,
        ok: true,
        latencyMs: 10,
        predictedClass: 'cat',
        confidence: 0.9,
        at,
      });
    // 400/100 under 80/20, then 260/240 under 50/50: each period on its weights
    for (let i = 0; i < 500; i++) record(`a${i}`, i < 400 ? '1' : '2', T0 + 100 + i);
    for (let i = 0; i < 500; i++) record(`b${i}`, i < 260 ? '1' : '2', stepAt + 100 + i);
    await store.flush();
    const experiment = (await repo.get('pets', e.id))!;
    const r = await experimentReport({ db: database.db, experiment, now: T0 + 10_000, lookEveryMs: 1000 });
    expect(r.srm.observed).toEqual({ '1': 660, '2': 340 });
    // expected 650/350 (scipy.stats.chisquare([660, 340], [650, 350]): p = 0.507335)
    expect(r.srm.expected_percent['1']).toBeCloseTo(65, 9);
    expect(r.srm.p_value).toBeCloseTo(0.5073346887814887, 6);
    expect(r.srm.ok).toBe(true);
    expect(r.recommendation.action).not.toBe('fix_split');
    expect(r.allocation).toEqual({ kind: 'fixed', warning: null });
  });

  it('warns that a bandit rollout biases the naive estimates, in the JSON, the summary and the CLI', async () => {
    const repo = createExperimentRepository(database.db);
    const evidence = trackingEvidence({
      db: database.db,
      repository: repo,
      now: () => clock,
      lookEveryMs: 1000,
    });
    const arms = { model: 'pets', control: '1', candidates: ['2'], unit: 'request' as const };
    // A person's fixed-split experiment is not taken over by a bandit: it is replaced.
    const fixedId = await evidence.startExperiment({
      ...arms,
      weights: { '1': 50, '2': 50 },
      adaptive: false,
    });
    const banditId = await evidence.startExperiment({
      ...arms,
      weights: { '1': 50, '2': 50 },
      adaptive: true,
    });
    expect(banditId).not.toBe(fixedId);
    expect((await repo.get('pets', fixedId!))!.status).toBe('stopped');
    const bandit = (await repo.get('pets', banditId!))!;
    expect(experimentView(bandit).allocation).toBe('adaptive');

    const r = await experimentReport({
      db: database.db,
      experiment: bandit,
      now: T0 + 10_000,
      lookEveryMs: 1000,
    });
    expect(r.allocation.kind).toBe('adaptive');
    expect(r.allocation.warning).toMatch(/^ADAPTIVE ALLOCATION: a bandit sets these weights .* biased/);
    expect(r.summary.split('\n')[1]).toBe(r.allocation.warning);
    expect(formatExperimentReport(r).split('\n')[2]).toBe(`!! ${r.allocation.warning}`);

    const fixed = await experimentReport({
      db: database.db,
      experiment: (await repo.get('pets', fixedId!))!,
      now: T0 + 10_000,
      lookEveryMs: 1000,
    });
    expect(fixed.allocation).toEqual({ kind: 'fixed', warning: null });
    expect(formatExperimentReport(fixed)).not.toContain('ADAPTIVE');
  });
});
