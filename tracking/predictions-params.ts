/** The query string of a stored-predictions read, parsed once for both places that serve one: the
 * gateway's GET /predictions (model in the query) and the registry's GET /models/:m/predictions
 * (model in the path, read by the console). A bad value is a 400 naming the parameter. */
import { z } from 'zod';
import { AppError } from '../common/errors';
import { modelNameSchema, versionNameSchema } from '../common/wire';
import { decodeCursor, FEEDBACK_FILTERS, type PredictionFilter } from './predictions-query';

const isoTime = z
  .string()
  .max(40)
  .refine((v) => !Number.isNaN(Date.parse(v)), 'must be an ISO 8601 time, e.g. 2026-01-31T12:00:00Z')
  .transform((v) => Date.parse(v));

const common = {
  version: versionNameSchema.optional(),
  since: isoTime.optional(),
  until: isoTime.optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: z
    .string()
    .max(64)
    .transform((v, ctx) => {
      const c = decodeCursor(v);
      if (!c)
        ctx.addIssue({ code: 'custom', message: 'is not a cursor this service handed out (next_cursor)' });
      return c;
    })
    .optional(),
  feedback: z.enum(FEEDBACK_FILTERS).optional(),
};

/** The gateway's form (model in the query); GraphQL's `predictions` arguments are generated from it. */
export const predictionsQuerySchema = z.object({ model: modelNameSchema.optional(), ...common }).strict();
const withModel = predictionsQuerySchema;
const withoutModel = z.object(common).strict();

/** `usage` names the endpoint and its parameters, for the message of a refused query. */
export function parsePredictionsQuery(
  query: unknown,
  options: { modelInQuery: boolean; usage: string },
): PredictionFilter {
  const parsed = (options.modelInQuery ? withModel : withoutModel).safeParse(query);
  if (!parsed.success) {
    const details = parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
    const first = details[0];
    throw new AppError(
      'invalid_input',
      first ? `${options.usage}: ${first.path || 'query'} ${first.message}` : options.usage,
      details,
    );
  }
  const q = parsed.data as z.output<typeof withModel>;
  if (q.since !== undefined && q.until !== undefined && q.since >= q.until)
    throw new AppError('invalid_input', 'since must be before until');
  return {
    model: q.model,
    version: q.version,
    since: q.since,
    until: q.until,
    limit: q.limit,
    cursor: q.cursor,
    feedback: q.feedback,
  };
}
