/** The prediction routes, served on plain `node:http`: one regular expression recognises them, the
 * body is read once (common/body-limit.ts) and handed to the protocol's handler as one call
 * object. Errors take the route's wire shape: the protocols' `{"error": "..."}` on OIP v2 and TF
 * Serving, modelgate's `{"error": {...}}` on the JSON API. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readJsonBody } from '../common/body-limit';
import { renderProtocolError, writeError } from '../common/errors';
import { decodePathSegment } from '../common/http';
import type { Logger } from '../common/logger';
import type { jsonApi } from './json-api/predict';
import { type CallLocals, headerSource, type PredictionCall } from './prediction-call';
import { oipInfer, type ProtocolDeps } from './protocol/oip-v2';
import { tfPredict } from './protocol/tf-serving';

/** 1: OIP model, 2: OIP version; 3: TF model, 4: TF version, 5: TF label; 6: "predict", 7: "/batch".
 * Case-insensitive with an optional trailing slash, as Express routes match by default. */
const PREDICTION_PATH =
  /^\/(?:v2\/models\/([^/]+)(?:\/versions\/([^/]+))?\/infer|v1\/models\/([^/:]+)(?:\/versions\/([^/:]+)|\/labels\/([^/:]+))?:predict|(predict)(\/batch)?)\/?$/i;

export type PredictionRoute =
  | { kind: 'oip'; model: string; version: string | undefined }
  | { kind: 'tf'; model: string; version: string | undefined; label: string | undefined }
  | { kind: 'predict' | 'batch' };

/** The prediction route a POST to `path` (without query string) names, if any. */
export function matchPredictionRoute(method: string | undefined, path: string): PredictionRoute | undefined {
  if (method !== 'POST') return undefined;
  const m = PREDICTION_PATH.exec(path);
  if (!m) return undefined;
  if (m[1] !== undefined) return { kind: 'oip', model: m[1], version: m[2] };
  if (m[3] !== undefined) return { kind: 'tf', model: m[3], version: m[4], label: m[5] };
  return { kind: m[7] === undefined ? 'predict' : 'batch' };
}

export interface PredictionRoutesDeps {
  protocol: Pick<ProtocolDeps, 'plane' | 'maxBatchRows'>;
  json: ReturnType<typeof jsonApi>;
  logger: Logger;
  bodyLimitBytes: number;
}

function invoke(deps: PredictionRoutesDeps, route: PredictionRoute, call: PredictionCall): Promise<void> {
  switch (route.kind) {
    case 'oip':
      return oipInfer(deps.protocol, {
        ...call,
        model: decodePathSegment(route.model)!,
        version: decodePathSegment(route.version),
      });
    case 'tf':
      return tfPredict(deps.protocol, {
        ...call,
        model: route.model,
        version: route.version,
        label: route.label,
      });
    case 'predict':
      return deps.json.predict(call);
    case 'batch':
      return deps.json.batch(call);
  }
}

export function predictionRoutes(deps: PredictionRoutesDeps) {
  return function servePrediction(
    req: IncomingMessage,
    res: ServerResponse,
    locals: CallLocals,
    route: PredictionRoute,
    path: string,
  ): void {
    const render = route.kind === 'oip' || route.kind === 'tf' ? renderProtocolError : undefined;
    const fail = (err: unknown) =>
      writeError(res, err, { logger: deps.logger, path, ...(render ? { render } : {}) });
    readJsonBody({ req, res, limitBytes: deps.bodyLimitBytes })
      .then(({ raw, json }) => invoke(deps, route, { headers: headerSource(req), res, locals, raw, json }))
      .catch(fail);
  };
}
