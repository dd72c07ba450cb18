/** Loads the one version this process serves and wraps it in a synchronous, leak-free `predict`.
 * Artifacts are sha256-verified by common/model-artifact before TF.js parses a byte of them, so a
 * corrupt file stops start-up with a message naming it instead of serving garbage. */
import path from 'node:path';
import type * as TF from '@tensorflow/tfjs';
import { ArtifactError, memoryIOHandler, readVersionFolder } from '../common/model-artifact';
import type { LoadedTf } from '../common/tfjs';
import { inputWidth, type Metadata } from '../common/wire';

/** What one batched forward pass returns: n×k probabilities row-major, and the argmax of each row. */
export interface Prediction {
  probabilities: Float32Array;
  classIndex: Int32Array;
}

export interface ServedModel {
  readonly name: string;
  readonly version: string;
  readonly metadata: Metadata;
  readonly backend: string;
  /** Numbers per row (784 for a 28×28×1 image). */
  readonly inputWidth: number;
  /** Dimensions of one row as the model wants them, e.g. [28, 28, 1]. */
  readonly rowShape: readonly number[];
  readonly labels: readonly string[];
  /** `rows` holds n×inputWidth values row-major. Synchronous: one forward pass, every tensor disposed. */
  predict(rows: Float32Array, n: number): Prediction;
  /** Live tensors in the TF.js engine; the leak test compares it before and after many requests. */
  numTensors(): number;
  dispose(): void;
}

type Runnable = Pick<TF.LayersModel, 'predict' | 'dispose'> | Pick<TF.GraphModel, 'predict' | 'dispose'>;

export interface LoadOptions {
  store: string;
  model: string;
  version: string;
  tf: LoadedTf;
}

export async function loadServedModel({
  store,
  model,
  version,
  tf: loaded,
}: LoadOptions): Promise<ServedModel> {
  const dir = path.join(store, model, version);
  const { metadata, artifacts } = await readVersionFolder(dir);
  if (metadata.model !== model || metadata.version !== version) {
    throw new ArtifactError(
      `${path.join(dir, 'metadata.json')} describes ${metadata.model}/${metadata.version}, not ${model}/${version}`,
    );
  }
  const tf = loaded.tf;
  let runnable: Runnable;
  try {
    runnable =
      metadata.format === 'graph-model'
        ? await tf.loadGraphModel(memoryIOHandler(artifacts))
        : await tf.loadLayersModel(memoryIOHandler(artifacts));
  } catch (err) {
    throw new ArtifactError(
      `${path.join(dir, 'model.json')} could not be loaded as a ${metadata.format}: ${(err as Error).message}`,
    );
  }
  const width = inputWidth(metadata);
  const rowShape = metadata.inputs[0]!.shape.slice(1);
  const labels = metadata.outputs[0]!.labels;

  const predict = (rows: Float32Array, n: number): Prediction => {
    let probabilities: Float32Array | undefined;
    let classIndex: Int32Array | undefined;
    tf.tidy(() => {
      const x = tf.tensor(rows, [n, ...rowShape], 'float32');
      const out = runnable.predict(x);
      if (!(out instanceof tf.Tensor)) throw new Error('model returned more than one output tensor');
      const y: TF.Tensor = out;
      // Copies: the backend may reuse the memory behind dataSync() once the tensor is disposed.
      probabilities = new Float32Array(y.dataSync() as Float32Array);
      classIndex = new Int32Array(tf.argMax(y, -1).dataSync() as Int32Array);
    });
    return { probabilities: probabilities!, classIndex: classIndex! };
  };

  // A model whose output width disagrees with the labels in metadata.json would mislabel every answer.
  let probe: Prediction;
  try {
    probe = predict(new Float32Array(width), 1);
  } catch (err) {
    runnable.dispose();
    throw new ArtifactError(
      `${path.join(dir, 'model.json')} does not accept input of shape [n, ${rowShape.join(', ')}] from metadata.json: ${(err as Error).message}`,
    );
  }
  if (probe.probabilities.length !== labels.length) {
    runnable.dispose();
    throw new ArtifactError(
      `${path.join(dir, 'model.json')} outputs ${probe.probabilities.length} values per row but metadata.json lists ${labels.length} labels`,
    );
  }

  return {
    name: model,
    version,
    metadata,
    backend: loaded.backend,
    inputWidth: width,
    rowShape,
    labels,
    predict,
    numTensors: () => tf.memory().numTensors,
    dispose: () => runnable.dispose(),
  };
}

/** Batch sizes to warm up: 1, 2, 4, … up to and including maxBatchSize, so the first real request of
 * any size does not pay for kernel compilation and buffer allocation. */
function batchSizeClasses(maxBatchSize: number): number[] {
  const sizes: number[] = [];
  for (let size = 1; size < maxBatchSize; size *= 2) sizes.push(size);
  sizes.push(maxBatchSize);
  return sizes;
}

export function warmUp(model: ServedModel, maxBatchSize: number): number[] {
  const sizes = batchSizeClasses(maxBatchSize);
  for (const n of sizes) model.predict(new Float32Array(n * model.inputWidth), n);
  return sizes;
}
