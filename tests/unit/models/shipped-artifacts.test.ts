/** The committed model store: every version folder loads and verifies, its metadata matches the
 * shared schema, and the model still predicts its held-out sample about as well as training said. */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type * as TF from '@tensorflow/tfjs';
import { memoryIOHandler, readVersionFolder } from '../../../common/model-artifact';
import { loadTf } from '../../../common/tfjs';
import { inputWidth, metadataSchema, policyInputSchema } from '../../../common/wire';
import { argmax } from '../../../models/train/train-version';

const STORE = path.resolve(__dirname, '..', '..', '..', 'models');
const SHIPPED = { digits: ['1', '2'], penguins: ['1', '2'] } as const;

function readJson<T>(file: string): T {
  return JSON.parse(readFileSync(file, 'utf8')) as T;
}

describe.each(Object.keys(SHIPPED) as Array<keyof typeof SHIPPED>)('shipped model %s', (model) => {
  const modelDir = path.join(STORE, model);
  const sample = readJson<number[][]>(path.join(modelDir, 'sample.json'));
  const sampleLabels = readJson<string[]>(path.join(modelDir, 'sample-labels.json'));

  it('ships every version folder', () => {
    const versions = readdirSync(modelDir).filter((name) =>
      statSync(path.join(modelDir, name)).isDirectory(),
    );
    expect(versions.sort()).toEqual([...SHIPPED[model]]);
  });

  it('ships a starting policy.json that validates and names only shipped versions', () => {
    const policy = policyInputSchema.parse(readJson(path.join(modelDir, 'policy.json')));
    expect(policy.revision).toBe(1);
    const named = [...policy.variants.map((v) => v.version), ...Object.values(policy.aliases)];
    for (const version of named) expect(SHIPPED[model]).toContain(version);
  });

  it('ships sample rows of the input width with one label per row', async () => {
    const { metadata } = await readVersionFolder(path.join(modelDir, '1'));
    expect(sample.length).toBeGreaterThanOrEqual(80);
    expect(sampleLabels).toHaveLength(sample.length);
    const width = inputWidth(metadata);
    for (const row of sample) {
      expect(row).toHaveLength(width);
      expect(row.every(Number.isFinite)).toBe(true);
    }
    for (const label of sampleLabels) expect(metadata.outputs[0]!.labels).toContain(label);
  });

  describe.each([...SHIPPED[model]])('version %s', (version) => {
    const dir = path.join(modelDir, version);

    it('loads through readVersionFolder with verified sha256 and schema-valid metadata', async () => {
      const { metadata, artifacts } = await readVersionFolder(dir);
      expect(metadataSchema.safeParse(readJson(path.join(dir, 'metadata.json'))).success).toBe(true);
      expect(metadata).toMatchObject({
        model,
        version,
        format: 'layers-model',
        framework: 'tfjs-layers 4.22',
      });
      expect(Object.keys(metadata.artifacts).sort()).toEqual(['group1-shard1of1.bin', 'model.json']);
      expect(artifacts.weightSpecs?.length).toBeGreaterThan(0);
      expect(metadata.inputs[0]).toMatchObject({ name: 'input', datatype: 'FP32' });
      expect(metadata.inputs[0]!.features).toHaveLength(inputWidth(metadata));
      expect(metadata.outputs[0]).toMatchObject({ name: 'probabilities', datatype: 'FP32' });
      for (const key of ['accuracy', 'loss', 'heldout_rows', 'train_rows', 'train_seconds']) {
        expect(metadata.metrics[key]).toEqual(expect.any(Number));
      }
    });

    it('records a drift baseline: bins, a sorted reference per feature, class frequencies', async () => {
      const { metadata } = await readVersionFolder(dir);
      const { features, classes } = metadata.baseline;
      // Drift watches the raw named features (island as one category), not the one-hot columns.
      expect(features.map((f) => f.name)).toEqual(
        model === 'digits'
          ? ['mean_intensity', 'ink_fraction', 'center_of_mass_x', 'center_of_mass_y']
          : ['bill_length_mm', 'bill_depth_mm', 'flipper_length_mm', 'body_mass_g', 'island', 'sex'],
      );
      for (const feature of features) {
        if (feature.source.kind === 'category') {
          // One bin per category plus one for "no category": island 3+1, sex 2+1.
          expect(feature.deciles).toHaveLength(feature.categories!.length);
          expect(feature.proportions).toHaveLength(feature.categories!.length + 1);
          expect(feature.proportions.slice(1).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
          expect(feature.continuous).toBe(false);
          continue;
        }
        expect(feature.deciles).toHaveLength(9);
        expect(feature.proportions).toHaveLength(10);
        expect(feature.reference.length).toBeGreaterThan(0);
        expect(feature.reference.length).toBeLessThanOrEqual(200);
        expect([...feature.reference].sort((a, b) => a - b)).toEqual(feature.reference);
      }
      expect(Object.keys(classes)).toEqual(metadata.outputs[0]!.labels);
      expect(Object.values(classes).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
    });

    it('predicts the held-out sample about as accurately as training recorded', async () => {
      const { metadata, artifacts } = await readVersionFolder(dir);
      const { tf } = await loadTf('wasm');
      const net = await tf.loadLayersModel(memoryIOHandler(artifacts));
      const probabilities = tf.tidy(
        () => (net.predict(tf.tensor2d(sample)) as TF.Tensor).arraySync() as number[][],
      );
      net.dispose();
      const labels = metadata.outputs[0]!.labels;
      const correct = probabilities.filter((p, i) => labels[argmax(p)] === sampleLabels[i]).length;
      const accuracy = correct / sample.length;
      // The sample is a slice of the held-out set (rounded), so only sampling noise separates them.
      expect(Math.abs(accuracy - metadata.metrics.accuracy!)).toBeLessThan(0.04);
      expect(accuracy).toBeGreaterThan(0.85);
    }, 60_000);
  });
});
