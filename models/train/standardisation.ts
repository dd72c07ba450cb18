/** Inputs are standardised for training (gradient descent on grams next to millimetres crawls),
 * then the standardisation is folded into the first Dense layer so the shipped model takes the raw
 * values callers have: W·((x − mean)/std) + b = (W/std)·x + (b − Σ W·mean/std). */
import type * as TF from '@tensorflow/tfjs';

export interface ColumnStats {
  mean: number[];
  std: number[];
}

/** Population mean and standard deviation per column; a constant column gets std 1 so it passes
 * through unscaled instead of dividing by zero. */
export function columnStats(rows: readonly number[][]): ColumnStats {
  const width = rows[0]?.length ?? 0;
  const mean = new Array<number>(width).fill(0);
  const std = new Array<number>(width).fill(0);
  for (const row of rows) for (let j = 0; j < width; j++) mean[j]! += row[j]! / rows.length;
  for (const row of rows) for (let j = 0; j < width; j++) std[j]! += (row[j]! - mean[j]!) ** 2 / rows.length;
  return { mean, std: std.map((v) => (v > 0 ? Math.sqrt(v) : 1)) };
}

export function standardise(rows: readonly number[][], stats: ColumnStats): number[][] {
  return rows.map((row) => row.map((v, j) => (v - stats.mean[j]!) / stats.std[j]!));
}

/** kernel is inputs × units (TF.js Dense layout). Returns the kernel and bias that take raw inputs. */
export function foldStandardisation(
  kernel: readonly number[][],
  bias: readonly number[],
  stats: ColumnStats,
): { kernel: number[][]; bias: number[] } {
  const folded = kernel.map((weights, i) => weights.map((w) => w / stats.std[i]!));
  const shift = bias.map((b, unit) =>
    kernel.reduce((acc, weights, i) => acc - (weights[unit]! * stats.mean[i]!) / stats.std[i]!, b),
  );
  return { kernel: folded, bias: shift };
}

/** Rewrites the model's first Dense layer in place so it takes raw (unstandardised) inputs. */
export function foldIntoFirstDense(tf: typeof TF, model: TF.LayersModel, stats: ColumnStats): void {
  // Only a Dense layer that sees the inputs directly can absorb their scaling.
  const dense = model.layers[0];
  if (dense?.getClassName() !== 'Dense') throw new Error('the first layer must be Dense to fold into');
  const [kernelTensor, biasTensor] = dense.getWeights();
  if (!kernelTensor || !biasTensor) throw new Error('the first Dense layer needs a kernel and a bias');
  const { kernel, bias } = foldStandardisation(
    kernelTensor.arraySync() as number[][],
    biasTensor.arraySync() as number[],
    stats,
  );
  const next = [tf.tensor2d(kernel), tf.tensor1d(bias)];
  dense.setWeights(next);
  for (const t of next) t.dispose();
}
