/** Turns JSON tensor data (flat or nested) into one Float32Array, checking every value on the way.
 * Both protocols share it, so a bad value gets the same message whichever door it came through:
 * the message names the exact position (`inputs[0].data[3][17]`) and what was found there. JSON has
 * no NaN or Infinity, but 1e309 parses to Infinity and strings or nulls slip through, so every value
 * is checked once here and the model never sees a non-finite number. */
import { AppError } from '../../common/errors';

export interface ValueRule {
  /** INT32/INT64 inputs must hold integers. */
  integer: boolean;
}

const FLOAT: ValueRule = { integer: false };

function describe(value: unknown): string {
  if (value === undefined) return 'missing';
  if (typeof value === 'number') return String(value);
  const json = JSON.stringify(value);
  return json.length > 40 ? `${json.slice(0, 37)}...` : json;
}

export function invalid(message: string): AppError {
  return new AppError('invalid_input', message);
}

function checkValue(value: unknown, where: string, rule: ValueRule): number {
  if (typeof value !== 'number') {
    throw invalid(`${where} is ${describe(value)}; expected a number`);
  }
  if (!Number.isFinite(value)) {
    throw invalid(`${where} is ${value} (too large for a finite number); expected a finite number`);
  }
  if (rule.integer && !Number.isInteger(value)) {
    throw invalid(`${where} is ${value}; this datatype needs an integer`);
  }
  return value;
}

/** True when value can go into the model as is: a finite number (and an integer if the rule says so). */
function acceptable(value: unknown, integer: boolean): value is number {
  return typeof value === 'number' && Number.isFinite(value) && (!integer || Number.isInteger(value));
}

/** Copies a flat list of count numbers into out at offset. One typed loop over the values; the
 * position string for an error message is only built for the value that fails (building it for every
 * value cost more than the copy). */
export function copyFlat(
  data: readonly unknown[],
  out: Float32Array,
  offset: number,
  where: string,
  rule: ValueRule = FLOAT,
): void {
  const integer = rule.integer;
  for (let i = 0; i < data.length; i++) {
    const value = data[i];
    if (!acceptable(value, integer)) checkValue(value, `${where}[${i}]`, rule);
    out[offset + i] = value as number;
  }
}

/** Copies nested arrays whose dimensions must equal `shape` exactly into out at offset. */
export function copyNested(
  data: unknown,
  shape: readonly number[],
  out: Float32Array,
  offset: number,
  where: string,
  rule: ValueRule = FLOAT,
): number {
  return copyNestedFrom(data, shape, 0, out, offset, where, rule);
}

function copyNestedFrom(
  data: unknown,
  shape: readonly number[],
  depth: number,
  out: Float32Array,
  offset: number,
  where: string,
  rule: ValueRule,
): number {
  if (depth === shape.length) {
    out[offset] = checkValue(data, where, rule);
    return offset + 1;
  }
  const dim = shape[depth]!;
  if (!Array.isArray(data)) {
    throw invalid(`${where} is ${describe(data)}; expected a list of ${dim} values`);
  }
  if (data.length !== dim) {
    throw invalid(`${where} has ${data.length} values; the shape says ${dim}`);
  }
  if (depth === shape.length - 1) {
    // Innermost list: the flat loop, no recursion or position string per number.
    copyFlat(data, out, offset, where, rule);
    return offset + dim;
  }
  let next = offset;
  for (let i = 0; i < dim; i++) {
    next = copyNestedFrom(data[i], shape, depth + 1, out, next, `${where}[${i}]`, rule);
  }
  return next;
}

export function product(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** One row given either flat (width numbers) or nested in the model's row shape (e.g. 28×28×1). */
export function copyRow(
  row: unknown,
  width: number,
  rowShape: readonly number[],
  out: Float32Array,
  offset: number,
  where: string,
): void {
  if (width === 1 && typeof row === 'number') {
    out[offset] = checkValue(row, where, FLOAT);
    return;
  }
  if (!Array.isArray(row)) {
    throw invalid(`${where} is ${describe(row)}; expected a list of ${width} numbers`);
  }
  if (row.length === width && !Array.isArray(row[0])) {
    // copyFlat names any nested list it meets further on ("... is [1,2]; expected a number").
    copyFlat(row, out, offset, where);
    return;
  }
  if (rowShape.length > 1 && row.length === rowShape[0] && Array.isArray(row[0])) {
    copyNested(row, rowShape, out, offset, where);
    return;
  }
  const nested = rowShape.length > 1 ? ` or nested as [${rowShape.join(', ')}]` : '';
  throw invalid(`${where} has ${row.length} values; each row needs ${width} numbers${nested}`);
}
