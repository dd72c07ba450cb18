/** The "artifact loads in TF.js" check of an upload: load it from memory, run one prediction of zeros
 * with the metadata's input shape, and compare the output width with the metadata's labels. */
import type * as TF from '@tensorflow/tfjs';
import { AppError } from '../common/errors';
import { memoryIOHandler } from '../common/model-artifact';
import { loadTf } from '../common/tfjs';
import type { Metadata } from '../common/wire';
import type { ArtifactCheck } from './upload';

export const checkArtifactInTf: ArtifactCheck = async (artifacts, metadata) => {
  const { tf } = await loadTf('auto');
  let model: TF.LayersModel | TF.GraphModel;
  try {
    model =
      metadata.format === 'graph-model'
        ? await tf.loadGraphModel(memoryIOHandler(artifacts))
        : await tf.loadLayersModel(memoryIOHandler(artifacts));
  } catch (err) {
    throw new AppError('invalid_input', `TF.js cannot load model.json: ${(err as Error).message}`);
  }
  try {
    const width = outputWidth(tf, model, metadata);
    const labels = metadata.outputs[0]!.labels.length;
    if (labels > 0 && width !== labels) {
      throw new AppError(
        'invalid_input',
        `the model outputs ${width} values per row but metadata.json lists ${labels} labels`,
      );
    }
  } finally {
    model.dispose();
  }
};

function outputWidth(tf: typeof TF, model: TF.LayersModel | TF.GraphModel, metadata: Metadata): number {
  const shape = metadata.inputs[0]!.shape.map((d, i) => (i === 0 || d < 0 ? 1 : d));
  const dtype = metadata.inputs[0]!.datatype === 'INT32' ? 'int32' : 'float32';
  return tf.tidy(() => {
    let out: TF.Tensor | TF.Tensor[];
    try {
      out = model.predict(tf.zeros(shape, dtype)) as TF.Tensor | TF.Tensor[];
    } catch (err) {
      throw new AppError(
        'invalid_input',
        `the model does not run on input shape [${shape.join(', ')}] from metadata.json: ${(err as Error).message}`,
      );
    }
    const first = Array.isArray(out) ? out[0] : out;
    if (!first) throw new AppError('invalid_input', 'the model produced no output');
    return first.shape[first.shape.length - 1] ?? 1;
  });
}
