import { loadTf } from '../../../common/tfjs';
import {
  columnStats,
  foldIntoFirstDense,
  foldStandardisation,
  standardise,
} from '../../../models/train/standardisation';

describe('standardisation', () => {
  it('computes population mean and std, with std 1 for a constant column', () => {
    const stats = columnStats([
      [1, 5],
      [3, 5],
    ]);
    expect(stats).toEqual({ mean: [2, 5], std: [1, 1] });
    expect(standardise([[3, 5]], stats)).toEqual([[1, 0]]);
  });

  it('folds by hand: W/std per input row and b − Σ W·mean/std', () => {
    // One unit, two inputs: w = [2, -3], b = 1, mean = [10, 4], std = [2, 0.5].
    // W' = [1, -6]; b' = 1 − (2·10/2 + (−3)·4/0.5) = 1 − (10 − 24) = 15.
    const folded = foldStandardisation([[2], [-3]], [1], { mean: [10, 4], std: [2, 0.5] });
    expect(folded.kernel).toEqual([[1], [-6]]);
    expect(folded.bias).toEqual([15]);
  });

  it('gives a folded model on raw inputs the same outputs as the trained model on standardised inputs', async () => {
    const { tf } = await loadTf('cpu');
    const model = tf.sequential({
      layers: [
        tf.layers.dense({
          inputShape: [8],
          units: 16,
          activation: 'relu',
          kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }),
          biasInitializer: tf.initializers.randomUniform({ minval: -1, maxval: 1, seed: 2 }),
        }),
        tf.layers.dense({
          units: 3,
          activation: 'softmax',
          kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }),
        }),
      ],
    });
    // Penguin-like scales: millimetres, grams and 0/1 columns.
    const raw = [
      [39.1, 18.7, 181, 3750, 0, 0, 1, 1],
      [46.5, 17.9, 192, 3500, 0, 1, 0, 0],
      [50.0, 15.2, 218, 5700, 1, 0, 0, 1],
      [45.2, 14.8, 212, 5200, 1, 0, 0, 0],
    ];
    const stats = columnStats(raw);
    const before = tf.tidy(() =>
      (model.predict(tf.tensor2d(standardise(raw, stats))) as typeof tf.Tensor.prototype).arraySync(),
    );
    foldIntoFirstDense(tf, model, stats);
    const after = tf.tidy(() => (model.predict(tf.tensor2d(raw)) as typeof tf.Tensor.prototype).arraySync());
    const flatBefore = (before as number[][]).flat();
    const flatAfter = (after as number[][]).flat();
    expect(flatAfter).toHaveLength(12);
    for (const [i, v] of flatBefore.entries()) expect(flatAfter[i]).toBeCloseTo(v, 5);
    model.dispose();
  });

  it('refuses to fold into a model whose first layer is not Dense', async () => {
    const { tf } = await loadTf('cpu');
    const model = tf.sequential({
      layers: [
        tf.layers.reshape({ inputShape: [4], targetShape: [2, 2] }),
        tf.layers.flatten(),
        tf.layers.dense({ units: 1 }),
      ],
    });
    expect(() => foldIntoFirstDense(tf, model, { mean: [0, 0, 0, 0], std: [1, 1, 1, 1] })).toThrow(
      /first layer must be Dense/,
    );
    model.dispose();
  });
});
