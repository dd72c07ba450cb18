/** Start-up, overload and shutdown of real model-server processes: load shedding, the 10,000-request
 * tensor leak check, heartbeats to a fake registry, SIGTERM drain, corrupt artifacts, bad config. */
import { spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { heartbeatSchema } from '../../../common/wire';
import { runCli, startService } from '../../helpers/processes';
import { createTestStore, type TestStore } from '../../helpers/test-store';
import { metricValue, request, runPool } from './http';

jest.setTimeout(180_000);

let store: TestStore;
const serve = (env: Record<string, string> = {}) =>
  startService(['model-server', '--model', 'tiny', '--version', '1'], {
    env: { MODEL_STORE: store.dir, REGISTRY_URL: 'http://127.0.0.1:9', ...env },
  });

beforeAll(async () => {
  store = await createTestStore({ shipped: false });
  await store.addModel({ model: 'tiny', version: '1', width: 4, labels: ['a', 'b', 'c'], seed: 3 });
  await store.addModel({ model: 'tiny', version: 'bad-shard', width: 4, labels: ['a', 'b', 'c'] });
  await store.corrupt('tiny', 'bad-shard', 'group1-shard1of1.bin');
  await store.addModel({ model: 'tiny', version: 'bad-json', width: 4, labels: ['a', 'b', 'c'] });
  await store.corrupt('tiny', 'bad-json', 'model.json');
});

afterAll(async () => {
  await store?.cleanup();
});

const row = (i: number) => [Math.sin(i), Math.cos(i), (i % 5) / 5, 0.5];

describe('load shedding', () => {
  it('answers 503 with Retry-After once MAX_QUEUE_ROWS rows wait, and 413 for a request that can never fit', async () => {
    // A long batch delay keeps rows queued, so the queue bound is what decides. The batcher only waits
    // for company under load, so one full batch (8 rows) first puts it in that mode.
    const server = await serve({ MAX_BATCH_SIZE: '8', MAX_QUEUE_ROWS: '8', MAX_BATCH_DELAY_MS: '1500' });
    try {
      await server.waitForLine(/"event":"ready"/);
      const full = await request(`${server.url}/v1/models/tiny:predict`, {
        body: { instances: Array.from({ length: 8 }, (_, i) => row(i)) },
      });
      expect(full.status).toBe(200);
      const threeRows = { instances: [row(1), row(2), row(3)] };
      const results = await Promise.all(
        Array.from({ length: 6 }, () => request(`${server.url}/v1/models/tiny:predict`, { body: threeRows })),
      );
      const ok = results.filter((r) => r.status === 200);
      const shed = results.filter((r) => r.status === 503);
      expect(ok.length + shed.length).toBe(6);
      expect(ok.length).toBeGreaterThanOrEqual(2);
      expect(shed.length).toBeGreaterThanOrEqual(1);
      for (const r of ok) expect(r.body.predictions).toHaveLength(3);
      for (const r of shed) {
        expect(r.headers.get('retry-after')).toBe('1');
        expect(r.body).toEqual({ error: expect.stringMatching(/at capacity .* limit 8/) });
      }
      const tooBig = await request(`${server.url}/v1/models/tiny:predict`, {
        body: { instances: Array.from({ length: 9 }, (_, i) => row(i)) },
      });
      expect(tooBig.status).toBe(413);
      expect(tooBig.body.error).toMatch(/at most 8 rows per request \(MAX_QUEUE_ROWS\)/);
      const metrics = (await request(`${server.url}/metrics`)).body as string;
      expect(metricValue(metrics, 'modelgate_model_errors_total', { code: 'overloaded' })).toBe(shed.length);
    } finally {
      await server.stop();
    }
  });
});

describe('tensor leaks', () => {
  it('has the same number of live tensors after 10,000 requests over both protocols', async () => {
    const server = await serve();
    try {
      await server.waitForLine(/"event":"ready"/);
      const tensors = async () =>
        (await request(`${server.url}/v2/models/tiny`)).body.parameters.tensors as number;
      const before = await tensors();
      const statuses = await runPool(10_000, 32, async (i) => {
        if (i % 100 === 99) {
          // a bad request now and then: rejected before any tensor exists
          return (await request(`${server.url}/v1/models/tiny:predict`, { body: { instances: [[1, 2]] } }))
            .status;
        }
        const rows = [row(i), row(i + 1)].slice(0, 1 + (i % 2));
        const res =
          i % 2 === 0
            ? await request(`${server.url}/v1/models/tiny:predict`, { body: { instances: rows } })
            : await request(`${server.url}/v2/models/tiny/infer`, {
                body: {
                  inputs: [{ name: 'x', shape: [rows.length, 4], datatype: 'FP32', data: rows.flat() }],
                },
              });
        return res.status;
      });
      expect(statuses.filter((s) => s === 200)).toHaveLength(9_900);
      expect(statuses.filter((s) => s === 400)).toHaveLength(100);
      expect(await tensors()).toBe(before);
      const metrics = (await request(`${server.url}/metrics`)).body as string;
      expect(metricValue(metrics, 'modelgate_model_tensors', { model: 'tiny' })).toBe(before);
    } finally {
      await server.stop();
    }
  });
});

describe('heartbeats and SIGTERM', () => {
  let registry: Server;
  const beats: unknown[] = [];
  let onBeat: (() => void) | undefined;

  beforeAll(async () => {
    registry = createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        if (req.method === 'POST' && req.url === '/instances') beats.push(JSON.parse(body));
        res.writeHead(204).end();
        onBeat?.();
      });
    });
    await new Promise<void>((resolve) => registry.listen(0, '127.0.0.1', resolve));
  });
  afterAll(() => new Promise<void>((resolve) => registry.close(() => resolve())));

  const waitForBeat = (match: (b: { ready: boolean }) => boolean) =>
    new Promise<void>((resolve) => {
      const check = () => {
        if (beats.some((b) => match(b as { ready: boolean }))) {
          onBeat = undefined;
          resolve();
        }
      };
      onBeat = check;
      check();
    });

  it('heartbeats ready to the registry, then on SIGTERM reports not ready, answers in-flight requests and exits 0', async () => {
    const { port } = registry.address() as AddressInfo;
    const server = await serve({
      REGISTRY_URL: `http://127.0.0.1:${port}`,
      HEARTBEAT_INTERVAL_MS: '100',
      MAX_BATCH_SIZE: '8',
      MAX_BATCH_DELAY_MS: '400',
    });
    await waitForBeat((b) => b.ready);
    // One full batch puts the batcher under load, where a new first row waits the delay for company.
    const full = await request(`${server.url}/v1/models/tiny:predict`, {
      body: { instances: Array.from({ length: 8 }, (_, i) => row(i)) },
    });
    expect(full.status).toBe(200);
    for (const beat of beats) expect(heartbeatSchema.safeParse(beat).success).toBe(true);
    expect(beats.at(-1)).toEqual({
      model: 'tiny',
      version: '1',
      url: server.url,
      ready: true,
      backend: 'wasm',
    });

    // Five single-row requests sit in the batch queue (400 ms delay) when SIGTERM arrives.
    const inFlight = Array.from({ length: 5 }, (_, i) =>
      request(`${server.url}/v2/models/tiny/infer`, {
        body: { inputs: [{ name: 'x', shape: [4], datatype: 'FP32', data: row(i) }] },
      }),
    );
    await new Promise<void>((resolve, reject) => {
      const poll = async () => {
        const metrics = (await request(`${server.url}/metrics`)).body as string;
        if (metricValue(metrics, 'modelgate_model_queue_rows', { model: 'tiny' }) === 5) resolve();
        else setTimeout(() => poll().catch(reject), 10);
      };
      poll().catch(reject);
    });
    const beatsBefore = beats.length;
    const exitCode = server.stop('SIGTERM');
    const answers = await Promise.all(inFlight);
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200]);
    for (const a of answers) expect(a.body.outputs[0].shape).toEqual([1, 3]);
    expect(await exitCode).toBe(0);
    const after = beats.slice(beatsBefore) as { ready: boolean }[];
    expect(after.length).toBeGreaterThan(0);
    expect(after.at(-1)!.ready).toBe(false);
    expect(server.lines.some((l) => l.includes('"event":"stopped"'))).toBe(true);
  });

  it('keeps serving when the registry is unreachable and logs the outage once', async () => {
    const server = await serve({ REGISTRY_URL: 'http://127.0.0.1:9', HEARTBEAT_INTERVAL_MS: '50' });
    try {
      await server.waitForLine(/"event":"ready"/);
      await server.waitForLine(/heartbeat failed/);
      // Enough requests to span many heartbeat intervals.
      await runPool(300, 4, async (i) => {
        const res = await request(`${server.url}/v1/models/tiny:predict`, { body: { instances: [row(i)] } });
        expect(res.status).toBe(200);
      });
      expect((await request(`${server.url}/v2/health/ready`)).status).toBe(200);
      expect(server.lines.filter((l) => l.includes('heartbeat failed'))).toHaveLength(1);
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });
});

describe('backend selection', () => {
  it('serves on the backend TFJS_BACKEND names and reports it in metadata and metrics', async () => {
    const server = await serve({ TFJS_BACKEND: 'cpu' });
    try {
      await server.waitForLine(/"event":"ready"/);
      expect((await request(`${server.url}/v2/models/tiny`)).body.parameters.backend).toBe('cpu');
      const metrics = (await request(`${server.url}/metrics`)).body as string;
      expect(metricValue(metrics, 'modelgate_model_backend_info', { backend: 'cpu' })).toBe(1);
      const res = await request(`${server.url}/v1/models/tiny:predict`, { body: { instances: [row(1)] } });
      expect(res.status).toBe(200);
    } finally {
      await server.stop();
    }
  });

  it('passes promtool check metrics', async () => {
    const server = await serve();
    try {
      await server.waitForLine(/"event":"ready"/);
      await request(`${server.url}/v1/models/tiny:predict`, { body: { instances: [row(1)] } });
      const text = (await request(`${server.url}/metrics`)).body as string;
      const result = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
      if (result.error) throw new Error(`promtool is needed for this test: ${result.error.message}`);
      expect(`${result.stdout}${result.stderr}`.trim()).toBe('');
      expect(result.status).toBe(0);
    } finally {
      await server.stop();
    }
  });
});

describe('refusing to start', () => {
  const run = (version: string, env: Record<string, string> = {}) =>
    runCli(['model-server', '--model', 'tiny', '--version', version], {
      MODEL_STORE: store.dir,
      PORT: '0',
      REGISTRY_URL: 'http://127.0.0.1:9',
      ...env,
    });

  it.each([
    ['bad-shard', /bad-shard\/group1-shard1of1\.bin is corrupt: sha256 [0-9a-f]{64} does not match/],
    ['bad-json', /bad-json\/model\.json is corrupt/],
    ['missing', /missing\/metadata\.json is missing/],
  ])('exits 1 naming the file when version %s is broken', async (version, message) => {
    const result = await run(version);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(message);
    expect(result.stdout).not.toMatch(/"event":"listening"/);
  });

  it.each([
    [{ MAX_BATCH_SIZE: 'lots' }, /MAX_BATCH_SIZE: .*got "lots"/],
    [{ TFJS_BACKEND: 'gpu' }, /TFJS_BACKEND/],
    [{ MAX_BATCH_SIZE: '64', MAX_QUEUE_ROWS: '16' }, /MAX_QUEUE_ROWS: must be at least MAX_BATCH_SIZE/],
    [{ BODY_LIMIT: 'huge' }, /BODY_LIMIT/],
    [{ TFJS_BACKEND: 'tensorflow' }, /TFJS_BACKEND=tensorflow but @tensorflow\/tfjs-node is not installed/],
  ])('exits 1 naming the variable for %j', async (env, message) => {
    const result = await run('1', env);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(message);
  });

  it('exits 1 asking for --model when no model is named', async () => {
    const result = await runCli(['model-server'], {
      MODEL_STORE: store.dir,
      MODEL_NAME: '',
      MODEL_VERSION: '',
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/MODEL_NAME: required: pass --model M or set MODEL_NAME/);
  });

  it('refuses a model name that would escape the store', async () => {
    const result = await runCli(['model-server', '--model', '../etc', '--version', '1'], {
      MODEL_STORE: store.dir,
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/MODEL_NAME/);
  });
});
