/** A real model-server process serving a generated model over both protocols: every endpoint, every
 * bad input, metrics, and batching equivalence under concurrent requests. */
import { type Service, startService } from '../../helpers/processes';
import { createTestStore, type TestStore } from '../../helpers/test-store';
import { expectClose, metricValue, request, runPool } from './http';

jest.setTimeout(120_000);

const LABELS = ['a', 'b', 'c'];
let store: TestStore;
let server: Service;
let base: string;

beforeAll(async () => {
  store = await createTestStore({ shipped: false });
  await store.addModel({ model: 'tiny', version: '1', width: 4, rowShape: [2, 2], labels: LABELS, seed: 7 });
  server = await startService(['model-server', '--model', 'tiny', '--version', '1'], {
    env: {
      MODEL_STORE: store.dir,
      MAX_BATCH_SIZE: '8',
      MAX_BATCH_DELAY_MS: '15',
      BODY_LIMIT: '64kb',
      REGISTRY_URL: 'http://127.0.0.1:9',
      TFJS_BACKEND: 'auto',
    },
  });
  base = server.url;
  await server.waitForLine(/"event":"ready"/);
});

afterAll(async () => {
  await server?.stop();
  await store?.cleanup();
});

const ROWS = [
  [0.1, 0.2, 0.3, 0.4],
  [1, -1, 0.5, 2],
  [3, 0, 0, -2],
];
const infer = (body: unknown, path = '/v2/models/tiny/infer') => request(`${base}${path}`, { body });
const flatInput = (rows: number[][], extra: Record<string, unknown> = {}) => ({
  inputs: [{ name: 'features', shape: [rows.length, 4], datatype: 'FP32', data: rows.flat(), ...extra }],
});

describe('server and health endpoints', () => {
  it('answers GET /v2 with the server metadata', async () => {
    const res = await request(`${base}/v2`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ name: 'modelgate-model-server', version: expect.any(String), extensions: [] });
  });

  it('is live and, after warm-up, ready', async () => {
    expect((await request(`${base}/v2/health/live`)).status).toBe(200);
    const ready = await request(`${base}/v2/health/ready`);
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({ ready: true });
  });

  it('logs the warmed-up batch-size classes and the backend', async () => {
    const line = JSON.parse(await server.waitForLine(/"event":"ready"/));
    expect(line.batchSizes).toEqual([1, 2, 4, 8]);
    expect(['tensorflow', 'wasm', 'cpu']).toContain(line.backend);
  });
});

describe('OIP v2 model endpoints', () => {
  it.each(['/v2/models/tiny', '/v2/models/tiny/versions/1'])('GET %s describes the model', async (path) => {
    const res = await request(`${base}${path}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      name: 'tiny',
      versions: ['1'],
      platform: 'tensorflow_js',
      inputs: [{ name: 'features', datatype: 'FP32', shape: [-1, 2, 2] }],
      outputs: [
        { name: 'probabilities', datatype: 'FP32', shape: [-1, 3] },
        { name: 'label', datatype: 'BYTES', shape: [-1] },
      ],
      parameters: { backend: 'wasm', labels: LABELS, features: ['f0', 'f1', 'f2', 'f3'] },
    });
    expect(typeof res.body.parameters.tensors).toBe('number');
  });

  it.each(['/v2/models/tiny/ready', '/v2/models/tiny/versions/1/ready'])('GET %s is 200', async (path) => {
    const res = await request(`${base}${path}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ name: 'tiny', ready: true });
  });

  it.each([
    ['/v2/models/other', /model "other" is not served here/],
    ['/v2/models/tiny/versions/2', /version "2" of "tiny" is not served here/],
    ['/v2/models/other/ready', /not served/],
    ['/v1/models/other', /not served/],
    ['/v1/models/tiny/versions/2/metadata', /not served/],
  ])('GET %s is a 404 protocol error', async (path, message) => {
    const res = await request(`${base}${path}`);
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ error: expect.stringMatching(message) });
  });

  it('infers flat data, echoes the id and returns probabilities and labels', async () => {
    const res = await infer({ id: 'req-42', ...flatInput(ROWS) });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ model_name: 'tiny', model_version: '1', id: 'req-42' });
    const [probs, labels] = res.body.outputs;
    expect(probs).toMatchObject({ name: 'probabilities', datatype: 'FP32', shape: [3, 3] });
    expect(probs.data).toHaveLength(9);
    for (let i = 0; i < 3; i++) {
      const row = probs.data.slice(i * 3, i * 3 + 3) as number[];
      expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
      expect(labels.data[i]).toBe(LABELS[row.indexOf(Math.max(...row))]);
    }
    expect(labels).toMatchObject({ name: 'label', datatype: 'BYTES', shape: [3] });
  });

  it('gives the same answer for nested data, the model row shape, one-row [W] shape and the versioned path', async () => {
    const flat = (await infer(flatInput(ROWS))).body.outputs[0].data;
    const nested = await infer({ inputs: [{ name: 'x', shape: [3, 4], datatype: 'FP32', data: ROWS }] });
    expect(nested.body.outputs[0].data).toEqual(flat);
    const asImage = ROWS.map((r) => [r.slice(0, 2), r.slice(2)]);
    const image = await infer(
      { inputs: [{ name: 'features', shape: [3, 2, 2], datatype: 'FP64', data: asImage }] },
      '/v2/models/tiny/versions/1/infer',
    );
    expect(image.status).toBe(200);
    expect(image.body.outputs[0].data).toEqual(flat);
    const one = await infer({ inputs: [{ name: 'features', shape: [4], datatype: 'FP32', data: ROWS[1] }] });
    expect(one.body.outputs[0].shape).toEqual([1, 3]);
    expect(one.body.outputs[0].data).toEqual(flat.slice(3, 6));
  });

  it('returns only the outputs asked for', async () => {
    const res = await infer({ ...flatInput(ROWS), outputs: [{ name: 'label' }] });
    expect(res.status).toBe(200);
    expect(res.body.outputs.map((o: { name: string }) => o.name)).toEqual(['label']);
  });

  it('accepts integer datatypes holding integers', async () => {
    const res = await infer(flatInput([[1, 2, 3, 4]], { datatype: 'INT64' }));
    expect(res.status).toBe(200);
  });
});

describe('TensorFlow Serving REST', () => {
  const v2Probs = async (rows: number[][]) => {
    const data = (await infer(flatInput(rows))).body.outputs[0].data as number[];
    return rows.map((_, i) => data.slice(i * 3, i * 3 + 3));
  };

  it.each(['/v1/models/tiny:predict', '/v1/models/tiny/versions/1:predict'])(
    'POST %s with instances answers predictions equal to OIP v2',
    async (path) => {
      const res = await request(`${base}${path}`, {
        body: { signature_name: 'serving_default', instances: ROWS },
      });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ predictions: await v2Probs(ROWS) });
    },
  );

  it('accepts instances nested in the row shape and named instances', async () => {
    const expected = await v2Probs(ROWS);
    const nested = await request(`${base}/v1/models/tiny:predict`, {
      body: { instances: ROWS.map((r) => [r.slice(0, 2), r.slice(2)]) },
    });
    expect(nested.body).toEqual({ predictions: expected });
    const named = await request(`${base}/v1/models/tiny:predict`, {
      body: { instances: ROWS.map((r) => ({ features: r })) },
    });
    expect(named.body).toEqual({ predictions: expected });
  });

  it('answers columnar inputs with outputs', async () => {
    const expected = await v2Probs(ROWS);
    const list = await request(`${base}/v1/models/tiny:predict`, { body: { inputs: ROWS } });
    expect(list.status).toBe(200);
    expect(list.body).toEqual({ outputs: expected });
    const named = await request(`${base}/v1/models/tiny:predict`, { body: { inputs: { features: ROWS } } });
    expect(named.body).toEqual({ outputs: expected });
  });

  it.each(['/v1/models/tiny', '/v1/models/tiny/versions/1'])('GET %s reports AVAILABLE', async (path) => {
    const res = await request(`${base}${path}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      model_version_status: [
        { version: '1', state: 'AVAILABLE', status: { error_code: 'OK', error_message: '' } },
      ],
    });
  });

  it.each(['/v1/models/tiny/metadata', '/v1/models/tiny/versions/1/metadata'])(
    'GET %s describes the serving_default signature',
    async (path) => {
      const res = await request(`${base}${path}`);
      expect(res.status).toBe(200);
      expect(res.body.model_spec).toEqual({ name: 'tiny', signature_name: '', version: '1' });
      const sig = res.body.metadata.signature_def.signature_def.serving_default;
      expect(sig.method_name).toBe('tensorflow/serving/predict');
      expect(sig.inputs.features.tensor_shape.dim.map((d: { size: string }) => d.size)).toEqual([
        '-1',
        '2',
        '2',
      ]);
      expect(sig.outputs.probabilities.dtype).toBe('DT_FLOAT');
    },
  );

  it('refuses verbs other than :predict with a 404', async () => {
    const res = await request(`${base}/v1/models/tiny:classify`, { body: { examples: [] } });
    expect(res.status).toBe(404);
    expect(res.body.error).toMatch(/":classify" is not supported/);
  });
});

describe('bad input never gets a 5xx', () => {
  const v2 = '/v2/models/tiny/infer';
  const v1 = '/v1/models/tiny:predict';
  const input = (fields: Record<string, unknown>) => ({
    inputs: [{ name: 'features', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4], ...fields }],
  });
  const cases: [
    string,
    string,
    { body?: unknown; raw?: string; headers?: Record<string, string> },
    number,
    RegExp,
  ][] = [
    [
      'v2 wrong shape',
      v2,
      { body: input({ shape: [1, 5], data: [1, 2, 3, 4, 5] }) },
      400,
      /each row needs 4 values/,
    ],
    [
      'v2 wrong length',
      v2,
      { body: input({ data: [1, 2, 3] }) },
      400,
      /has 3 values but shape \[1, 4\] needs 4/,
    ],
    [
      'v2 ragged nested data',
      v2,
      {
        body: input({
          shape: [2, 4],
          data: [
            [1, 2, 3, 4],
            [1, 2],
          ],
        }),
      },
      400,
      /data\[1\] has 2 values; the shape says 4/,
    ],
    [
      'v2 BYTES datatype',
      v2,
      { body: input({ datatype: 'BYTES', data: ['a', 'b', 'c', 'd'] }) },
      400,
      /datatype "BYTES" is not supported/,
    ],
    [
      'v2 string value',
      v2,
      { body: input({ data: [1, 'two', 3, 4] }) },
      400,
      /inputs\[0\]\.data\[1\] is "two"; expected a number/,
    ],
    ['v2 null value', v2, { body: input({ data: [1, 2, null, 4] }) }, 400, /data\[2\] is null/],
    [
      'v2 huge number (Infinity)',
      v2,
      { raw: '{"inputs":[{"name":"x","shape":[1,4],"datatype":"FP32","data":[1,2,3,1e309]}]}' },
      400,
      /data\[3\] is Infinity/,
    ],
    [
      'v2 float for INT32',
      v2,
      { body: input({ datatype: 'INT32', data: [1, 2.5, 3, 4] }) },
      400,
      /needs an integer/,
    ],
    ['v2 zero rows', v2, { body: input({ shape: [0, 4], data: [] }) }, 400, /0 rows/],
    ['v2 missing inputs', v2, { body: { id: 'x' } }, 400, /inputs/],
    [
      'v2 two inputs',
      v2,
      { body: { inputs: [input({}).inputs[0], input({}).inputs[0]] } },
      400,
      /takes one input/,
    ],
    ['v2 id not a string', v2, { body: { id: 7, ...input({}) } }, 400, /id/],
    [
      'v2 unknown output',
      v2,
      { body: { ...input({}), outputs: [{ name: 'logits' }] } },
      400,
      /outputs\[0\]\.name "logits" is unknown/,
    ],
    ['v2 not JSON', v2, { raw: '{"inputs": [' }, 400, /not valid JSON/],
    ['v2 body is a number', v2, { raw: '42' }, 400, /invalid inference request/],
    [
      'v2 wrong content type',
      v2,
      { raw: 'inputs=1', headers: { 'content-type': 'text/plain' } },
      415,
      /Content-Type must be application\/json/,
    ],
    [
      'v2 oversized body',
      v2,
      { raw: JSON.stringify(input({ data: new Array(40_000).fill(1), shape: [10_000, 4] })) },
      413,
      /larger than/,
    ],
    ['v1 no instances or inputs', v1, { body: { signature_name: 'x' } }, 400, /needs "instances"/],
    ['v1 both instances and inputs', v1, { body: { instances: ROWS, inputs: ROWS } }, 400, /not both/],
    ['v1 empty instances', v1, { body: { instances: [] } }, 400, /empty/],
    [
      'v1 short row',
      v1,
      {
        body: {
          instances: [
            [1, 2, 3, 4],
            [1, 2, 3],
          ],
        },
      },
      400,
      /instances\[1\] has 3 values; each row needs 4/,
    ],
    [
      'v1 NaN as string',
      v1,
      { body: { instances: [[1, 'NaN', 3, 4]] } },
      400,
      /instances\[0\]\[1\] is "NaN"/,
    ],
    ['v1 huge number', v1, { raw: '{"instances":[[1e400,1,1,1]]}' }, 400, /instances\[0\]\[0\] is Infinity/],
    ['v1 row is a string', v1, { body: { instances: ['abcd'] } }, 400, /instances\[0\] is "abcd"/],
    [
      'v1 two named inputs',
      v1,
      { body: { instances: [{ a: [1, 2, 3, 4], b: [1] }] } },
      400,
      /names 2 inputs/,
    ],
    ['v1 inputs not a list', v1, { body: { inputs: 5 } }, 400, /must be a list of rows/],
    ['v1 not JSON', v1, { raw: 'instances' }, 400, /not valid JSON/],
    [
      'v1 wrong content type',
      v1,
      { raw: '{}', headers: { 'content-type': 'application/x-www-form-urlencoded' } },
      415,
      /Content-Type/,
    ],
    ['v1 empty body', v1, { raw: '' }, 400, /empty/],
    [
      'v1 oversized body',
      v1,
      { raw: JSON.stringify({ instances: new Array(10_000).fill([1, 2, 3, 4]) }) },
      413,
      /larger than/,
    ],
    [
      'v1 unknown model',
      '/v1/models/nope:predict',
      { body: { instances: ROWS } },
      404,
      /"nope" is not served/,
    ],
    ['v2 unknown version', '/v2/models/tiny/versions/3/infer', { body: input({}) }, 404, /version "3"/],
  ];

  it.each(cases)('%s → %s', async (_name, path, init, status, message) => {
    const res = await request(`${base}${path}`, init);
    expect(res.status).toBe(status);
    expect(res.body).toEqual({ error: expect.stringMatching(message) });
    expect(res.headers.get('content-type')).toMatch(/application\/json/);
  });

  it('answers an unknown route with a JSON 404', async () => {
    const res = await request(`${base}/nowhere`);
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ error: 'no route for GET /nowhere' });
  });

  it('is still serving and counted the errors by code', async () => {
    expect((await infer(flatInput(ROWS))).status).toBe(200);
    const metrics = (await request(`${base}/metrics`)).body as string;
    const labels = { model: 'tiny', version: '1' };
    expect(
      metricValue(metrics, 'modelgate_model_errors_total', { ...labels, code: 'invalid_input' }),
    ).toBeGreaterThan(10);
    expect(
      metricValue(metrics, 'modelgate_model_errors_total', { ...labels, code: 'payload_too_large' }),
    ).toBe(2);
    expect(
      metricValue(metrics, 'modelgate_model_errors_total', { ...labels, code: 'unsupported_media_type' }),
    ).toBe(2);
  });
});

describe('dynamic batching', () => {
  it('answers concurrent requests with the same results as each row predicted alone, in fewer batches', async () => {
    const rows = Array.from({ length: 48 }, (_, i) => [Math.sin(i), Math.cos(i), (i % 7) / 7, i / 48 - 0.5]);
    const alone: number[][] = [];
    for (const row of rows) alone.push((await infer(flatInput([row]))).body.outputs[0].data);
    // Open the concurrent keep-alive connections first, as a gateway's pool holds them: requests on
    // open sockets arrive together and batch; 48 fresh connects trickle in one accept at a time.
    await Promise.all(rows.map((row) => infer(flatInput([row]))));
    const before = (await request(`${base}/metrics`)).body as string;
    const together = await Promise.all(
      rows.map((row, i) =>
        i % 2 === 0
          ? infer(flatInput([row])).then((r) => r.body.outputs[0].data as number[])
          : request(`${base}/v1/models/tiny:predict`, { body: { instances: [row] } }).then(
              (r) => r.body.predictions[0] as number[],
            ),
      ),
    );
    for (let i = 0; i < rows.length; i++) {
      expectClose(together[i]!, alone[i]!);
    }
    const after = (await request(`${base}/metrics`)).body as string;
    const labels = { model: 'tiny', version: '1' };
    const batches =
      metricValue(after, 'modelgate_model_batch_size_rows_count', labels)! -
      metricValue(before, 'modelgate_model_batch_size_rows_count', labels)!;
    const batchedRows =
      metricValue(after, 'modelgate_model_batch_size_rows_sum', labels)! -
      metricValue(before, 'modelgate_model_batch_size_rows_sum', labels)!;
    expect(batchedRows).toBe(48);
    // Adaptive batching sizes batches by how the 48 requests happen to arrive, so the test asks for
    // what holds however the scheduler spreads them: on average at least two rows a batch.
    expect(batches).toBeLessThanOrEqual(24);
  });

  it('runs a request bigger than MAX_BATCH_SIZE as one batch, rows in order', async () => {
    const rows = Array.from({ length: 20 }, (_, i) => [i / 20, 1 - i / 20, i % 3, -i / 10]);
    const big = (await request(`${base}/v1/models/tiny:predict`, { body: { instances: rows } })).body
      .predictions;
    const parts = await runPool(
      rows.length,
      4,
      async (i) =>
        (await request(`${base}/v1/models/tiny:predict`, { body: { instances: [rows[i]] } })).body
          .predictions[0],
    );
    expect(big).toHaveLength(rows.length);
    for (let i = 0; i < rows.length; i++) expectClose(big[i], parts[i]);
  });
});

describe('metrics', () => {
  it('exports the model-server metrics with the backend label and default process metrics', async () => {
    const res = await request(`${base}/metrics`);
    expect(res.status).toBe(200);
    const text = res.body as string;
    const labels = { model: 'tiny', version: '1' };
    expect(metricValue(text, 'modelgate_model_backend_info', { ...labels, backend: 'wasm' })).toBe(1);
    expect(metricValue(text, 'modelgate_model_ready', labels)).toBe(1);
    expect(
      metricValue(text, 'modelgate_model_requests_total', { ...labels, protocol: 'v2', status: '200' }),
    ).toBeGreaterThan(0);
    expect(
      metricValue(text, 'modelgate_model_requests_total', { ...labels, protocol: 'v1', status: '400' }),
    ).toBeGreaterThan(0);
    expect(metricValue(text, 'modelgate_model_rows_total', labels)).toBeGreaterThan(48);
    expect(metricValue(text, 'modelgate_model_queue_rows', labels)).toBe(0);
    expect(metricValue(text, 'modelgate_model_tensors', labels)).toBeGreaterThan(0);
    for (const name of [
      'modelgate_model_inference_duration_seconds_bucket',
      'modelgate_model_queue_wait_seconds_bucket',
      'modelgate_process_resident_memory_bytes',
    ]) {
      expect(text).toContain(name);
    }
  });
});
