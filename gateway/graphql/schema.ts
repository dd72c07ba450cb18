/** The gateway's GraphQL schema. Every argument and result type is generated from the zod schema
 * the REST route validates with (gateway/graphql/from-zod.ts), and every resolver calls the function
 * the REST route calls, so the two answer alike: same validation, same errors (as GraphQL errors
 * carrying the REST code), same data. */
import {
  GraphQLError,
  type GraphQLFieldConfig,
  GraphQLList,
  GraphQLNonNull,
  GraphQLObjectType,
  GraphQLSchema,
  GraphQLString,
  getNullableType,
} from 'graphql';
import { z } from 'zod';
import { AppError, toAppError } from '../../common/errors';
import { uuidV7 } from '../../common/uuid-v7';
import type { Metadata, Policy } from '../../common/wire';
import { metadataSchema, modelNameSchema, policyInputSchema } from '../../common/wire';
import { predictionsQuerySchema } from '../../tracking/predictions-params';
import { feedbackSchema } from '../experiments';
import type { jsonApi } from '../json-api/predict';
import type { CallLocals } from '../prediction-call';
import type { ModelInfo } from '../schemas';
import {
  modelInfoResponseSchema,
  predictBatchRequestSchema,
  predictBatchResponseSchema,
  predictRequestSchema,
  predictResponseSchema,
} from '../schemas';
import type { HeaderSource } from '../selection';
import { JSONScalar, ZodToGraphQL } from './from-zod';

export interface GraphQLContext {
  headers: HeaderSource;
  /** Throws the REST answer's AppError when the request lacks the admin token. */
  requireAdmin(): void;
}

export interface GraphQLDeps {
  predict: ReturnType<typeof jsonApi>;
  modelInfo(): ModelInfo;
  metadata(model: string, version: string): Metadata | undefined;
  /** POST /feedback, GET /experiments/:model and GET /predictions; absent without the evidence store. */
  experiments:
    | {
        feedback(body: unknown): Promise<{ status: number; body: unknown }>;
        report(model: unknown): Promise<unknown>;
        predictions(query: unknown): Promise<unknown>;
      }
    | undefined;
  /** The registry's GET /models/:m/rollouts/current, or null when none runs. */
  rollout(model: string): Promise<unknown>;
  maxBatchRows: number;
}

/** REST's AppError as a GraphQL error: same message, the code and HTTP status in extensions. */
function graphqlError(err: unknown): GraphQLError {
  if (err instanceof GraphQLError) return err;
  const e = toAppError(err);
  return new GraphQLError(e.message, {
    extensions: {
      code: e.code,
      status: e.status,
      ...(e.details === undefined ? {} : { details: e.details }),
      ...(e.headers['Retry-After'] ? { retry_after_seconds: Number(e.headers['Retry-After']) } : {}),
    },
  });
}

function guarded<A>(
  fn: (args: A, ctx: GraphQLContext) => unknown,
): GraphQLFieldConfig<unknown, GraphQLContext, A>['resolve'] {
  return async (_source, args, ctx) => {
    try {
      return await fn(args, ctx);
    } catch (err) {
      throw graphqlError(err);
    }
  };
}

const modelArg = z.object({ model: modelNameSchema });

export function buildSchema(deps: GraphQLDeps): GraphQLSchema {
  const types = new ZodToGraphQL();
  const modelInfoModel = modelInfoResponseSchema.shape.models.element;
  const ModelType = types.output(modelInfoModel, 'Model');
  const PolicyType = types.output(policyInputSchema, 'Policy');
  const MetadataType = types.output(metadataSchema, 'Metadata');
  const VersionType = new GraphQLObjectType({
    name: 'VersionWithMetadata',
    description: "A version and its metadata.json (the registry's), including inputs[0].feature_spec.",
    fields: {
      version: { type: new GraphQLNonNull(GraphQLString) },
      metadata: {
        type: MetadataType.toString().endsWith('!')
          ? (MetadataType as GraphQLNonNull<never>).ofType
          : MetadataType,
      },
    },
  });
  const predictionsArgs = types.inputFields(predictionsQuerySchema, 'PredictionsFilter');
  const PredictionPage = new GraphQLObjectType({
    name: 'PredictionPage',
    description:
      'GET /predictions: stored prediction rows newest first, with their feedback; pass next_cursor as cursor for the next page.',
    fields: {
      predictions: { type: new GraphQLNonNull(new GraphQLList(new GraphQLNonNull(JSONScalar))) },
      next_cursor: { type: GraphQLString },
    },
  });

  const model = (name: string) => deps.modelInfo().models.find((m) => m.name === name);
  const evidence = () => {
    if (!deps.experiments)
      throw new AppError('not_found', 'this gateway keeps no evidence store (TRACKING_ENABLED=false)');
    return deps.experiments;
  };

  const query = new GraphQLObjectType<unknown, GraphQLContext>({
    name: 'Query',
    fields: {
      models: {
        type: new GraphQLNonNull(new GraphQLList(ModelType)),
        description: 'GET /model/info: models, versions and the live split.',
        resolve: guarded(() => deps.modelInfo().models),
      },
      model: {
        type: getNullableType(ModelType),
        args: types.inputFields(modelArg, 'ModelArgs'),
        resolve: guarded((args: { model: string }) => model(modelArg.parse(args).model) ?? null),
      },
      versions: {
        type: new GraphQLNonNull(new GraphQLList(new GraphQLNonNull(VersionType))),
        description: 'Versions of a model with their metadata (null until the gateway has fetched it).',
        args: types.inputFields(modelArg, 'VersionsArgs'),
        resolve: guarded((args: { model: string }) => {
          const found = model(args.model);
          if (!found) throw new AppError('model_not_found', `no model "${args.model}"`);
          return found.versions.map((v) => ({
            version: v.version,
            metadata: deps.metadata(args.model, v.version) ?? null,
          }));
        }),
      },
      policy: {
        type: getNullableType(PolicyType),
        description: "The model's traffic policy (as GET /models/:m/policy on the registry).",
        args: types.inputFields(modelArg, 'PolicyArgs'),
        resolve: guarded(
          (args: { model: string }) => (model(args.model)?.policy as Policy | undefined) ?? null,
        ),
      },
      experiment: {
        type: JSONScalar,
        description: 'GET /experiments/:model: the current experiment report.',
        args: types.inputFields(modelArg, 'ExperimentArgs'),
        resolve: guarded((args: { model: string }) => evidence().report(args.model)),
      },
      rollout: {
        type: JSONScalar,
        description: "The registry's GET /models/:m/rollouts/current; null when no rollout runs.",
        args: types.inputFields(modelArg, 'RolloutArgs'),
        resolve: guarded((args: { model: string }) => deps.rollout(modelArg.parse(args).model)),
      },
      predictions: {
        type: new GraphQLNonNull(PredictionPage),
        description:
          'GET /predictions (admin token): filters model, version, since, until (ISO times), limit, cursor.',
        args: predictionsArgs,
        resolve: guarded((args: Record<string, unknown>, ctx) => {
          ctx.requireAdmin();
          const query = Object.fromEntries(
            Object.entries(args).filter(([, v]) => v !== undefined && v !== null),
          );
          return evidence().predictions(query);
        }),
      },
    },
  });

  const call = async (kind: 'predict' | 'batch', ctx: GraphQLContext, input: unknown) => {
    let body: unknown;
    const locals: CallLocals = { requestId: uuidV7() };
    // The REST core writes answer headers; GraphQL answers carry them in the body instead.
    const headerSink = { setHeader: () => undefined };
    await deps.predict[kind](
      { headers: ctx.headers, res: headerSink as never, locals, raw: Buffer.alloc(0), json: input },
      (b) => {
        body = b;
      },
    );
    return body;
  };

  const mutation = new GraphQLObjectType<unknown, GraphQLContext>({
    name: 'Mutation',
    fields: {
      predict: {
        type: types.output(predictResponseSchema, 'PredictResponse'),
        description:
          'POST /predict. input.features: positional numbers, or named features (JSON object) encoded by the ' +
          "version's feature spec; input.entity looks named features up in the online feature store.",
        args: { input: { type: types.input(predictRequestSchema, 'PredictInput') } },
        resolve: guarded((args: { input: unknown }, ctx) => call('predict', ctx, stripNulls(args.input))),
      },
      predictBatch: {
        type: types.output(predictBatchResponseSchema, 'PredictBatchResponse'),
        description: `POST /predict/batch: 1 to ${deps.maxBatchRows} rows (MAX_BATCH_ROWS), positional or named, or entities.`,
        args: {
          input: { type: types.input(predictBatchRequestSchema(deps.maxBatchRows), 'PredictBatchInput') },
        },
        resolve: guarded((args: { input: unknown }, ctx) => call('batch', ctx, stripNulls(args.input))),
      },
      feedback: {
        type: JSONScalar,
        description: 'POST /feedback: the true label of a past prediction (request_id, row for a batch).',
        args: { input: { type: types.input(feedbackSchema, 'FeedbackInput') } },
        resolve: guarded(
          async (args: { input: unknown }) => (await evidence().feedback(stripNulls(args.input))).body,
        ),
      },
    },
  });

  return new GraphQLSchema({ query, mutation, types: [JSONScalar] });
}

/** GraphQL passes explicit nulls for optional fields; the zod schemas want them absent. */
function stripNulls(value: unknown): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== null));
}
