/** TensorFlow Serving REST API for the one served version: `:predict` in row ("instances") and
 * columnar ("inputs") form (served by inference-routes.ts), model status and signature metadata
 * (this router). Translation only. */
import { Router } from 'express';
import type { Prediction } from '../model-loader';
import { numbersJson, type ProtocolDeps, requireServedTarget, rowProbabilities } from './served';
import { copyRow, invalid } from './tensor-input';

export type PredictFormat = 'row' | 'columnar';

export interface PredictRequest {
  format: PredictFormat;
  rows: Float32Array;
  n: number;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A named input ({"x": [...]}) unwraps to its value: the model has exactly one input. */
function unwrapNamed(value: unknown, inputName: string, where: string): unknown {
  if (!isPlainObject(value)) return value;
  const keys = Object.keys(value);
  if (keys.length !== 1) {
    throw invalid(`${where} names ${keys.length} inputs; this model takes one ("${inputName}")`);
  }
  return value[keys[0]!];
}

export function parsePredictRequest(body: unknown, model: ProtocolDeps['model']): PredictRequest {
  if (!isPlainObject(body)) throw invalid('request body must be a JSON object with "instances" or "inputs"');
  const hasInstances = body.instances !== undefined;
  const hasInputs = body.inputs !== undefined;
  if (hasInstances === hasInputs) {
    throw invalid(
      hasInstances
        ? 'send either "instances" (row format) or "inputs" (columnar format), not both'
        : 'request body needs "instances" (row format) or "inputs" (columnar format)',
    );
  }
  const inputName = model.metadata.inputs[0]!.name;
  const format: PredictFormat = hasInstances ? 'row' : 'columnar';
  const field = hasInstances ? 'instances' : 'inputs';
  const list = hasInstances ? body.instances : unwrapNamed(body.inputs, inputName, 'inputs');
  if (!Array.isArray(list)) throw invalid(`"${field}" must be a list of rows`);
  if (list.length === 0) throw invalid(`"${field}" is empty; send at least one row`);
  // A single row sent flat ("inputs": [0.1, 0.2, ...]) is accepted as a batch of one.
  const rowsList =
    model.inputWidth > 1 &&
    list.length === model.inputWidth &&
    !list.some((v) => Array.isArray(v) || isPlainObject(v))
      ? [list]
      : list;
  const n = rowsList.length;
  const rows = new Float32Array(n * model.inputWidth);
  for (let i = 0; i < n; i++) {
    const where = `${field}[${i}]`;
    const row = hasInstances ? unwrapNamed(rowsList[i], inputName, where) : rowsList[i];
    copyRow(row, model.inputWidth, model.rowShape, rows, i * model.inputWidth, where);
  }
  return { format, rows, n };
}

export function formatPredictResponse(
  model: ProtocolDeps['model'],
  request: PredictRequest,
  prediction: Prediction,
) {
  const k = model.labels.length;
  const values = Array.from({ length: request.n }, (_, i) => rowProbabilities(prediction, i, k));
  return request.format === 'row' ? { predictions: values } : { outputs: values };
}

/** The same JSON text as `JSON.stringify(formatPredictResponse(...))`, from the typed arrays. */
export function predictResponseJson(
  model: ProtocolDeps['model'],
  request: PredictRequest,
  prediction: Prediction,
): string {
  const k = model.labels.length;
  const rows = new Array<string>(request.n);
  for (let i = 0; i < request.n; i++)
    rows[i] = `[${numbersJson(prediction.probabilities, i * k, (i + 1) * k)}]`;
  return `{"${request.format === 'row' ? 'predictions' : 'outputs'}":[${rows.join(',')}]}`;
}

export function modelStatus(model: ProtocolDeps['model'], ready: boolean) {
  return {
    model_version_status: [
      {
        version: model.version,
        state: ready ? 'AVAILABLE' : 'LOADING',
        status: { error_code: 'OK', error_message: '' },
      },
    ],
  };
}

function tensorInfo(name: string, shape: readonly number[]) {
  return {
    dtype: 'DT_FLOAT',
    tensor_shape: { dim: shape.map((size) => ({ size: String(size), name: '' })), unknown_rank: false },
    name,
  };
}

export function signatureMetadata(model: ProtocolDeps['model']) {
  const input = model.metadata.inputs[0]!;
  return {
    model_spec: { name: model.name, signature_name: '', version: model.version },
    metadata: {
      signature_def: {
        signature_def: {
          serving_default: {
            inputs: { [input.name]: tensorInfo(input.name, input.shape) },
            outputs: { probabilities: tensorInfo('probabilities', [-1, model.labels.length]) },
            method_name: 'tensorflow/serving/predict',
          },
        },
      },
    },
  };
}

export function createTfServingRouter(deps: ProtocolDeps): Router {
  const router = Router();
  const target = requireServedTarget(deps.model);

  for (const base of ['/v1/models/:model', '/v1/models/:model/versions/:version']) {
    router.get(base, target, (_req, res) => {
      res.json(modelStatus(deps.model, deps.isReady()));
    });
    router.get(`${base}/metadata`, target, (_req, res) => {
      res.json(signatureMetadata(deps.model));
    });
  }
  return router;
}
