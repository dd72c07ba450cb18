/** Every shipped model version (models/<m>/<v>, e.g. digits and penguins) served by a real process
 * over both protocols: held-out sample accuracy close to the training report, the two protocols
 * agreeing, and concurrent batched answers equal to rows predicted alone. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { type Service, startService } from '../../helpers/processes';
import { createTestStore, SHIPPED_STORE, shippedModels, type TestStore } from '../../helpers/test-store';
import { expectClose, metricValue, request } from './http';

jest.setTimeout(180_000);

const versions = shippedModels();
let store: TestStore;

beforeAll(async () => {
  store = await createTestStore();
});
afterAll(async () => {
  await store?.cleanup();
});

it('ships both models, digits and penguins', () => {
  const models = new Set(versions.map((mv) => mv.split('/')[0]));
  expect(models).toEqual(new Set(['digits', 'penguins']));
});

describe.each(versions.map((mv) => mv.split('/') as [string, string]))(
  'shipped %s version %s',
  (model, version) => {
    let server: Service;
    const sample = JSON.parse(
      readFileSync(path.join(SHIPPED_STORE, model, 'sample.json'), 'utf8'),
    ) as number[][];
    const sampleLabels = JSON.parse(
      readFileSync(path.join(SHIPPED_STORE, model, 'sample-labels.json'), 'utf8'),
    ) as string[];
    const metadata = JSON.parse(
      readFileSync(path.join(SHIPPED_STORE, model, version, 'metadata.json'), 'utf8'),
    );

    beforeAll(async () => {
      server = await startService(['model-server', '--model', model, '--version', version], {
        env: { MODEL_STORE: store.dir, REGISTRY_URL: 'http://127.0.0.1:9' },
      });
      await server.waitForLine(/"event":"ready"/);
    });
    afterAll(async () => {
      expect(await server?.stop()).toBe(0);
    });

    it('describes itself over both protocols', async () => {
      const v2 = await request(`${server.url}/v2/models/${model}/versions/${version}`);
      expect(v2.status).toBe(200);
      expect(v2.body).toMatchObject({ name: model, versions: [version], platform: 'tensorflow_js' });
      expect(v2.body.parameters.labels).toEqual(metadata.outputs[0].labels);
      const v1 = await request(`${server.url}/v1/models/${model}`);
      expect(v1.body.model_version_status[0]).toMatchObject({ version, state: 'AVAILABLE' });
    });

    it('classifies the held-out sample about as well as training reported, the same over v1 and v2', async () => {
      const width = sample[0]!.length;
      const v2 = await request(`${server.url}/v2/models/${model}/infer`, {
        body: {
          id: 'sample',
          inputs: [{ name: 'input', shape: [sample.length, width], datatype: 'FP32', data: sample.flat() }],
        },
      });
      expect(v2.status).toBe(200);
      const labels = v2.body.outputs.find((o: { name: string }) => o.name === 'label').data as string[];
      const correct = labels.filter((l, i) => l === sampleLabels[i]).length;
      expect(correct / sample.length).toBeGreaterThanOrEqual(metadata.metrics.accuracy - 0.1);

      const v1 = await request(`${server.url}/v1/models/${model}/versions/${version}:predict`, {
        body: { instances: sample },
      });
      expect(v1.status).toBe(200);
      const k = metadata.outputs[0].labels.length;
      const v2probs = v2.body.outputs.find((o: { name: string }) => o.name === 'probabilities')
        .data as number[];
      v1.body.predictions.forEach((p: number[], i: number) => {
        expectClose(p, v2probs.slice(i * k, (i + 1) * k), 5);
      });
    });

    it('feeds every predicted row to the drift monitor, exported on /metrics', async () => {
      const text = (await request(`${server.url}/metrics`)).body as string;
      expect(metricValue(text, 'modelgate_drift_window_rows', { model, version })).toBeGreaterThanOrEqual(
        sample.length,
      );
    });

    it('answers concurrent single-row requests the same as the same rows predicted alone', async () => {
      const rows = sample.slice(0, 40);
      const alone: number[][] = [];
      for (const row of rows) {
        alone.push(
          (await request(`${server.url}/v1/models/${model}:predict`, { body: { instances: [row] } })).body
            .predictions[0],
        );
      }
      const together = await Promise.all(
        rows.map(
          async (row) =>
            (await request(`${server.url}/v1/models/${model}:predict`, { body: { instances: [row] } })).body
              .predictions[0],
        ),
      );
      together.forEach((p, i) => {
        expectClose(p, alone[i]!, 5);
      });
    });
  },
);
