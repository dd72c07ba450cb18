/** The OpenAPI 3 document of the gateway's seed endpoints, generated from the zod schemas that
 * validate the requests. The protocol surfaces (OIP v2, TF Serving) follow their own published
 * specifications and are listed by path only. */
import { OpenAPIRegistry, OpenApiGeneratorV3, type RouteConfig } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
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
  for (const p of paths) registry.registerPath(p);
  const generator = new OpenApiGeneratorV3(registry.definitions);
  return generator.generateDocument({
    openapi: '3.0.3',
    info: {
      title: 'modelgate gateway',
      version: options.version,
      description:
        'Serves TensorFlow.js models and runs A/B experiments between versions. Also speaks KServe Open ' +
        'Inference Protocol v2 under /v2 and TensorFlow Serving REST under /v1 (see those specifications).',
    },
    servers: [{ url: '/' }],
  });
}
