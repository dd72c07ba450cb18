/** TensorFlow Serving REST through the gateway: `:predict` with `instances` or `inputs`, model
 * status and metadata. Routed like /predict unless the path names a version or label; the body is
 * forwarded as is to the chosen version's `/v1/models/M/versions/V:predict`. */
import type { ServerResponse } from 'node:http';
import { type Request, type Response, Router } from 'express';
import { AppError, errorMiddleware, notFoundHandler, renderProtocolError } from '../../common/errors';
import { recordedReason } from '../dataplane';
import type { ModelRoute, VersionRoute } from '../routing/route-state';
import { type HeaderSource, selectionOf } from '../selection';
import { type CallLocals, type ProtocolDeps, relay } from './oip-v2';
import { rawJsonBody } from './raw-json';
import { checkNumbers, isObject } from './rows';

// Express 5's string paths cannot express "name:predict", so these two are regular expressions.
const PREDICT = /^\/models\/([^/:]+)(?:\/versions\/([^/:]+)|\/labels\/([^/:]+))?:predict$/;
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

function status(model: ModelRoute, v: VersionRoute) {
  const up = v.upstreams.some((u) => u.available());
  return {
    model_version_status: [
      {
        version: v.version,
        state: up ? 'AVAILABLE' : 'UNAVAILABLE',
        status: {
          error_code: up ? 'OK' : 'UNAVAILABLE',
          error_message: up ? '' : `no live instance of ${model.name}/${v.version}`,
        },
      },
    ],
  };
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

  const lookup = (req: Request, m: RegExpExecArray) => {
    const model = plane.resolveModel(m[1]!);
    const choice = plane.choose(model, selectionOf(req, model, { version: m[2], label: m[3] }));
    return { model, choice };
  };

  router.get(STATUS, (req: Request, res: Response) => {
    const m = STATUS.exec(req.path)!;
    const { model, choice } = lookup(req, m);
    res.setHeader('X-Model-Version', choice.version.version);
    res.locals.version = choice.version.version;
    res.json(m[4] ? metadata(model, choice.version) : status(model, choice.version));
  });

  router.post(PREDICT, ...rawJsonBody(deps.bodyLimit), (req: Request, res: Response) => {
    const m = PREDICT.exec(req.path)!;
    return tfPredict(
      deps,
      req,
      res,
      res.locals as CallLocals,
      m[1]!,
      m[2],
      m[3],
      req.body as Buffer,
      res.locals.json,
    );
  });

  router.use(notFoundHandler());
  router.use(errorMiddleware(deps.logger, renderProtocolError));
  return router;
}

/** POST /v1/models/M[/versions/V|/labels/L]:predict once the body is read and parsed: shared by the
 * Express route and the prediction fast path. Names are taken from the path as sent, undecoded. */
export async function tfPredict(
  deps: Pick<ProtocolDeps, 'plane' | 'maxBatchRows'>,
  req: HeaderSource,
  res: ServerResponse,
  locals: CallLocals,
  modelName: string,
  versionName: string | undefined,
  labelName: string | undefined,
  raw: Buffer,
  json: unknown,
): Promise<void> {
  const { plane } = deps;
  const startedAt = plane.now();
  const requestId = locals.requestId;
  const model = plane.resolveModel(modelName);
  const choice = plane.choose(model, selectionOf(req, model, { version: versionName, label: labelName }));
  locals.model = model.name;
  locals.reason = recordedReason(choice.reason);
  locals.unit = choice.unit;
  res.setHeader('X-Model-Version', choice.version.version);
  const width = choice.version.inputWidth;
  checkRows(rowsOf(json), width, deps.maxBatchRows);
  const modelPath = `/v1/models/${encodeURIComponent(model.name)}/versions/`;
  const request = (v: VersionRoute) => ({
    method: 'POST' as const,
    path: `${modelPath}${encodeURIComponent(v.version)}:predict`,
    body: raw,
    headers: { 'content-type': 'application/json', 'x-request-id': requestId },
  });
  const result = await plane.forward(choice, request, (v) => v.inputWidth === width);
  relay(res, locals, result.version.version, result.failoverFrom, result.response);
  if (result.response.status < 400) {
    plane.recordAnswer({ requestId, route: '/v1/predict', startedAt }, result);
    plane.maybeShadow(result, undefined, request, { requestId, route: '/v1/predict' });
  }
}
