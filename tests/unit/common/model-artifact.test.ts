import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  ArtifactError,
  artifactsToFiles,
  assembleArtifacts,
  memoryIOHandler,
  parseModelJson,
  readVersionFolder,
  sha256,
} from '../../../common/model-artifact';
import { loadTf } from '../../../common/tfjs';
import type { Metadata } from '../../../common/wire';

async function writeTinyModel(dir: string): Promise<void> {
  const { tf } = await loadTf('cpu');
  const model = tf.sequential({
    layers: [
      tf.layers.dense({
        inputShape: [3],
        units: 2,
        activation: 'softmax',
        kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }),
      }),
    ],
  });
  let files = new Map<string, Buffer>();
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      files = artifactsToFiles(artifacts);
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  model.dispose();
  const artifacts: Record<string, string> = {};
  for (const [name, data] of files) {
    await writeFile(path.join(dir, name), data);
    artifacts[name] = sha256(data);
  }
  const metadata: Metadata = {
    model: 'tiny',
    version: '1',
    created: '2026-01-01T00:00:00Z',
    description: 'test',
    framework: 'tfjs-layers 4.22',
    format: 'layers-model',
    inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 3], features: ['a', 'b', 'c'] }],
    outputs: [{ name: 'probabilities', datatype: 'FP32', shape: [-1, 2], labels: ['no', 'yes'] }],
    metrics: { accuracy: 0.5 },
    baseline: { features: [], classes: { no: 0.5, yes: 0.5 } },
    artifacts,
  };
  await writeFile(path.join(dir, 'metadata.json'), JSON.stringify(metadata));
}

describe('model artifacts on plain files', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'artifact-'));
    await writeTinyModel(dir);
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('round-trips a saved model through readVersionFolder and loads it in TF.js', async () => {
    const { tf } = await loadTf('cpu');
    const { metadata, artifacts } = await readVersionFolder(dir);
    expect(metadata.outputs[0]!.labels).toEqual(['no', 'yes']);
    const model = await tf.loadLayersModel(memoryIOHandler(artifacts));
    const out = model.predict(tf.tensor2d([[1, 2, 3]])) as import('@tensorflow/tfjs').Tensor;
    const probs = Array.from(out.dataSync());
    expect(probs).toHaveLength(2);
    expect(probs[0]! + probs[1]!).toBeCloseTo(1, 5);
    out.dispose();
    model.dispose();
  });

  it('refuses a shard whose bytes do not match the recorded sha256', async () => {
    await writeFile(path.join(dir, 'group1-shard1of1.bin'), Buffer.alloc(24, 1));
    await expect(readVersionFolder(dir)).rejects.toThrow(/corrupt: sha256/);
  });

  it('refuses a version folder without metadata.json', async () => {
    await rm(path.join(dir, 'metadata.json'));
    await expect(readVersionFolder(dir)).rejects.toThrow(/metadata.json is missing/);
  });

  it('refuses model.json that is not JSON or not a TF.js artifact', () => {
    expect(() => parseModelJson('{nope')).toThrow(ArtifactError);
    expect(() => parseModelJson('{"a":1}')).toThrow(/modelTopology/);
    expect(() =>
      parseModelJson(
        JSON.stringify({ modelTopology: {}, weightsManifest: [{ paths: ['../x.bin'], weights: [] }] }),
      ),
    ).toThrow(/plain file name/);
  });

  it('refuses shards whose total size disagrees with the weight manifest', () => {
    const json = parseModelJson(
      JSON.stringify({
        modelTopology: {},
        weightsManifest: [{ paths: ['w.bin'], weights: [{ name: 'k', shape: [2, 2], dtype: 'float32' }] }],
      }),
    );
    expect(() => assembleArtifacts(json, new Map([['w.bin', Buffer.alloc(12)]]))).toThrow(
      /12 bytes but model.json describes 16/,
    );
    expect(() => assembleArtifacts(json, new Map())).toThrow(/missing/);
    expect(assembleArtifacts(json, new Map([['w.bin', Buffer.alloc(16)]])).weightSpecs).toHaveLength(1);
  });
});
