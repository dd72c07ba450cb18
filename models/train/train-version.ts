/** Trains one recipe on its data set and returns the files of its version folder: model.json, one
 * weight shard and a metadata.json already validated against the shared schema. */
import type * as TF from '@tensorflow/tfjs';
import { artifactsToFiles, sha256 } from '../../common/model-artifact';
import { seededRandom, shuffled } from '../../common/seeded-random';
import { type Metadata, metadataSchema } from '../../common/wire';
import { buildBaseline } from './baseline';
import type { Dataset, Rows } from './dataset';
import type { Recipe, Tf } from './recipes';
import { type ColumnStats, columnStats, foldIntoFirstDense, standardise } from './standardisation';

export const FRAMEWORK = 'tfjs-layers 4.22';
/** Folding is exact in real arithmetic; float32 rounding must stay far below this. */
const FOLD_TOLERANCE = 1e-4;

export interface TrainProgress {
  start(totalBatches: number): void;
  batch(epoch: number, loss: number): void;
  stop(): void;
}

export interface TrainDeps {
  tf: Tf;
  progress: TrainProgress;
  /** Wall clock in ms, for train_seconds and `created`. */
  now(): number;
}

export interface TrainedVersion {
  metadata: Metadata;
  /** File name → bytes, metadata.json included. */
  files: Map<string, Buffer>;
}

export interface Evaluation {
  accuracy: number;
  loss: number;
}

/** Accuracy and mean categorical cross-entropy of predicted probabilities against class indices. */
export function evaluate(probabilities: readonly number[][], labels: readonly number[]): Evaluation {
  let correct = 0;
  let loss = 0;
  for (const [i, p] of probabilities.entries()) {
    const label = labels[i]!;
    if (argmax(p) === label) correct++;
    loss -= Math.log(Math.max(p[label]!, 1e-7));
  }
  return { accuracy: correct / labels.length, loss: loss / labels.length };
}

export function argmax(values: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i;
  return best;
}

function predict(tf: Tf, model: TF.LayersModel, rows: readonly number[][]): number[][] {
  return tf.tidy(
    () => (model.predict(tf.tensor2d(rows as number[][])) as TF.Tensor).arraySync() as number[][],
  );
}

async function fitSeeded(deps: TrainDeps, recipe: Recipe, model: TF.LayersModel, train: Rows): Promise<void> {
  const { tf, progress } = deps;
  const x = tf.tensor2d(train.rows);
  const y = tf.oneHot(tf.tensor1d(train.labels, 'int32'), model.outputs[0]!.shape[1]!);
  const random = seededRandom(recipe.seed);
  const order = train.rows.map((_, i) => i);
  progress.start(recipe.epochs * Math.ceil(train.rows.length / recipe.batchSize));
  try {
    for (let epoch = 1; epoch <= recipe.epochs; epoch++) {
      // fit(shuffle: true) would draw from Math.random; a seeded order per epoch keeps runs identical.
      const indices = tf.tensor1d(shuffled(order, random), 'int32');
      const xe = tf.gather(x, indices);
      const ye = tf.gather(y, indices);
      await model.fit(xe, ye, {
        epochs: 1,
        batchSize: recipe.batchSize,
        shuffle: false,
        verbose: 0,
        callbacks: { onBatchEnd: async (_batch, logs) => progress.batch(epoch, logs?.loss ?? Number.NaN) },
      });
      tf.dispose([indices, xe, ye]);
    }
  } finally {
    progress.stop();
    tf.dispose([x, y]);
  }
}

async function saveArtifacts(tf: Tf, model: TF.LayersModel): Promise<Map<string, Buffer>> {
  let saved: TF.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      saved = artifacts;
      return { modelArtifactsInfo: { dateSaved: new Date(0), modelTopologyType: 'JSON' } };
    }),
  );
  if (!saved) throw new Error('model.save produced no artifacts');
  return artifactsToFiles(saved);
}

/** Folds the standardisation and proves the folded model (raw inputs) answers as the trained one
 * (standardised inputs) did, so the shipped artifact needs no preprocessing. */
function foldAndCheck(tf: Tf, model: TF.LayersModel, stats: ColumnStats, rows: readonly number[][]): void {
  const before = predict(tf, model, standardise(rows, stats));
  foldIntoFirstDense(tf, model, stats);
  const after = predict(tf, model, rows);
  let worst = 0;
  for (const [i, p] of before.entries())
    for (const [j, v] of p.entries()) worst = Math.max(worst, Math.abs(v - after[i]![j]!));
  if (worst > FOLD_TOLERANCE) throw new Error(`folding changed predictions by up to ${worst}`);
}

export async function trainVersion(deps: TrainDeps, recipe: Recipe, data: Dataset): Promise<TrainedVersion> {
  const { tf } = deps;
  if (!(await tf.setBackend(recipe.backend)))
    throw new Error(`TF.js backend ${recipe.backend} is unavailable`);
  await tf.ready();
  const train = data.train;
  const stats = recipe.standardise ? columnStats(train.rows) : undefined;
  const model = recipe.build(tf, recipe.seed);
  model.compile({
    optimizer: tf.train.adam(recipe.learningRate),
    loss: 'categoricalCrossentropy',
    metrics: ['accuracy'],
  });
  const startedAt = deps.now();
  await fitSeeded(
    deps,
    recipe,
    model,
    stats ? { rows: standardise(train.rows, stats), labels: train.labels } : train,
  );
  const trainSeconds = (deps.now() - startedAt) / 1000;
  if (stats) foldAndCheck(tf, model, stats, data.heldout.rows);
  const heldout = evaluate(predict(tf, model, data.heldout.rows), data.heldout.labels);
  const files = await saveArtifacts(tf, model);
  model.dispose();

  const metadata = metadataSchema.parse({
    model: data.model,
    version: recipe.version,
    created: new Date(startedAt).toISOString(),
    description: recipe.description,
    framework: FRAMEWORK,
    format: 'layers-model',
    inputs: [
      {
        name: 'input',
        datatype: 'FP32',
        shape: [-1, data.features.length],
        features: data.features,
        feature_spec: data.featureSpec,
      },
    ],
    outputs: [
      { name: 'probabilities', datatype: 'FP32', shape: [-1, data.labels.length], labels: data.labels },
    ],
    metrics: {
      accuracy: round(heldout.accuracy, 4),
      loss: round(heldout.loss, 4),
      heldout_rows: data.heldout.rows.length,
      train_rows: train.rows.length,
      train_seconds: round(trainSeconds, 1),
    },
    baseline: buildBaseline(train, data.drift, data.labels),
    artifacts: Object.fromEntries([...files].map(([name, bytes]) => [name, sha256(bytes)])),
    training: {
      recipe: recipe.name,
      architecture: recipe.architecture,
      backend: recipe.backend,
      optimizer: 'adam',
      learning_rate: recipe.learningRate,
      epochs: recipe.epochs,
      batch_size: recipe.batchSize,
      seed: recipe.seed,
      data: data.source,
      ...(stats
        ? { standardisation: { folded_into: 'first Dense layer', mean: stats.mean, std: stats.std } }
        : {}),
    },
  } satisfies Metadata);
  files.set('metadata.json', Buffer.from(`${JSON.stringify(metadata, null, 2)}\n`));
  return { metadata, files };
}

/** metadata.json of an already trained version with the parts that come from the data set
 * (feature names, feature spec, drift baseline) rebuilt, and everything training produced kept:
 * `npm run train -- --metadata-only` updates shipped versions without touching their artifacts. */
export function refreshedMetadata(existing: Metadata, data: Dataset): Metadata {
  const [input] = existing.inputs;
  return metadataSchema.parse({
    ...existing,
    inputs: [{ ...input!, features: data.features, feature_spec: data.featureSpec }],
    baseline: buildBaseline(data.train, data.drift, data.labels),
  } satisfies Metadata);
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}
