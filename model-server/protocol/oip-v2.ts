/** KServe Open Inference Protocol v2 (REST) for the one served version: translates request bodies to
 * rows for `predict` and predictions back to the protocol's outputs (inference itself is served by
 * inference-routes.ts; health and metadata by this router). No inference logic here. */
import { Router } from 'express';
import { z } from 'zod';
import type { Prediction } from '../model-loader';
import { numbersJson, type ProtocolDeps, requireServedTarget } from './served';
import { copyFlat, copyNested, invalid, product } from './tensor-input';

const SERVER_NAME = 'modelgate-model-server';

const NUMERIC_DATATYPES = new Set([
  'FP16',
  'FP32',
  'FP64',
  'INT8',
  'INT16',
  'INT32',
  'INT64',
  'UINT8',
  'UINT16',
  'UINT32',
  'UINT64',
]);
const OUTPUT_NAMES = ['probabilities', 'label'] as const;
type OutputName = (typeof OUTPUT_NAMES)[number];

const inferRequestSchema = z.object({
  id: z.string().max(256).optional(),
  inputs: z
    .array(
      z.object({
        name: z.string(),
        shape: z.array(z.number().int().nonnegative()).min(1),
        datatype: z.string(),
        // Only "is a list" here: zod checking every element cost ~5% of a busy server; the values are
        // checked (with their exact position) by the typed loop that copies them into the Float32Array.
        data: z.custom<unknown[]>((v) => Array.isArray(v), { message: 'Invalid input: expected array' }),
        parameters: z.record(z.string(), z.unknown()).optional(),
      }),
    )
    .min(1),
  outputs: z
    .array(z.object({ name: z.string(), parameters: z.record(z.string(), z.unknown()).optional() }))
    .optional(),
  parameters: z.record(z.string(), z.unknown()).optional(),
});

export interface InferRequest {
  id: string | undefined;
  rows: Float32Array;
  n: number;
  outputs: readonly OutputName[];
}

function zodMessage(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((i) => `${i.path.length ? i.path.join('.') : 'body'}: ${i.message}`)
    .join('; ');
}

/** Rows in a tensor of the given shape, given the model takes `width` numbers per row. */
function rowsOf(shape: readonly number[], width: number, rowShape: readonly number[]): number {
  const expected = `[n, ${width}]${rowShape.length > 1 ? ` or [n, ${rowShape.join(', ')}]` : ''} or [${width}]`;
  if (shape.length === 1) {
    if (shape[0] === width) return 1;
    if (width === 1) return shape[0]!;
    throw invalid(`inputs[0].shape [${shape.join(', ')}] does not fit this model; send ${expected}`);
  }
  if (product(shape.slice(1)) !== width) {
    throw invalid(
      `inputs[0].shape [${shape.join(', ')}] does not fit this model: each row needs ${width} values; send ${expected}`,
    );
  }
  return shape[0]!;
}

export function parseInferRequest(body: unknown, model: ProtocolDeps['model']): InferRequest {
  const parsed = inferRequestSchema.safeParse(body);
  if (!parsed.success) throw invalid(`invalid inference request: ${zodMessage(parsed.error)}`);
  const { inputs, outputs, id } = parsed.data;
  if (inputs.length !== 1) {
    throw invalid(`this model takes one input ("${model.metadata.inputs[0]!.name}"), got ${inputs.length}`);
  }
  const input = inputs[0]!;
  if (!NUMERIC_DATATYPES.has(input.datatype)) {
    throw invalid(`inputs[0].datatype "${input.datatype}" is not supported; this model takes FP32 numbers`);
  }
  const n = rowsOf(input.shape, model.inputWidth, model.rowShape);
  if (n === 0) throw invalid('inputs[0].shape has 0 rows; send at least one row');
  const rule = { integer: input.datatype.includes('INT') };
  const rows = new Float32Array(n * model.inputWidth);
  const flat = input.data.length === 0 || !Array.isArray(input.data[0]);
  if (flat) {
    if (input.data.length !== rows.length) {
      throw invalid(
        `inputs[0].data has ${input.data.length} values but shape [${input.shape.join(', ')}] needs ${rows.length}`,
      );
    }
    copyFlat(input.data, rows, 0, 'inputs[0].data', rule);
  } else {
    copyNested(input.data, input.shape, rows, 0, 'inputs[0].data', rule);
  }
  let wanted: OutputName[] = [...OUTPUT_NAMES];
  if (outputs && outputs.length > 0) {
    wanted = outputs.map((o, i) => {
      if (!(OUTPUT_NAMES as readonly string[]).includes(o.name)) {
        throw invalid(`outputs[${i}].name "${o.name}" is unknown; this model has ${OUTPUT_NAMES.join(', ')}`);
      }
      return o.name as OutputName;
    });
  }
  return { id, rows, n, outputs: wanted };
}

export function formatInferResponse(
  model: ProtocolDeps['model'],
  request: InferRequest,
  prediction: Prediction,
) {
  const k = model.labels.length;
  const outputs = request.outputs.map((name) =>
    name === 'probabilities'
      ? { name, datatype: 'FP32', shape: [request.n, k], data: Array.from(prediction.probabilities) }
      : {
          name,
          datatype: 'BYTES',
          shape: [request.n],
          data: Array.from(prediction.classIndex, (c) => model.labels[c] ?? String(c)),
        },
  );
  return {
    model_name: model.name,
    model_version: model.version,
    ...(request.id === undefined ? {} : { id: request.id }),
    outputs,
  };
}

/** The same JSON text as `JSON.stringify(formatInferResponse(...))`, written straight from the typed
 * arrays: no Array.from copy of the probabilities and no generic object walk on the hot path. */
export function inferResponseJson(
  model: ProtocolDeps['model'],
  request: InferRequest,
  prediction: Prediction,
): string {
  const k = model.labels.length;
  let json = `{"model_name":${JSON.stringify(model.name)},"model_version":${JSON.stringify(model.version)}`;
  if (request.id !== undefined) json += `,"id":${JSON.stringify(request.id)}`;
  json += ',"outputs":[';
  for (let o = 0; o < request.outputs.length; o++) {
    const name = request.outputs[o]!;
    if (o > 0) json += ',';
    if (name === 'probabilities') {
      json += `{"name":"probabilities","datatype":"FP32","shape":[${request.n},${k}],"data":[${numbersJson(prediction.probabilities)}]}`;
    } else {
      const labels = labelsJson(model.labels);
      const data = new Array<string>(prediction.classIndex.length);
      for (let i = 0; i < data.length; i++) {
        const c = prediction.classIndex[i]!;
        data[i] = labels[c] ?? JSON.stringify(String(c));
      }
      json += `{"name":"label","datatype":"BYTES","shape":[${request.n}],"data":[${data.join(',')}]}`;
    }
  }
  return `${json}]}`;
}

const labelsCache = new WeakMap<readonly string[], string[]>();
/** Each label as a JSON string literal, computed once per model. */
function labelsJson(labels: readonly string[]): string[] {
  let cached = labelsCache.get(labels);
  if (!cached) {
    cached = labels.map((l) => JSON.stringify(l));
    labelsCache.set(labels, cached);
  }
  return cached;
}

export function modelMetadata(model: ProtocolDeps['model'], extra: Record<string, unknown>) {
  const input = model.metadata.inputs[0]!;
  return {
    name: model.name,
    versions: [model.version],
    platform: 'tensorflow_js',
    inputs: [{ name: input.name, datatype: input.datatype, shape: input.shape }],
    outputs: [
      { name: 'probabilities', datatype: 'FP32', shape: [-1, model.labels.length] },
      { name: 'label', datatype: 'BYTES', shape: [-1] },
    ],
    parameters: {
      backend: model.backend,
      format: model.metadata.format,
      description: model.metadata.description,
      features: input.features,
      labels: model.labels,
      ...extra,
    },
  };
}

export function createOipV2Router(deps: ProtocolDeps): Router {
  const router = Router();
  const target = requireServedTarget(deps.model);

  router.get('/v2', (_req, res) => {
    res.json({ name: SERVER_NAME, version: deps.serverVersion, extensions: [] });
  });
  router.get('/v2/health/live', (_req, res) => {
    res.json({ live: true });
  });
  router.get('/v2/health/ready', (_req, res) => {
    const ready = deps.isReady();
    res.status(ready ? 200 : 503).json({ ready });
  });

  const modelPaths = ['/v2/models/:model', '/v2/models/:model/versions/:version'];
  for (const base of modelPaths) {
    router.get(base, target, (_req, res) => {
      res.json(modelMetadata(deps.model, deps.parameters()));
    });
    router.get(`${base}/ready`, target, (_req, res) => {
      const ready = deps.isReady();
      res.status(ready ? 200 : 503).json({ name: deps.model.name, ready });
    });
  }
  return router;
}
