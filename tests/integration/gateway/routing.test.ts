/** The gateway between a real registry and real model-servers: split, sticky, pin, label, shadow,
 * failover after kill -9, registry outage, and every bad input answered with a 4xx JSON error. */
import type { Service } from '../../helpers/processes';
import { createTestStore, type TestStore } from '../../helpers/test-store';
import {
  ADMIN_TOKEN,
  type Answer,
  call,
  load,
  ROW,
  setPolicy,
  startGateway,
  startModelServer,
  startRegistry,
  waitForInfo,
} from './stack';

jest.setTimeout(120_000);

const MODEL = 'tiny';
let store: TestStore;
let registry: Service;
let gateway: Service & { logDir: string };
const servers: Record<string, Service> = {};

const basePolicy = {
  variants: [
    { version: '1', weight: 80 },
    { version: '2', weight: 20 },
  ],
  sticky: { header: 'x-user-id' },
  shadow: null,
  aliases: { stable: '1', canary: '2' },
  failover: true,
};

const predict = (headers: Record<string, string> = {}, body: unknown = { model: MODEL, features: ROW }) =>
  call(`${gateway.url}/predict`, 'POST', body, headers);

const liveEverywhere = (versions: string[], revision?: number) => (info: any) => {
  const m = info.models?.find((x: any) => x.name === MODEL);
  return (
    !!m &&
    (revision === undefined || m.policy.revision === revision) &&
    versions.every((v) => m.versions.find((x: any) => x.version === v)?.live_instances === 1)
  );
};

beforeAll(async () => {
  store = await createTestStore({ shipped: false });
  for (const [version, seed] of [
    ['1', 1],
    ['2', 2],
    ['3', 3],
  ] as const) {
    await store.addModel({ model: MODEL, version, width: 4, labels: ['a', 'b', 'c'], seed, hidden: 8 });
  }
  registry = await startRegistry(store);
  const revision = await setPolicy(registry.url, MODEL, basePolicy);
  for (const v of ['1', '2', '3']) servers[v] = await startModelServer(store, registry.url, MODEL, v);
  gateway = await startGateway(registry.url, { BODY_LIMIT: '2mb' });
  await waitForInfo(gateway.url, liveEverywhere(['1', '2', '3'], revision));
});

afterAll(async () => {
  await gateway?.stop();
  for (const s of Object.values(servers)) await s.stop();
  await registry?.stop();
  await store?.cleanup();
});

describe('version choice', () => {
  it('splits 2,000 requests within 3 points of 80/20', async () => {
    const answers = await load(2000, 16, () => predict());
    expect(answers.filter((a) => a.status !== 200)).toEqual([]);
    const v2 = answers.filter((a) => a.headers.get('x-model-version') === '2').length;
    expect(Math.abs(v2 / 2000 - 0.2)).toBeLessThanOrEqual(0.03);
  });

  it('keeps sticky users on their version, and moves only ~10% of them when 80/20 becomes 70/30', async () => {
    const users = Array.from({ length: 400 }, (_, i) => `user-${i}`);
    const first = await load(users.length, 8, (i) => predict({ 'x-user-id': users[i]! }));
    const again = await load(users.length, 8, (i) => predict({ 'x-user-id': users[i]! }));
    const before = first.map((a) => a.headers.get('x-model-version'));
    expect(again.map((a) => a.headers.get('x-model-version'))).toEqual(before);

    const revision = await setPolicy(registry.url, MODEL, {
      ...basePolicy,
      variants: [
        { version: '1', weight: 70 },
        { version: '2', weight: 30 },
      ],
    });
    const changedAt = Date.now();
    await waitForInfo(gateway.url, liveEverywhere(['1', '2'], revision), 5000);
    // The long-poll carries the change: the gateway applies it within a second.
    expect(Date.now() - changedAt).toBeLessThan(1000);
    const after = await load(users.length, 8, (i) => predict({ 'x-user-id': users[i]! }));
    const moved = after.filter((a, i) => a.headers.get('x-model-version') !== before[i]);
    expect(moved.every((a) => a.headers.get('x-model-version') === '2')).toBe(true);
    expect(moved.length / users.length).toBeGreaterThan(0.04);
    expect(moved.length / users.length).toBeLessThan(0.17);
    await setPolicy(registry.url, MODEL, basePolicy);
  });

  it('honours a pinned version and a label on every surface', async () => {
    expect((await predict({ 'x-model-version': '2' })).headers.get('x-model-version')).toBe('2');
    expect((await predict({ 'x-model-label': 'canary' })).headers.get('x-model-version')).toBe('2');
    const tf = await call(`${gateway.url}/v1/models/${MODEL}/labels/canary:predict`, 'POST', {
      instances: [ROW],
    });
    expect(tf.status).toBe(200);
    expect(tf.headers.get('x-model-version')).toBe('2');
    const oip = await call(`${gateway.url}/v2/models/${MODEL}/versions/1/infer`, 'POST', {
      inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32', data: ROW }],
    });
    expect(oip.status).toBe(200);
    expect(oip.body.model_version).toBe('1');
    const unknown = await predict({ 'x-model-version': '9' });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.message).toMatch(/versions: 1, 2, 3/);
  });

  it('routes unversioned OIP v2 and TF Serving requests by the split like /predict', async () => {
    const answers = await load(200, 8, (i) =>
      i % 2
        ? call(`${gateway.url}/v1/models/${MODEL}:predict`, 'POST', { instances: [ROW] })
        : call(`${gateway.url}/v2/models/${MODEL}/infer`, 'POST', {
            inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32', data: ROW }],
          }),
    );
    expect(answers.every((a) => a.status === 200)).toBe(true);
    const versions = new Set(answers.map((a) => a.headers.get('x-model-version')));
    expect(versions).toEqual(new Set(['1', '2']));
  });
});

describe('shadow traffic', () => {
  it('copies requests to the shadow version without ever answering from it', async () => {
    const revision = await setPolicy(registry.url, MODEL, {
      ...basePolicy,
      shadow: { version: '3', percent: 100 },
    });
    await waitForInfo(gateway.url, liveEverywhere(['1', '2', '3'], revision), 5000);
    const answers = await load(100, 8, () => predict());
    expect(answers.every((a) => a.status === 200 && a.body.version !== '3')).toBe(true);
    expect(answers.every((a) => a.headers.get('x-model-version') !== '3')).toBe(true);
    let metrics = '';
    const deadline = Date.now() + 10_000;
    const counted = () => {
      const found = [
        ...metrics.matchAll(/modelgate_shadow_requests_total\{[^}]*shadow_version="3"[^}]*\} (\d+)/g),
      ];
      return found.reduce((sum, m) => sum + Number(m[1]), 0);
    };
    while (Date.now() < deadline) {
      metrics = (await call(`${gateway.url}/metrics`, 'GET')).body as string;
      if (counted() >= 100) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(counted()).toBe(100);
    expect(metrics).toMatch(/outcome="(agree|disagree)"/);
    await setPolicy(registry.url, MODEL, basePolicy);
  });
});

describe('bad input', () => {
  const cases: [string, () => Promise<Answer>, number][] = [
    ['wrong width', () => predict({}, { model: MODEL, features: [1, 2] }), 400],
    ['string feature', () => predict({}, { model: MODEL, features: [1, 'x', 3, 4] }), 400],
    ['huge number', () => predict({}, { model: MODEL, features: [1, 2, 3, 1e39] }), 400],
    [
      'NaN literal',
      () => call(`${gateway.url}/predict`, 'POST', `{"model":"${MODEL}","features":[NaN,1,2,3]}`),
      400,
    ],
    ['broken JSON', () => call(`${gateway.url}/predict`, 'POST', '{"features":'), 400],
    [
      'text body',
      () => call(`${gateway.url}/predict`, 'POST', 'hello', { 'content-type': 'text/plain' }),
      415,
    ],
    ['empty batch', () => call(`${gateway.url}/predict/batch`, 'POST', { model: MODEL, instances: [] }), 400],
    [
      'too big',
      () => predict({}, { model: MODEL, features: Array.from({ length: 1_500_000 }, () => 1) }),
      413,
    ],
    ['unknown model', () => predict({}, { model: 'nope', features: ROW }), 404],
    ['unknown label', () => predict({ 'x-model-label': 'nope' }), 404],
    [
      'bad OIP shape',
      () =>
        call(`${gateway.url}/v2/models/${MODEL}/infer`, 'POST', {
          inputs: [{ name: 'input', shape: [1, 3], datatype: 'FP32', data: [1, 2, 3] }],
        }),
      400,
    ],
    ['OIP without inputs', () => call(`${gateway.url}/v2/models/${MODEL}/infer`, 'POST', { nope: 1 }), 400],
    [
      'TF instances wrong width',
      () => call(`${gateway.url}/v1/models/${MODEL}:predict`, 'POST', { instances: [[1]] }),
      400,
    ],
    [
      'prototype pollution',
      () =>
        call(
          `${gateway.url}/predict`,
          'POST',
          `{"model":"${MODEL}","features":[1,2,3,4],"__proto__":{"x":1}}`,
        ),
      200,
    ],
  ];
  it.each(cases)('%s → the right status with a JSON error', async (_name, send, status) => {
    const res = await send();
    expect(res.status).toBe(status);
    expect(typeof res.body).toBe('object');
    if (status >= 400) expect(res.body.error).toBeDefined();
    expect(res.headers.get('x-request-id')).toMatch(/^[A-Za-z0-9._:-]{1,128}$/);
  });
});

describe('prediction records', () => {
  it('stores every prediction in the evidence store, off the hot path, readable at GET /predictions', async () => {
    const res = await predict({ 'x-request-id': 'log-me-1' });
    expect(res.status).toBe(200);
    const deadline = Date.now() + 10_000;
    let found: Record<string, unknown> | undefined;
    while (!found && Date.now() < deadline) {
      const page = await call(`${gateway.url}/predictions?model=${MODEL}&limit=1000`, 'GET', undefined, {
        authorization: `Bearer ${ADMIN_TOKEN}`,
      });
      expect(page.status).toBe(200);
      found = (page.body as { predictions: Record<string, unknown>[] }).predictions.find(
        (p) => p.request_id === 'log-me-1',
      );
      if (!found) await new Promise((r) => setTimeout(r, 50));
    }
    expect(found).toMatchObject({
      request_id: 'log-me-1',
      row: 0,
      model: MODEL,
      version: res.body.version,
      predicted_class: res.body.prediction,
      confidence: res.body.confidence,
      ok: true,
      status: 200,
    });
  });
});

describe('failover', () => {
  it('answers without 5xx once the breaker opens after kill -9 of a version, and returns to the split after a restart', async () => {
    const killedAt = { t: 0 };
    const traffic: Answer[] = [];
    let running = true;
    const steady = Promise.all(
      Array.from({ length: 4 }, async () => {
        while (running) traffic.push(await predict());
      }),
    );
    await new Promise((r) => setTimeout(r, 500));
    killedAt.t = Date.now();
    await servers['2']!.stop('SIGKILL');
    await new Promise((r) => setTimeout(r, 3000));
    running = false;
    await steady;
    const afterOpen = traffic.filter((a) => a.startedAt > killedAt.t + 1000);
    expect(afterOpen.length).toBeGreaterThan(20);
    expect(afterOpen.filter((a) => a.status >= 500)).toEqual([]);
    expect(afterOpen.every((a) => a.headers.get('x-model-version') === '1')).toBe(true);
    const failedOver = traffic.filter((a) => a.headers.get('x-model-failover') === '2->1');
    expect(failedOver.length).toBeGreaterThan(0);
    expect(failedOver[0]!.body.failover).toEqual({ from: '2', to: '1' });
    const metrics = (await call(`${gateway.url}/metrics`, 'GET')).body as string;
    expect(metrics).toMatch(
      /modelgate_gateway_failovers_total\{model="tiny",from_version="2",to_version="1"\} \d+/,
    );

    servers['2'] = await startModelServer(store, registry.url, MODEL, '2');
    await waitForInfo(gateway.url, (info) => {
      const v2 = info.models
        ?.find((x: any) => x.name === MODEL)
        ?.versions.find((v: any) => v.version === '2');
      return v2?.live_instances === 1 && v2.circuit.every((c: any) => c.state === 'closed');
    });
    const answers = await load(600, 8, () => predict());
    expect(answers.filter((a) => a.status !== 200)).toEqual([]);
    const share = answers.filter((a) => a.headers.get('x-model-version') === '2').length / answers.length;
    expect(share).toBeGreaterThan(0.13);
    expect(share).toBeLessThan(0.27);
  });
});

describe('registry outage', () => {
  it('keeps answering from the last routing table and reports it stale', async () => {
    let running = true;
    const traffic: Answer[] = [];
    const steady = Promise.all(
      Array.from({ length: 2 }, async () => {
        while (running) traffic.push(await predict());
      }),
    );
    await registry.stop('SIGKILL');
    const deadline = Date.now() + 15_000;
    let ready: Answer | undefined;
    while (Date.now() < deadline) {
      ready = await call(`${gateway.url}/ready`, 'GET');
      if (ready.body.details?.routing_table?.stale) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const stoppedAt = Date.now();
    while (traffic.filter((a) => a.startedAt > stoppedAt).length < 50)
      await new Promise((r) => setTimeout(r, 50));
    running = false;
    await steady;
    expect(ready!.body).toMatchObject({ status: 'ready', details: { routing_table: { stale: true } } });
    expect(traffic.filter((a) => a.status !== 200)).toEqual([]);
    const metrics = (await call(`${gateway.url}/metrics`, 'GET')).body as string;
    expect(metrics).toMatch(/modelgate_gateway_routing_table_stale 1/);
  });
});
