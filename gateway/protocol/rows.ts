/** Checks shared by the protocol translations: numbers a float32 model can take. */
import { AppError } from '../../common/errors';
import { FP32_MAX } from '../schemas';

export function checkNumbers(values: readonly unknown[], where: string): void {
  for (let i = 0; i < values.length; i++) {
    const x = values[i];
    if (typeof x !== 'number' || !Number.isFinite(x) || Math.abs(x) > FP32_MAX) {
      throw new AppError(
        'invalid_input',
        `${where}[${i}] must be a finite number within float32 range, got ${JSON.stringify(x) ?? String(x)}`,
      );
    }
  }
}

export const isObject = (x: unknown): x is Record<string, unknown> =>
  typeof x === 'object' && x !== null && !Array.isArray(x);
