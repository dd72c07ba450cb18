/** What both protocol routers need from the app: the served model's identity and one predict call. */
import type { RequestHandler } from 'express';
import { AppError } from '../../common/errors';
import type { Prediction, ServedModel } from '../model-loader';

export interface ProtocolDeps {
  model: Pick<
    ServedModel,
    'name' | 'version' | 'metadata' | 'backend' | 'inputWidth' | 'rowShape' | 'labels'
  >;
  /** Queues rows for the batcher; rejects with AppError (not_ready, overloaded, ...). */
  predict(rows: Float32Array, n: number): Promise<Prediction>;
  isReady(): boolean;
  /** Extra fields for model metadata `parameters` (e.g. the live tensor count). */
  parameters(): Record<string, unknown>;
  /** modelgate's version, reported by GET /v2. */
  serverVersion: string;
}

/** This process serves exactly one model version; anything else is a 404 that says what is here.
 * Undefined when `name` (and `version`, if given) is what this process serves. */
export function servedTargetError(
  model: ProtocolDeps['model'],
  name: string | undefined,
  version: string | undefined,
): AppError | undefined {
  if (name !== model.name) {
    return new AppError(
      'model_not_found',
      `model "${name}" is not served here; this server serves "${model.name}" version "${model.version}"`,
    );
  }
  if (version !== undefined && version !== model.version) {
    return new AppError(
      'version_not_found',
      `version "${version}" of "${name}" is not served here; this server serves version "${model.version}"`,
    );
  }
  return undefined;
}

/** `servedTargetError` as Express middleware, for the metadata and status routes. */
export function requireServedTarget(model: ProtocolDeps['model']): RequestHandler {
  return function requireServed(req, _res, next) {
    const params = req.params as Record<string, string | undefined>;
    next(servedTargetError(model, params.model, params.version));
  };
}

/** Probabilities of row i as a plain array (JSON cannot carry a Float32Array). */
export function rowProbabilities(prediction: Prediction, i: number, k: number): number[] {
  return Array.from(prediction.probabilities.subarray(i * k, (i + 1) * k));
}

/** Numbers as JSON list items (no brackets), exactly as JSON.stringify writes them: String(x) for
 * finite numbers, null for NaN and ±Infinity. Joins a preallocated array instead of walking objects. */
export function numbersJson(values: Float32Array, from = 0, to = values.length): string {
  const parts = new Array<string>(to - from);
  for (let i = from; i < to; i++) {
    const x = values[i]!;
    parts[i - from] = Number.isFinite(x) ? String(x) : 'null';
  }
  return parts.join(',');
}
