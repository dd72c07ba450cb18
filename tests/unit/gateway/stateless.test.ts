import request from 'supertest';
import { createSilentLogger } from '../../../common/logger';
import { ShadowSender } from '../../../gateway/shadow';
import type { EvidenceStore } from '../../../tracking/evidence-store';
import type { PredictionRecord } from '../../../tracking/record';
import { type FakeUpstream, startFakeUpstream } from './fake-upstream';
import { createFixture, policy, routesFor } from './gateway-fixture';

jest.setTimeout(20_000);

describe('gateway statelessness and background work', () => {
  let v1: FakeUpstream;
  let v2: FakeUpstream;
  beforeAll(async () => {
    v1 = await startFakeUpstream();
    v2 = await startFakeUpstream();
  });
  afterAll(async () => {
    await v1.close();
    await v2.close();
  });

  const routes = () => {
    const r = routesFor(
      'm',
      policy({
        variants: [
          { version: '1', weight: 50 },
          { version: '2', weight: 50 },
        ],
        sticky: { header: 'x-user-id' },
      }),
      { '1': [v1.url], '2': [v2.url] },
    );
    return r;
  };

  it('routes each user the same way in two gateways given the same table', async () => {
    const a = createFixture(routes(), {}, { random: () => 0.1 });
    const b = createFixture(routes(), {}, { random: () => 0.9 });
    const seen = new Set<string>();
    for (let i = 0; i < 30; i++) {
      const send = (app: typeof a.gateway.handler) =>
        request(app)
          .post('/predict')
          .set('x-user-id', `u${i}`)
          .send({ features: [1, 2, 3, 4] });
      const [ra, rb] = [await send(a.gateway.handler), await send(b.gateway.handler)];
      expect(ra.headers['x-model-version']).toBe(rb.headers['x-model-version']);
      seen.add(String(ra.headers['x-model-version']));
    }
    expect(seen).toEqual(new Set(['1', '2']));
    await a.gateway.close();
    await b.gateway.close();
  });

  it('hands the evidence store one record per answered row, with the row index, and one per failure', async () => {
    const outcomes: PredictionRecord[] = [];
    const evidence: EvidenceStore = {
      dialect: 'sqlite',
      retentionDays: 30,
      record: (r) => outcomes.push(r),
      feedback: () => Promise.reject(new Error('unused')),
      evidence: () => Promise.reject(new Error('unused')),
      predictions: () => Promise.reject(new Error('unused')),
      experimentReport: () => Promise.reject(new Error('unused')),
      flush: () => Promise.resolve(),
      close: () => Promise.resolve(),
    };
    const f = createFixture(routes(), {}, { evidence });
    const res = await request(f.gateway.handler)
      .post('/predict/batch')
      .set('x-request-id', 'batch-1')
      .set('x-model-version', '2')
      .send({
        instances: [
          [1, 2, 3, 4],
          [1, 2, 3, 4],
        ],
      });
    expect(res.status).toBe(200);
    await new Promise((r) => setImmediate(r));
    expect(outcomes.map((o) => [o.requestId, o.row, o.version, o.reason, o.ok, o.predictedClass])).toEqual([
      ['batch-1', 0, '2', 'pin', true, 'a'],
      ['batch-1', 1, '2', 'pin', true, 'a'],
    ]);
    v1.mode = 'fail';
    const failed = await request(f.gateway.handler)
      .post('/predict')
      .set('x-model-version', '1')
      .send({ features: [1, 2, 3, 4] });
    v1.mode = 'ok';
    expect(failed.status).toBe(502);
    expect(outcomes.at(-1)).toMatchObject({ version: '1', row: 0, reason: 'pin', ok: false, status: 502 });
    await f.gateway.close();
  });

  it('drops shadow copies beyond the concurrency cap instead of queueing them', async () => {
    const counts: string[] = [];
    const shadow = new ShadowSender(2, createSilentLogger());
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const slow = async () => {
      await gate;
      return ['a'];
    };
    for (let i = 0; i < 5; i++)
      shadow.send(
        () => ['a'],
        slow,
        (o) => counts.push(o),
      );
    expect(counts).toEqual(['dropped', 'dropped', 'dropped']);
    expect(shadow.pending()).toBe(2);
    release();
    await new Promise((r) => setTimeout(r, 10));
    expect(counts.filter((c) => c === 'agree')).toHaveLength(2);
    expect(shadow.pending()).toBe(0);
  });
});
