/** The registry's rollout API and its executor over a real temp store, with a fake clock, a fake
 * report and a fake webhook. */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Registry } from 'prom-client';
import request from 'supertest';
import { createLogger } from '../../../common/logger';
import type { Policy } from '../../../common/wire';
import { createApp, type RegistryApp } from '../../../registry/app';
import { readAudit } from '../../../registry/audit-log';
import { createInstances } from '../../../registry/instances';
import { createRegistryMetrics } from '../../../registry/metrics';
import type { Action } from '../../../registry/rollouts/decide';
import { createRolloutController, type RolloutController } from '../../../registry/rollouts/executor';
import { createRolloutMetrics } from '../../../registry/rollouts/metrics';
import type { RolloutReport } from '../../../registry/rollouts/report';
import { readRolloutFile, rolloutFile, writeRolloutFile } from '../../../registry/rollouts/rollout-file';
import { createRoutesTable } from '../../../registry/routes';
import { createModelStore } from '../../../registry/store/model-store';
import { listTree, writeStore } from '../../helpers/registry-fixtures';
import { allHold, report } from './fixtures';

const TOKEN = 'secret';
const auth = { Authorization: `Bearer ${TOKEN}` };
const before: Partial<Policy> = {
  variants: [{ version: '1', weight: 100 }],
  aliases: { stable: '1', canary: '1', old: '1' },
  revision: 3,
};

interface Harness {
  root: string;
  app: RegistryApp;
  controller: RolloutController;
  metrics: Registry;
  clock: { now: number };
  evidence: { report: RolloutReport | null; stopped: string[] };
  hooks: { calls: { url: string; payload: unknown }[]; answer: { ok: boolean; detail: string } };
}

const roots: string[] = [];
afterAll(async () => {
  await Promise.all(roots.map((r) => rm(r, { recursive: true, force: true })));
});

async function harness(root?: string): Promise<Harness> {
  if (!root) {
    root = await mkdtemp(path.join(tmpdir(), 'rollouts-'));
    roots.push(root);
    await writeStore(root, 'digits', ['1', '2', '3'], before);
  }
  const logger = createLogger({ service: 'registry', level: 'error', format: 'json' });
  const clock = { now: 1_700_000_000_000 };
  const now = () => clock.now;
  const metricsRegistry = new Registry();
  const metrics = createRegistryMetrics(metricsRegistry, { defaults: false });
  const store = createModelStore({ root, logger, now });
  const evidence: Harness['evidence'] = { report: null, stopped: [] };
  const hooks: Harness['hooks'] = { calls: [], answer: { ok: true, detail: 'HTTP 200' } };
  let refresh: () => Promise<void> = async () => undefined;
  let n = 0;
  const controller = createRolloutController({
    root,
    store,
    logger,
    metrics: createRolloutMetrics(metricsRegistry),
    now,
    newId: () => `r${++n}`,
    evidence: {
      startExperiment: async () => 'exp-1',
      stopExperiment: async ({ id }) => void evidence.stopped.push(id),
      report: async () => evidence.report,
    },
    webhook: async ({ url, payload }) => {
      hooks.calls.push({ url, payload });
      return { ...hooks.answer, status: hooks.answer.ok ? 200 : 500, attempts: 1 };
    },
    afterPolicyWrite: () => refresh(),
    tickMs: 60_000,
  });
  const app = createApp({
    config: {
      adminTokens: [{ name: 'alice', token: TOKEN }],
      instanceTokens: [{ name: 'alice', token: TOKEN }],
      maxUploadBytes: 1e6,
      instanceTtlMs: 6000,
    },
    logger,
    metricsRegistry,
    metrics,
    store,
    instances: createInstances(6000, now),
    routes: createRoutesTable(0),
    checkArtifact: async () => undefined,
    verifyInstance: async () => undefined,
    rollouts: controller,
    now,
  });
  refresh = app.refresh;
  await app.refresh();
  await controller.begin();
  return { root, app, controller, metrics: metricsRegistry, clock, evidence, hooks };
}

const policyOf = async (root: string): Promise<Policy> =>
  JSON.parse(await readFile(path.join(root, 'digits', 'policy.json'), 'utf8')) as Policy;

const body = {
  candidate: '2',
  steps: [{ weight: 10 }, { weight: 50 }],
  step_min_seconds: 60,
  step_min_labelled: 100,
};

describe('rollout API and executor', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await harness();
  });
  afterEach(async () => {
    await h.controller.close();
    h.app.close();
  });

  it('starts: writes the first step through the store (If-Match path, audited as rollout) and answers snake_case', async () => {
    const res = await request(h.app.app).post('/models/digits/rollouts').set(auth).send(body);
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      id: 'r1',
      model: 'digits',
      candidate: '2',
      control: '1',
      strategy: 'steps',
      state: 'running',
      step_index: 0,
      steps: [{ weight: 10 }, { weight: 50 }],
      weights: { '1': 90, '2': 10 },
      experiment_id: 'exp-1',
    });
    const policy = await policyOf(h.root);
    expect(policy.revision).toBe(4);
    expect(policy.variants).toEqual([
      { version: '1', weight: 90 },
      { version: '2', weight: 10 },
    ]);
    const audit = await readAudit(h.root, 'digits');
    expect(audit.map((e) => [e.who, e.action])).toEqual([
      ['rollout', 'policy.update'],
      ['rollout', 'rollout.transition'],
    ]);
    const routes = await request(h.app.app).get('/routes');
    expect(routes.body.models.digits.policy.revision).toBe(4);
    const metrics = await request(h.app.app).get('/metrics');
    expect(metrics.text).toMatch(/modelgate_rollout_step\{model="digits",candidate="2"\} 1/);
    expect(metrics.text).toMatch(/modelgate_rollout_state\{model="digits",candidate="2",state="running"\} 1/);
    expect(metrics.text).toMatch(
      /modelgate_rollout_transitions_total\{model="digits",candidate="2",reason="started"\} 1/,
    );
  });

  it.each([
    ['an unknown version', { candidate: '9' }, 404, /no version "9"/],
    ['steps not increasing', { candidate: '2', steps: [{ weight: 50 }, { weight: 10 }] }, 400, /increase/],
    ['a weight over 100', { candidate: '2', steps: [{ weight: 101 }] }, 400, /steps\.0/],
    ['a webhook that is not http(s)', { candidate: '2', webhooks: { rollback: 'gopher://x' } }, 400, /http/],
    [
      'a gate on an unknown metric',
      { candidate: '2', gates: { f1: 'not_worse' } },
      400,
      /unknown metric "f1"/,
    ],
    ['a body that is not an object', [1, 2], 400, /JSON object/],
  ])('refuses %s and writes nothing', async (_what, bad, status, message) => {
    const tree = await listTree(h.root);
    const policy = await policyOf(h.root);
    const res = await request(h.app.app)
      .post('/models/digits/rollouts')
      .set(auth)
      .send(bad as object);
    expect(res.status).toBe(status);
    expect(res.body.error.message).toMatch(message);
    expect(await listTree(h.root)).toEqual(tree);
    expect(await policyOf(h.root)).toEqual(policy);
  });

  it('refuses a second rollout for the same model with 409 and writes nothing', async () => {
    await request(h.app.app).post('/models/digits/rollouts').set(auth).send(body).expect(201);
    const file = await readFile(rolloutFile(h.root, 'digits'), 'utf8');
    const res = await request(h.app.app).post('/models/digits/rollouts').set(auth).send({ candidate: '3' });
    expect(res.status).toBe(409);
    expect(res.body.error.message).toMatch(/already has a rollout of 2/);
    expect(await readFile(rolloutFile(h.root, 'digits'), 'utf8')).toBe(file);
  });

  it('refuses without the admin token and answers 404 for a model without a rollout', async () => {
    expect((await request(h.app.app).post('/models/digits/rollouts').send(body)).status).toBe(401);
    const res = await request(h.app.app).get('/models/digits/rollouts/current');
    expect(res.status).toBe(404);
    expect(res.body.error.message).toMatch(/modelgate rollout start digits/);
    expect((await request(h.app.app).post('/models/digits/rollouts/current/pause').set(auth)).status).toBe(
      404,
    );
    expect((await request(h.app.app).get('/models/..%2F/rollouts/current')).status).toBe(400);
  });

  it('rolls back a worse candidate: weights and every alias exactly as before, the audit says why', async () => {
    const original = await policyOf(h.root);
    await request(h.app.app).post('/models/digits/rollouts').set(auth).send(body).expect(201);
    h.evidence.report = report({
      candidate: { labelled: 40 },
      verdicts: { ...allHold, accuracy: { verdict: 'worse', p: 0.001 } },
    });
    h.clock.now += 5000;
    await h.controller.tick();
    const status = (await request(h.app.app).get('/models/digits/rollouts/current')).body;
    expect(status.state).toBe('rolled_back');
    const after = await policyOf(h.root);
    const { revision: _a, ...restored } = after;
    const { revision: _b, ...was } = original;
    expect(restored).toEqual(was);
    expect(after.aliases).toEqual({ stable: '1', canary: '1', old: '1' });
    const audit = await readAudit(h.root, 'digits');
    const last = audit.filter((e) => e.action === 'rollout.transition').at(-1)!;
    expect(last.who).toBe('rollout');
    expect(last.after).toMatchObject({ state: 'rolled_back', reason: 'gate_violated' });
    expect(last.why).toMatch(/rolled back: .*accuracy/);
    expect(last.evidence).toMatchObject({
      gates: expect.arrayContaining([expect.objectContaining({ name: 'accuracy', violated: true })]),
    });
    expect(h.evidence.stopped).toEqual(['exp-1']);
  });

  it('advances and promotes a candidate whose gates hold: 100% and stable on it', async () => {
    await request(h.app.app).post('/models/digits/rollouts').set(auth).send(body).expect(201);
    h.evidence.report = report({ candidate: { labelled: 150 }, verdicts: allHold });
    h.clock.now += 61_000;
    await h.controller.tick();
    expect((await policyOf(h.root)).variants).toEqual([
      { version: '1', weight: 50 },
      { version: '2', weight: 50 },
    ]);
    const mid = (await request(h.app.app).get('/models/digits/rollouts/current')).body;
    expect(mid).toMatchObject({
      state: 'running',
      step_index: 1,
      labelled_in_step: 0,
      time_in_step_seconds: 0,
    });
    h.evidence.report = report({ candidate: { labelled: 300 }, verdicts: allHold });
    h.clock.now += 61_000;
    await h.controller.tick();
    const policy = await policyOf(h.root);
    expect(policy.variants.find((v) => v.version === '2')?.weight).toBe(100);
    expect(policy.aliases).toEqual({ stable: '2', canary: '2', old: '1' });
    const done = (await request(h.app.app).get('/models/digits/rollouts/current')).body;
    expect(done.state).toBe('promoted');
    // Each step keeps its own time and count against the minimums (60 s, 100 labelled rows).
    expect(done.step_log.map((s: any) => [s.step_index, s.seconds, s.counted, s.unit])).toEqual([
      [0, 61, 150, 'labelled rows'],
      [1, 61, 150, 'labelled rows'],
    ]);
    expect(done.step_log[0].ended_at).toBe(done.step_log[1].started_at);
  });

  it('lists steps not yet begun in the step log with nothing counted', async () => {
    await request(h.app.app).post('/models/digits/rollouts').set(auth).send(body).expect(201);
    h.evidence.report = report({ candidate: { labelled: 40 }, verdicts: allHold });
    h.clock.now += 5_000;
    await h.controller.tick();
    const view = (await request(h.app.app).get('/models/digits/rollouts/current')).body;
    expect(view.step_log).toEqual([
      expect.objectContaining({ step_index: 0, seconds: 5, counted: 40, ended_at: null }),
      {
        step_index: 1,
        started_at: null,
        ended_at: null,
        seconds: null,
        counted: null,
        unit: 'labelled rows',
      },
    ]);
  });

  it('a manual traffic change pauses the rollout, and status says so; resume re-applies the step', async () => {
    await request(h.app.app).post('/models/digits/rollouts').set(auth).send(body).expect(201);
    const current = await request(h.app.app).get('/models/digits/policy');
    await request(h.app.app)
      .put('/models/digits/policy')
      .set(auth)
      .set('If-Match', String(current.headers.etag))
      .send({ ...current.body, variants: [{ version: '1', weight: 100 }], revision: undefined })
      .expect(200);
    await h.controller.tick();
    const paused = (await request(h.app.app).get('/models/digits/rollouts/current')).body;
    expect(paused.state).toBe('paused');
    expect(paused.paused_reason).toMatch(/someone changed the policy.*split 1=90 2=10 → 1=100/);
    expect((await policyOf(h.root)).variants).toEqual([{ version: '1', weight: 100 }]);
    const resumed = await request(h.app.app).post('/models/digits/rollouts/current/resume').set(auth);
    expect(resumed.status).toBe(200);
    expect(resumed.body.state).toBe('running');
    expect((await policyOf(h.root)).variants.find((v) => v.version === '2')?.weight).toBe(10);
    expect((await request(h.app.app).post('/models/digits/rollouts/current/resume').set(auth)).status).toBe(
      409,
    );
  });

  it('pause and abort by API: abort restores the policy from before and a second abort is 409', async () => {
    const original = await policyOf(h.root);
    await request(h.app.app).post('/models/digits/rollouts').set(auth).send(body).expect(201);
    expect(
      (await request(h.app.app).post('/models/digits/rollouts/current/pause').set(auth)).body.state,
    ).toBe('paused');
    const aborted = await request(h.app.app).post('/models/digits/rollouts/current/abort').set(auth);
    expect(aborted.body.state).toBe('aborted');
    expect((await policyOf(h.root)).variants).toEqual(original.variants);
    expect((await policyOf(h.root)).aliases).toEqual(original.aliases);
    expect((await request(h.app.app).post('/models/digits/rollouts/current/abort').set(auth)).status).toBe(
      409,
    );
    // a finished rollout does not block the next one
    expect(
      (await request(h.app.app).post('/models/digits/rollouts').set(auth).send({ candidate: '3' })).status,
    ).toBe(201);
  });

  it('holds at the last step while confirm_promotion answers non-2xx, with the evidence in the payload', async () => {
    await request(h.app.app)
      .post('/models/digits/rollouts')
      .set(auth)
      .send({
        ...body,
        steps: [{ weight: 50 }],
        webhooks: { confirm_promotion: 'http://127.0.0.1:9/confirm' },
      })
      .expect(201);
    h.evidence.report = report({ candidate: { labelled: 150 }, verdicts: allHold });
    h.hooks.answer = { ok: false, detail: 'HTTP 500 after 3 attempts' };
    h.clock.now += 61_000;
    await h.controller.tick();
    const held = (await request(h.app.app).get('/models/digits/rollouts/current')).body;
    expect(held.state).toBe('waiting');
    expect(held.waiting_for).toMatch(/confirm_promotion webhook refused \(HTTP 500 after 3 attempts\)/);
    expect((await policyOf(h.root)).variants.find((v) => v.version === '2')?.weight).toBe(50);
    expect(h.hooks.calls[0]!.payload).toMatchObject({
      hook: 'confirm_promotion',
      model: 'digits',
      evidence: { arms: expect.any(Array) },
    });
    h.hooks.answer = { ok: true, detail: 'HTTP 200' };
    h.clock.now += 11_000;
    await h.controller.tick();
    expect((await request(h.app.app).get('/models/digits/rollouts/current')).body.state).toBe('promoted');
  });
});

describe('restart', () => {
  it('resumes the same step after a stop, replaying a policy write that was decided but not done', async () => {
    const h = await harness();
    await request(h.app.app).post('/models/digits/rollouts').set(auth).send(body).expect(201);
    h.evidence.report = report({ candidate: { labelled: 150 }, verdicts: allHold });
    h.clock.now += 61_000;
    await h.controller.tick();
    await h.controller.close();
    h.app.close();
    // Simulate a SIGKILL after the decision to go to step 3 was stored but before its policy write.
    const file = (await readRolloutFile(h.root, 'digits'))!;
    const target = {
      ...file.state.expected,
      variants: [
        { version: '1', weight: 0 },
        { version: '2', weight: 100 },
      ],
    };
    const pending: Action[] = [{ type: 'write_policy', policy: target }];
    await writeRolloutFile(h.root, 'digits', { state: { ...file.state, expected: target }, pending });
    const again = await harness(h.root);
    const status = (await request(again.app.app).get('/models/digits/rollouts/current')).body;
    expect(status).toMatchObject({ state: 'running', step_index: 1 });
    expect((await policyOf(h.root)).variants.find((v) => v.version === '2')?.weight).toBe(100);
    expect((await readRolloutFile(h.root, 'digits'))!.pending).toEqual([]);
    await again.controller.close();
    again.app.close();
  });

  it('a corrupt rollout file is reported and does not stop the registry', async () => {
    const h = await harness();
    await writeFile(rolloutFile(h.root, 'digits'), '{"nope":');
    const again = await harness(h.root);
    expect((await request(again.app.app).get('/models/digits')).status).toBe(200);
    await again.controller.close();
    again.app.close();
    await h.controller.close();
    h.app.close();
  });
});
