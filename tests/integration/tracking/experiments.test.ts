/** Experiments end to end on real processes: a registry and a gateway sharing one evidence store,
 * model-servers for the shipped digits v1 and v2, the experiment API with malformed input, and the
 * report's behaviour: explicit control, 3/3 vs 0/3 gives no verdict, a batch of 10 rows counts once
 * for requests and errors, an alias move keeps the experiment and its counts, the planted accuracy
 * gap of v1 vs v2 (planted from the shipped sample and its labels) is found "better" with a positive sign, and
 * removing the candidate from the policy ends the experiment. */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { seededRandom } from '../../../common/seeded-random';
import type { Service } from '../../helpers/processes';
import { ROOT, startService } from '../../helpers/processes';
import { createTestStore, type TestStore } from '../../helpers/test-store';
import { ADMIN_TOKEN, call, load, setPolicy, startGateway, startModelServer } from '../gateway/stack';

const SAMPLE = JSON.parse(
  readFileSync(path.join(ROOT, 'models', 'digits', 'sample.json'), 'utf8'),
) as number[][];
const LABELS = JSON.parse(
  readFileSync(path.join(ROOT, 'models', 'digits', 'sample-labels.json'), 'utf8'),
) as string[];
const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };

let store: TestStore;
let registry: Service;
let gateway: Service;
const servers: Service[] = [];

async function poll<T>(
  what: string,
  read: () => Promise<T>,
  ok: (v: T) => boolean,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  while (Date.now() < deadline) {
    last = await read();
    if (ok(last)) return last;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${what} never held; last: ${JSON.stringify(last).slice(0, 3000)}`);
}

const report = async () => (await call(`${gateway.url}/experiments/digits`, 'GET')).body;
const registryReport = async () =>
  (await call(`${registry.url}/models/digits/experiments/current/report`, 'GET')).body;

beforeAll(async () => {
  store = await createTestStore();
  const dataDir = mkdtempSync(path.join(tmpdir(), 'experiments-it-'));
  const DATABASE_URL = `sqlite:${path.join(dataDir, 'modelgate.db')}`;
  registry = await startService(['registry'], {
    env: {
      MODEL_STORE: store.dir,
      ADMIN_TOKEN,
      HEARTBEAT_INTERVAL_MS: '500',
      DATABASE_URL,
      EXPERIMENT_LOOK_MS: '500',
    },
  });
  servers.push(await startModelServer(store, registry.url, 'digits', '1'));
  servers.push(await startModelServer(store, registry.url, 'digits', '2'));
  gateway = await startGateway(registry.url, { DATABASE_URL, EXPERIMENT_LOOK_MS: '500' });
  await poll(
    'both digits versions routable',
    async () => (await call(`${registry.url}/routes`, 'GET')).body,
    (r: any) =>
      r.models?.digits?.versions?.['1']?.instances?.length > 0 &&
      r.models.digits.versions['2'].instances.length > 0,
  );
}, 180_000);

afterAll(async () => {
  await gateway?.stop();
  for (const s of servers) await s.stop();
  await registry?.stop();
  await store?.cleanup();
});

describe('the experiment API refuses malformed input with a 4xx a person can act on', () => {
  it.each([
    ['no admin token', {}, { candidates: ['2'] }, 401],
    ['an empty body', auth, {}, 400],
    ['a candidate the policy does not serve', auth, { candidates: ['9'] }, 400],
    ['the control as a candidate', auth, { control: '1', candidates: ['1'] }, 400],
    ['an unknown unit', auth, { candidates: ['2'], unit: 'session' }, 400],
    ['an unknown field', auth, { candidates: ['2'], colour: 'red' }, 400],
    ['a control that is no variant', auth, { control: '7', candidates: ['2'] }, 400],
  ])('POST with %s', async (_what, headers, body, status) => {
    const res = await call(`${registry.url}/models/digits/experiments`, 'POST', body, headers);
    expect(res.status).toBe(status);
    expect(res.body.error.code).toEqual(expect.any(String));
    expect(res.body.error.message).toEqual(expect.any(String));
  });

  it('answers unknown models, ids and malformed JSON with 4xx', async () => {
    expect(
      (await call(`${registry.url}/models/nope/experiments`, 'POST', { candidates: ['2'] }, auth)).status,
    ).toBe(404);
    expect(
      (await call(`${registry.url}/models/digits/experiments`, 'POST', '{"candidates":', auth)).status,
    ).toBe(400);
    expect((await call(`${registry.url}/models/digits/experiments/no-such-id`, 'GET')).status).toBe(404);
    expect((await call(`${registry.url}/models/digits/experiments/a%20b`, 'GET')).status).toBe(400);
    expect(
      (await call(`${registry.url}/models/digits/experiments/no-such-id/stop`, 'POST', {}, auth)).status,
    ).toBe(404);
    expect((await call(`${registry.url}/models/digits/experiments/current/report`, 'GET')).status).toBe(404);
    expect((await call(`${registry.url}/models/digits/experiments`, 'GET')).body).toEqual({
      experiments: [],
    });
  });
});

describe('an experiment', () => {
  let first: any;

  it('takes the explicit control, refuses a second running one, and reaches the routing table', async () => {
    await setPolicy(registry.url, 'digits', {
      variants: [
        { version: '1', weight: 50 },
        { version: '2', weight: 50 },
      ],
      aliases: { stable: '1', canary: '2' },
    });
    const res = await call(
      `${registry.url}/models/digits/experiments`,
      'POST',
      { control: '2', candidates: ['1'] },
      auth,
    );
    expect(res.status).toBe(201);
    first = res.body;
    expect(first).toMatchObject({
      control: '2',
      candidates: ['1'],
      unit: 'request',
      status: 'running',
      ended_at: null,
    });
    const again = await call(
      `${registry.url}/models/digits/experiments`,
      'POST',
      { candidates: ['2'] },
      auth,
    );
    expect(again.status).toBe(409);
    const routes = (await call(`${registry.url}/routes`, 'GET')).body;
    expect(routes.models.digits.experiment).toEqual({
      id: first.id,
      control: '2',
      candidates: ['1'],
      unit: 'request',
    });
    const r = await poll(
      'gateway serves the experiment report',
      report,
      (b: any) => b.experiment?.id === first.id,
    );
    expect(r.arms.map((a: any) => [a.version, a.role])).toEqual([
      ['2', 'control'],
      ['1', 'candidate'],
    ]);
  });

  it('gives no verdict on 3/3 vs 0/3 labelled rows', async () => {
    const byVersion: Record<string, number> = { '1': 0, '2': 0 };
    let i = 0;
    while (byVersion['1']! < 3 || byVersion['2']! < 3) {
      const res = await call(`${gateway.url}/predict`, 'POST', {
        model: 'digits',
        features: SAMPLE[i % SAMPLE.length],
      });
      i++;
      expect(res.status).toBe(200);
      const v = String(res.body.version);
      if (byVersion[v]! >= 3) continue;
      byVersion[v]!++;
      // the control (v2) is always wrong, the candidate (v1) always right
      const label = v === '1' ? res.body.prediction : res.body.prediction === '0' ? '1' : '0';
      expect(
        (await call(`${gateway.url}/feedback`, 'POST', { request_id: res.body.request_id, label })).status,
      ).toBe(201);
    }
    const r = await poll('six labels counted', report, (b: any) =>
      b.arms?.every((a: any) => a.labelled === 3),
    );
    const accuracy = r.comparisons.find((c: any) => c.metric === 'accuracy');
    expect(accuracy.verdict).toBe('insufficient_data');
    expect(accuracy.p_value).toBeNull();
    expect(r.recommendation.action).toBe('keep_collecting');
    const stopped = await call(
      `${registry.url}/models/digits/experiments/${first.id}/stop`,
      'POST',
      {},
      auth,
    );
    expect(stopped.status).toBe(200);
    expect(stopped.body.status).toBe('stopped');
  });

  it('counts a batch of 10 rows once, keeps its counts across an alias move, and finds v2 better than v1', async () => {
    // Plant the gap from the shipped sample: ask each version (before the experiment starts, so outside it)
    // which sample rows it gets right, then send rows both get right plus, three times over, the
    // rows only v2 gets right: v2 near 100%, v1 several points lower, with the sample's own labels.
    const rightOn = async (version: string) => {
      const res = await call(
        `${gateway.url}/predict/batch`,
        'POST',
        { model: 'digits', instances: SAMPLE },
        { 'x-model-version': version },
      );
      expect(res.status).toBe(200);
      return (res.body.predictions as any[]).map((p, i) => p.prediction === LABELS[i]);
    };
    const [v1, v2] = [await rightOn('1'), await rightOn('2')];
    const both = SAMPLE.map((_, i) => i).filter((i) => v1[i] && v2[i]);
    const onlyV2 = SAMPLE.map((_, i) => i).filter((i) => !v1[i] && v2[i]);
    expect(onlyV2.length).toBeGreaterThan(3);
    const started = await call(
      `${registry.url}/models/digits/experiments`,
      'POST',
      { control: '1', candidates: ['2'] },
      auth,
    );
    expect(started.status).toBe(201);
    const id = started.body.id;
    await poll('gateway on the second experiment', report, (b: any) => b.experiment?.id === id);
    const pool = [...both, ...onlyV2, ...onlyV2, ...onlyV2];
    const random = seededRandom(7);
    const draw = () => pool[Math.floor(random() * pool.length)]!;
    const batches = 200;
    await load(batches, 4, async () => {
      const rows = Array.from({ length: 10 }, draw);
      const res = await call(`${gateway.url}/predict/batch`, 'POST', {
        model: 'digits',
        instances: rows.map((r) => SAMPLE[r]),
      });
      expect(res.status).toBe(200);
      for (const [k, p] of (res.body.predictions as any[]).entries()) {
        const fb = await call(`${gateway.url}/feedback`, 'POST', {
          request_id: p.request_id,
          label: LABELS[rows[k]!],
        });
        expect(fb.status).toBe(201);
      }
    });
    const total = (r: any, key: string) => r.arms.reduce((s: number, a: any) => s + a[key], 0);
    const settled = await poll(
      'every request and label in closed looks',
      report,
      (r: any) =>
        total(r, 'labelled') === batches * 10 &&
        r.comparisons.find((c: any) => c.metric === 'error_rate').n.control +
          r.comparisons.find((c: any) => c.metric === 'error_rate').n.candidate ===
          batches &&
        r.comparisons.find((c: any) => c.metric === 'accuracy').n.control +
          r.comparisons.find((c: any) => c.metric === 'accuracy').n.candidate ===
          batches * 10,
    );
    expect(total(settled, 'requests')).toBe(batches);
    expect(total(settled, 'rows')).toBe(batches * 10);
    const accuracy = settled.comparisons.find((c: any) => c.metric === 'accuracy');
    expect(accuracy.verdict).toBe('better');
    expect(accuracy.estimate).toBeGreaterThan(0);
    expect(accuracy.ci[0]).toBeGreaterThan(0);
    expect(accuracy.text).toMatch(
      /^v2 vs v1: accuracy \+\d+\.\d points \[\+\d+\.\d+, \+\d+\.\d+\], better \(p [<=] /,
    );
    expect(settled.srm.ok).toBe(true);

    // moving an alias changes the policy but not the experiment
    const moved = await call(`${registry.url}/models/digits/aliases/canary`, 'PUT', { version: '1' }, auth);
    expect(moved.status).toBe(200);
    const after = await poll(
      'report after the alias move',
      registryReport,
      (r: any) => r.experiment?.id === id,
    );
    expect(after.experiment.status).toBe('running');
    expect(after.arms.map((a: any) => [a.version, a.requests, a.labelled])).toEqual(
      settled.arms.map((a: any) => [a.version, a.requests, a.labelled]),
    );
    // the same function answers on the registry and the gateway
    expect(after.comparisons.map((c: any) => [c.metric, c.verdict, c.estimate])).toEqual(
      settled.comparisons.map((c: any) => [c.metric, c.verdict, c.estimate]),
    );
  }, 300_000);

  it('ends when its candidate leaves the policy', async () => {
    await setPolicy(registry.url, 'digits', {
      variants: [{ version: '1', weight: 100 }],
      aliases: { stable: '1' },
    });
    const list = await poll(
      'experiment ended',
      async () => (await call(`${registry.url}/models/digits/experiments`, 'GET')).body,
      (b: any) => b.experiments.every((e: any) => e.status === 'stopped'),
    );
    expect(list.experiments[0].end_reason).toMatch(/candidate v2 was removed from the policy/);
    const routes = (await call(`${registry.url}/routes`, 'GET')).body;
    expect(routes.models.digits.experiment).toBeUndefined();
  });

  it('writes every start and stop to audit.jsonl, whoever made it, and times them for Grafana', async () => {
    const all = await call(`${registry.url}/models/digits/audit?limit=100`, 'GET');
    expect(all.status).toBe(200);
    const experimentLines = (all.body.entries as any[])
      .filter((e) => e.action.startsWith('experiment.'))
      .reverse(); // oldest first
    const experiments = (await call(`${registry.url}/models/digits/experiments`, 'GET')).body
      .experiments as any[];
    // Each experiment of this file started once and stopped once (by the API or by a policy write).
    expect(experimentLines).toHaveLength(2 * experiments.length);
    expect(experimentLines.map((e) => e.action)).toEqual(
      experiments.flatMap(() => ['experiment.start', 'experiment.stop']),
    );
    const [start, stop] = experimentLines;
    expect(start).toMatchObject({
      who: 'admin',
      before: null,
      after: { id: first.id, control: '2', candidates: ['1'], status: 'running' },
    });
    expect(stop).toMatchObject({
      who: 'admin',
      why: 'stopped by admin',
      before: { id: first.id, status: 'running' },
      after: { id: first.id, status: 'stopped' },
    });
    const last = experimentLines[experimentLines.length - 1];
    expect(last).toMatchObject({ who: 'registry', action: 'experiment.stop' });
    expect(last.why).toMatch(/candidate v2 was removed from the policy/);

    const metrics = await (await fetch(`${registry.url}/metrics`)).text();
    const at = (change: string) =>
      Number(
        new RegExp(
          `^modelgate_experiment_last_change_seconds\\{model="digits",change="${change}"\\} (\\S+)$`,
          'm',
        ).exec(metrics)?.[1],
      );
    expect(Math.round(at('stopped') * 1000)).toBe(Date.parse(last.at));
    expect(Math.round(at('started') * 1000)).toBe(Date.parse(experimentLines[experimentLines.length - 2].at));
  });
});
