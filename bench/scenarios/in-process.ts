/** The in-process limit: rows/s of a bare `predict` at batch 32, loading the model as the
 * model-server does (sha256-checked artifacts through common/model-artifact, TF.js via common/tfjs),
 * with no HTTP, JSON or queueing. Served rows/s are reported as a fraction of this. */
import path from 'node:path';
import { memoryIOHandler, readVersionFolder } from '../../common/model-artifact';
import { type BackendName, loadTf } from '../../common/tfjs';
import { inputWidth } from '../../common/wire';
import { MODELS_DIR } from '../harness/stack';

export interface InProcessLimit {
  model: string;
  version: string;
  backend: string;
  batch: number;
  rowsPerSecond: number;
}

export async function measureInProcessLimit(
  model: string,
  version: string,
  options: { batch?: number; seconds?: number; backend?: BackendName } = {},
): Promise<InProcessLimit> {
  const batch = options.batch ?? 32;
  const { tf, backend } = await loadTf(
    options.backend ?? (process.env.TFJS_BACKEND as BackendName) ?? 'auto',
  );
  const { metadata, artifacts } = await readVersionFolder(path.join(MODELS_DIR, model, version));
  const runnable =
    metadata.format === 'graph-model'
      ? await tf.loadGraphModel(memoryIOHandler(artifacts))
      : await tf.loadLayersModel(memoryIOHandler(artifacts));
  const width = inputWidth(metadata);
  const rowShape = metadata.inputs[0]!.shape.slice(1);
  const rows = new Float32Array(batch * width).map((_, i) => (i % 7) / 7);
  // The same work as a served batch: build the tensor, predict, read probabilities and the argmax.
  const once = () =>
    tf.tidy(() => {
      const y = runnable.predict(tf.tensor(rows, [batch, ...rowShape], 'float32')) as TFTensor;
      y.dataSync();
      tf.argMax(y, -1).dataSync();
    });
  for (let i = 0; i < 10; i++) once();
  const seconds = options.seconds ?? 3;
  const start = process.hrtime.bigint();
  let iterations = 0;
  let elapsedS = 0;
  while (elapsedS < seconds) {
    once();
    iterations++;
    elapsedS = Number(process.hrtime.bigint() - start) / 1e9;
  }
  runnable.dispose();
  return { model, version, backend, batch, rowsPerSecond: (iterations * batch) / elapsedS };
}

type TFTensor = import('@tensorflow/tfjs').Tensor;
