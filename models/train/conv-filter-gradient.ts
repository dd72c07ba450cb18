/** Lets the CNN train on the wasm backend. wasm has Conv2D, Conv2DBackpropInput and MaxPoolGrad but
 * no Conv2DBackpropFilter, and the cpu backend's version of that one kernel takes ~95% of a training
 * step (it indexes element by element), so a CNN trains 20-30x slower on cpu than an MLP on wasm.
 *
 * For a stride-1, undilated, valid-padded NHWC convolution the filter gradient is itself a forward
 * convolution: dW[kh,kw,ci,co] = Σ_{b,h,w} x[b,h+kh,w+kw,ci] · dy[b,h,w,co], i.e. conv2d of x viewed
 * as [ci, H, W, batch] with dy viewed as a [oh, ow, batch, co] filter. Registering that as the
 * Conv2D gradient (training process only; the saved model is an ordinary layers model) routes the
 * work to fast forward kernels. Any other convolution keeps the stock gradient. */
import type * as TF from '@tensorflow/tfjs';

type Tf = typeof TF;

function isOne(value: unknown): boolean {
  return value === 1 || (Array.isArray(value) && value.every((v) => v === 1));
}

/** The filter gradient of a stride-1 valid NHWC conv2d, computed with a forward conv2d. */
export function conv2dFilterGradient(tf: Tf, x: TF.Tensor4D, dy: TF.Tensor4D): TF.Tensor4D {
  return tf.tidy(() => {
    const images = tf.transpose(x, [3, 1, 2, 0]) as TF.Tensor4D; // [ci, H, W, batch]
    const kernel = tf.transpose(dy, [1, 2, 0, 3]) as TF.Tensor4D; // [oh, ow, batch, co]
    const grad = tf.conv2d(images, kernel, 1, 'valid'); // [ci, kh, kw, co]
    return tf.transpose(grad, [1, 2, 0, 3]) as TF.Tensor4D; // [kh, kw, ci, co]
  });
}

/** Replaces the Conv2D gradient in this process; returns a function that restores the stock one. */
export function installFastConv2dGradient(tf: Tf): () => void {
  const stock = tf.getGradient('Conv2D');
  if (!stock) throw new Error('TF.js has no Conv2D gradient to replace');
  const quiet = (fn: () => void) => {
    // registerGradient warns on every override; this one is deliberate.
    const warn = console.warn;
    console.warn = () => {};
    try {
      fn();
    } finally {
      console.warn = warn;
    }
  };
  quiet(() =>
    tf.registerGradient({
      kernelName: 'Conv2D',
      inputsToSave: ['x', 'filter'],
      gradFunc: (dy, saved, attrs) => {
        const grads = stock.gradFunc(dy, saved, attrs);
        const { strides, pad, dilations, dataFormat } = attrs as Record<string, unknown>;
        const simple =
          isOne(strides) && isOne(dilations ?? 1) && pad === 'valid' && (dataFormat ?? 'NHWC') === 'NHWC';
        if (!simple) return grads;
        const [x] = saved as TF.Tensor4D[];
        return { ...grads, filter: () => conv2dFilterGradient(tf, x!, dy as TF.Tensor4D) };
      },
    }),
  );
  return () => quiet(() => tf.registerGradient(stock));
}
