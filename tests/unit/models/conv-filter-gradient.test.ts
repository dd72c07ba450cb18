import type * as TF from '@tensorflow/tfjs';
import { loadTf } from '../../../common/tfjs';
import { conv2dFilterGradient, installFastConv2dGradient } from '../../../models/train/conv-filter-gradient';

function maxAbs(tf: typeof TF, a: TF.Tensor, b: TF.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
}

describe('forward-conv filter gradient', () => {
  it('matches the stock Conv2D filter gradient for a stride-1 valid convolution', async () => {
    const { tf } = await loadTf('cpu');
    const x = tf.randomNormal([4, 9, 9, 3], 0, 1, 'float32', 1) as TF.Tensor4D;
    const filter = tf.randomNormal([3, 3, 3, 5], 0, 1, 'float32', 2) as TF.Tensor4D;
    const loss = (input: TF.Tensor, f: TF.Tensor) =>
      tf.sum(tf.square(tf.conv2d(input as TF.Tensor4D, f as TF.Tensor4D, 1, 'valid')));
    const [stockX, stockFilter] = tf.grads(loss)([x, filter]);

    const restore = installFastConv2dGradient(tf);
    try {
      const [fastX, fastFilter] = tf.grads(loss)([x, filter]);
      const scale = tf.max(tf.abs(stockFilter!)).dataSync()[0]!;
      expect(scale).toBeGreaterThan(1);
      expect(maxAbs(tf, stockFilter!, fastFilter!) / scale).toBeLessThan(1e-5);
      expect(maxAbs(tf, stockX!, fastX!)).toBe(0);
    } finally {
      restore();
    }
  });

  it('computes dW = Σ x·dy by hand for a 1x1 filter', async () => {
    const { tf } = await loadTf('cpu');
    // One 2x2 image, one channel, 1x1 filter: dW = Σ x·dy = 1·1 + 2·0 + 3·2 + 4·(−1) = 3.
    const x = tf.tensor4d([1, 2, 3, 4], [1, 2, 2, 1]);
    const dy = tf.tensor4d([1, 0, 2, -1], [1, 2, 2, 1]);
    const grad = conv2dFilterGradient(tf, x, dy);
    expect(grad.shape).toEqual([1, 1, 1, 1]);
    expect(grad.dataSync()[0]).toBe(3);
  });

  it('keeps the stock gradient for strided convolutions', async () => {
    const { tf } = await loadTf('cpu');
    const x = tf.randomNormal([2, 8, 8, 2], 0, 1, 'float32', 3) as TF.Tensor4D;
    const filter = tf.randomNormal([3, 3, 2, 4], 0, 1, 'float32', 4) as TF.Tensor4D;
    const loss = (input: TF.Tensor, f: TF.Tensor) =>
      tf.sum(tf.conv2d(input as TF.Tensor4D, f as TF.Tensor4D, 2, 'same'));
    const [, stock] = tf.grads(loss)([x, filter]);
    const restore = installFastConv2dGradient(tf);
    try {
      const [, after] = tf.grads(loss)([x, filter]);
      expect(maxAbs(tf, stock!, after!)).toBe(0);
    } finally {
      restore();
    }
  });
});
