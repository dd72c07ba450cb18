/** KServe Open Inference Protocol v2 through the gateway: health, metadata and readiness here (an
 * Express router), inference as `oipInfer`, which the prediction routes call. Inference is routed
 * like /predict when the path names no version, and the caller's body is forwarded as is, the path
 * rewritten to the chosen version. Errors use the protocol's `{"error": "..."}` shape. */
import type { ServerResponse } from 'node:http';
import { type Request, type Response, Router } from 'express';
import { AppError, errorMiddleware, notFoundHandler, renderProtocolError } from '../../common/errors';
import type { Logger } from '../../common/logger';
import { type DataPlane, recordedReason } from '../dataplane';
import type { CallLocals, PredictionCall } from '../prediction-call';
import type { ModelRoute, VersionRoute } from '../routing/route-state';
import { selectionOf } from '../selection';
import { isLive, namesOneVersion, primaryVersion, versionsInOrder } from './model-view';
import { checkNumbers, isObject } from './rows';

export interface ProtocolDeps {
  plane: DataPlane;
  logger: Logger;
  maxBatchRows: number;
  isReady(): boolean;
  serverVersion: string;
}

function versionMetadata(model: ModelRoute, v: VersionRoute, versions: string[] = [v.version]) {
  return {
    name: model.name,
    versions,
    platform: 'tensorflowjs',
    inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, v.inputWidth] }],
    outputs: [
      { name: 'probabilities', datatype: 'FP32', shape: [-1, v.labels.length] },
      { name: 'label', datatype: 'BYTES', shape: [-1] },
    ],
  };
}

/** Validates an infer body and returns its row count; the width must match the chosen version. */
function checkInferBody(body: unknown, width: number, maxRows: number): number {
  if (!isObject(body)) throw new AppError('invalid_input', 'infer request body must be a JSON object');
  const inputs = body.inputs;
  if (!Array.isArray(inputs) || inputs.length === 0) {
    throw new AppError('invalid_input', 'infer request needs a non-empty "inputs" array');
  }
  const input = inputs[0] as unknown;
  if (!isObject(input) || !Array.isArray(input.shape) || !Array.isArray(input.data)) {
    throw new AppError('invalid_input', 'inputs[0] needs "name", "shape", "datatype" and "data"');
  }
  const shape = input.shape as unknown[];
  if (shape.length < 2 || !shape.every((d) => Number.isInteger(d) && (d as number) > 0)) {
    throw new AppError(
      'invalid_input',
      `inputs[0].shape must be [rows, ${width}], got ${JSON.stringify(shape)}`,
    );
  }
  const rows = shape[0] as number;
  const rowWidth = (shape.slice(1) as number[]).reduce((a, b) => a * b, 1);
  if (rowWidth !== width) {
    throw new AppError(
      'invalid_input',
      `inputs[0].shape must be [rows, ${width}] for this model, got ${JSON.stringify(shape)}`,
    );
  }
  if (rows > maxRows) throw new AppError('invalid_input', `at most ${maxRows} rows per request, got ${rows}`);
  const data = (input.data as unknown[]).flat(Number.POSITIVE_INFINITY);
  if (data.length !== rows * width) {
    throw new AppError(
      'invalid_input',
      `inputs[0].data holds ${data.length} values but shape ${JSON.stringify(shape)} needs ${rows * width}`,
    );
  }
  checkNumbers(data, 'inputs[0].data');
  return rows;
}

export function oipV2Router(deps: ProtocolDeps): Router {
  const { plane } = deps;
  const router = Router();

  router.get('/', (_req, res) => {
    res.json({ name: 'modelgate', version: deps.serverVersion, extensions: [] });
  });
  router.get('/health/live', (_req, res) => {
    res.json({ live: true });
  });
  router.get('/health/ready', (_req, res) => {
    const ready = deps.isReady();
    res
      .status(ready ? 200 : 503)
      .json(ready ? { ready } : { error: 'no routing table with a live upstream yet' });
  });

  const lookup = (req: Request) => {
    const model = plane.resolveModel(String(req.params.model));
    const named = req.params.version === undefined ? undefined : String(req.params.version);
    const selection = selectionOf(req, model, { version: named });
    return { model, selection, choose: () => plane.choose(model, selection) };
  };

  const metadata = (req: Request, res: Response) => {
    const { model, selection, choose } = lookup(req);
    if (!namesOneVersion(selection)) {
      // The model as a whole: its live versions, its shape from the version with most traffic.
      const live = versionsInOrder(model).filter(isLive);
      res.json(
        versionMetadata(
          model,
          primaryVersion(model),
          live.map((v) => v.version),
        ),
      );
      return;
    }
    const choice = choose();
    res.setHeader('X-Model-Version', choice.version.version);
    res.locals.version = choice.version.version;
    res.json(versionMetadata(model, choice.version));
  };
  const ready = (req: Request, res: Response) => {
    const { model, selection, choose } = lookup(req);
    if (!namesOneVersion(selection)) {
      const live = versionsInOrder(model).filter(isLive);
      if (live.length === 0) throw new AppError('not_ready', `model "${model.name}" has no live instance`);
      res.json({ name: model.name, ready: true, versions: live.map((v) => v.version) });
      return;
    }
    const choice = choose();
    const up = choice.version.upstreams.some((u) => u.available());
    res.setHeader('X-Model-Version', choice.version.version);
    if (!up)
      throw new AppError(
        'not_ready',
        `model "${model.name}" version "${choice.version.version}" has no live instance`,
      );
    res.json({ name: model.name, version: choice.version.version, ready: true });
  };
  router.get('/models/:model', metadata);
  router.get('/models/:model/versions/:version', metadata);
  router.get('/models/:model/ready', ready);
  router.get('/models/:model/versions/:version/ready', ready);

  router.use(notFoundHandler());
  router.use(errorMiddleware(deps.logger, renderProtocolError));
  return router;
}

/** POST /v2/models/M[/versions/V]/infer once the body is read and parsed. */
export async function oipInfer(
  deps: Pick<ProtocolDeps, 'plane' | 'maxBatchRows'>,
  call: PredictionCall & { model: string; version: string | undefined },
): Promise<void> {
  const { plane } = deps;
  const { res, locals } = call;
  const startedAt = plane.now();
  const requestId = locals.requestId;
  const model = plane.resolveModel(call.model);
  const choice = plane.choose(model, selectionOf(call.headers, model, { version: call.version }));
  locals.model = model.name;
  locals.reason = recordedReason(choice.reason);
  locals.unit = choice.unit;
  res.setHeader('X-Model-Version', choice.version.version);
  const width = choice.version.inputWidth;
  checkInferBody(call.json, width, deps.maxBatchRows);
  const modelPath = `/v2/models/${encodeURIComponent(model.name)}/versions/`;
  const request = (v: VersionRoute) => ({
    method: 'POST' as const,
    path: `${modelPath}${encodeURIComponent(v.version)}/infer`,
    body: call.raw,
    headers: { 'content-type': 'application/json', 'x-request-id': requestId },
  });
  const result = await plane.forward(choice, request, {
    accepts: (v) => v.inputWidth === width,
    cacheInput: call.raw,
  });
  relay(res, locals, result.version.version, result.failoverFrom, result.response);
  if (result.response.status < 400) {
    plane.recordAnswer({ requestId, route: '/v2/infer', startedAt }, result);
    plane.maybeShadow(result, undefined, request, { requestId, route: '/v2/infer' });
  }
}

/** Sends the model-server's answer on as it came, with the routing headers. */
export function relay(
  res: ServerResponse,
  locals: CallLocals,
  version: string,
  failoverFrom: string | undefined,
  upstream: { status: number; headers: Record<string, string | string[] | undefined>; body: Buffer },
): void {
  locals.version = version;
  res.setHeader('X-Model-Version', version);
  if (failoverFrom !== undefined) res.setHeader('X-Model-Failover', `${failoverFrom}->${version}`);
  const type = upstream.headers['content-type'];
  res.statusCode = upstream.status;
  res.setHeader('Content-Type', typeof type === 'string' ? type : 'application/json');
  res.end(upstream.body);
}
