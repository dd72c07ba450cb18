/** TensorFlow Serving REST through the gateway: `:predict` with `instances` or `inputs`, model
 * status and metadata. Routed like /predict unless the path names a version or label; the body is
 * forwarded as is to the chosen version's `/v1/models/M/versions/V:predict`. */
import { type Request, type Response, Router } from 'express';
import { AppError, errorMiddleware, notFoundHandler, renderProtocolError } from '../../common/errors';
import { recordedReason } from '../dataplane';
import type { PredictionCall } from '../prediction-call';
import type { ModelRoute, VersionRoute } from '../routing/route-state';
import { selectionOf } from '../selection';
import { isLive, namesOneVersion, primaryVersion, versionsInOrder } from './model-view';
import { type ProtocolDeps, relay } from './oip-v2';
import { checkNumbers, isObject } from './rows';

// Express 5's string paths cannot express "name:predict", so this is a regular expression.
const STATUS = /^\/models\/([^/:]+)(?:\/versions\/([^/:]+)|\/labels\/([^/:]+))?(\/metadata)?$/;

/** Each row is a list of numbers, or `{"input": [...]}` in the row format. */
function rowsOf(body: unknown): unknown[] {
  if (!isObject(body)) throw new AppError('invalid_input', 'predict request body must be a JSON object');
  const rows = body.instances ?? body.inputs;
  if (body.instances !== undefined && body.inputs !== undefined) {
    throw new AppError('invalid_input', 'send either "instances" or "inputs", not both');
  }
  if (isObject(rows) && Array.isArray(rows.input)) return rows.input as unknown[];
  if (!Array.isArray(rows) || rows.length === 0) {
    throw new AppError('invalid_input', 'predict request needs a non-empty "instances" (or "inputs") array');
  }
  return rows;
}

function checkRows(rows: unknown[], width: number, maxRows: number): void {
  if (rows.length > maxRows)
    throw new AppError('invalid_input', `at most ${maxRows} instances per request, got ${rows.length}`);
  rows.forEach((row, i) => {
    const values = isObject(row) ? row.input : row;
    if (!Array.isArray(values)) {
      throw new AppError(
        'invalid_input',
        `instances[${i}] must be a list of ${width} numbers or {"input": [...]}`,
      );
    }
    const flat = values.flat(Number.POSITIVE_INFINITY);
    if (flat.length !== width) {
      throw new AppError(
        'invalid_input',
        `instances[${i}] has ${flat.length} values; this model takes ${width}`,
      );
    }
    checkNumbers(flat, `instances[${i}]`);
  });
}

function versionStatus(model: ModelRoute, v: VersionRoute) {
  const up = isLive(v);
  return {
    version: v.version,
    state: up ? 'AVAILABLE' : 'UNAVAILABLE',
    status: {
      error_code: up ? 'OK' : 'UNAVAILABLE',
      error_message: up ? '' : `no live instance of ${model.name}/${v.version}`,
    },
  };
}

/** One version's status, or every version's (in name order) when the caller named none. */
function status(model: ModelRoute, versions: readonly VersionRoute[]) {
  return { model_version_status: versions.map((v) => versionStatus(model, v)) };
}

function metadata(model: ModelRoute, v: VersionRoute) {
  const tensor = (name: string, dims: number[]) => ({
    dtype: 'DT_FLOAT',
    tensor_shape: { dim: dims.map((size) => ({ size: String(size), name: '' })), unknown_rank: false },
    name,
  });
  return {
    model_spec: { name: model.name, signature_name: '', version: v.version },
    metadata: {
      signature_def: {
        signature_def: {
          serving_default: {
            inputs: { input: tensor('input', [-1, v.inputWidth]) },
            outputs: { probabilities: tensor('probabilities', [-1, v.labels.length]) },
            method_name: 'tensorflow/serving/predict',
          },
        },
      },
    },
  };
}

export function tfServingRouter(deps: ProtocolDeps): Router {
  const { plane } = deps;
  const router = Router();

  router.get(STATUS, (req: Request, res: Response) => {
    const m = STATUS.exec(req.path)!;
    const model = plane.resolveModel(m[1]!);
    const selection = selectionOf(req, model, { version: m[2], label: m[3] });
    if (!namesOneVersion(selection)) {
      // The model as a whole, the same answer every time: all versions' states, and the metadata of
      // the version with most traffic.
      const primary = primaryVersion(model);
      if (m[4]) res.setHeader('X-Model-Version', primary.version);
      res.json(m[4] ? metadata(model, primary) : status(model, versionsInOrder(model)));
      return;
    }
    const choice = plane.choose(model, selection);
    res.setHeader('X-Model-Version', choice.version.version);
    res.locals.version = choice.version.version;
    res.json(m[4] ? metadata(model, choice.version) : status(model, [choice.version]));
  });

  router.use(notFoundHandler());
  router.use(errorMiddleware(deps.logger, renderProtocolError));
  return router;
}

/** POST /v1/models/M[/versions/V|/labels/L]:predict once the body is read and parsed. Names are
 * taken from the path as sent, undecoded. */
export async function tfPredict(
  deps: Pick<ProtocolDeps, 'plane' | 'maxBatchRows'>,
  call: PredictionCall & { model: string; version: string | undefined; label: string | undefined },
): Promise<void> {
  const { plane } = deps;
  const { res, locals } = call;
  const startedAt = plane.now();
  const requestId = locals.requestId;
  const model = plane.resolveModel(call.model);
  const choice = plane.choose(
    model,
    selectionOf(call.headers, model, { version: call.version, label: call.label }),
  );
  locals.model = model.name;
  locals.reason = recordedReason(choice.reason);
  locals.unit = choice.unit;
  res.setHeader('X-Model-Version', choice.version.version);
  const width = choice.version.inputWidth;
  checkRows(rowsOf(call.json), width, deps.maxBatchRows);
  const modelPath = `/v1/models/${encodeURIComponent(model.name)}/versions/`;
  const request = (v: VersionRoute) => ({
    method: 'POST' as const,
    path: `${modelPath}${encodeURIComponent(v.version)}:predict`,
    body: call.raw,
    headers: { 'content-type': 'application/json', 'x-request-id': requestId },
  });
  const result = await plane.forward(choice, request, {
    accepts: (v) => v.inputWidth === width,
    cacheInput: call.raw,
  });
  relay(res, locals, result.version.version, result.failoverFrom, result.response);
  if (result.response.status < 400) {
    plane.recordAnswer({ requestId, route: '/v1/predict', startedAt }, result);
    plane.maybeShadow(result, undefined, request, { requestId, route: '/v1/predict' });
  }
}
