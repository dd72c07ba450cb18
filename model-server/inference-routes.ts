/** The inference routes, served on plain `node:http` rather than through Express: on a busy server
 * Express's router, its `res.send` and the middleware chain cost more CPU per request than the
 * predict of a small model (bench/README.md, the model-server profile). One regular expression per
 * protocol recognises them; the body is read once (common/body-limit.ts) and the answer is written
 * as the routers wrote it. Everything else (health, metadata, status) stays on the Express routers. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readJsonBody } from '../common/body-limit';
import { AppError, renderProtocolError, writeError } from '../common/errors';
import { decodePathSegment, writeJsonText } from '../common/http';
import type { Logger } from '../common/logger';
import { inferResponseJson, parseInferRequest } from './protocol/oip-v2';
import { type ProtocolDeps, servedTargetError } from './protocol/served';
import { parsePredictRequest, predictResponseJson } from './protocol/tf-serving';

/** `POST /v2/models/M[/versions/V]/infer`, case-insensitive with an optional trailing slash, as the
 * Express route matched it. */
const OIP_INFER = /^\/v2\/models\/([^/]+)(?:\/versions\/([^/]+))?\/infer\/?$/i;
/** `POST /v1/models/M[/versions/V]:verb`: the colon is part of the last segment. */
const TF_VERB = /^\/v1\/models\/([^/:]+)(?:\/versions\/([^/:]+))?:([A-Za-z]+)$/;

export type InferenceRoute = {
  protocol: 'oip' | 'tf';
  model: string;
  version: string | undefined;
  /** TF Serving's verb; only "predict" is answered. */
  verb?: string;
};

/** The inference route a request names, if any (`path` without its query string). */
export function matchInferenceRoute(method: string | undefined, path: string): InferenceRoute | undefined {
  if (method !== 'POST') return undefined;
  const oip = OIP_INFER.exec(path);
  if (oip) return { protocol: 'oip', model: oip[1]!, version: oip[2] };
  const tf = TF_VERB.exec(path);
  if (tf) return { protocol: 'tf', model: tf[1]!, version: tf[2], verb: tf[3]! };
  return undefined;
}

export interface InferenceRoutesDeps {
  protocol: Pick<ProtocolDeps, 'model' | 'predict'>;
  bodyLimitBytes: number;
  logger: Logger;
  /** Counts a failed request by its error code, as the Express routes' error handler does. */
  countError(err: unknown): void;
}

export function inferenceRoutes(deps: InferenceRoutesDeps) {
  const { model, predict } = deps.protocol;
  const answer = async (route: InferenceRoute, json: unknown): Promise<string> => {
    if (route.protocol === 'oip') {
      const request = parseInferRequest(json, model);
      return inferResponseJson(model, request, await predict(request.rows, request.n));
    }
    const request = parsePredictRequest(json, model);
    return predictResponseJson(model, request, await predict(request.rows, request.n));
  };
  return function serveInference(
    req: IncomingMessage,
    res: ServerResponse,
    route: InferenceRoute,
    path: string,
  ): void {
    const fail = (err: unknown) => {
      deps.countError(err);
      writeError(res, err, { logger: deps.logger, path, render: renderProtocolError });
    };
    // The path's names are checked before the body is read, as the Express route's middleware did.
    Promise.resolve()
      .then(() => {
        if (route.verb !== undefined && route.verb !== 'predict') {
          throw new AppError(
            'not_found',
            `":${route.verb}" is not supported; this server answers ":predict" only`,
          );
        }
        const wrong = servedTargetError(
          model,
          decodePathSegment(route.model),
          decodePathSegment(route.version),
        );
        if (wrong) throw wrong;
        return readJsonBody({ req, res, limitBytes: deps.bodyLimitBytes });
      })
      .then(({ json }) => answer(route, json))
      .then((text) => writeJsonText(res, text))
      .catch(fail);
  };
}
