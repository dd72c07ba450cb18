import { Registry } from 'prom-client';
import request from 'supertest';
import { createSilentLogger } from '../../../common/logger';
import type { Metadata } from '../../../common/wire';
import { createApp } from '../../../model-server/app';
import { createModelServerMetrics } from '../../../model-server/metrics';
import type { ServedModel } from '../../../model-server/model-loader';

/** Two inputs, two classes: probabilities [x0, 1 - x0]. */
function fakeModel(): ServedModel & { batches: number[] } {
  const batches: number[] = [];
  return {
    name: 'm',
    version: '1',
    backend: 'cpu',
    inputWidth: 2,
    rowShape: [2],
    labels: ['yes', 'no'],
    metadata: {
      model: 'm',
      version: '1',
      format: 'layers-model',
      description: 'fake',
      inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 2], features: ['p', 'q'] }],
      outputs: [{ name: 'probabilities', datatype: 'FP32', shape: [-1, 2], labels: ['yes', 'no'] }],
    } as unknown as Metadata,
    batches,
    predict(rows, n) {
      batches.push(n);
      const probabilities = new Float32Array(n * 2);
      const classIndex = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        probabilities[i * 2] = rows[i * 2]!;
        probabilities[i * 2 + 1] = 1 - rows[i * 2]!;
        classIndex[i] = rows[i * 2]! >= 0.5 ? 0 : 1;
      }
      return { probabilities, classIndex };
    },
    numTensors: () => 3,
    dispose() {},
  };
}

function build(observed: { rows: number[][]; predicted: number[] }[] = []) {
  const registry = new Registry();
  const model = fakeModel();
  const metrics = createModelServerMetrics(registry, {
    model: 'm',
    version: '1',
    backend: 'cpu',
    numTensors: model.numTensors,
    processMetrics: false,
  });
  const server = createApp({
    config: { MAX_BATCH_SIZE: 4, MAX_BATCH_DELAY_MS: 0, MAX_QUEUE_ROWS: 16, BODY_LIMIT: '1mb' },
    logger: createSilentLogger(),
    registry,
    metrics,
    model,
    drift: {
      observeBatch: (rows, n, predicted) => {
        const width = rows.length / n;
        observed.push({
          rows: Array.from({ length: n }, (_, i) => Array.from(rows.subarray(i * width, (i + 1) * width))),
          predicted: Array.from(predicted),
        });
      },
    },
    now: () => performance.now(),
    serverVersion: '9.9.9',
  });
  return { server, model, registry };
}

const body = {
  instances: [
    [0.9, 0],
    [0.1, 0],
  ],
};

describe('model-server app', () => {
  it('is live but not ready, and refuses inference with 503 + Retry-After, until warmed up', async () => {
    const { server, model } = build();
    expect((await request(server.app).get('/v2/health/live')).status).toBe(200);
    expect((await request(server.app).get('/v2/health/ready')).status).toBe(503);
    expect((await request(server.app).get('/v2/models/m/ready')).body).toEqual({ name: 'm', ready: false });
    expect((await request(server.app).get('/v1/models/m')).body.model_version_status[0].state).toBe(
      'LOADING',
    );
    const refused = await request(server.app).post('/v1/models/m:predict').send(body);
    expect(refused.status).toBe(503);
    expect(refused.headers['retry-after']).toBe('1');
    expect(refused.body).toEqual({ error: 'model is still warming up; retry shortly' });

    expect(server.warmUp()).toEqual([1, 2, 4]);
    expect(model.batches).toEqual([1, 2, 4]);
    expect((await request(server.app).get('/v2/health/ready')).status).toBe(200);
    const ok = await request(server.app).post('/v1/models/m:predict').send(body);
    expect(ok.status).toBe(200);
    expect(ok.body.predictions[0][0]).toBeCloseTo(0.9, 6);
  });

  it('hands every batch to the drift monitor, off the response path', async () => {
    const observed: { rows: number[][]; predicted: number[] }[] = [];
    const { server } = build(observed);
    server.warmUp();
    observed.length = 0;
    await request(server.app).post('/v1/models/m:predict').send(body);
    await new Promise((resolve) => setImmediate(resolve));
    expect(observed).toHaveLength(1);
    expect(observed[0]!.rows.map((r) => r.map((v) => Math.round(v * 10) / 10))).toEqual([
      [0.9, 0],
      [0.1, 0],
    ]);
    expect(observed[0]!.predicted).toEqual([0, 1]);
  });

  it('after stopBeingReady reports not ready but still answers, closing each connection', async () => {
    const { server, registry } = build();
    server.warmUp();
    server.stopBeingReady();
    expect((await request(server.app).get('/v2/health/ready')).status).toBe(503);
    const res = await request(server.app)
      .post('/v2/models/m/infer')
      .send({
        inputs: [{ name: 'x', shape: [2], datatype: 'FP32', data: [0.5, 0.5] }],
      });
    expect(res.status).toBe(200);
    expect(res.headers.connection).toBe('close');
    expect(await registry.getSingleMetricAsString('modelgate_model_ready')).toMatch(
      /modelgate_model_ready\{[^}]*\} 0/,
    );
  });

  it('serves GET /v2 with the server version and counts requests by protocol and status', async () => {
    const { server, registry } = build();
    server.warmUp();
    expect((await request(server.app).get('/v2')).body).toEqual({
      name: 'modelgate-model-server',
      version: '9.9.9',
      extensions: [],
    });
    await request(server.app)
      .post('/v1/models/m:predict')
      .send({ instances: [[1]] });
    const text = await registry.getSingleMetricAsString('modelgate_model_requests_total');
    expect(text).toMatch(/protocol="v1",status="400"\} 1/);
    expect(text).toMatch(/protocol="v2",status="200"\} 1/);
  });

  it('gives inference (node:http) and the Express routes the same request id, security headers and error counts', async () => {
    const { server, registry } = build();
    server.warmUp();
    const infer = await request(server.app)
      .post('/v2/models/m/versions/1/infer')
      .set('X-Request-Id', 'caller-id-1')
      .send({ inputs: [{ name: 'x', shape: [1, 2], datatype: 'FP32', data: [0.9, 0] }] });
    const metadata = await request(server.app).get('/v2/models/m');
    expect(infer.status).toBe(200);
    expect(infer.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(infer.body.outputs[1]).toEqual({ name: 'label', datatype: 'BYTES', shape: [1], data: ['yes'] });
    expect(infer.headers['x-request-id']).toBe('caller-id-1');
    expect(metadata.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    for (const header of ['content-security-policy', 'x-content-type-options', 'strict-transport-security']) {
      expect(infer.headers[header]).toBeDefined();
      expect(infer.headers[header]).toBe(metadata.headers[header]);
    }

    // Errors on the inference routes: the protocol's shape, the path's names checked before the body.
    const otherModel = await request(server.app).post('/v2/models/other/infer').send('not json');
    expect(otherModel.status).toBe(404);
    expect(otherModel.body).toEqual({ error: expect.stringContaining('model "other" is not served here') });
    const otherVersion = await request(server.app).post('/v1/models/m/versions/7:predict').send(body);
    expect(otherVersion.status).toBe(404);
    expect(otherVersion.body.error).toContain('version "7" of "m" is not served here');
    const verb = await request(server.app).post('/v1/models/m:classify').send(body);
    expect(verb.status).toBe(404);
    expect(verb.body.error).toBe('":classify" is not supported; this server answers ":predict" only');
    const badJson = await request(server.app)
      .post('/v2/models/m/infer')
      .set('Content-Type', 'application/json')
      .send('{"inputs": [');
    expect(badJson.status).toBe(400);
    expect(badJson.body.error).toMatch(/not valid JSON/);
    const encoded = await request(server.app)
      .post('/v2/models/%6D/infer')
      .send({
        inputs: [{ name: 'x', shape: [1, 2], datatype: 'FP32', data: [0.1, 0] }],
      });
    expect(encoded.status).toBe(200);
    const notFound = await request(server.app).get('/v2/models/m/infer');
    expect(notFound.status).toBe(404);

    const errors = await registry.getSingleMetricAsString('modelgate_model_errors_total');
    expect(errors).toMatch(/code="model_not_found"\} 1/);
    expect(errors).toMatch(/code="version_not_found"\} 1/);
    expect(errors).toMatch(/code="not_found"\} 2/);
    expect(errors).toMatch(/code="invalid_json"\} 1/);
    const requests = await registry.getSingleMetricAsString('modelgate_model_requests_total');
    expect(requests).toMatch(/protocol="v2",status="200"\} 3/);
    expect(requests).toMatch(/protocol="v2",status="404"\} 2/);
    expect(requests).toMatch(/protocol="v1",status="404"\} 2/);
  });
});
