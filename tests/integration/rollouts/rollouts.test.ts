/** Rollouts end to end: real registry, model-servers and gateway, seeded traffic with feedback from
 * the shipped digits samples, short steps. */

import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { auth, call, eventually, type RolloutStack, startRolloutStack } from './rollout-stack';

let stack: RolloutStack;
beforeAll(async () => {
  stack = await startRolloutStack();
}, 300_000);
afterAll(async () => {
  await stack?.stop();
});

const FINAL = ['promoted', 'rolled_back', 'aborted', 'timed_out'];
const basePolicy = (stable: string, extra: Record<string, unknown> = {}) => ({
  variants: [{ version: stable, weight: 100 }],
  sticky: null,
  shadow: null,
  aliases: { stable, canary: stable, legacy: '1' },
  failover: true,
  ...extra,
});
const withoutRevision = ({ revision: _r, ...rest }: any) => rest;
const start = (body: Record<string, unknown>) =>
  call(`${stack.registryUrl}/models/digits/rollouts`, 'POST', body, auth);

async function abortIfRunning() {
  const r = await stack.rollout();
  if (r?.state && !FINAL.includes(r.state))
    await call(`${stack.registryUrl}/models/digits/rollouts/current/abort`, 'POST', undefined, auth);
}

afterEach(async () => {
  await abortIfRunning();
});

describe('bad input', () => {
  it.each([
    ['an unknown version', { candidate: '9' }, 404, /no version "9"/],
    [
      'steps not increasing',
      { candidate: '2', steps: [{ weight: 50 }, { weight: 25 }] },
      400,
      /must increase/,
    ],
    ['a weight over 100', { candidate: '2', steps: [{ weight: 120 }] }, 400, /steps\.0/],
    [
      'a webhook that is not http(s)',
      { candidate: '2', webhooks: { confirm_promotion: 'ftp://x/y' } },
      400,
      /http/,
    ],
    [
      'a gate on an unknown metric',
      { candidate: '2', gates: { auc: 'not_worse' } },
      400,
      /unknown metric "auc"/,
    ],
    ['a JSON array', [], 400, /JSON object/],
  ])('refuses %s with a 4xx that says why and writes nothing', async (_what, body, status, message) => {
    await stack.setPolicy(basePolicy('1'));
    const policy = await stack.policy();
    const audit = await stack.audit();
    const res = await call(`${stack.registryUrl}/models/digits/rollouts`, 'POST', body, auth);
    expect(res.status).toBe(status);
    expect(res.body.error.message).toMatch(message);
    expect(await stack.policy()).toEqual(policy);
    expect((await stack.audit()).length).toBe(audit.length);
    await expect(readFile(path.join(stack.store.dir, 'digits', 'rollout.json'))).rejects.toThrow(/ENOENT/);
  });

  it('refuses a second rollout for the same model (409) and malformed JSON (400)', async () => {
    await stack.setPolicy(basePolicy('1'));
    expect((await start({ candidate: '2', step_min_seconds: 3600 })).status).toBe(201);
    const file = await readFile(path.join(stack.store.dir, 'digits', 'rollout.json'), 'utf8');
    const second = await start({ candidate: '3' });
    expect(second.status).toBe(409);
    expect(second.body.error.message).toMatch(/already has a rollout of 2/);
    const raw = await fetch(`${stack.registryUrl}/models/digits/rollouts`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: '{"candidate": ',
    });
    expect(raw.status).toBe(400);
    expect(await readFile(path.join(stack.store.dir, 'digits', 'rollout.json'), 'utf8')).toBe(file);
  });

  it('the CLI prints the registry message and exits 1', async () => {
    const r = await stack.cli(['rollout', 'start', 'digits', '2', '--steps', '50,10']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/weights must increase from step to step, 10 follows 50/);
  });
});

describe('steering', () => {
  it('a manual traffic set during a rollout pauses it, status says so, and abort restores weights and aliases', async () => {
    await stack.setPolicy(basePolicy('1'));
    const before = withoutRevision(await stack.policy());
    const started = await stack.cli([
      'rollout',
      'start',
      'digits',
      '2',
      '--steps',
      '10,50,100',
      '--step-min-seconds',
      '3600',
    ]);
    expect(started.code).toBe(0);
    expect((await stack.policy()).variants).toEqual([
      { version: '1', weight: 90 },
      { version: '2', weight: 10 },
    ]);
    expect((await stack.cli(['traffic', 'set', 'digits', '1=100'])).code).toBe(0);
    await eventually(
      () => stack.rollout(),
      (r) => r.state === 'paused',
      15_000,
    );
    const status = await stack.cli(['rollout', 'status', 'digits']);
    expect(status.stdout).toMatch(/PAUSED/);
    expect(status.stdout).toMatch(/someone changed the policy during the rollout \(split 1=90 2=10 → 1=100/);
    expect((await stack.policy()).variants).toEqual([{ version: '1', weight: 100 }]);
    const aborted = await stack.cli(['rollout', 'abort', 'digits']);
    expect(aborted.code).toBe(0);
    expect(aborted.stdout).toMatch(/ABORTED/);
    expect(withoutRevision(await stack.policy())).toEqual(before);
    const audit = await stack.audit();
    expect(
      audit.find((e: any) => e.action === 'rollout.transition' && e.after?.reason === 'manual_change'),
    ).toMatchObject({
      who: 'rollout',
    });
  });

  it('a registry SIGKILLed mid-step resumes the same step with the same split', async () => {
    await stack.setPolicy(basePolicy('1'));
    const res = await start({
      candidate: '2',
      steps: [{ weight: 10 }, { weight: 50 }],
      step_min_seconds: 3600,
    });
    expect(res.status).toBe(201);
    const policy = await stack.policy();
    await stack.restartRegistry('SIGKILL');
    const after = await eventually(
      () => stack.rollout(),
      (r) => r.id === res.body.id,
      30_000,
    );
    expect(after).toMatchObject({
      state: 'running',
      step_index: 0,
      step_started_at: res.body.step_started_at,
    });
    expect(await stack.policy()).toEqual(policy);
    await stack.registry.waitForLine(/resuming rollouts/);
    const routes = await eventually(
      () => call(`${stack.registryUrl}/routes`, 'GET'),
      (r) => Object.values(r.body.models.digits.versions).every((v: any) => v.instances.length === 1),
      30_000,
    );
    expect(routes.body.models.digits.policy.variants).toEqual(policy.variants);
  });
});
