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

export const predictRequestSchema = z
  .object({
    model: nameSchema.optional().openapi({ description: 'Model name; DEFAULT_MODEL when omitted.' }),
    features: featuresSchema,
    user_id: userIdSchema.optional(),
  })
  .openapi('PredictRequest', {
    example: { model: EXAMPLE_MODEL, features: [...EXAMPLE_ROWS[0]!], user_id: 'u-17' },
  });

export const predictBatchRequestSchema = (maxRows: number) =>
  z
    .object({
      model: nameSchema.optional(),
      instances: z
        .array(featuresSchema)
        .min(1, 'a batch needs at least one row')
        .max(maxRows, `a batch holds at most ${maxRows} rows (MAX_BATCH_ROWS)`),
      user_id: userIdSchema.optional(),
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

export type RowPrediction = z.output<typeof rowPredictionSchema>;
