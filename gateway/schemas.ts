/** Request and response schemas of the seed endpoints. The same objects validate requests and
 * generate /openapi.json, so the document cannot drift from what the gateway accepts. */
import { extendZodWithOpenApi } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import { nameSchema } from '../common/wire';
import { EXAMPLE_MODEL, EXAMPLE_ROWS } from './openapi/examples';

extendZodWithOpenApi(z);

/** Largest finite float32: anything bigger overflows to Infinity inside the model. */
export const FP32_MAX = 3.4028234663852886e38;

export const featureValueSchema = z
  .number()
  .refine((x) => Number.isFinite(x) && Math.abs(x) <= FP32_MAX, {
    message: `must be a finite number within ±${FP32_MAX} (float32)`,
  })
  .openapi({ type: 'number', format: 'float' });

export const featuresSchema = z
  .array(featureValueSchema)
  .min(1)
  .openapi({ description: "One row of input features, as many as the model's input width." });

const userIdSchema = z
  .union([z.string().min(1).max(256), z.number()])
  .transform(String)
  .openapi({
    type: 'string',
    description: 'Sticky key: the same user always lands on the same version while weights stay put.',
  });

/** Named features: `{"bill_length_mm": 39.1, "island": "Biscoe"}`. Values are checked against the
 * chosen version's feature spec (type, range, vocabulary), so the errors can name the feature. */
export const namedFeaturesSchema = z
  .record(z.string().max(128), z.unknown())
  .refine((r) => Object.keys(r).length <= 10_000, { message: 'at most 10000 named features' })
  .openapi({
    type: 'object',
    description:
      "Named features, encoded by the gateway with the version's feature spec (metadata.json " +
      'inputs[0].feature_spec): numbers for numeric features, a string from the vocabulary for ' +
      'categorical ones, an array of numbers for vector features. Errors name the feature.',
    additionalProperties: {
      oneOf: [{ type: 'number' }, { type: 'string' }, { type: 'array', items: { type: 'number' } }],
    },
    example: {
      bill_length_mm: 39.1,
      bill_depth_mm: 18.7,
      flipper_length_mm: 181,
      body_mass_g: 3750,
      island: 'Torgersen',
      sex: 'male',
    },
  });

export const rowInputSchema = z
  .union([featuresSchema, namedFeaturesSchema], {
    error: 'features must be an array of numbers (positional) or an object of named features',
  })
  .openapi({ description: 'One row: positional numbers in input order, or named features.' });

export const entitySchema = z
  .record(z.string().max(64), z.union([z.string().min(1).max(256), z.number()]))
  .refine((e) => Object.keys(e).length === 1, {
    message: 'name exactly one entity key, e.g. {"penguin_id": "p-17"}',
  })
  .openapi('EntityRef', {
    type: 'object',
    description:
      "The entity whose stored features the online feature store supplies (the spec's entity key); " +
      'features sent beside it override the stored ones.',
    example: { penguin_id: 'p-17' },
  });

export const predictRequestSchema = z
  .object({
    model: nameSchema.optional().openapi({ description: 'Model name; DEFAULT_MODEL when omitted.' }),
    features: rowInputSchema.optional(),
    entity: entitySchema.optional(),
    user_id: userIdSchema.optional(),
  })
  .superRefine((body, ctx) => {
    if (body.features === undefined && body.entity === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['features'],
        message: 'send "features" (or "entity" to look them up)',
      });
    if (Array.isArray(body.features) && body.entity !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['entity'],
        message: '"entity" goes with named features (an object), not a positional array',
      });
  })
  .openapi('PredictRequest', {
    example: { model: EXAMPLE_MODEL, features: [...EXAMPLE_ROWS[0]!], user_id: 'u-17' },
  });

export const predictBatchRequestSchema = (maxRows: number) =>
  z
    .object({
      model: nameSchema.optional(),
      instances: z
        .array(rowInputSchema)
        .min(1, 'a batch needs at least one row')
        .max(maxRows, `a batch holds at most ${maxRows} rows (MAX_BATCH_ROWS)`)
        .optional(),
      entities: z
        .array(entitySchema)
        .min(1, 'a batch needs at least one row')
        .max(maxRows, `a batch holds at most ${maxRows} rows (MAX_BATCH_ROWS)`)
        .optional()
        .openapi({
          description: 'Row i looks its features up by entities[i]; instances[i], if sent, overrides them.',
        }),
      user_id: userIdSchema.optional(),
    })
    .superRefine((body, ctx) => {
      if (body.instances === undefined && body.entities === undefined)
        ctx.addIssue({ code: 'custom', path: ['instances'], message: 'send "instances" (or "entities")' });
      if (body.instances && body.entities && body.instances.length !== body.entities.length)
        ctx.addIssue({
          code: 'custom',
          path: ['entities'],
          message: `"entities" has ${body.entities.length} rows but "instances" has ${body.instances.length}`,
        });
      if (body.instances && body.entities) {
        const positional = body.instances.findIndex((r) => Array.isArray(r));
        if (positional >= 0)
          ctx.addIssue({
            code: 'custom',
            path: ['instances', positional],
            message: 'rows looked up by "entities" take named features (objects), not positional arrays',
          });
      }
    })
    .openapi('PredictBatchRequest', {
      example: { model: EXAMPLE_MODEL, instances: EXAMPLE_ROWS.map((r) => [...r]) },
    });

const failoverSchema = z
  .object({ from: z.string(), to: z.string() })
  .openapi('Failover', { description: 'Present when another version than the chosen one answered.' });

export const rowPredictionSchema = z
  .object({
    prediction: z.string().openapi({ description: 'The predicted class label.' }),
    probabilities: z
      .record(z.string(), z.number())
      .openapi({ description: 'Probability of every class, keyed by class label.' }),
    confidence: z.number().openapi({ description: 'Probability of the predicted class.' }),
  })
  .openapi('RowPrediction');

/** A batch row also carries its own id, `<request id>:<row>`, which POST /feedback accepts. */
export const batchRowPredictionSchema = rowPredictionSchema
  .extend({
    request_id: z.string().openapi({
      description:
        'This row\'s id: the batch\'s request id, a colon and the row index (e.g. "…:0"); send it to POST /feedback.',
    }),
  })
  .openapi('BatchRowPrediction');

export const predictResponseSchema = rowPredictionSchema
  .extend({
    model: z.string(),
    version: z.string(),
    request_id: z.string(),
    failover: failoverSchema.optional(),
  })
  .openapi('PredictResponse');

export const predictBatchResponseSchema = z
  .object({
    predictions: z.array(batchRowPredictionSchema),
    model: z.string(),
    version: z.string(),
    request_id: z.string(),
    failover: failoverSchema.optional(),
  })
  .openapi('PredictBatchResponse');

export const errorResponseSchema = z
  .object({
    error: z.object({
      code: z.string().openapi({ example: 'invalid_input' }),
      message: z.string(),
      details: z.unknown().optional(),
    }),
  })
  .openapi('Error');

export const healthResponseSchema = z
  .object({ status: z.literal('healthy'), uptime_seconds: z.number() })
  .openapi('Health');

export const readyResponseSchema = z
  .object({ status: z.enum(['ready', 'not_ready']), details: z.record(z.string(), z.unknown()) })
  .openapi('Ready');

export const modelInfoResponseSchema = z
  .object({
    default_model: z.string().nullable(),
    revision: z.number().nullable(),
    stale: z.boolean(),
    models: z.array(
      z.object({
        name: z.string(),
        policy: z.record(z.string(), z.unknown()),
        split: z.array(
          z.object({
            version: z.string(),
            weight_percent: z.number(),
            buckets: z.tuple([z.number(), z.number()]),
          }),
        ),
        versions: z.array(
          z.object({
            version: z.string(),
            weight_percent: z.number(),
            input_width: z.number(),
            features: z.array(z.string()),
            labels: z.array(z.string()),
            live_instances: z.number(),
            circuit: z.array(z.object({ upstream: z.string(), state: z.string() })),
            metrics: z.record(z.string(), z.number()).optional(),
            description: z.string().optional(),
            created: z.string().optional(),
          }),
        ),
      }),
    ),
  })
  .openapi('ModelInfo');

export type PredictBatchRequest = z.output<ReturnType<typeof predictBatchRequestSchema>>;
export type RowPrediction = z.output<typeof rowPredictionSchema>;
export type ModelInfo = z.output<typeof modelInfoResponseSchema>;
