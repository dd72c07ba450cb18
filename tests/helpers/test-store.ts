/** Temporary model stores for tests.
 *
 *   const store = await createTestStore();            // temp dir with copies of the shipped models
 *   const store = await createTestStore({ shipped: false }); // empty temp dir
 *   await store.addModel({ model: 'tiny', version: '1', width: 4, labels: ['a', 'b', 'c'] });
 *   await store.corrupt('tiny', '1', 'model.json');   // flips a byte; sha256 check now fails
 *   store.dir                                         // pass as MODEL_STORE
 *   await store.cleanup();
 *
 * `shippedModels()` lists the `model/version` folders committed under models/ (digits, penguins);
 * `writeGeneratedModel(dir, spec)` writes a generated version into any store directory.
 * Generated models are small seeded dense nets (width → hidden relu → softmax over labels) saved as
 * TF.js layers-model artifacts with a metadata.json that passes common/wire metadataSchema. */

import { existsSync, readdirSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type * as TF from '@tensorflow/tfjs';
import { artifactsToFiles, sha256 } from '../../common/model-artifact';
import type { Metadata } from '../../common/wire';
import { ROOT } from './processes';

export const SHIPPED_STORE = path.join(ROOT, 'models');

export interface GeneratedModelSpec {
  model: string;
  version: string;
  /** Numbers per input row. */
  width: number;
  labels: string[];
  /** Hidden units; default 8. */
  hidden?: number;
  /** Seeds the weight initialisers, so the same spec always gives the same model. */
  seed?: number;
  /** Row shape when not flat, e.g. [2, 2] for width 4. */
  rowShape?: number[];
}

export interface TestStore {
  dir: string;
  /** Writes a generated model version folder and returns its metadata. */
  addModel(spec: GeneratedModelSpec): Promise<Metadata>;
  /** Flips one byte in the middle of a file of a version folder (size unchanged, sha256 differs). */
  corrupt(model: string, version: string, file: string): Promise<void>;
  cleanup(): Promise<void>;
}

/** `model/version` of every shipped version folder holding a metadata.json. */
export function shippedModels(): string[] {
  if (!existsSync(SHIPPED_STORE)) return [];
  const found: string[] = [];
  for (const model of readdirSync(SHIPPED_STORE, { withFileTypes: true })) {
    if (!model.isDirectory()) continue;
    for (const version of readdirSync(path.join(SHIPPED_STORE, model.name), { withFileTypes: true })) {
      if (
        version.isDirectory() &&
        existsSync(path.join(SHIPPED_STORE, model.name, version.name, 'metadata.json'))
      ) {
        found.push(`${model.name}/${version.name}`);
      }
    }
  }
  return found.sort();
}

export async function createTestStore(options: { shipped?: boolean } = {}): Promise<TestStore> {
  const dir = await mkdtemp(path.join(tmpdir(), 'modelgate-store-'));
  if (options.shipped !== false) {
    const models = new Set(shippedModels().map((mv) => mv.split('/')[0]!));
    for (const model of models) {
      // Whole model folders: version folders plus policy.json; audit logs are left behind.
      await cp(path.join(SHIPPED_STORE, model), path.join(dir, model), {
        recursive: true,
        filter: (src) => path.basename(src) !== 'audit.jsonl',
      });
    }
  }
  return {
    dir,
    addModel: (spec) => writeGeneratedModel(dir, spec),
    corrupt: (model, version, file) => flipByte(path.join(dir, model, version, file)),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

async function flipByte(file: string): Promise<void> {
  const data = await readFile(file);
  if (data.length === 0) throw new Error(`${file} is empty; nothing to corrupt`);
  const at = Math.floor(data.length / 2);
  data[at] = data[at]! ^ 0xff;
  await writeFile(file, data);
}

let tfLoading: Promise<typeof TF> | undefined;

/** The pure-JS cpu backend: deterministic and needs no wasm in the test process. */
function loadCpuTf(): Promise<typeof TF> {
  tfLoading ??= (async () => {
    const tf = require('@tensorflow/tfjs') as typeof TF;
    await tf.setBackend('cpu');
    // The cpu backend prints a "use tfjs-node" banner on first use; in tests it is only noise.
    (tf.backend() as unknown as { firstUse: boolean }).firstUse = false;
    return tf;
  })();
  return tfLoading;
}

function evenDeciles(low: number, high: number): number[] {
  return Array.from({ length: 9 }, (_, i) => low + ((high - low) * (i + 1)) / 10);
}

/** Writes model.json, its shard and metadata.json under dir/model/version. */
export async function writeGeneratedModel(dir: string, spec: GeneratedModelSpec): Promise<Metadata> {
  const tf = await loadCpuTf();
  const seed = spec.seed ?? 1;
  const rowShape = spec.rowShape ?? [spec.width];
  const net = tf.sequential();
  if (rowShape.length > 1) net.add(tf.layers.flatten({ inputShape: rowShape }));
  net.add(
    tf.layers.dense({
      ...(rowShape.length > 1 ? {} : { inputShape: [spec.width] }),
      units: spec.hidden ?? 8,
      activation: 'relu',
      kernelInitializer: tf.initializers.glorotUniform({ seed }),
      biasInitializer: tf.initializers.randomUniform({ minval: -0.1, maxval: 0.1, seed: seed + 1 }),
    }),
  );
  net.add(
    tf.layers.dense({
      units: spec.labels.length,
      activation: 'softmax',
      kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 2 }),
    }),
  );
  let files: Map<string, Buffer> | undefined;
  await net.save(
    tf.io.withSaveHandler(async (artifacts) => {
      files = artifactsToFiles(artifacts);
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  net.dispose();
  const versionDir = path.join(dir, spec.model, spec.version);
  await mkdir(versionDir, { recursive: true });
  const artifacts: Record<string, string> = {};
  for (const [name, data] of files!) {
    await writeFile(path.join(versionDir, name), data);
    artifacts[name] = sha256(data);
  }
  const features = Array.from({ length: spec.width }, (_, i) => `f${i}`);
  const metadata: Metadata = {
    model: spec.model,
    version: spec.version,
    created: new Date(0).toISOString(),
    description: `generated test model (${spec.width} inputs, ${spec.labels.length} classes, seed ${seed})`,
    framework: 'tfjs-layers',
    format: 'layers-model',
    inputs: [{ name: 'features', datatype: 'FP32', shape: [-1, ...rowShape], features }],
    outputs: [
      { name: 'probabilities', datatype: 'FP32', shape: [-1, spec.labels.length], labels: spec.labels },
    ],
    metrics: { accuracy: 0.5 },
    baseline: {
      features: features.slice(0, 4).map((name, index) => ({
        name,
        source: { kind: 'column' as const, index },
        continuous: true,
        deciles: evenDeciles(0, 1),
        proportions: Array.from({ length: 10 }, () => 0.1),
        reference: Array.from({ length: 21 }, (_, i) => i / 20),
      })),
      classes: Object.fromEntries(spec.labels.map((l) => [l, 1 / spec.labels.length])),
    },
    artifacts,
  };
  await writeFile(path.join(versionDir, 'metadata.json'), `${JSON.stringify(metadata, null, 2)}\n`);
  return metadata;
}
