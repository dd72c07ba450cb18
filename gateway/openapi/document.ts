/** The OpenAPI 3 document of every gateway endpoint: the seed endpoints from the zod schemas that
 * validate their requests, feedback and the report, the KServe Open Inference Protocol v2 and
 * TensorFlow Serving REST surfaces, health routes and /metrics. Examples come from the shipped
 * penguins sample (examples.ts), so "Try it out" answers 2xx. */
import { OpenAPIRegistry, OpenApiGeneratorV3, type RouteConfig } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import { feedbackSchema } from '../experiments/index';
import {
  errorResponseSchema,
  healthResponseSchema,
  modelInfoResponseSchema,
  predictBatchRequestSchema,
  predictBatchResponseSchema,
  predictRequestSchema,
  predictResponseSchema,
  readyResponseSchema,
} from '../schemas';
import { EXAMPLE_LABEL, EXAMPLE_MODEL, EXAMPLE_REQUEST_ID, EXAMPLE_ROWS } from './examples';

const json = <T extends z.ZodType>(schema: T, description: string) => ({
  description,
  content: { 'application/json': { schema } },
});

const errors = {
  400: json(errorResponseSchema, 'Invalid input: the message says which field and why.'),
  401: json(errorResponseSchema, 'API key missing or wrong (only when API_KEYS is set).'),
  404: json(errorResponseSchema, 'Unknown model, version or label; the message lists what exists.'),
  413: json(errorResponseSchema, 'Body larger than BODY_LIMIT.'),
  415: json(errorResponseSchema, 'Content-Type is not application/json.'),
  429: json(errorResponseSchema, 'Rate limited; see Retry-After.'),
  503: json(errorResponseSchema, 'No healthy upstream (circuit open or no live instance); see Retry-After.'),
  504: json(errorResponseSchema, 'The model-server did not answer in time.'),
};

const routingHeaders = z.object({
  'x-model-version': z.string().optional().openapi({ description: 'Pin a version.' }),
  'x-model-label': z
    .string()
    .optional()
    .openapi({ description: 'Pick the version behind a label, e.g. canary.' }),
  'x-request-id': z.string().optional().openapi({ description: 'Echoed back; generated when absent.' }),
});

const answerHeaders = {
  'X-Model-Version': { description: 'The version that answered.', schema: { type: 'string' as const } },
  'X-Model-Failover': {
    description: 'Present after a failover: "<chosen>-><answered>".',
    schema: { type: 'string' as const },
  },
  'X-Request-Id': { description: 'The request id.', schema: { type: 'string' as const } },
};

export function buildOpenApiDocument(options: { maxBatchRows: number; version: string }) {
  const registry = new OpenAPIRegistry();
  registry.registerComponent('securitySchemes', 'apiKey', { type: 'http', scheme: 'bearer' });
  const secured = [{ apiKey: [] }];
  const paths: RouteConfig[] = [
    {
      method: 'get',
      path: '/health',
      summary: 'Liveness: the process is up.',
      responses: { 200: json(healthResponseSchema, 'Healthy.') },
    },
    {
      method: 'get',
      path: '/ready',
      summary: 'Readiness: a routing table with at least one live upstream.',
      responses: {
        200: json(readyResponseSchema, 'Ready.'),
        503: json(readyResponseSchema, 'Not ready; details say why.'),
      },
    },
    {
      method: 'post',
      path: '/predict',
      summary: 'Predict one row; the version is chosen by pin, label, sticky key or the weighted split.',
      security: secured,
      request: {
        headers: routingHeaders,
        body: { required: true, content: { 'application/json': { schema: predictRequestSchema } } },
      },
      responses: {
        200: { ...json(predictResponseSchema, 'The prediction.'), headers: answerHeaders },
        ...errors,
      },
    },
    {
      method: 'post',
      path: '/predict/batch',
      summary: `Predict 1 to MAX_BATCH_ROWS (default ${options.maxBatchRows}) rows with one version, order kept.`,
      security: secured,
      request: {
        headers: routingHeaders,
        body: {
          required: true,
          content: { 'application/json': { schema: predictBatchRequestSchema(options.maxBatchRows) } },
        },
      },
      responses: {
        200: { ...json(predictBatchResponseSchema, 'One prediction per row.'), headers: answerHeaders },
        ...errors,
      },
    },
    {
      method: 'get',
      path: '/model/info',
      summary: 'Models, versions with metadata summaries, and the live split.',
      security: secured,
      responses: { 200: json(modelInfoResponseSchema, 'What the gateway routes to.') },
    },
  ];
  paths.push(...moreRoutes(secured));
  for (const p of paths) registry.registerPath(p);
  const generator = new OpenApiGeneratorV3(registry.definitions);
  return generator.generateDocument({
    openapi: '3.0.3',
    info: {
      title: 'modelgate gateway',
      version: options.version,
      description:
        'Serves TensorFlow.js models and runs A/B experiments between versions. Also speaks KServe Open ' +
        'Inference Protocol v2 under /v2 and TensorFlow Serving REST under /v1. Every JSON key is snake_case.',
    },
    servers: [{ url: '/' }],
  });
}

const anyObject = (name: string, description: string) =>
  z.record(z.string(), z.unknown()).openapi(name, { description });
const protocolError = json(
  z.object({ error: z.string() }).openapi('ProtocolError'),
  'The protocol\'s own error shape: {"error": "..."}; 400 bad input, 404 unknown model or version, 503 no live instance.',
);
const modelParam = z.string().openapi({ param: { name: 'model', in: 'path' }, example: EXAMPLE_MODEL });
const versionParam = z.string().openapi({ param: { name: 'version', in: 'path' }, example: '1' });
const labelParam = z.string().openapi({ param: { name: 'label', in: 'path' }, example: 'canary' });
const oipInferBody = z
  .object({
    id: z.string().optional(),
    inputs: z.array(
      z.object({
        name: z.string(),
        shape: z.array(z.number().int()),
        datatype: z.string(),
        data: z.array(z.unknown()),
      }),
    ),
  })
  .openapi('OipInferRequest', {
    example: {
      inputs: [
        { name: 'input', shape: [1, EXAMPLE_ROWS[0]!.length], datatype: 'FP32', data: [...EXAMPLE_ROWS[0]!] },
      ],
    },
  });
const tfPredictBody = z
  .object({ instances: z.array(z.unknown()).optional(), inputs: z.unknown().optional() })
  .openapi('TfPredictRequest', {
    description: 'Rows as "instances" (row format) or "inputs" (columnar), not both.',
    example: { instances: EXAMPLE_ROWS.map((r) => [...r]) },
  });
const jsonBody = <T extends z.ZodType>(schema: T) => ({
  body: { required: true, content: { 'application/json': { schema } } },
});

/** Routes beyond the seed: feedback, the report, the evidence listing, metrics, OIP v2, TF Serving. */
function moreRoutes(secured: { apiKey: never[] }[]): RouteConfig[] {
  const v2Model = (path: string, summary: string, response: string): RouteConfig => ({
    method: 'get',
    path,
    summary,
    security: secured,
    request: {
      params: z.object({
        model: modelParam,
        ...(path.includes('{version}') ? { version: versionParam } : {}),
      }),
    },
    responses: { 200: json(anyObject(response, summary), summary), 404: protocolError, 503: protocolError },
  });
  const tfPath = (suffix: string) => ({
    model: modelParam,
    ...(suffix.includes('{version}') ? { version: versionParam } : {}),
    ...(suffix.includes('{label}') ? { label: labelParam } : {}),
  });
  return [
    {
      method: 'post',
      path: '/feedback',
      summary:
        'Ground truth for an earlier prediction: its request_id (a batch row: "<id>:<row>") and the true label.',
      security: secured,
      request: jsonBody(
        // Rebuilt from the validating schema's fields, as that one is made before zod is extended.
        z
          .object(feedbackSchema.shape)
          .strict()
          .openapi('FeedbackRequest', {
            example: { request_id: EXAMPLE_REQUEST_ID, label: EXAMPLE_LABEL },
          }),
      ),
      responses: {
        200: json(
          anyObject('FeedbackRepeated', 'The same label again'),
          'The same label was already recorded.',
        ),
        201: json(
          anyObject('FeedbackCreated', 'Recorded'),
          'Recorded: the prediction, the label and whether it was correct.',
        ),
        ...errors,
        409: json(errorResponseSchema, 'Another label was already given for this prediction.'),
      },
    },
    {
      method: 'get',
      path: '/experiments/{model}',
      summary:
        "The running experiment's report (always-valid verdicts per candidate and metric, SRM check, next step), or, when the model runs no experiment, `experiment: null` with counts per version and the command that starts one.",
      security: secured,
      request: { params: z.object({ model: modelParam }) },
      responses: { 200: json(anyObject('ExperimentReport', 'The report'), 'The report.'), ...errors },
    },
    {
      method: 'get',
      path: '/predictions',
      summary: 'Recorded predictions, newest first, with their feedback (admin token).',
      security: [{ apiKey: [] }],
      request: {
        query: z.object({
          model: z.string().optional().openapi({ example: EXAMPLE_MODEL }),
          version: z.string().optional(),
          since: z.string().optional(),
          until: z.string().optional(),
          limit: z.string().optional().openapi({ example: '10' }),
          cursor: z.string().optional(),
        }),
      },
      responses: { 200: json(anyObject('PredictionsPage', 'A page'), 'A page of predictions.'), ...errors },
    },
    {
      method: 'get',
      path: '/metrics',
      summary: 'Prometheus metrics of this gateway (names in docs/metrics.md).',
      responses: {
        200: { description: 'Prometheus text format.', content: { 'text/plain': { schema: z.string() } } },
      },
    },
    {
      method: 'get',
      path: '/v2',
      summary: 'OIP v2 server metadata.',
      responses: {
        200: json(anyObject('OipServerMetadata', 'Server metadata'), 'Name, version, extensions.'),
      },
    },
    {
      method: 'get',
      path: '/v2/health/live',
      summary: 'OIP v2 liveness.',
      responses: { 200: json(z.object({ live: z.boolean() }).openapi('OipLive'), 'Live.') },
    },
    {
      method: 'get',
      path: '/v2/health/ready',
      summary: 'OIP v2 readiness: a routing table with a live upstream.',
      responses: {
        200: json(z.object({ ready: z.boolean() }).openapi('OipReady'), 'Ready.'),
        503: protocolError,
      },
    },
    v2Model('/v2/models/{model}', 'Model metadata: every live version, in name order.', 'OipModelMetadata'),
    v2Model('/v2/models/{model}/versions/{version}', 'Metadata of one version.', 'OipVersionMetadata'),
    v2Model('/v2/models/{model}/ready', 'Whether any version of the model is live.', 'OipModelReady'),
    v2Model('/v2/models/{model}/versions/{version}/ready', 'Whether the version is live.', 'OipVersionReady'),
    ...['/v2/models/{model}/infer', '/v2/models/{model}/versions/{version}/infer'].map(
      (path): RouteConfig => ({
        method: 'post',
        path,
        summary: path.includes('{version}')
          ? 'OIP v2 inference on one version.'
          : 'OIP v2 inference, routed like /predict.',
        security: secured,
        request: {
          headers: routingHeaders,
          params: z.object({
            model: modelParam,
            ...(path.includes('{version}') ? { version: versionParam } : {}),
          }),
          ...jsonBody(oipInferBody),
        },
        responses: {
          200: {
            ...json(anyObject('OipInferResponse', 'Outputs'), 'probabilities and label outputs.'),
            headers: answerHeaders,
          },
          400: protocolError,
          404: protocolError,
          503: protocolError,
        },
      }),
    ),
    ...['/v1/models/{model}', '/v1/models/{model}/versions/{version}', '/v1/models/{model}/metadata'].map(
      (path): RouteConfig => ({
        method: 'get',
        path,
        summary: path.endsWith('/metadata')
          ? 'TF Serving model metadata (signature of the version with most traffic).'
          : path.includes('{version}')
            ? 'TF Serving status of one version.'
            : 'TF Serving status of every version, in name order.',
        security: secured,
        request: { params: z.object(tfPath(path)) },
        responses: {
          200: json(
            anyObject(path.endsWith('/metadata') ? 'TfMetadata' : 'TfStatus', 'Status'),
            'Status or metadata.',
          ),
          404: protocolError,
        },
      }),
    ),
    ...[
      '/v1/models/{model}:predict',
      '/v1/models/{model}/versions/{version}:predict',
      '/v1/models/{model}/labels/{label}:predict',
    ].map(
      (path): RouteConfig => ({
        method: 'post',
        path,
        summary: 'TF Serving predict: routed like /predict unless the path names a version or label.',
        security: secured,
        request: { headers: routingHeaders, params: z.object(tfPath(path)), ...jsonBody(tfPredictBody) },
        responses: {
          200: {
            ...json(anyObject('TfPredictResponse', 'Predictions'), '{"predictions": [[...probabilities]]}.'),
            headers: answerHeaders,
          },
          400: protocolError,
          404: protocolError,
          503: protocolError,
        },
      }),
    ),
  ];
}
