/** POST /predict and /predict/batch: modelgate's own JSON shape, translated to OIP v2 upstream. */
import type { z } from 'zod';
import { AppError } from '../../common/errors';
import { writeJson } from '../../common/http';
import { type DataPlane, recordedReason } from '../dataplane';
import { isPositional, type RowInput } from '../features/rows';
import { oipInferBody, rowsFromOipResponse } from '../oip-rows';
import type { PredictionCall } from '../prediction-call';
import type { VersionRoute } from '../routing/route-state';
import { type PredictBatchRequest, predictBatchRequestSchema, predictRequestSchema } from '../schemas';
import { selectionOf } from '../selection';

export function parseBody<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new AppError('invalid_input', 'request body must be a JSON object');
  }
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  const details = parsed.error.issues
    .flatMap(matchedBranch)
    .slice(0, 20)
    .map((i) => ({ path: i.path.join('.'), message: i.message }));
  const first = details[0]!;
  throw new AppError(
    'invalid_input',
    `${first.path || 'body'}: ${first.message}${details.length > 1 ? ` (and ${details.length - 1} more)` : ''}`,
    details,
  );
}

type Issue = z.core.$ZodIssue;

/** A union (positional array or named object) reports every branch; the caller meant the branch
 * whose type matched, so its issues are what they need to read. */
function matchedBranch(issue: Issue): Issue[] {
  if (issue.code !== 'invalid_union') return [issue];
  const matched = issue.errors.find(
    (branch) => !(branch.length === 1 && branch[0]!.code === 'invalid_type' && branch[0]!.path.length === 0),
  );
  if (!matched) return [issue];
  return matched.flatMap((i) => matchedBranch({ ...i, path: [...issue.path, ...i.path] } as Issue));
}

const inferPath = (model: string, v: VersionRoute) =>
  `/v2/models/${encodeURIComponent(model)}/versions/${encodeURIComponent(v.version)}/infer`;

/** Row i of a batch: instances[i] (positional or named), looked up by entities[i] when given. */
function batchRows(input: PredictBatchRequest): RowInput[] {
  const { instances, entities } = input;
  const n = instances?.length ?? entities?.length ?? 0;
  return Array.from({ length: n }, (_, i): RowInput => {
    const row = instances?.[i];
    if (Array.isArray(row)) return row;
    return { features: row, entity: entities?.[i] };
  });
}

export interface PredictDeps {
  plane: DataPlane;
  maxBatchRows: number;
}

interface RowsCall {
  call: PredictionCall;
  route: '/predict' | '/predict/batch';
  modelName: string | undefined;
  inputs: readonly RowInput[];
  userId: string | undefined;
  /** Writes the answer: JSON on the response for REST, captured by GraphQL's resolvers. */
  send(body: unknown): void;
}

/** POST /predict and /predict/batch once the body is read and parsed. */
export function jsonApi(deps: PredictDeps) {
  const { plane } = deps;
  const batchSchema = predictBatchRequestSchema(deps.maxBatchRows);

  async function run({ call, route, modelName, inputs, userId, send }: RowsCall) {
    const { res, locals } = call;
    const batch = route === '/predict/batch';
    const startedAt = plane.now();
    const requestId = locals.requestId;
    const model = plane.resolveModel(modelName);
    locals.model = model.name;
    const choice = plane.choose(model, selectionOf(call.headers, model, {}, userId));
    // Says which version was chosen even when the request fails before or at the upstream.
    res.setHeader('X-Model-Version', choice.version.version);
    locals.version = choice.version.version;
    locals.reason = recordedReason(choice.reason);
    locals.unit = choice.unit;
    const encoded = plane.encodeRows(model, choice.version, inputs);
    const rows = Array.isArray(encoded) ? encoded : await encoded;
    plane.checkRows(model, choice.version, rows);
    const width = choice.version.inputWidth;
    // Named features were encoded with the chosen version's spec: a failover target must share it.
    const named = !inputs.every(isPositional);
    const specKey = choice.version.specKey;
    const upstreamBody = oipInferBody(rows, width, requestId);
    const request = (v: VersionRoute) => ({
      method: 'POST' as const,
      path: inferPath(model.name, v),
      body: upstreamBody,
      headers: { 'content-type': 'application/json', 'x-request-id': requestId },
    });
    const result = await plane.forward(choice, request, {
      accepts: named ? (v) => v.inputWidth === width && v.specKey === specKey : (v) => v.inputWidth === width,
      cacheInput: JSON.stringify(rows),
    });
    const version = result.version.version;
    locals.version = version;
    res.setHeader('X-Model-Version', version);
    const failover =
      result.failoverFrom === undefined ? undefined : { from: result.failoverFrom, to: version };
    if (failover) res.setHeader('X-Model-Failover', `${failover.from}->${failover.to}`);
    if (result.response.status >= 400) throw relayError(result.response.status, result.response.body);
    const predictions = rowsFromOipResponse(result.response.body, rows.length, result.version.labels);
    const head = { model: model.name, version, request_id: requestId, ...(failover ? { failover } : {}) };
    if (batch) {
      send({
        predictions: predictions.map((p, i) => ({ ...p, request_id: `${requestId}:${i}` })),
        ...head,
      });
    } else {
      send({ ...predictions[0]!, ...head });
    }
    const ctx = { requestId, route, startedAt, batch };
    setImmediate(() => plane.recordRows(ctx, result, predictions));
    plane.maybeShadow(
      result,
      predictions.map((p) => p.prediction),
      request,
      { requestId, route },
      named,
    );
  }

  return {
    predict(call: PredictionCall, send: (body: unknown) => void = (b) => writeJson(call.res, b)) {
      const input = parseBody(predictRequestSchema, call.json);
      const row: RowInput = Array.isArray(input.features)
        ? input.features
        : { features: input.features, entity: input.entity };
      return run({
        call,
        route: '/predict',
        modelName: input.model,
        inputs: [row],
        userId: input.user_id,
        send,
      });
    },
    batch(call: PredictionCall, send: (body: unknown) => void = (b) => writeJson(call.res, b)) {
      const input = parseBody(batchSchema, call.json);
      return run({
        call,
        route: '/predict/batch',
        modelName: input.model,
        inputs: batchRows(input),
        userId: input.user_id,
        send,
      });
    },
  };
}

/** A 4xx from the model-server (it validated more than we do) is passed on with its message. */
export function relayError(status: number, body: Buffer): AppError {
  let message = `model-server answered ${status}`;
  try {
    const json = JSON.parse(body.toString('utf8')) as { error?: unknown };
    if (typeof json.error === 'string') message = json.error;
    else if (json.error && typeof (json.error as { message?: unknown }).message === 'string') {
      message = (json.error as { message: string }).message;
    }
  } catch {
    // keep the generic message
  }
  const code =
    status === 404
      ? 'version_not_found'
      : status === 413
        ? 'payload_too_large'
        : status === 429
          ? 'rate_limited'
          : 'invalid_input';
  return new AppError(code, message);
}
