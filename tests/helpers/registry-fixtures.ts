/** Tiny TF.js models and stores for registry and CLI tests: a dense softmax layer over a few inputs,
 * built once per test process with the cpu backend, written as model.json + one shard + metadata.json. */
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type * as TF from '@tensorflow/tfjs';
import { artifactsToFiles, sha256 } from '../../common/model-artifact';
import type { Metadata, Policy } from '../../common/wire';

export interface TinyModelOptions {
  inputWidth?: number;
  labels?: string[];
}

const built = new Map<string, Map<string, Buffer>>();

/** model.json and its shard for a dense layer of `inputWidth` → labels.length (softmax). */
export async function tinyModelFiles(options: TinyModelOptions = {}): Promise<Map<string, Buffer>> {
  const width = options.inputWidth ?? 4;
  const labels = options.labels ?? ['a', 'b', 'c'];
  const key = `${width}:${labels.length}`;
  const cached = built.get(key);
  if (cached) return new Map(cached);
  const tf = require('@tensorflow/tfjs') as typeof TF;
  await tf.setBackend('cpu');
  tf.env().set('PROD', true);
  const warn = console.warn;
  console.warn = () => undefined; // tfjs's "install tfjs-node" banner, once per process
  const model = tf.sequential({
    layers: [
      tf.layers.dense({
        units: labels.length,
        inputShape: [width],
        activation: 'softmax',
        kernelInitializer: 'ones',
      }),
    ],
  });
  let artifacts: TF.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      artifacts = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  model.dispose();
  console.warn = warn;
  const files = artifactsToFiles(artifacts!);
  built.set(key, files);
  return new Map(files);
}

export function tinyMetadata(
  model: string,
  version: string,
  files: Map<string, Buffer>,
  options: TinyModelOptions = {},
): Metadata {
  const width = options.inputWidth ?? 4;
  const labels = options.labels ?? ['a', 'b', 'c'];
  return {
    model,
    version,
    created: '2026-01-01T00:00:00.000Z',
    description: `tiny test model ${model} v${version}`,
    framework: 'tfjs-layers',
    format: 'layers-model',
    inputs: [
      {
        name: 'features',
        datatype: 'FP32',
        shape: [-1, width],
        features: Array.from({ length: width }, (_, i) => `f${i}`),
      },
    ],
    outputs: [{ name: 'probabilities', datatype: 'FP32', shape: [-1, labels.length], labels }],
    metrics: { accuracy: 0.5 },
    baseline: { features: [], classes: Object.fromEntries(labels.map((l) => [l, 1 / labels.length])) },
    artifacts: Object.fromEntries([...files].map(([name, data]) => [name, sha256(data)])),
  };
}

/** A version folder ready for `modelgate push` or a multipart upload. */
export async function writeVersionFolder(
  dir: string,
  model: string,
  version: string,
  options: TinyModelOptions = {},
): Promise<Map<string, Buffer>> {
  const files = await tinyModelFiles(options);
  const metadata = tinyMetadata(model, version, files, options);
  files.set('metadata.json', Buffer.from(JSON.stringify(metadata, null, 2)));
  await mkdir(dir, { recursive: true });
  for (const [name, data] of files) await writeFile(path.join(dir, name), data);
  return files;
}

/** A store with `versions` of `model` and a policy putting `weights` (default: all on the first). */
export async function writeStore(
  root: string,
  model: string,
  versions: string[],
  policy: Partial<Policy> = {},
): Promise<void> {
  for (const v of versions) await writeVersionFolder(path.join(root, model, v), model, v);
  const full: Policy = {
    variants: [{ version: versions[0]!, weight: 100 }],
    sticky: null,
    shadow: null,
    aliases: {},
    failover: true,
    revision: 1,
    ...policy,
  };
  await writeFile(path.join(root, model, 'policy.json'), JSON.stringify(full, null, 2));
}

/** Every file and folder under `root` (relative paths, sorted), to prove a rejected write left nothing. */
export async function listTree(root: string): Promise<string[]> {
  const out: string[] = [];
  async function walk(dir: string, rel: string) {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      out.push(r);
      if (e.isDirectory()) await walk(path.join(dir, e.name), r);
    }
  }
  await walk(root, '');
  return out.sort();
}
